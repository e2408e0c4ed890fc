package acd

import (
	"fmt"
	"time"
)

// RestoredNote ends the Detail of the agent_state events Restore emits
// ("away:lunch (restored after restart)"); their State and Reason are the
// state's own, so reports and the desktop read them like any other.
const RestoredNote = "restored after restart"

// Restore puts an agent back in the state it was in when the previous run
// of the server ended — available, away with its reason, or logged out —
// from whatever state the start left it in (logged out, or logged in by a
// phone's registration). The change is an agent_state event like any
// other, its Detail ending with RestoredNote; an agent already in the
// state is left alone. An agent restored available is offered waiting
// calls at once. An agent ringing, on a call or in wrap-up is not changed:
// ErrAgentBusy.
func (a *ACD) Restore(agentID string, s AgentState, reason string) error {
	switch s {
	case Available, LoggedOut:
		reason = ""
	case Away:
	default:
		return fmt.Errorf("acd: restore agent %q: %s is not a state to restore (available, away or logged_out)", agentID, s)
	}
	var err error
	e := a.withAgent(agentID, func(ag *agent) {
		if ag.offer != nil || ag.direct || working(ag) {
			err = fmt.Errorf("restore agent %q: %w", agentID, ErrAgentBusy)
			return
		}
		if ag.state == s && ag.reason == reason {
			return
		}
		ag.pending, ag.pendingReason = "", ""
		if s == Available {
			ag.idleSince = a.clock.Now()
		}
		a.setAgentState(ag, s, reason)
		a.noteRestored(ag.id)
		if s == Available {
			a.dispatchAgent(ag)
		}
	})
	if e != nil {
		return e
	}
	return err
}

// noteRestored marks the agent_state event just emitted for agentID (the
// outbox's last item, under a.mu) as a restoration.
func (a *ACD) noteRestored(agentID string) {
	if n := len(a.out); n > 0 {
		if it := &a.out[n-1]; it.kind == outEvent && it.event.Kind == EventAgentState && it.event.AgentID == agentID {
			it.event.Detail += " (" + RestoredNote + ")"
		}
	}
}

// restoredSeqs is how many calls EnqueueRestored may number ahead of the
// new calls.
const restoredSeqs = 1 << 40

// EnqueueRestored puts back in line a call a previous run had queued (a
// pending callback): ahead of every call queued by this run with the same
// priority — restored calls among themselves in the order they are put
// back — with queuedAt, its original place in line, for its wait and its
// escalation steps.
func (a *ACD) EnqueueRestored(callID, queueName string, priority int, queuedAt time.Time) error {
	a.mu.Lock()
	defer a.unlock()
	return a.enqueue(callID, queueName, priority, queuedAt, true)
}
