package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/store"
)

// snapshot is one message of the live stream.
type snapshot struct {
	At    time.Time         `json:"at"`
	Me    map[string]string `json:"me"`
	Agent *acd.AgentView    `json:"agent,omitempty"`
	// Call is the agent's current call, or the last one (CallActive false)
	// until the next, so it can be closed with a disposition after wrap-up.
	Call         *store.CallRecord  `json:"call,omitempty"`
	CallActive   bool               `json:"call_active"`
	History      []store.PastCall   `json:"history,omitempty"`
	Script       string             `json:"script,omitempty"`
	Dispositions []string           `json:"dispositions,omitempty"`
	Disposition  *store.Disposition `json:"disposition,omitempty"`
	Softphone    *SoftphoneStatus   `json:"softphone,omitempty"`
	Consult      *consultView       `json:"consult,omitempty"`
	// Live is the current call's state, parties and hold timer.
	Live   *call.Live      `json:"live,omitempty"`
	Queues []acd.QueueView `json:"queues"`
	Agents []acd.AgentView `json:"agents,omitempty"`
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
	var (
		lastCall string
		call     *store.CallRecord
		disp     *store.Disposition
		history  []store.PastCall
		polls    int
		idleFrom time.Time         // when the agent's last call left them
		contact  map[string]string // an outbound campaign's contact, for the card
	)
	// refresh reads a call's record and disposition again.
	refresh := func(id string) {
		if rec, _, err := s.store.GetCall(r.Context(), id); err == nil {
			call = &rec
		}
		disp = nil
		if d, err := s.store.GetDisposition(r.Context(), id); err == nil {
			disp = &d
		}
	}
	for {
		snap := snapshot{At: time.Now(), Me: map[string]string{"username": p.name, "role": p.role}, Queues: s.acd.Queues()}
		snap.Softphone = s.softphoneStatus(p.name)
		if p.role == config.RoleAgent {
			if a, ok := s.acd.Agent(p.name); ok {
				snap.Agent = &a
				polls++
				switch {
				case a.CallID != "" && a.CallID != lastCall: // a new call: its record, and the caller's history
					refresh(a.CallID)
					lastCall, idleFrom, contact = a.CallID, time.Time{}, nil
					if call != nil {
						history, _ = s.store.CallsByCaller(r.Context(), call.Caller, 6)
						history = slices.DeleteFunc(history, func(pc store.PastCall) bool { return pc.ID == call.ID })
					}
				case a.CallID == "" && call != nil && idleFrom.IsZero():
					idleFrom = time.Now()
					refresh(call.ID)
				case polls%5 == 0 && call != nil && (a.CallID != "" || time.Since(idleFrom) < 2*time.Minute):
					refresh(call.ID) // waits, outcome, a disposition saved elsewhere
				}
				if call != nil {
					snap.Call, snap.CallActive, snap.History, snap.Disposition = call, a.CallID != "", history, disp
					if s.Calls != nil && snap.CallActive {
						if live, ok := s.Calls.LiveView(call.ID); ok {
							snap.Live = &live
							if live.Contact != nil {
								contact = live.Contact // kept for the wrap-up
							}
							if live.Consult != nil {
								snap.Consult = &consultView{Target: live.Consult.Target, Connected: live.Consult.Connected}
							}
						}
					}
					if q, ok := s.config().QueueByName(call.Queue); ok {
						snap.Script, snap.Dispositions = renderScript(q.Script, *call, contact), q.Dispositions
					}
					if contact != nil && snap.Live == nil {
						snap.Live = contactOnly(contact) // the wrap-up keeps the contact card
					}
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
		case <-s.hub.changed():
			// A change: the next snapshot at once, but at most ten a second.
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// Hub tells live streams that something changed (an event was stored), so
// they send a snapshot now instead of at the next tick.
type Hub struct {
	mu sync.Mutex
	ch chan struct{}
}

// Notify wakes every stream waiting for a change.
func (h *Hub) Notify() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ch != nil {
		close(h.ch)
		h.ch = nil
	}
}

func (h *Hub) changed() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ch == nil {
		h.ch = make(chan struct{})
	}
	return h.ch
}

// consultView is an attended transfer in progress, for the desktop.
type consultView struct {
	Target    string `json:"target"`
	Connected bool   `json:"connected"`
}

// contactOnly is the live view of a call that has ended but whose contact
// card the agent still sees in wrap-up.
func contactOnly(contact map[string]string) *call.Live {
	return &call.Live{State: call.StateEnded, Contact: contact, Commands: []string{}}
}
