package acd

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/event"
)

// AgentState is where an agent stands.
type AgentState string

// Agent states.
const (
	LoggedOut AgentState = "logged_out"
	Available AgentState = "available"
	Away      AgentState = "away"
	Ringing   AgentState = "ringing" // offered a call, the phone rings
	OnCall    AgentState = "on_call"
	OnHold    AgentState = "on_hold" // on a call, the caller on hold
	WrapUp    AgentState = "wrap_up"
)

// AgentStates lists every state, in the order reports show them.
var AgentStates = []AgentState{LoggedOut, Available, Ringing, OnCall, OnHold, WrapUp, Away}

// ReasonMissed is the away reason after too many ring-no-answers in a row.
const ReasonMissed = "missed"

// EventKind names a change (the record's vocabulary, package event).
type EventKind = event.Kind

// Event kinds the ACD emits.
const (
	EventQueued     = event.Queued
	EventOffered    = event.Offered
	EventDeclined   = event.OfferDeclined
	EventNoAnswer   = event.OfferTimeout
	EventCancelled  = event.OfferCancelled
	EventAnswered   = event.Answered
	EventAbandoned  = event.Abandoned
	EventCallEnded  = event.AgentCallEnded
	EventAgentState = event.AgentState
	EventEscalated  = event.Escalated
	// EventPending: a state asked for during a call, applied after it.
	EventPending        = event.AgentPending
	EventWrapUpExtended = event.WrapUpExtended
	EventDevice         = event.DeviceReachable
)

// Event is one change of a call or an agent.
type Event struct {
	At      time.Time
	Kind    EventKind
	CallID  string
	AgentID string
	Queue   string
	// State and Reason are the agent's new state (agent_state events) or
	// the state asked for (agent_state_pending); empty on other kinds.
	State  AgentState
	Reason string
	// Detail is a human text (for agent_state, "state:reason").
	Detail string
}

func (a *ACD) setAgentState(ag *agent, s AgentState, reason string) {
	if ag.state == s && ag.reason == reason {
		return
	}
	now := a.clock.Now()
	a.rollDay(ag)
	ag.inState[ag.state] += sinceToday(ag.since, now)
	ag.state, ag.reason, ag.since = s, reason, now
	a.emit(Event{Kind: EventAgentState, AgentID: ag.id, State: s, Reason: reason, Detail: stateText(s, reason)})
	if ag.removed && s == LoggedOut {
		a.forget(ag)
	}
}

func stateText(s AgentState, reason string) string {
	if reason == "" {
		return string(s)
	}
	return string(s) + ":" + reason
}

// working reports whether the agent has a call, or its wrap-up, to finish:
// a state change asked for now waits for it (pending).
func working(ag *agent) bool {
	return ag.state == OnCall || ag.state == OnHold || ag.state == WrapUp
}

// Login makes an agent available. During a call it withdraws a pending
// away or logout: the agent stays on the call and is available after it.
func (a *ACD) Login(agentID string) error {
	return a.withAgent(agentID, func(ag *agent) {
		a.clearPending(ag)
		if ag.state == LoggedOut || ag.state == Away {
			a.becomeFree(ag)
		}
	})
}

// Logout takes an agent out of every queue. An offer ringing is withdrawn;
// during a call (or its wrap-up) the logout is pending (see RequestLogout).
func (a *ACD) Logout(agentID string) error {
	_, err := a.RequestLogout(agentID)
	return err
}

// RequestLogout logs an agent out, like Logout, and reports whether the
// logout was deferred: pending is true when the agent is on a call, on
// hold or in wrap-up; the agent keeps the call, AgentView.PendingState
// shows logged_out, and the logout applies when the call and its wrap-up
// end (instead of becoming available). Login or SetAvailable meanwhile
// withdraws it.
func (a *ACD) RequestLogout(agentID string) (pending bool, err error) {
	err = a.withAgent(agentID, func(ag *agent) {
		pending = a.request(ag, LoggedOut, "")
	})
	return pending, err
}

// SetAway pauses a logged-in agent with a reason (lunch, training...);
// during a call it is pending (see RequestAway).
func (a *ACD) SetAway(agentID, reason string) error {
	_, err := a.RequestAway(agentID, reason)
	return err
}

// RequestAway sets a logged-in agent away, like SetAway, and reports
// whether the change was deferred: pending is true when the agent is on a
// call, on hold or in wrap-up; the agent keeps the call, AgentView shows
// PendingState away and PendingReason, and the agent goes away with the
// reason when the call and its wrap-up end. Login or SetAvailable
// meanwhile withdraws it. A logged-out agent gets ErrLoggedOut.
func (a *ACD) RequestAway(agentID, reason string) (pending bool, err error) {
	e := a.withAgent(agentID, func(ag *agent) {
		if ag.state == LoggedOut {
			err = fmt.Errorf("agent %q: %w", agentID, ErrLoggedOut)
			return
		}
		pending = a.request(ag, Away, reason)
	})
	if e != nil {
		return false, e
	}
	return pending, err
}

// request applies state s now, or, while the agent works a call, records
// it as pending; it reports whether it is pending.
func (a *ACD) request(ag *agent, s AgentState, reason string) bool {
	if ag.removed && (s != LoggedOut || reason != ReasonRemoved) {
		return working(ag) // a removed agent is logged out after its call, whatever is asked
	}
	a.withdrawOffer(ag, "agent left")
	if working(ag) {
		if ag.pending != s || ag.pendingReason != reason {
			ag.pending, ag.pendingReason = s, reason
			a.emit(Event{Kind: EventPending, AgentID: ag.id, State: s, Reason: reason, Detail: "after the call: " + stateText(s, reason)})
		}
		return true
	}
	ag.pending, ag.pendingReason = "", ""
	a.setAgentState(ag, s, reason)
	return false
}

// clearPending withdraws a pending request: after the call the agent is
// available (the event says so: a pending available).
func (a *ACD) clearPending(ag *agent) {
	if ag.pending == "" || ag.removed {
		return
	}
	ag.pending, ag.pendingReason = "", ""
	a.emit(Event{Kind: EventPending, AgentID: ag.id, State: Available, Detail: "after the call: available (request withdrawn)"})
}

// afterWork is the end of a call and its wrap-up: the pending state if one
// was asked for, else available.
func (a *ACD) afterWork(ag *agent) {
	s, reason := ag.pending, ag.pendingReason
	if s == "" {
		a.becomeFree(ag)
		return
	}
	ag.pending, ag.pendingReason = "", ""
	ag.idleSince = a.clock.Now()
	a.setAgentState(ag, s, reason)
}

// SetHold puts an agent's call on hold (on) or takes it off hold.
func (a *ACD) SetHold(agentID string, on bool) error {
	return a.withAgent(agentID, func(ag *agent) {
		switch {
		case on && ag.state == OnCall:
			a.setAgentState(ag, OnHold, ag.reason)
		case !on && ag.state == OnHold:
			a.setAgentState(ag, OnCall, ag.reason)
		}
	})
}

// ExtendWrapUp gives an agent in wrap-up more time (a wrap_up_extended
// event; the state does not change).
func (a *ACD) ExtendWrapUp(agentID string, d time.Duration) error {
	var err error
	e := a.withAgent(agentID, func(ag *agent) {
		if ag.state != WrapUp {
			err = fmt.Errorf("acd: agent %q is not in wrap-up", agentID)
			return
		}
		ag.wrapUntil = ag.wrapUntil.Add(d)
		a.emit(Event{Kind: EventWrapUpExtended, AgentID: ag.id, Detail: "+" + d.String()})
	})
	if e != nil {
		return e
	}
	return err
}

// rollDay starts an agent's daily counters afresh when the clock's date changed.
func (a *ACD) rollDay(ag *agent) {
	y, m, d := a.clock.Now().Date()
	day := y*10000 + int(m)*100 + d
	if ag.day == day {
		return
	}
	ag.day, ag.answered, ag.talk = day, 0, 0
	clear(ag.inState)
}

// sinceToday is how long ago since was, counting only today.
func sinceToday(since, now time.Time) time.Duration {
	if sod := startOfDay(now); since.Before(sod) {
		since = sod
	}
	return now.Sub(since)
}

func startOfDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// SetAvailable ends away or wrap-up early (and logs in a logged-out
// agent). During a call it withdraws a pending away or logout.
func (a *ACD) SetAvailable(agentID string) error {
	return a.withAgent(agentID, func(ag *agent) {
		a.clearPending(ag)
		switch ag.state {
		case LoggedOut, Away, WrapUp:
			a.becomeFree(ag)
		}
	})
}

// Toggle logs an agent in when logged out, and out otherwise; it returns
// the state the agent is in now. During a call the logout is pending (the
// state returned is the call's), and a second Toggle withdraws it.
func (a *ACD) Toggle(agentID string) (AgentState, error) {
	var st AgentState
	err := a.withAgent(agentID, func(ag *agent) {
		switch {
		case ag.state == LoggedOut:
			a.becomeFree(ag)
		case ag.pending == LoggedOut:
			a.clearPending(ag)
		default:
			a.request(ag, LoggedOut, "")
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
func (a *ACD) withdrawOffer(ag *agent, why string) {
	o := ag.offer
	if o == nil {
		return
	}
	a.endOffer(o)
	a.sendCancel(o.Offer)
	a.emit(Event{Kind: EventCancelled, CallID: o.CallID, AgentID: ag.id, Queue: o.Queue, Detail: why})
	if o.call.state == callWaiting {
		a.dispatchQueue(o.call.q)
	}
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
	for c := range a.escalating {
		consider(c.nextEscalation())
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
		a.sendCancel(o.Offer)
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
	var escalated []*call
	for c := range a.escalating {
		if t := c.nextEscalation(); t.IsZero() || !now.Before(t) {
			escalated = append(escalated, c)
		}
	}
	slices.SortFunc(escalated, func(x, y *call) int { return cmp.Compare(x.seq, y.seq) })
	for _, c := range escalated {
		for t := c.nextEscalation(); !t.IsZero() && !now.Before(t); t = c.nextEscalation() {
			c.level++
		}
		if c.level >= len(c.q.cfg.Escalations) {
			delete(a.escalating, c)
		}
		a.emit(Event{Kind: EventEscalated, CallID: c.id, Queue: c.q.cfg.Name, Detail: fmt.Sprintf("step=%d", c.level)})
		a.dispatchQueue(c.q)
	}
	slices.SortFunc(due2, func(x, y *agent) int { return strings.Compare(x.id, y.id) })
	for _, ag := range due2 {
		delete(a.timed, ag)
		switch {
		case ag.state == WrapUp:
			a.afterWork(ag)
		case ag.state == Available && ag.offer == nil && !ag.restUntil.IsZero():
			ag.restUntil = time.Time{}
			a.dispatchAgent(ag)
		default:
			ag.restUntil = time.Time{}
		}
	}
}
