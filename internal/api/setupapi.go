package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/switchboard/switchboard/internal/config"
)

// Setups re-reads and replaces the node's setup (the node is one).
type Setups interface {
	// Reload reads the setup file again and applies it.
	Reload(ctx context.Context) (any, error)
	// ApplyFile validates data as the setup file, writes it there and
	// applies it; persisted is false when there is no file (the demo).
	ApplyFile(ctx context.Context, data []byte) (changes any, persisted bool, err error)
	// File is the setup file's path ("" for the built-in demo).
	File() string
}

// maxSetupBytes bounds a setup sent to POST /api/v1/config/apply.
const maxSetupBytes = 4 << 20

// ServeSetups serves, to admins, POST /api/v1/config/reload (re-read the
// setup file the server was started with) and POST /api/v1/config/apply
// (a new setup file as the body). Both answer 200 with what changed, or
// 422 {"errors": ["file:line: ..."]} when the setup is invalid, in which
// case nothing changed.
func (s *Server) ServeSetups(x Setups) {
	s.handle("POST /api/v1/config/reload", func(w http.ResponseWriter, r *http.Request) {
		res, err := x.Reload(r.Context())
		if err != nil {
			s.setupRefused(w, r, err)
			return
		}
		writeJSON(w, 200, map[string]any{"applied": true, "file": x.File(), "changes": res})
	}, adminsOnly())
	s.handle("POST /api/v1/config/apply", func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSetupBytes))
		if err != nil {
			writeError(w, 413, fmt.Sprintf("the setup must be at most %d bytes", maxSetupBytes))
			return
		}
		res, persisted, err := x.ApplyFile(r.Context(), data)
		if err != nil {
			s.setupRefused(w, r, err)
			return
		}
		writeJSON(w, 200, map[string]any{"applied": true, "persisted": persisted, "file": x.File(), "changes": res})
	}, adminsOnly())
}

// setupRefused answers a setup that was not applied: 422 with every
// problem, one "file:line: what: problem" each, for an invalid setup or
// one the node could not apply; 500 when the file could not be read or
// written.
func (s *Server) setupRefused(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Warn("setup refused; nothing changed", "err", err, "by", who(r).name)
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		lines := make([]string, len(ve.Problems))
		for i, p := range ve.Problems {
			lines[i] = fmt.Sprintf("%s:%d: %s: %s", ve.File, p.Line, p.What, p.Msg)
		}
		writeJSON(w, 422, map[string]any{"errors": lines, "file": ve.File})
		return
	}
	var ioErr *IOError
	if errors.As(err, &ioErr) {
		writeJSON(w, 500, map[string]any{"errors": []string{err.Error()}})
		return
	}
	writeJSON(w, 422, map[string]any{"errors": []string{err.Error()}})
}

// IOError marks a setup that was not applied because its file could not
// be read or written (500, not the setup's fault).
type IOError struct{ Err error }

func (e *IOError) Error() string { return e.Err.Error() }
func (e *IOError) Unwrap() error { return e.Err }
