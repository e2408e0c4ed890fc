package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/switchboard/switchboard/internal/store"
)

// maxPromptBytes bounds an uploaded prompt (about ten minutes of CD audio
// as MP3, or two of it as WAV).
const maxPromptBytes = 32 << 20

// PromptInfo is a prompt the setup may play: uploaded through the
// console, or a file of the sounds directory (or a built-in demo sound).
type PromptInfo struct {
	store.Prompt
	Uploaded bool `json:"uploaded"`
	// InUse says whether the setup in force plays it.
	InUse bool `json:"in_use"`
}

// Prompts are the sounds the setup plays, as the console manages them.
type Prompts interface {
	List(ctx context.Context) ([]PromptInfo, error)
	// Save converts data (WAV or MP3) to 8 kHz mono and stores it as
	// name, playing from the next time a call reaches it.
	Save(ctx context.Context, name string, data []byte, by string) (store.Prompt, error)
	// Audio is the prompt as an 8 kHz mono WAV.
	Audio(ctx context.Context, name string) ([]byte, bool, error)
	Delete(ctx context.Context, name, by string) error
}

// Errors of Prompts: what was sent is no prompt (422), the setup plays
// it (409), no such prompt was uploaded (404).
var (
	ErrBadPrompt   = errors.New("not a prompt")
	ErrPromptInUse = errors.New("the prompt is in use")
	ErrNoPrompt    = errors.New("no such prompt")
)

// ServePrompts serves the prompts under /api/v1/config/prompts: the list,
// an upload (PUT the audio file as the body), playback, and removal.
func (s *Server) ServePrompts(p Prompts) {
	s.handle("GET /api/v1/config/prompts", func(w http.ResponseWriter, r *http.Request) {
		list, err := p.List(r.Context())
		if err != nil {
			s.log.Error("api: prompts", "err", err)
			writeError(w, 500, "could not list the prompts")
			return
		}
		writeJSON(w, 200, map[string]any{"prompts": list})
	}, staff())
	s.handle("PUT /api/v1/config/prompts/{name}", func(w http.ResponseWriter, r *http.Request) {
		if !s.mayEdit(w, r, "prompts") {
			return
		}
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPromptBytes))
		if err != nil {
			writeError(w, 413, fmt.Sprintf("a prompt must be at most %d MiB", maxPromptBytes>>20))
			return
		}
		sp, err := p.Save(r.Context(), r.PathValue("name"), data, who(r).name)
		switch {
		case errors.Is(err, ErrBadPrompt):
			writeJSON(w, 422, map[string]any{"errors": []string{err.Error()}})
		case err != nil:
			s.log.Error("api: save a prompt", "err", err)
			writeError(w, 500, "could not save the prompt")
		default:
			writeJSON(w, 200, sp)
		}
	}, staff())
	s.handle("GET /api/v1/config/prompts/{name}/wav", func(w http.ResponseWriter, r *http.Request) {
		wav, ok, err := p.Audio(r.Context(), r.PathValue("name"))
		switch {
		case err != nil:
			s.log.Error("api: a prompt's audio", "err", err)
			writeError(w, 500, "could not read the prompt")
		case !ok:
			writeError(w, 404, "no prompt "+r.PathValue("name"))
		default:
			w.Header().Set("Content-Type", "audio/wav")
			_, _ = w.Write(wav)
		}
	}, staff())
	s.handle("DELETE /api/v1/config/prompts/{name}", func(w http.ResponseWriter, r *http.Request) {
		if !s.mayEdit(w, r, "prompts") {
			return
		}
		err := p.Delete(r.Context(), r.PathValue("name"), who(r).name)
		switch {
		case errors.Is(err, ErrPromptInUse):
			writeError(w, 409, err.Error())
		case errors.Is(err, ErrNoPrompt):
			writeError(w, 404, err.Error())
		case err != nil:
			s.log.Error("api: remove a prompt", "err", err)
			writeError(w, 500, "could not remove the prompt")
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}, staff())
}
