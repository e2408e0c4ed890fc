package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/store"
)

// Setups re-reads and replaces the node's setup (the node is one); each
// setup put in force is a version, made by the user named by.
type Setups interface {
	// Reload reads the setup file again and applies it.
	Reload(ctx context.Context, by string) (any, error)
	// ApplyFile validates data as the setup file, writes it there and
	// applies it; persisted is false when there is no file (the demo).
	// A base other than 0 is the version data was made from: when it is
	// no longer the latest, the error is a *StaleError and nothing
	// changes.
	ApplyFile(ctx context.Context, data []byte, by string, base int64) (changes any, persisted bool, err error)
	// Check validates data as ApplyFile would, changing nothing.
	Check(data []byte) error
	// Restore applies an earlier version again, as ApplyFile.
	Restore(ctx context.Context, version int64, by string) (changes any, persisted bool, err error)
	// Running is the version this node runs (0: none saved).
	Running() int64
	// File is the setup file's path ("" for the built-in demo).
	File() string
}

// VersionStore keeps the setup's versions.
type VersionStore interface {
	LatestConfigVersion(ctx context.Context) (store.ConfigVersion, bool, error)
	ConfigVersions(ctx context.Context, limit int) ([]store.ConfigVersion, error)
	ConfigVersionN(ctx context.Context, n int64) (store.ConfigVersion, bool, error)
}

// maxSetupBytes bounds a setup sent to apply, validate or PUT.
const maxSetupBytes = 4 << 20

// ServeSetups serves, to admins, POST /api/v1/config/reload (re-read the
// setup file the server was started with) and POST /api/v1/config/apply
// (a new setup file as the body). Both answer 200 with what changed, or
// 422 {"errors": ["file:line: ..."]} when the setup is invalid, in which
// case nothing changed.
func (s *Server) ServeSetups(x Setups) {
	s.handle("POST /api/v1/config/reload", func(w http.ResponseWriter, r *http.Request) {
		res, err := x.Reload(r.Context(), who(r).name)
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
		res, persisted, err := x.ApplyFile(r.Context(), data, who(r).name, 0)
		if err != nil {
			s.setupRefused(w, r, err)
			return
		}
		writeJSON(w, 200, map[string]any{"applied": true, "persisted": persisted, "file": x.File(), "changes": res, "version": x.Running()})
	}, adminsOnly())
	// A setup checked as apply would, changing nothing: 200 {"valid":
	// true}, or 422 with every problem.
	s.handle("POST /api/v1/config/validate", func(w http.ResponseWriter, r *http.Request) {
		data, ok := readSetup(w, r)
		if !ok {
			return
		}
		if err := x.Check(data); err != nil {
			s.setupProblems(w, r, err, false)
			return
		}
		writeJSON(w, 200, map[string]any{"valid": true})
	}, adminsOnly())
	// PUT /api/v1/config publishes a whole setup (YAML) as a new version:
	// 200 with the version, 422 {"errors": ["<line>: what: problem"]}
	// when invalid, 409 when If-Match names a version that is no longer
	// the latest. Nothing changes unless it answers 200.
	s.handle("PUT /api/v1/config", func(w http.ResponseWriter, r *http.Request) {
		base, ok := ifMatch(w, r)
		if !ok {
			return
		}
		data, ok := readSetup(w, r)
		if !ok {
			return
		}
		res, persisted, err := x.ApplyFile(r.Context(), data, who(r).name, base)
		if err != nil {
			s.setupProblems(w, r, err, false)
			return
		}
		w.Header().Set("ETag", versionTag(x.Running()))
		writeJSON(w, 200, map[string]any{"version": x.Running(), "applied": true, "persisted": persisted, "changes": res})
	}, adminsOnly())
	vs, ok := s.store.(VersionStore)
	if !ok {
		return
	}
	s.serveCollections(x, vs)
	s.handle("GET /api/v1/config/versions", func(w http.ResponseWriter, r *http.Request) {
		limit, err := queryInt(r, "limit", 50, 1, 1000)
		if err != nil {
			writeError(w, 400, err.Error())
			return
		}
		list, err := vs.ConfigVersions(r.Context(), limit)
		if err != nil {
			s.log.Error("api: setup versions", "err", err)
			writeError(w, 500, "could not read the setup's versions")
			return
		}
		writeJSON(w, 200, map[string]any{"running": x.Running(), "versions": list})
	}, adminsOnly())
	version := func(w http.ResponseWriter, r *http.Request, raw string) (store.ConfigVersion, bool) {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 1 {
			writeError(w, 400, fmt.Sprintf("version %q: want a number from 1", raw))
			return store.ConfigVersion{}, false
		}
		v, ok, err := vs.ConfigVersionN(r.Context(), n)
		switch {
		case err != nil:
			s.log.Error("api: setup version", "err", err)
			writeError(w, 500, "could not read the setup's version")
			return store.ConfigVersion{}, false
		case !ok:
			writeError(w, 404, fmt.Sprintf("no version %d of the setup", n))
			return store.ConfigVersion{}, false
		}
		return v, true
	}
	s.handle("GET /api/v1/config/versions/{n}", func(w http.ResponseWriter, r *http.Request) {
		if v, ok := version(w, r, r.PathValue("n")); ok {
			writeJSON(w, 200, v)
		}
	}, adminsOnly())
	// The diff between two versions: from ?against= (default the one
	// before) to {n}.
	s.handle("GET /api/v1/config/versions/{n}/diff", func(w http.ResponseWriter, r *http.Request) {
		to, ok := version(w, r, r.PathValue("n"))
		if !ok {
			return
		}
		against := r.URL.Query().Get("against")
		if against == "" {
			if to.Version == 1 {
				writeText(w, 200, "text/x-diff", config.Diff("", to.YAML, "nothing", "version 1"))
				return
			}
			against = strconv.FormatInt(to.Version-1, 10)
		}
		from, ok := version(w, r, against)
		if !ok {
			return
		}
		writeText(w, 200, "text/x-diff", config.Diff(from.YAML, to.YAML, fmt.Sprintf("version %d", from.Version), fmt.Sprintf("version %d", to.Version)))
	}, adminsOnly())
	s.handle("POST /api/v1/config/versions/{n}/restore", func(w http.ResponseWriter, r *http.Request) {
		v, ok := version(w, r, r.PathValue("n"))
		if !ok {
			return
		}
		res, persisted, err := x.Restore(r.Context(), v.Version, who(r).name)
		if err != nil {
			s.setupRefused(w, r, err)
			return
		}
		writeJSON(w, 200, map[string]any{"applied": true, "persisted": persisted, "file": x.File(), "changes": res, "version": x.Running()})
	}, adminsOnly())
	// The setup as YAML, exactly as it was given: the version this node
	// runs, or ?version=.
	s.handle("GET /api/v1/config/export", func(w http.ResponseWriter, r *http.Request) {
		raw := r.URL.Query().Get("version")
		if raw == "" {
			if x.Running() == 0 {
				writeError(w, 404, "no version of the setup is saved")
				return
			}
			raw = strconv.FormatInt(x.Running(), 10)
		}
		if v, ok := version(w, r, raw); ok {
			w.Header().Set("X-Switchboard-Version", strconv.FormatInt(v.Version, 10))
			writeText(w, 200, "application/yaml", v.YAML)
		}
	}, adminsOnly())
	// GET /api/v1/config is the setup's latest version, its number in the
	// ETag: as YAML (Accept: application/yaml) or as JSON {"version",
	// "at", "by", "yaml"}.
	s.handle("GET /api/v1/config", func(w http.ResponseWriter, r *http.Request) {
		// The latest version: the one a PUT's If-Match is compared with
		// (a node of a cluster may still run an older one: versions list
		// says which).
		v, ok := s.latestSetup(w, r, vs)
		if !ok {
			return
		}
		w.Header().Set("ETag", versionTag(v.Version))
		if acceptsYAML(r) {
			writeText(w, 200, "application/yaml", v.YAML)
			return
		}
		writeJSON(w, 200, map[string]any{"version": v.Version, "at": v.At, "by": v.Actor, "origin": v.Origin, "yaml": v.YAML})
	}, adminsOnly())
}

// acceptsYAML says whether the request asks for YAML (Accept names it).
func acceptsYAML(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "yaml")
}

// readSetup reads a setup sent as the request's body (at most
// maxSetupBytes).
func readSetup(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSetupBytes))
	if err != nil {
		writeError(w, 413, fmt.Sprintf("the setup must be at most %d bytes", maxSetupBytes))
		return nil, false
	}
	return data, true
}

// versionTag is the ETag of version v of the setup.
func versionTag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }

// ifMatch reads an If-Match header naming a version of the setup (0 when
// there is none); a malformed one is answered 400.
func ifMatch(w http.ResponseWriter, r *http.Request) (int64, bool) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, true
	}
	raw := strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || v < 1 {
		writeError(w, 400, fmt.Sprintf("If-Match %s: want a version of the setup, as its ETag gives it (\"12\")", h))
		return 0, false
	}
	return v, true
}

// writeText answers text of a content type.
func writeText(w http.ResponseWriter, code int, contentType, text string) {
	w.Header().Set("Content-Type", contentType+"; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, text)
}

// setupRefused answers a setup that was not applied: 422 with every
// problem, one "file:line: what: problem" each, for an invalid setup or
// one the node could not apply; 500 when the file could not be read or
// written.
func (s *Server) setupRefused(w http.ResponseWriter, r *http.Request, err error) {
	s.setupProblems(w, r, err, true)
}

// setupProblems is setupRefused with the file's name before each line
// ("file:line: ...") or not ("line: ..."), and 409 {"error", "version"}
// for a *StaleError.
func (s *Server) setupProblems(w http.ResponseWriter, r *http.Request, err error, withFile bool) {
	s.log.Warn("setup refused; nothing changed", "err", err, "by", who(r).name)
	var stale *StaleError
	if errors.As(err, &stale) {
		w.Header().Set("ETag", versionTag(stale.Latest))
		writeJSON(w, 409, map[string]any{"error": stale.Error(), "version": stale.Latest})
		return
	}
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		lines := make([]string, len(ve.Problems))
		for i, p := range ve.Problems {
			lines[i] = fmt.Sprintf("%d: %s: %s", p.Line, p.What, p.Msg)
			if withFile {
				lines[i] = ve.File + ":" + lines[i]
			}
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

// StaleError refuses a setup made from version Base when the latest is
// another one (Latest): someone published in between.
type StaleError struct{ Base, Latest int64 }

func (e *StaleError) Error() string {
	return fmt.Sprintf("the setup was made from version %d, but version %d has been published since: read it again and redo the change", e.Base, e.Latest)
}

// IOError marks a setup that was not applied because its file could not
// be read or written (500, not the setup's fault).
type IOError struct{ Err error }

func (e *IOError) Error() string { return e.Err.Error() }
func (e *IOError) Unwrap() error { return e.Err }
