package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/store"
)

// snapshot is one message of the live stream.
type snapshot struct {
	At     time.Time         `json:"at"`
	Me     map[string]string `json:"me"`
	Agent  *acd.AgentView    `json:"agent,omitempty"`
	Call   *store.CallRecord `json:"call,omitempty"`
	Queues []acd.QueueView   `json:"queues"`
	Agents []acd.AgentView   `json:"agents,omitempty"`
}

// stream serves server-sent events: a snapshot every second (agents: their
// own state and current call, and the queues; supervisors and admins:
// every queue and agent). The browser's EventSource reconnects by itself,
// and the state lives on the server, so a reconnect loses nothing.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok || s.acd == nil {
		writeError(w, 500, "streaming unsupported")
		return
	}
	p := who(r)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(200)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastCall := ""
	var call *store.CallRecord
	for {
		snap := snapshot{At: time.Now(), Me: map[string]string{"username": p.name, "role": p.role}, Queues: s.acd.Queues()}
		if p.role == config.RoleAgent {
			if a, ok := s.acd.Agent(p.name); ok {
				snap.Agent = &a
				if a.CallID != "" {
					if a.CallID != lastCall || call == nil {
						if rec, _, err := s.store.GetCall(r.Context(), a.CallID); err == nil {
							call = &rec
						}
						lastCall = a.CallID
					}
					snap.Call = call
				}
			}
		} else {
			snap.Agents = s.acd.Agents()
		}
		b, _ := json.Marshal(snap)
		if _, err := fmt.Fprintf(w, "event: snapshot\ndata: %s\n\n", b); err != nil {
			return
		}
		fl.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}
