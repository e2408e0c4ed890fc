package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/store"
)

// saveDisposition closes a call with a code, tags and notes: POST
// /api/v1/calls/{id}/disposition. The agent who took the call (during the
// call or after it), or a supervisor or admin. The code must be one of the
// queue's dispositions when it has a list.
func (s *Server) saveDisposition(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var body struct {
		Code  string   `json:"code"`
		Tags  []string `json:"tags"`
		Notes string   `json:"notes"`
	}
	if err := decodeBody(w, r, &body, 64<<10); err != nil || strings.TrimSpace(body.Code) == "" {
		badBody(w, `body: want {"code": "...", "tags": [...], "notes": "..."}`, err)
		return
	}
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
		writeError(w, 403, "only the agent who took the call may close it")
		return
	}
	if q, ok := s.config().QueueByName(rec.Queue); ok && len(q.Dispositions) > 0 && !slices.Contains(q.Dispositions, body.Code) {
		writeError(w, 400, fmt.Sprintf("code: %q is not one of %s's dispositions (%s)", body.Code, q.Name, strings.Join(q.Dispositions, ", ")))
		return
	}
	agent := rec.Agent
	if agent == "" {
		agent = p.name
	}
	d := store.Disposition{CallID: id, Agent: agent, Code: body.Code, Tags: body.Tags, Notes: body.Notes, At: time.Now()}
	if err := s.store.SaveDisposition(r.Context(), d); err != nil {
		s.log.Error("api: disposition", "call", id, "err", err)
		writeError(w, 500, "could not save the disposition")
		return
	}
	s.store.AppendEvent(store.Event{At: d.At, Kind: event.DispositionSaved, CallID: id, Agent: agent, Queue: rec.Queue,
		Detail: fmt.Sprintf("code=%s tags=%s by=%s", d.Code, strings.Join(d.Tags, ","), p.name)})
	writeJSON(w, 200, d)
}

// callerHistory lists a caller's earlier calls: GET /api/v1/callers/{number}/calls.
// Every role sees the calls and their disposition codes; an agent sees the
// notes only of calls they took or closed (notes are the agent's own words
// about a customer, not for every colleague).
func (s *Server) callerHistory(w http.ResponseWriter, r *http.Request) {
	calls, err := s.store.CallsByCaller(r.Context(), r.PathValue("number"), 20)
	if err != nil {
		writeError(w, 500, "could not read calls")
		return
	}
	writeJSON(w, 200, visibleHistory(calls, who(r)))
}

// visibleHistory blanks the notes p may not read.
func visibleHistory(calls []store.PastCall, p principal) []store.PastCall {
	if p.role != config.RoleAgent {
		return calls
	}
	for i := range calls {
		if c := &calls[i]; c.Agent != p.name && c.DispositionAgent != p.name {
			c.Notes = ""
		}
	}
	return calls
}

// renderScript fills a queue's call script with the call's data, and an
// outbound campaign's call's with the contact's fields ({{plan}}).
func renderScript(script string, c store.CallRecord, contact map[string]string) string {
	pairs := []string{"{{caller}}", c.Caller, "{{caller_name}}", c.CallerName, "{{queue}}", c.Queue, "{{digits}}", c.Digits}
	for k, v := range contact {
		pairs = append(pairs, "{{"+k+"}}", v)
	}
	return strings.NewReplacer(pairs...).Replace(script)
}
