package api

import (
	"context"
	"net/http"
	"os"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/store"
)

// VoicemailStore lists stored messages.
type VoicemailStore interface {
	Voicemails(ctx context.Context, pending bool, limit int) ([]store.Voicemail, error)
}

// mailboxAllowed reports whether p may hear a mailbox's messages: admins
// and supervisors all, an agent their own mailbox only.
func (s *Server) mailboxAllowed(p principal, mailbox string) bool {
	if p.role != config.RoleAgent {
		return true
	}
	for _, a := range s.config().Agents {
		if a.Extension == p.name {
			return a.Voicemail != "" && a.Voicemail == mailbox
		}
	}
	return false
}

func (s *Server) listVoicemails(w http.ResponseWriter, r *http.Request) {
	if s.Voicemails == nil {
		writeError(w, 404, "voicemail is not enabled")
		return
	}
	vs, err := s.Voicemails.Voicemails(r.Context(), r.URL.Query().Get("pending") == "true", 500)
	if err != nil {
		s.log.Error("api: list voicemails", "err", err)
		writeError(w, 500, "could not read voicemails")
		return
	}
	out := []store.Voicemail{}
	p := who(r)
	for _, v := range vs {
		if s.mailboxAllowed(p, v.Mailbox) {
			out = append(out, v)
		}
	}
	writeJSON(w, 200, out)
}

func (s *Server) voicemailAudio(w http.ResponseWriter, r *http.Request) {
	if s.Voicemails == nil {
		writeError(w, 404, "voicemail is not enabled")
		return
	}
	vs, err := s.Voicemails.Voicemails(r.Context(), false, 100000)
	if err != nil {
		writeError(w, 500, "could not read voicemails")
		return
	}
	id := r.PathValue("id")
	for _, v := range vs {
		if v.ID != id {
			continue
		}
		if !s.mailboxAllowed(who(r), v.Mailbox) {
			writeError(w, 403, "not your mailbox")
			return
		}
		data, err := os.ReadFile(v.Path)
		if err != nil {
			s.log.Error("api: voicemail audio", "voicemail", id, "err", err)
			writeError(w, 404, "the message's audio file is gone")
			return
		}
		s.log.Info("voicemail downloaded", "voicemail", id, "user", who(r).name)
		w.Header().Set("Content-Type", "audio/wav")
		_, _ = w.Write(data)
		return
	}
	writeError(w, 404, "no such voicemail")
}
