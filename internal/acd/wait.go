package acd

import (
	"fmt"
	"slices"
	"time"

	"github.com/switchboard/switchboard/internal/event"
)

// DefaultHandleTime is the handle time assumed by wait estimates until a
// queue has handled calls of its own.
const DefaultHandleTime = 3 * time.Minute

// handleSamples is how many recent calls a queue's handle time averages.
const handleSamples = 20

// EventMoved is a waiting call moved to another queue (overflow or a supervisor).
const EventMoved = event.Moved

// noteHandled records one call's handle time (talk, hold and wrap-up) for
// the queue's wait estimates.
func (q *queue) noteHandled(d time.Duration) {
	if len(q.handled) == handleSamples {
		q.handled = slices.Delete(q.handled, 0, 1)
	}
	q.handled = append(q.handled, d)
}

// handleTime is the mean of the queue's recent handle times.
func (q *queue) handleTime() time.Duration {
	if len(q.handled) == 0 {
		return DefaultHandleTime
	}
	var sum time.Duration
	for _, d := range q.handled {
		sum += d
	}
	return sum / time.Duration(len(q.handled))
}

// staffing counts a queue's agents who are logged in, and of those the ones
// working (not away, and with a phone that can be reached).
func (a *ACD) staffing(q *queue) (loggedIn, staffed, free int) {
	now := a.clock.Now()
	for _, ag := range q.agents {
		if ag.state == LoggedOut {
			continue
		}
		loggedIn++
		if ag.state == Away || ag.unreachable {
			continue
		}
		staffed++
		if a.free(ag, now) {
			free++
		}
	}
	return loggedIn, staffed, free
}

// estimate is the expected wait of the call at position pos (1 is next):
// the calls ahead of it beyond the free agents, each taking the queue's
// recent handle time, shared among the staffed agents. ok is false when no
// agent is staffed (no estimate can be given).
func (a *ACD) estimate(q *queue, pos int) (time.Duration, bool) {
	_, staffed, free := a.staffing(q)
	if staffed == 0 {
		return 0, false
	}
	ahead := pos - free
	if ahead <= 0 {
		return 0, true
	}
	return q.handleTime() * time.Duration(ahead) / time.Duration(staffed), true
}

// WaitInfo is what a waiting caller is told.
type WaitInfo struct {
	Position int
	// Estimate is the expected remaining wait; Known is false with no agent staffed.
	Estimate time.Duration
	Known    bool
}

// Wait reports a queued call's position and estimated wait.
func (a *ACD) Wait(callID string) (WaitInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.calls[callID]
	if !ok {
		return WaitInfo{}, fmt.Errorf("%w %q", ErrUnknownCall, callID)
	}
	pos := slices.Index(c.q.calls, c) + 1
	if c.state == callRinging {
		return WaitInfo{Position: pos, Known: true}, nil // an agent's phone rings for it now
	}
	est, known := a.estimate(c.q, pos)
	return WaitInfo{Position: pos, Estimate: est, Known: known}, nil
}

// Staffing reports how many of a queue's agents are logged in, and of those
// how many are working (not away) and free to take a call now.
func (a *ACD) Staffing(queueName string) (loggedIn, staffed, free int, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	q, ok := a.queues[queueName]
	if !ok {
		return 0, 0, 0, fmt.Errorf("%w %q", ErrUnknownQueue, queueName)
	}
	loggedIn, staffed, free = a.staffing(q)
	return loggedIn, staffed, free, nil
}

// Length is the number of calls in a queue (waiting or ringing).
func (a *ACD) Length(queueName string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if q, ok := a.queues[queueName]; ok {
		return len(q.calls)
	}
	return 0
}

// SetCallback marks a queued call as a callback: the caller has hung up and
// keeps their place; the agent who takes it dials them back.
func (a *ACD) SetCallback(callID string, on bool) error {
	a.mu.Lock()
	defer a.unlock()
	c, ok := a.calls[callID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownCall, callID)
	}
	c.callback = on
	return nil
}

// Move takes a call waiting in one queue to another, with its priority;
// its wait in the new queue (and its escalation steps) count from now. A
// ringing offer is withdrawn.
func (a *ACD) Move(callID, queueName, reason string) error {
	a.mu.Lock()
	defer a.unlock()
	c, ok := a.calls[callID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownCall, callID)
	}
	q, ok := a.queues[queueName]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownQueue, queueName)
	}
	from := c.q
	for _, o := range slices.Clone(c.offers) {
		a.endOffer(o)
		a.sendCancel(o.Offer)
		a.emit(Event{Kind: EventCancelled, CallID: c.id, AgentID: o.agent.id, Queue: from.cfg.Name, Detail: "moved to " + q.cfg.Name})
		a.setAgentState(o.agent, Available, "")
		defer a.dispatchAgent(o.agent)
	}
	a.removeCall(c)
	c.q, c.queuedAt, c.level, c.state = q, a.clock.Now(), 0, callWaiting
	i := a.place(c)
	a.emit(Event{Kind: EventMoved, CallID: callID, Queue: q.cfg.Name, Detail: fmt.Sprintf("from=%s position=%d reason=%s", from.cfg.Name, i+1, reason)})
	a.dispatchQueue(q)
	return nil
}

// EventLeft is a call taken out of its queue without an agent and without
// the caller hanging up: overflow to voicemail or a goodbye, a callback
// given up.
const EventLeft = event.QueueLeft

// Withdraw takes a call out of its queue for reason, cancelling any ringing
// offer; unlike Abandon the caller did not hang up.
func (a *ACD) Withdraw(callID, reason string) error {
	return a.leave(callID, EventLeft, reason)
}

// WaitingCall is a call in a queue, for supervisors.
type WaitingCall struct {
	ID          string  `json:"id"`
	Position    int     `json:"position"`
	Priority    int     `json:"priority"`
	WaitSeconds float64 `json:"wait_seconds"`
	Ringing     bool    `json:"ringing"`
	Callback    bool    `json:"callback"`
	// Node is the node that holds the call, in a cluster: the cluster's
	// leader sets it; the ACD itself knows nothing of nodes.
	Node string `json:"node,omitempty"`
}

// SetPriority changes a waiting call's priority; it moves in line at once.
func (a *ACD) SetPriority(callID string, priority int) error {
	a.mu.Lock()
	defer a.unlock()
	c, ok := a.calls[callID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownCall, callID)
	}
	if c.priority == priority {
		return nil
	}
	q := c.q
	q.calls = slices.DeleteFunc(q.calls, func(x *call) bool { return x == c })
	c.priority = priority
	i, _ := slices.BinarySearchFunc(q.calls, c, compareCalls)
	q.calls = slices.Insert(q.calls, i, c)
	a.emit(Event{Kind: EventQueued, CallID: callID, Queue: q.cfg.Name, Detail: fmt.Sprintf("priority=%d position=%d (changed)", priority, i+1)})
	a.dispatchQueue(q)
	return nil
}
