package acd

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// AgentState is where an agent stands.
type AgentState string

// Agent states.
const (
	LoggedOut AgentState = "logged_out"
	Available AgentState = "available"
	Away      AgentState = "away"
	Ringing   AgentState = "ringing"
	OnCall    AgentState = "on_call"
	WrapUp    AgentState = "wrap_up"
)

// EventKind names a change.
type EventKind string

// Event kinds the ACD emits.
const (
	EventQueued     EventKind = "queued"
	EventOffered    EventKind = "offered"
	EventDeclined   EventKind = "offer_declined"
	EventNoAnswer   EventKind = "offer_timeout"
	EventCancelled  EventKind = "offer_cancelled"
	EventAnswered   EventKind = "answered"
	EventAbandoned  EventKind = "abandoned"
	EventCallEnded  EventKind = "agent_call_ended"
	EventAgentState EventKind = "agent_state"
)

// Event is one change of a call or an agent.
type Event struct {
	At      time.Time
	Kind    EventKind
	CallID  string
	AgentID string
	Queue   string
	Detail  string
}

func (a *ACD) setAgentState(ag *agent, s AgentState, reason string) {
	if ag.state == s && ag.reason == reason {
		return
	}
	ag.state, ag.reason, ag.since = s, reason, a.clock.Now()
	d := string(s)
	if reason != "" {
		d += ":" + reason
	}
	a.emit(Event{Kind: EventAgentState, AgentID: ag.id, Detail: d})
}

// Login makes an agent available.
func (a *ACD) Login(agentID string) error {
	return a.withAgent(agentID, func(ag *agent) {
		if ag.state == LoggedOut || ag.state == Away {
			a.becomeFree(ag)
		}
	})
}

// Logout takes an agent out of every queue. An offer ringing is withdrawn;
// a call in progress goes on.
func (a *ACD) Logout(agentID string) error {
	return a.withAgent(agentID, func(ag *agent) {
		a.withdrawOffer(ag)
		if ag.state != OnCall {
			a.setAgentState(ag, LoggedOut, "")
		}
	})
}

// SetAway pauses a logged-in agent with a reason (lunch, training...).
func (a *ACD) SetAway(agentID, reason string) error {
	var err error
	e := a.withAgent(agentID, func(ag *agent) {
		if ag.state == LoggedOut {
			err = fmt.Errorf("acd: agent %q is logged out", agentID)
			return
		}
		a.withdrawOffer(ag)
		if ag.state != OnCall {
			a.setAgentState(ag, Away, reason)
		}
	})
	if e != nil {
		return e
	}
	return err
}

// SetAvailable ends away or wrap-up early (and logs in a logged-out agent).
func (a *ACD) SetAvailable(agentID string) error {
	return a.withAgent(agentID, func(ag *agent) {
		switch ag.state {
		case LoggedOut, Away, WrapUp:
			a.becomeFree(ag)
		}
	})
}

// Toggle logs an agent in when logged out, and out otherwise; it returns the new state.
func (a *ACD) Toggle(agentID string) (AgentState, error) {
	var st AgentState
	err := a.withAgent(agentID, func(ag *agent) {
		if ag.state == LoggedOut {
			a.becomeFree(ag)
		} else {
			a.withdrawOffer(ag)
			if ag.state != OnCall {
				a.setAgentState(ag, LoggedOut, "")
			}
		}
		st = ag.state
	})
	return st, err
}

func (a *ACD) withAgent(agentID string, f func(*agent)) error {
	a.mu.Lock()
	defer a.unlock()
	ag, ok := a.agents[agentID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownAgent, agentID)
	}
	f(ag)
	return nil
}

// withdrawOffer cancels an offer ringing the agent and puts its call back in line.
func (a *ACD) withdrawOffer(ag *agent) {
	o := ag.offer
	if o == nil {
		return
	}
	a.endOffer(o)
	a.outCancels = append(a.outCancels, o.Offer)
	a.emit(Event{Kind: EventCancelled, CallID: o.CallID, AgentID: ag.id, Queue: o.Queue, Detail: "agent left"})
	a.dispatchCall(o.call)
}

// eligible reports whether an agent can be offered a call now.
func (a *ACD) eligible(ag *agent, now time.Time) bool {
	return ag.state == Available && ag.offer == nil && !ag.direct && !now.Before(ag.restUntil)
}

// dispatchCall offers a waiting call to the longest-idle eligible agent of its queue.
func (a *ACD) dispatchCall(c *call) {
	if c.state != callWaiting {
		return
	}
	now := a.clock.Now()
	var best *agent
	for _, ag := range c.q.agents {
		if !a.eligible(ag, now) {
			continue
		}
		if best == nil || ag.idleSince.Before(best.idleSince) || (ag.idleSince.Equal(best.idleSince) && ag.id < best.id) {
			best = ag
		}
	}
	if best == nil {
		return
	}
	// Calls ahead of this one in line come first: if one of them is still
	// waiting, it gets this agent.
	for _, other := range c.q.calls {
		if other == c {
			break
		}
		if other.state == callWaiting {
			c = other
			break
		}
	}
	a.offer(c, best)
}

// dispatchAgent gives a newly free agent the most urgent waiting call among
// its queues: highest priority, then longest waiting.
func (a *ACD) dispatchAgent(ag *agent) {
	if !a.eligible(ag, a.clock.Now()) {
		return
	}
	var best *call
	for _, q := range ag.queues {
		for _, c := range q.calls {
			if c.state != callWaiting {
				continue
			}
			if best == nil || c.priority > best.priority || (c.priority == best.priority && c.queuedAt.Before(best.queuedAt)) {
				best = c
			}
			break
		}
	}
	if best != nil {
		a.offer(best, ag)
	}
}

func (a *ACD) offer(c *call, ag *agent) {
	a.nextOID++
	o := &offerState{
		Offer:    Offer{ID: a.nextOID, CallID: c.id, AgentID: ag.id, Queue: c.q.cfg.Name, Timeout: c.q.cfg.RingTimeout},
		deadline: a.clock.Now().Add(c.q.cfg.RingTimeout),
		agent:    ag,
		call:     c,
	}
	a.offers[o.ID] = o
	c.offer, c.state = o, callRinging
	ag.offer = o
	a.setAgentState(ag, Ringing, "")
	a.emit(Event{Kind: EventOffered, CallID: c.id, AgentID: ag.id, Queue: c.q.cfg.Name})
	a.outOffers = append(a.outOffers, o.Offer)
}

// NextDeadline is the earliest time Tick has work to do.
func (a *ACD) NextDeadline() (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var next time.Time
	now := a.clock.Now()
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, o := range a.offers {
		consider(o.deadline)
	}
	for ag := range a.timed {
		switch {
		case ag.state == WrapUp:
			consider(ag.wrapUntil)
		case ag.state == Available && ag.restUntil.After(now):
			consider(ag.restUntil)
		case ag.state == Available && !ag.restUntil.IsZero():
			consider(ag.restUntil) // due now: Tick clears it
		}
	}
	return next, !next.IsZero()
}

// Tick carries out what is due at the clock's now: ring timeouts, ends of
// wrap-up and of rest after a missed offer.
func (a *ACD) Tick() {
	a.mu.Lock()
	defer a.unlock()
	now := a.clock.Now()
	var due []*offerState
	for _, o := range a.offers {
		if !now.Before(o.deadline) {
			due = append(due, o)
		}
	}
	sortOffers(due)
	for _, o := range due {
		a.outCancels = append(a.outCancels, o.Offer)
		a.failOffer(o, EventNoAnswer, "ring timeout")
	}
	var due2 []*agent
	for ag := range a.timed {
		switch {
		case ag.state == WrapUp && now.Before(ag.wrapUntil):
		case ag.state == Available && !ag.restUntil.IsZero() && now.Before(ag.restUntil):
		default:
			due2 = append(due2, ag) // due, or no longer timed
		}
	}
	slices.SortFunc(due2, func(x, y *agent) int { return strings.Compare(x.id, y.id) })
	for _, ag := range due2 {
		delete(a.timed, ag)
		switch {
		case ag.state == WrapUp:
			a.becomeFree(ag)
		case ag.state == Available && ag.offer == nil && !ag.restUntil.IsZero():
			ag.restUntil = time.Time{}
			a.dispatchAgent(ag)
		default:
			ag.restUntil = time.Time{}
		}
	}
}
