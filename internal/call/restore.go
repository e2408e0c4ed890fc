package call

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/store"
)

// CallbackStore keeps pending callbacks across restarts. The manager uses
// it when its Recorder is one too (the store is), so a setup without it
// (tests with a recorder of their own) simply keeps callbacks in memory.
type CallbackStore interface {
	// SaveCallback writes a pending callback durably: when it returns nil
	// the callback survives a kill of the process.
	SaveCallback(ctx context.Context, cb store.PendingCallback) error
	// DeleteCallback forgets a callback that has ended.
	DeleteCallback(ctx context.Context, callID string) error
}

// callbackWriteTimeout bounds one write of a pending callback. The call's
// goroutine waits for it: a callback is a promise to a caller, kept on
// disk before they are told, and its rare updates are ordered with it.
const callbackWriteTimeout = 5 * time.Second

// writeCallback runs one write of the call's stored callback, if the
// manager keeps callbacks; false when it does not or the write failed.
func (c *Call) writeCallback(what string, write func(ctx context.Context, cs CallbackStore) error) bool {
	cs, ok := c.m.rec.(CallbackStore)
	if !ok {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), callbackWriteTimeout)
	defer cancel()
	if err := write(ctx, cs); err != nil {
		c.log.Error("pending callback not "+what, "err", err)
		return false
	}
	return true
}

// storeCallback keeps the callback just requested in the store. If it
// cannot be kept, the callback still runs, in memory only, as before.
func (c *Call) storeCallback(number string) {
	now := time.Now()
	c.mu.Lock()
	queuedAt := now
	if c.rec.QueuedAt != nil {
		queuedAt = *c.rec.QueuedAt
	}
	dialed, caller := c.rec.Dialed, c.rec.Caller
	c.mu.Unlock()
	c.pending = &store.PendingCallback{CallID: c.ID, Queue: c.queue, Number: number, Priority: c.priority, Dialed: dialed, Caller: caller,
		RequestedAt: now, QueuedAt: queuedAt, LineAt: queuedAt}
	if !c.saveCallback() {
		c.pending = nil
	}
}

// saveCallback writes the stored callback as it stands now.
func (c *Call) saveCallback() bool {
	p := c.pending
	if p == nil {
		return false
	}
	p.Queue, p.Priority = c.queue, c.priority
	cb := *p
	return c.writeCallback("saved", func(ctx context.Context, cs CallbackStore) error { return cs.SaveCallback(ctx, cb) })
}

// syncCallback follows a command (a supervisor's move or priority change)
// into the stored callback.
func (c *Call) syncCallback() {
	if p := c.pending; p != nil && (p.Queue != c.queue || p.Priority != c.priority) {
		c.saveCallback()
	}
}

// callbackAttempts is how many times the customer was dialled before this
// step began: 0, or what a restored callback had made.
func (c *Call) callbackAttempts() int {
	if c.pending == nil {
		return 0
	}
	return c.pending.Attempts
}

// callbackAttempted notes an unanswered attempt: the callback waits for
// the next one at the back of the line, as it is queued again.
func (c *Call) callbackAttempted(attempt int) {
	if c.pending == nil {
		return
	}
	c.pending.Attempts, c.pending.LineAt = attempt, time.Now()
	c.saveCallback()
}

// settleCallback forgets the stored callback once the callback step is
// over for good: connected to the customer, or ended (given up, cancelled,
// out of time). One the shutdown kept stays stored.
func (c *Call) settleCallback() {
	if c.pending == nil || c.kept || c.st == StateCallbackPending {
		return
	}
	id := c.pending.CallID
	c.pending = nil
	c.writeCallback("deleted", func(ctx context.Context, cs CallbackStore) error { return cs.DeleteCallback(ctx, id) })
}

// keepForRestart ends a stored callback's goroutine without ending the
// callback when its context ended because the node is stopping (the
// manager's context), not because of the maximum call duration: it leaves
// the ACD and stays stored with its record open, for the next start.
func (c *Call) keepForRestart() bool {
	if c.pending == nil || c.m.ctx.Err() == nil {
		return false
	}
	_ = c.m.acd.Withdraw(c.ID, "server stopping: callback kept for the next start")
	c.m.poke()
	c.kept = true
	c.setState(StateEnded)
	return true
}

// finishKept is finish for a callback kept for the next start: the record,
// its open queue segment and the stored callback are left as they are.
func (c *Call) finishKept() {
	if c.agentLeg != nil {
		c.agentLeg.Hangup()
		c.releaseAgent()
	}
	c.m.forget(c)
	c.log.Info("callback kept for the next start", "number", c.callback, "queue", c.queue, "attempts", c.pending.Attempts)
}

// RestoreCallbacks brings back the callbacks a previous run of the node
// left pending (stopped or killed), each as the same call (id and record)
// in callback_pending, with no caller leg until the customer answers a
// callback. They are back in their queues, in the order they were waiting
// and with their priorities, once serving is closed (the node serves SIP:
// an agent's phone cannot be rung before), and ahead of any call that
// arrives from then on; then each is offered and dialled as any callback.
// Its maximum call duration still counts from the call's arrival. A
// callback whose queue the setup no longer has, or that has had all its
// attempts, ends as callback_failed. It returns how many are waiting
// again. The node calls it once, after building the manager and before
// SIP serves.
func (m *Manager) RestoreCallbacks(serving <-chan struct{}, cbs []store.PendingCallback) int {
	cbs = slices.Clone(cbs)
	slices.SortStableFunc(cbs, func(a, b store.PendingCallback) int {
		return cmp.Or(a.LineAt.Compare(b.LineAt), cmp.Compare(a.Seq, b.Seq))
	})
	// Each restored call queues itself once the one before it has: the
	// order survives their goroutines starting in any order.
	first := make(chan struct{})
	close(first)
	var prev <-chan struct{} = first
	n := 0
	for _, cb := range cbs {
		if queued, ok := m.restoreCallback(cb, serving, prev); ok {
			prev = queued
			n++
		}
	}
	return n
}

// restoreCallback rebuilds one stored callback's call and starts its
// goroutine; false if it ended instead (or shutdown has begun).
func (m *Manager) restoreCallback(cb store.PendingCallback, serving, prev <-chan struct{}) (queued <-chan struct{}, ok bool) {
	c := m.newCall(nil)
	c.ID, c.log = cb.CallID, m.log.With("call", cb.CallID)
	c.rec = cb.Record
	c.rec.Node = ""     // the call is this node's now (a lost node's callback, adopted): its record says so
	if c.rec.ID == "" { // never written: the callback is all there is
		queuedAt := cb.QueuedAt
		c.rec = store.CallRecord{ID: cb.CallID, Caller: cb.Caller, Dialed: cb.Dialed, ArrivedAt: cb.QueuedAt, QueuedAt: &queuedAt,
			Outcome: string(event.OutcomeCallbackPending)}
	}
	p := cb
	p.Record, p.Segments = store.CallRecord{}, nil
	c.pending = &p
	if c.rec.Outcome != string(event.OutcomeCallbackPending) && c.rec.Outcome != string(event.OutcomeInProgress) {
		// It ended before the stop; only forgetting it was lost.
		c.log.Info("stored callback of an ended call forgotten", "outcome", c.rec.Outcome)
		c.st = StateEnded
		c.settleCallback()
		return nil, false
	}
	c.rec.Outcome = string(event.OutcomeCallbackPending) // a store written before this outcome existed said in_progress
	c.queue, c.priority, c.callback = cb.Queue, cb.Priority, cb.Number
	c.st = StateCallbackPending
	waited := max(cb.RequestedAt.Sub(cb.QueuedAt), 0).Round(time.Second)
	c.view = callView{State: StateCallbackPending, Queue: cb.Queue, Presenting: cb.Number, Name: "Callback, waited " + waited.String()}
	// The stay in the queue goes on where it was left open; a new one
	// opens if it was closed.
	for _, s := range cb.Segments {
		c.segments = max(c.segments, s.Seq)
		if s.Seq == c.segments && s.LeftAt == nil && s.Queue == cb.Queue {
			seg := s
			c.segment = &seg
		} else if s.Seq == c.segments {
			c.segment = nil
		}
	}
	q, found := m.config().QueueByName(cb.Queue)
	switch {
	case !found:
		c.endRestored(fmt.Sprintf("callback not restored: queue %q is no longer in the setup", cb.Queue))
		return nil, false
	case cb.Attempts >= q.Callback.Attempts:
		c.endRestored(fmt.Sprintf("customer did not answer %d callback attempts", cb.Attempts))
		return nil, false
	}
	m.mu.Lock()
	if m.closing {
		m.mu.Unlock()
		return nil, false // still stored, for the next start
	}
	m.calls[c.ID] = c
	m.wg.Add(1)
	m.mu.Unlock()
	c.update(func(r *store.CallRecord) { r.Queue = cb.Queue }) // a supervisor may have moved it
	c.log.Info("callback restored", "queue", cb.Queue, "number", cb.Number, "attempts", cb.Attempts)
	ctx, cancel := context.WithDeadline(m.ctx, c.rec.ArrivedAt.Add(m.config().Server.MaxCallDuration))
	done := make(chan struct{})
	go func() {
		defer m.wg.Done()
		defer cancel()
		c.rejoin(ctx, serving, prev, done)
		c.run(ctx)
	}()
	return done, true
}

// rejoin puts a restored callback back in its queue once the node serves
// and the callbacks before it are back, taking commands meanwhile (a
// hang-up from the desktop); queued is closed when it is done. If the
// call's context ends first, callbackPending keeps it (shutdown) or ends
// it (maximum duration).
func (c *Call) rejoin(ctx context.Context, serving, prev <-chan struct{}, queued chan<- struct{}) {
	defer close(queued)
	for _, ready := range []<-chan struct{}{serving, prev} {
		for waiting := true; waiting; {
			select {
			case <-ready:
				waiting = false
			case k := <-c.cmds:
				c.exec(k)
				if c.moved(StateCallbackPending) { // hung up from the desktop
					c.settleCallback()
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}
	m := c.m
	if err := m.acd.EnqueueRestored(c.ID, c.queue, c.priority, c.pending.LineAt); err != nil {
		c.closeSegment(event.SegmentWithdrawn, "")
		c.end(event.OutcomeCallbackFailed, event.BySystem, "callback not restored: "+err.Error())
		c.settleCallback()
		return
	}
	if err := m.acd.SetCallback(c.ID, true); err != nil {
		c.log.Debug("set callback", "err", err)
	}
	m.poke()
	if c.segment == nil {
		c.openSegment(c.queue)
	}
	pos := m.acd.Position(c.ID)
	m.event(event.CallbackRestored, c.ID, "", c.queue, fmt.Sprintf("number=%s attempts=%d position=%d", c.callback, c.callbackAttempts(), pos))
	c.log.Info("callback back in line", "queue", c.queue, "position", pos)
}

// endRestored ends a stored callback that cannot be queued again: its
// record is closed as callback_failed and it is forgotten.
func (c *Call) endRestored(reason string) {
	c.log.Warn("stored callback ended", "reason", reason)
	c.closeSegment(event.SegmentWithdrawn, "")
	c.end(event.OutcomeCallbackFailed, event.BySystem, reason)
	c.settleCallback()
	c.finish()
}
