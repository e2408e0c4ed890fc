package api

import (
	"errors"
	"net/http"
	"os"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/store"
)

// getRecording serves a call's recording as audio/wav (caller left, agent
// right): to admins and supervisors, and to the agent who took the call.
// Every download is an event of the call (the audit log).
func (s *Server) getRecording(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rec, _, err := s.store.GetCall(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, 404, "no call "+id)
		return
	}
	if err != nil {
		writeError(w, 500, "could not read the call")
		return
	}
	p := who(r)
	if p.role == config.RoleAgent && rec.Agent != p.name {
		writeError(w, 403, "only the agent who took the call may hear it")
		return
	}
	rg, err := s.store.GetRecording(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, 404, "the call has no recording (yet: it is indexed when the call ends)")
		return
	}
	if err != nil {
		writeError(w, 500, "could not read the recording index")
		return
	}
	f, err := os.Open(rg.Path)
	if err != nil {
		s.log.Error("api: recording file", "call", id, "err", err)
		writeError(w, 404, "the recording's file is gone")
		return
	}
	defer f.Close()
	s.store.AppendEvent(store.Event{At: time.Now(), Kind: event.RecordingFetched, CallID: id, Agent: rec.Agent, Queue: rec.Queue, Detail: "by " + p.name})
	s.log.Info("recording downloaded", "call", id, "user", p.name)
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Content-Disposition", `attachment; filename="`+id+`.wav"`)
	http.ServeContent(w, r, id+".wav", rg.Started, f)
}

// recordingAction starts (on-demand queues), pauses or resumes a live
// call's recording: admins, supervisors, and the agent on the call.
func (s *Server) recordingAction(w http.ResponseWriter, r *http.Request) {
	if s.Calls == nil {
		writeError(w, 404, "recording control is not enabled")
		return
	}
	id, p, ok := s.liveCall(w, r)
	if !ok {
		return
	}
	action := r.PathValue("action")
	err := s.Calls.Recording(id, action, p.name)
	writeCallResult(w, err, 200, map[string]string{"status": action})
}
