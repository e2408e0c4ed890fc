package acd

import (
	"fmt"
	"time"
)

// A new ACD taking over from one that stopped (the cluster's leader died)
// is rebuilt from what the nodes report: calls waiting, put back with
// EnqueueRestored in the order they had (their original queue times);
// phones ringing for a call (RestoreOffer), agents on calls (RestoreOnCall);
// then the agents' states (Restore), which makes the free ones available.
// Restore the calls and their offers before the agents' states, so that
// nothing is dispatched before the whole picture is back.

// StartOffersAt makes the ACD number its next offers above id: offers of
// an ACD before it (restored by RestoreOffer, or still answered to the
// nodes) keep IDs of their own.
func (a *ACD) StartOffersAt(id uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.nextOID = max(a.nextOID, id)
}

// RestoreOffer puts back an offer made before the takeover whose phone is
// still ringing: the call (put back by EnqueueRestored, and waiting) rings
// the agent with the offer's ID until deadline; Answered, Declined,
// Abandon and the ring timeout then work as for the ACD's own offers. The
// Offerer is not told (the phone rings already). An agent already ringing
// or on a call, or a call already ringing someone, is refused
// (ErrAgentBusy, ErrStaleOffer).
func (a *ACD) RestoreOffer(o Offer, deadline time.Time) error {
	a.mu.Lock()
	defer a.unlock()
	ag, ok := a.agents[o.AgentID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownAgent, o.AgentID)
	}
	c, ok := a.calls[o.CallID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownCall, o.CallID)
	}
	if _, dup := a.offers[o.ID]; dup || c.state != callWaiting {
		return fmt.Errorf("restore offer %d: %w", o.ID, ErrStaleOffer)
	}
	if ag.offer != nil || ag.direct || working(ag) {
		return fmt.Errorf("restore offer %d to %q: %w", o.ID, o.AgentID, ErrAgentBusy)
	}
	o.Queue = c.q.cfg.Name
	os := &offerState{Offer: o, deadline: deadline, agent: ag, call: c}
	a.offers[o.ID] = os
	c.offers = append(c.offers, os)
	c.state = callRinging
	ag.offer = os
	a.nextOID = max(a.nextOID, o.ID)
	a.setAgentState(ag, Ringing, "")
	a.noteRestored(ag.id)
	return nil
}

// RestoreOnCall puts an agent back on the call it had before the takeover:
// a call from queue (its wrap-up follows CallEnded), or with queue empty a
// direct one (ended by Release, as after Reserve), answered at answeredAt
// (its talk time counts from then), on hold or not. An agent already
// ringing or on a call is refused (ErrAgentBusy).
func (a *ACD) RestoreOnCall(agentID, callID, queueName string, answeredAt time.Time, onHold bool) error {
	a.mu.Lock()
	defer a.unlock()
	ag, ok := a.agents[agentID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownAgent, agentID)
	}
	var q *queue
	if queueName != "" {
		if q, ok = a.queues[queueName]; !ok {
			return fmt.Errorf("%w %q", ErrUnknownQueue, queueName)
		}
	}
	if ag.offer != nil || ag.direct || working(ag) {
		return fmt.Errorf("restore call %q to %q: %w", callID, agentID, ErrAgentBusy)
	}
	now := a.clock.Now()
	if answeredAt.IsZero() || answeredAt.After(now) {
		answeredAt = now
	}
	a.rollDay(ag)
	ag.callID = callID
	state, reason := OnCall, ""
	if q == nil {
		ag.direct, reason = true, "direct"
	} else {
		ag.callQueue = q
		ag.answeredAt, ag.answeredStart = answeredAt, answeredAt
	}
	if onHold {
		state = OnHold
	}
	a.setAgentState(ag, state, reason)
	a.noteRestored(ag.id)
	return nil
}

// OfferAgent is the agent an offer standing rings.
func (a *ACD) OfferAgent(id uint64) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	o, ok := a.offers[id]
	if !ok {
		return "", false
	}
	return o.agent.id, true
}
