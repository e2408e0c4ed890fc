// Package acd is the automatic call distributor: queues of waiting calls,
// agents and their states, and the decision of which agent is offered which
// call. It is pure domain: no sockets, no SQL, and time comes from an
// injected Clock, so the same code runs under real time, in deterministic
// tests and in the discrete-event simulator.
//
// Inputs are method calls (a call is queued, an agent answered, the caller
// hung up, time passed); outputs are offers and cancellations sent to an
// Offerer, and events sent to a sink. Timers are not goroutines: the driver
// asks NextDeadline and calls Tick when it is due.
package acd

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Clock tells the time; tests and the simulator pass a virtual one.
type Clock interface{ Now() time.Time }

// Offerer carries out the ACD's decisions. Its methods are called after the
// ACD's lock is released, from the goroutine that called into the ACD; they
// must not block for long (ring a phone in the background, then report back
// with Answered or Declined).
type Offerer interface {
	Offer(o Offer)
	CancelOffer(o Offer)
}

// Offer is one attempt to hand a call to an agent.
type Offer struct {
	ID      uint64
	CallID  string
	AgentID string
	Queue   string
	Timeout time.Duration
}

// Errors callers branch on.
var (
	ErrUnknownQueue = errors.New("acd: unknown queue")
	ErrUnknownAgent = errors.New("acd: unknown agent")
	ErrUnknownCall  = errors.New("acd: unknown call")
	ErrStaleOffer   = errors.New("acd: offer no longer stands")
	ErrAgentBusy    = errors.New("acd: agent not available")
)

// DefaultRetryPause is how long an agent who missed or refused an offer rests
// before being offered again.
const DefaultRetryPause = 5 * time.Second

// QueueConfig is what the ACD needs to know of a queue.
type QueueConfig struct {
	Name        string
	RingTimeout time.Duration
	WrapUp      time.Duration
	// RetryPause after a missed or refused offer; DefaultRetryPause when zero.
	RetryPause time.Duration
}

// AgentConfig is what the ACD needs to know of an agent.
type AgentConfig struct {
	ID     string
	Queues []string
}

type queue struct {
	cfg    QueueConfig
	calls  []*call // waiting and ringing calls, in service order
	agents []*agent
}

type callState uint8

const (
	callWaiting callState = iota
	callRinging
)

type call struct {
	id       string
	q        *queue
	priority int
	queuedAt time.Time
	seq      uint64 // arrival order, breaks ties
	state    callState
	offer    *offerState
}

type offerState struct {
	Offer
	deadline time.Time
	agent    *agent
	call     *call
}

type agent struct {
	id        string
	queues    []*queue
	state     AgentState
	reason    string
	since     time.Time // when the current state began
	idleSince time.Time // last time the agent became free; longest-idle orders by it
	restUntil time.Time
	wrapUntil time.Time
	offer     *offerState
	callID    string
	direct    bool // on a call that did not come through a queue
	// counters for the day
	answered int
}

// ACD is safe for concurrent use.
type ACD struct {
	mu      sync.Mutex
	clock   Clock
	offerer Offerer
	sink    func(Event)

	queues map[string]*queue
	agents map[string]*agent
	// timed holds the agents with a timer running (wrap-up, rest after a
	// missed offer), so deadlines are found without scanning every agent.
	timed   map[*agent]struct{}
	quiet   bool // no event sink: events are not built
	calls   map[string]*call
	offers  map[uint64]*offerState
	nextOID uint64
	nextSeq uint64

	// work gathered under the lock, carried out after it
	outOffers  []Offer
	outCancels []Offer
	outEvents  []Event
}

// New makes an ACD. sink receives every event; it may be nil.
func New(clock Clock, offerer Offerer, sink func(Event)) *ACD {
	quiet := sink == nil
	if sink == nil {
		sink = func(Event) {}
	}
	return &ACD{
		clock: clock, offerer: offerer, sink: sink, quiet: quiet, timed: map[*agent]struct{}{},
		queues: map[string]*queue{}, agents: map[string]*agent{},
		calls: map[string]*call{}, offers: map[uint64]*offerState{},
	}
}

// AddQueue defines a queue (or updates its settings).
func (a *ACD) AddQueue(c QueueConfig) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c.RetryPause == 0 {
		c.RetryPause = DefaultRetryPause
	}
	if q, ok := a.queues[c.Name]; ok {
		q.cfg = c
		return
	}
	a.queues[c.Name] = &queue{cfg: c}
}

// AddAgent defines an agent, logged out, as a member of its queues.
func (a *ACD) AddAgent(c AgentConfig) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.agents[c.ID]; ok {
		return fmt.Errorf("acd: agent %q defined twice", c.ID)
	}
	ag := &agent{id: c.ID, state: LoggedOut, since: a.clock.Now()}
	for _, name := range c.Queues {
		q, ok := a.queues[name]
		if !ok {
			return fmt.Errorf("agent %q: %w %q", c.ID, ErrUnknownQueue, name)
		}
		ag.queues = append(ag.queues, q)
		q.agents = append(q.agents, ag)
	}
	a.agents[c.ID] = ag
	return nil
}

// unlock releases the lock, then hands gathered decisions and events out.
func (a *ACD) unlock() {
	offers, cancels, events := a.outOffers, a.outCancels, a.outEvents
	a.outOffers, a.outCancels, a.outEvents = nil, nil, nil
	a.mu.Unlock()
	for _, e := range events {
		a.sink(e)
	}
	for _, o := range cancels {
		a.offerer.CancelOffer(o)
	}
	for _, o := range offers {
		a.offerer.Offer(o)
	}
}

func (a *ACD) emit(e Event) {
	if a.quiet {
		return
	}
	e.At = a.clock.Now()
	a.outEvents = append(a.outEvents, e)
}

// Enqueue puts a call in a queue; higher priority is served first, then
// order of arrival.
func (a *ACD) Enqueue(callID, queueName string, priority int) error {
	a.mu.Lock()
	defer a.unlock()
	q, ok := a.queues[queueName]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownQueue, queueName)
	}
	if _, dup := a.calls[callID]; dup {
		return fmt.Errorf("acd: call %q already queued", callID)
	}
	a.nextSeq++
	c := &call{id: callID, q: q, priority: priority, queuedAt: a.clock.Now(), seq: a.nextSeq}
	i, _ := slices.BinarySearchFunc(q.calls, c, compareCalls)
	q.calls = slices.Insert(q.calls, i, c)
	a.calls[callID] = c
	if !a.quiet {
		a.emit(Event{Kind: EventQueued, CallID: callID, Queue: q.cfg.Name, Detail: fmt.Sprintf("priority=%d position=%d", priority, i+1)})
	}
	a.dispatchCall(c)
	return nil
}

func compareCalls(x, y *call) int {
	if x.priority != y.priority {
		return y.priority - x.priority
	}
	switch {
	case x.seq < y.seq:
		return -1
	case x.seq > y.seq:
		return 1
	}
	return 0
}

// Abandon removes a call whose caller hung up (or left the queue some other
// way), cancelling a ringing offer.
func (a *ACD) Abandon(callID, reason string) error {
	a.mu.Lock()
	defer a.unlock()
	c, ok := a.calls[callID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownCall, callID)
	}
	a.removeCall(c)
	a.emit(Event{Kind: EventAbandoned, CallID: callID, Queue: c.q.cfg.Name, Detail: reason})
	if o := c.offer; o != nil {
		a.endOffer(o)
		a.outCancels = append(a.outCancels, o.Offer)
		a.setAgentState(o.agent, Available, "")
		a.dispatchAgent(o.agent)
	}
	return nil
}

func (a *ACD) removeCall(c *call) {
	delete(a.calls, c.id)
	if i := slices.Index(c.q.calls, c); i >= 0 {
		c.q.calls = slices.Delete(c.q.calls, i, i+1)
	}
}

func (a *ACD) endOffer(o *offerState) {
	delete(a.offers, o.ID)
	o.call.offer = nil
	o.call.state = callWaiting
	o.agent.offer = nil
}

// Answered reports that the agent picked up: the call leaves the queue and
// the agent is on it. ErrStaleOffer means the offer was withdrawn meanwhile
// (the caller hung up, or the ring timed out): hang the agent's leg up.
func (a *ACD) Answered(offerID uint64) error {
	a.mu.Lock()
	defer a.unlock()
	o, ok := a.offers[offerID]
	if !ok {
		return ErrStaleOffer
	}
	a.endOffer(o)
	a.removeCall(o.call)
	ag := o.agent
	ag.callID = o.CallID
	ag.answered++
	a.setAgentState(ag, OnCall, "")
	if !a.quiet {
		a.emit(Event{Kind: EventAnswered, CallID: o.CallID, AgentID: ag.id, Queue: o.Queue,
			Detail: fmt.Sprintf("wait=%s", a.clock.Now().Sub(o.call.queuedAt).Round(time.Millisecond))})
	}
	return nil
}

// Declined reports that an offer failed: refused (busy), unreachable, or
// any other reason. The call is offered to the next agent; this one rests.
func (a *ACD) Declined(offerID uint64, reason string) error {
	a.mu.Lock()
	defer a.unlock()
	o, ok := a.offers[offerID]
	if !ok {
		return ErrStaleOffer
	}
	a.failOffer(o, EventDeclined, reason)
	return nil
}

func (a *ACD) failOffer(o *offerState, kind EventKind, reason string) {
	a.endOffer(o)
	now := a.clock.Now()
	ag := o.agent
	ag.restUntil = now.Add(o.call.q.cfg.RetryPause)
	a.timed[ag] = struct{}{}
	a.emit(Event{Kind: kind, CallID: o.CallID, AgentID: ag.id, Queue: o.Queue, Detail: reason})
	a.setAgentState(ag, Available, "")
	a.dispatchCall(o.call)
}

// CallEnded reports that the agent's call is over: wrap-up follows when the
// queue has one, then the agent is available again.
func (a *ACD) CallEnded(agentID string) error {
	a.mu.Lock()
	defer a.unlock()
	ag, ok := a.agents[agentID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownAgent, agentID)
	}
	if ag.state != OnCall {
		return nil
	}
	callID := ag.callID
	ag.callID = ""
	wrap := time.Duration(0)
	if q := a.queueOfCall(ag, callID); q != nil {
		wrap = q.cfg.WrapUp
	}
	a.emit(Event{Kind: EventCallEnded, CallID: callID, AgentID: ag.id})
	if wrap > 0 {
		ag.wrapUntil = a.clock.Now().Add(wrap)
		a.timed[ag] = struct{}{}
		a.setAgentState(ag, WrapUp, "")
		return nil
	}
	a.becomeFree(ag)
	return nil
}

// queueOfCall is the queue the agent's current call came from; the first of
// the agent's queues stands in when the call came directly.
func (a *ACD) queueOfCall(ag *agent, _ string) *queue {
	if len(ag.queues) > 0 {
		return ag.queues[0]
	}
	return nil
}

func (a *ACD) becomeFree(ag *agent) {
	ag.idleSince = a.clock.Now()
	a.setAgentState(ag, Available, "")
	a.dispatchAgent(ag)
}

// Reserve takes an available agent for a call that does not come through a
// queue (a direct extension call). Release gives it back.
func (a *ACD) Reserve(agentID, callID string) error {
	a.mu.Lock()
	defer a.unlock()
	ag, ok := a.agents[agentID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownAgent, agentID)
	}
	if ag.direct || (ag.state != Available && ag.state != LoggedOut && ag.state != Away) {
		return ErrAgentBusy
	}
	ag.direct = true
	if ag.state == Available {
		ag.callID = callID
		a.setAgentState(ag, OnCall, "direct")
	}
	return nil
}

// Release ends a reservation made by Reserve.
func (a *ACD) Release(agentID string) error {
	a.mu.Lock()
	defer a.unlock()
	ag, ok := a.agents[agentID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownAgent, agentID)
	}
	ag.direct = false
	if ag.state == OnCall && ag.reason == "direct" {
		ag.callID = ""
		a.becomeFree(ag)
	}
	return nil
}
