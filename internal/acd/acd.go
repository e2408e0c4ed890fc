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
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Clock tells the time; tests and the simulator pass a virtual one.
type Clock interface{ Now() time.Time }

// Offerer carries out the ACD's decisions. Its methods are never called
// with the ACD's lock held, and never by two goroutines at once: one
// goroutine at a time delivers the decisions, in the order the ACD made
// them (often the goroutine that called into the ACD, sometimes another
// one that was delivering already). They must not block for long (ring a
// phone in the background, then report back with Answered or Declined);
// they may call back into the ACD.
//
// Order contract: CancelOffer(o) always comes after Offer(o). A CancelOffer
// for an offer whose phone has not started ringing yet means that phone
// must never ring for it; an implementation that starts ringing
// asynchronously must check for the cancel before it dials.
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
	// Strategy picks among the agents who can take a call; LongestIdle when empty.
	Strategy Strategy
	// Priority orders an agent's queues: a free agent in several queues
	// takes a call from the highest-priority queue first, then the longest
	// waiting.
	Priority int
	// Skills the queue's calls need: skill → minimum proficiency (1–10).
	// A member agent without them (at that level) is not offered the calls.
	Skills map[string]int
	// Escalations widen who may take a call as it waits, in order of After.
	Escalations []Escalation
	// MissedToAway sets an agent away with reason "missed" after this many
	// ring-no-answers in a row; 0 never does.
	MissedToAway int
}

// Escalation is a step that widens the agents a waiting call may go to.
type Escalation struct {
	After time.Duration // of waiting in the queue
	// MinProficiency, when set, lowers every required skill's minimum to it.
	MinProficiency int
	// AddQueues' agents are offered the call too (without the skill check:
	// an explicit overflow).
	AddQueues []string
}

// AgentConfig is what the ACD needs to know of an agent.
type AgentConfig struct {
	ID     string
	Queues []string
	// Skills: skill → proficiency 1–10.
	Skills map[string]int
}

type queue struct {
	cfg    QueueConfig
	calls  []*call // waiting and ringing calls, in service order
	agents []*agent
	rrNext int // round robin: index in agents to start from
	// handled holds the handle times of the queue's last calls (wait estimates).
	handled []time.Duration
	// retired: a reload removed the queue; it goes once its calls have left.
	retired bool
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
	offers   []*offerState // one, or several with ring-all
	level    int           // escalation steps taken
	callback bool          // the caller hung up and waits to be called back
}

// nextEscalation is when the call's next escalation step is due (zero: none left).
func (c *call) nextEscalation() time.Time {
	if c.level >= len(c.q.cfg.Escalations) {
		return time.Time{}
	}
	return c.queuedAt.Add(c.q.cfg.Escalations[c.level].After)
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
	skills    map[string]int
	state     AgentState
	reason    string
	since     time.Time // when the current state began
	idleSince time.Time // last time the agent became free; longest-idle orders by it
	restUntil time.Time
	wrapUntil time.Time
	offer     *offerState
	callID    string
	callQueue *queue // the queue the current call came from (nil: direct)
	direct    bool   // on a call that did not come through a queue
	missed    int    // ring-no-answers in a row
	// pending is the state asked for during a call, applied after it
	// (with pendingReason); empty: none.
	pending       AgentState
	pendingReason string
	unreachable   bool // the phone cannot be reached (device state)
	// removed: a reload removed the agent; it goes once logged out.
	removed bool
	// counters for the day (day is the clock's date)
	day        int // yyyymmdd
	answered   int
	talk       time.Duration
	answeredAt time.Time
	// answeredStart is when the current queue call was answered (handle time).
	answeredStart time.Time
	inState       map[AgentState]time.Duration // time spent in each earlier state today
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
	timed map[*agent]struct{}
	// escalating holds the calls with an escalation step still to come.
	escalating map[*call]struct{}
	// borrowers maps a queue to the queues whose escalation steps add its agents.
	borrowers map[*queue][]*queue
	rng       *rand.Rand
	quiet     bool // no event sink: events are not built
	calls     map[string]*call
	offers    map[uint64]*offerState
	nextOID   uint64
	nextSeq   uint64 // arrival order of new calls: from restoredSeqs up
	// restoredSeq numbers the calls EnqueueRestored puts back in line, all
	// below restoredSeqs: ahead of every new call of the same priority.
	restoredSeq uint64

	// out holds the decisions and events made under the lock, in order,
	// for the one drainer to deliver (outbox.go); spare is the drained
	// batch's buffer, reused.
	out      []outItem
	spare    []outItem
	draining bool
}

// New makes an ACD. sink receives every event; it may be nil.
func New(clock Clock, offerer Offerer, sink func(Event)) *ACD {
	quiet := sink == nil
	if sink == nil {
		sink = func(Event) {}
	}
	return &ACD{
		clock: clock, offerer: offerer, sink: sink, quiet: quiet, timed: map[*agent]struct{}{},
		escalating: map[*call]struct{}{}, rng: rand.New(rand.NewPCG(1, 2)),
		queues: map[string]*queue{}, agents: map[string]*agent{},
		calls: map[string]*call{}, offers: map[uint64]*offerState{}, nextSeq: restoredSeqs,
	}
}

// Seed sets the random source of the random strategy (tests, simulation).
func (a *ACD) Seed(seed uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rng = rand.New(rand.NewPCG(seed, 2))
}

// AddQueue defines a queue (or updates its settings).
func (a *ACD) AddQueue(c QueueConfig) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c = normalize(c)
	if q, ok := a.queues[c.Name]; ok {
		q.cfg = c
	} else {
		a.queues[c.Name] = &queue{cfg: c}
	}
	a.linkBorrowers()
}

// linkBorrowers rebuilds which queues may borrow which queues' agents.
func (a *ACD) linkBorrowers() {
	a.borrowers = map[*queue][]*queue{}
	names := slices.Sorted(maps.Keys(a.queues))
	for _, name := range names {
		q := a.queues[name]
		for _, step := range q.cfg.Escalations {
			for _, lender := range step.AddQueues {
				if l := a.queues[lender]; l != nil && l != q && !slices.Contains(a.borrowers[l], q) {
					a.borrowers[l] = append(a.borrowers[l], q)
				}
			}
		}
	}
}

// AddAgent defines an agent, logged out, as a member of its queues.
func (a *ACD) AddAgent(c AgentConfig) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.agents[c.ID]; ok {
		return fmt.Errorf("acd: agent %q defined twice", c.ID)
	}
	ag := &agent{id: c.ID, state: LoggedOut, since: a.clock.Now(), skills: c.Skills, inState: map[AgentState]time.Duration{}}
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

// Enqueue puts a call in a queue; higher priority is served first, then
// order of arrival.
func (a *ACD) Enqueue(callID, queueName string, priority int) error {
	a.mu.Lock()
	defer a.unlock()
	return a.enqueue(callID, queueName, priority, time.Time{}, false)
}

// enqueue puts a call in line under the lock: a new call (numbered after
// every other), or one a previous run had queued (restored: numbered ahead
// of this run's calls, in line since queuedAt).
func (a *ACD) enqueue(callID, queueName string, priority int, queuedAt time.Time, restored bool) error {
	q, ok := a.queues[queueName]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownQueue, queueName)
	}
	if _, dup := a.calls[callID]; dup {
		return fmt.Errorf("acd: call %q already queued", callID)
	}
	now := a.clock.Now()
	seq, note := a.nextSeq+1, ""
	if restored {
		if a.restoredSeq+1 >= restoredSeqs {
			return fmt.Errorf("acd: more than %d calls restored", restoredSeqs-1)
		}
		seq, note = a.restoredSeq+1, " restored"
		a.restoredSeq++
	} else {
		a.nextSeq++
	}
	if queuedAt.IsZero() || queuedAt.After(now) {
		queuedAt = now
	}
	c := &call{id: callID, q: q, priority: priority, queuedAt: queuedAt, seq: seq}
	i := a.place(c)
	if !a.quiet {
		a.emit(Event{Kind: EventQueued, CallID: callID, Queue: q.cfg.Name, Detail: fmt.Sprintf("priority=%d position=%d%s", priority, i+1, note)})
	}
	a.dispatchQueue(q)
	return nil
}

// place puts a call in its queue, in service order, with its escalation
// steps counted from now; it returns the index it took.
func (a *ACD) place(c *call) int {
	q := c.q
	i, _ := slices.BinarySearchFunc(q.calls, c, compareCalls)
	q.calls = slices.Insert(q.calls, i, c)
	a.calls[c.id] = c
	for c.level < len(q.cfg.Escalations) && q.cfg.Escalations[c.level].After <= 0 {
		c.level++
	}
	if c.level < len(q.cfg.Escalations) {
		a.escalating[c] = struct{}{}
	}
	return i
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
	return a.leave(callID, EventAbandoned, reason)
}

// leave takes a call out of its queue with an event of kind.
func (a *ACD) leave(callID string, kind EventKind, reason string) error {
	a.mu.Lock()
	defer a.unlock()
	c, ok := a.calls[callID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownCall, callID)
	}
	a.takeOut(c, kind, reason)
	return nil
}

// takeOut removes a call from its queue with an event, freeing the agents
// whose phones rang for it.
func (a *ACD) takeOut(c *call, kind EventKind, reason string) {
	a.removeCall(c)
	a.emit(Event{Kind: kind, CallID: c.id, Queue: c.q.cfg.Name, Detail: reason})
	for _, o := range slices.Clone(c.offers) {
		a.endOffer(o)
		a.sendCancel(o.Offer)
		a.setAgentState(o.agent, Available, "")
		a.dispatchAgent(o.agent)
	}
}

func (a *ACD) removeCall(c *call) {
	delete(a.calls, c.id)
	delete(a.escalating, c)
	if i := slices.Index(c.q.calls, c); i >= 0 {
		c.q.calls = slices.Delete(c.q.calls, i, i+1)
	}
	a.retireIfEmpty(c.q)
}

func (a *ACD) endOffer(o *offerState) {
	delete(a.offers, o.ID)
	c := o.call
	if i := slices.Index(c.offers, o); i >= 0 {
		c.offers = slices.Delete(c.offers, i, i+1)
	}
	if len(c.offers) == 0 {
		c.state = callWaiting
	}
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
	// Ring-all: the other phones stop ringing, their agents are free again.
	for _, other := range slices.Clone(o.call.offers) {
		a.endOffer(other)
		a.sendCancel(other.Offer)
		a.emit(Event{Kind: EventCancelled, CallID: other.CallID, AgentID: other.agent.id, Queue: other.Queue, Detail: "answered elsewhere"})
		a.setAgentState(other.agent, Available, "")
	}
	ag := o.agent
	a.rollDay(ag)
	ag.callID = o.CallID
	ag.callQueue = o.call.q
	ag.answered++
	ag.missed = 0
	ag.answeredAt = a.clock.Now()
	ag.answeredStart = ag.answeredAt
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
	q := o.call.q
	ag.restUntil = now.Add(q.cfg.RetryPause)
	a.timed[ag] = struct{}{}
	a.emit(Event{Kind: kind, CallID: o.CallID, AgentID: ag.id, Queue: o.Queue, Detail: reason})
	if kind == EventNoAnswer {
		ag.missed++
	}
	if q.cfg.MissedToAway > 0 && ag.missed >= q.cfg.MissedToAway {
		ag.missed = 0
		a.setAgentState(ag, Away, ReasonMissed)
	} else {
		a.setAgentState(ag, Available, "")
	}
	if o.call.state == callWaiting {
		a.dispatchQueue(q)
	}
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
	if ag.state != OnCall && ag.state != OnHold {
		return nil
	}
	callID := ag.callID
	ag.callID = ""
	a.rollDay(ag)
	if !ag.answeredAt.IsZero() {
		ag.talk += a.clock.Now().Sub(ag.answeredAt)
		ag.answeredAt = time.Time{}
	}
	wrap := time.Duration(0)
	if q := ag.callQueue; q != nil {
		wrap = q.cfg.WrapUp
		q.noteHandled(a.clock.Now().Sub(ag.answeredStart) + wrap)
	}
	ag.callQueue = nil
	a.emit(Event{Kind: EventCallEnded, CallID: callID, AgentID: ag.id})
	if wrap > 0 {
		ag.wrapUntil = a.clock.Now().Add(wrap)
		a.timed[ag] = struct{}{}
		a.setAgentState(ag, WrapUp, "")
		return nil
	}
	a.afterWork(ag)
	return nil
}

func (a *ACD) becomeFree(ag *agent) {
	if ag.removed {
		a.setAgentState(ag, LoggedOut, ReasonRemoved)
		return
	}
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

// Release ends a reservation made by Reserve; a state asked for during the
// call (RequestAway, RequestLogout) applies now.
func (a *ACD) Release(agentID string) error {
	a.mu.Lock()
	defer a.unlock()
	ag, ok := a.agents[agentID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownAgent, agentID)
	}
	ag.direct = false
	if (ag.state == OnCall || ag.state == OnHold) && ag.reason == "direct" {
		ag.callID = ""
		a.afterWork(ag)
	}
	return nil
}
