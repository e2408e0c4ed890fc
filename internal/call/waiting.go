package call

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/store"
)

// maxOverflowHops bounds how many times one call overflows to another queue.
const maxOverflowHops = 8

// openSegment notes that the call entered a queue (a queue segment).
func (c *Call) openSegment(queue string) {
	c.segments++
	seg := store.QueueSegment{CallID: c.ID, Seq: c.segments, Queue: queue, EnteredAt: time.Now()}
	c.segment = &seg
	c.m.rec.SaveSegment(seg)
}

// closeSegment notes how the call left the queue it was in, if any.
func (c *Call) closeSegment(how event.SegmentEnd, agent string) {
	seg := c.segment
	if seg == nil {
		return
	}
	c.segment = nil
	now := time.Now()
	seg.LeftAt, seg.How, seg.Agent = &now, how, agent
	seg.WaitSeconds = now.Sub(seg.EnteredAt).Seconds()
	c.m.rec.SaveSegment(*seg)
}

// enqueue puts the call in a queue, applying the queue's limits at entry
// (no agents, full), and moves it to queued.
func (c *Call) enqueue(ctx context.Context, name string, priority int) {
	m := c.m
	q, _ := c.queueConfig(name)
	c.queue, c.priority = name, priority
	now := time.Now()
	c.update(func(r *store.CallRecord) {
		r.Queue = name
		if r.QueuedAt == nil {
			r.QueuedAt = &now
		}
	})
	c.setView(func(v *callView) { v.Queue = name })
	c.openSegment(name)
	if loggedIn, _, _, err := m.acd.Staffing(name); err == nil && loggedIn == 0 && q.NoAgents != nil && !q.JoinEmpty {
		c.log.Info("no agents logged in; queue not joined", "queue", name)
		c.limit(ctx, q, *q.NoAgents, "no agents", false)
		return
	}
	if q.MaxLength != nil && m.acd.Length(name) >= q.MaxLength.Calls {
		c.log.Info("queue full", "queue", name, "calls", q.MaxLength.Calls)
		c.limit(ctx, q, *q.MaxLength, "queue full", false)
		return
	}
	c.music(q)
	c.keepRetired(name)
	if err := m.acd.Enqueue(c.ID, name, priority); err != nil {
		c.log.Error("enqueue", "queue", name, "err", err)
		c.closeSegment(event.SegmentWithdrawn, "")
		c.end(c.failed(), event.BySystem, "enqueue: "+err.Error())
		return
	}
	m.poke()
	if w, err := m.acd.Wait(c.ID); err == nil {
		c.estimate = w
		detail := fmt.Sprintf("position=%d estimated=unknown", w.Position)
		if w.Known {
			detail = fmt.Sprintf("position=%d estimated=%.0fs", w.Position, w.Estimate.Seconds())
		}
		m.event(event.WaitEstimate, c.ID, "", name, detail)
		c.log.Info("call queued", "queue", name, "priority", priority, "position", w.Position, "estimated_wait", w.Estimate, "estimate_known", w.Known)
	}
	c.toQueued()
}

// toQueued moves the call to queued, starting the queued step afresh when
// it was already there (another queue's music, announcements and limits).
func (c *Call) toQueued() {
	if c.st == StateQueued {
		c.reenter = true
	}
	c.setState(StateQueued)
}

// music starts the queue's music on hold (none for a callback restored
// after a restart: it has no caller leg).
func (c *Call) music(q config.Queue) {
	if c.caller == nil {
		return
	}
	if snd, ok := c.m.sounds.Get(q.Music); ok {
		c.caller.Media().Loop(snd)
	}
}

// queued is the waiting step: music until an agent is connected (a
// command from the offer that rang them), the caller hangs up, or the call
// runs out of time; on the way it announces position and estimated wait,
// offers the queue's options and applies its limits.
func (c *Call) queued(ctx context.Context) {
	m, leg := c.m, c.caller
	q, _ := c.queueConfig(c.queue)
	entered := time.Now()
	var (
		announce, maxWait, empty <-chan time.Time
		announceT                *time.Timer
	)
	if q.Announce.Every > 0 {
		announceT = time.NewTimer(0) // the first announcement is on entry
		defer announceT.Stop()
		announce = announceT.C
	}
	if q.MaxWait != nil {
		t := time.NewTimer(q.MaxWait.After)
		defer t.Stop()
		maxWait = t.C
	}
	if q.LeaveWhenEmpty && q.NoAgents != nil {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		empty = t.C
	}
	var digits <-chan byte
	if len(q.Options) > 0 {
		digits = leg.Media().Digits()
	}
	var drop <-chan time.Time
	if cc := c.campaign; cc != nil && cc.waiting { // a person a campaign reached waits 2 s at most, hearing nothing
		announce, maxWait, empty, digits = nil, nil, nil, nil
		t := time.NewTimer(time.Until(cc.dropAt))
		defer t.Stop()
		drop = t.C
	}
	if digits != nil { // keys sent as tones choose the options too
		leg.Media().DetectInband(true)
		defer leg.Media().DetectInband(false)
	}
	for !c.moved(StateQueued) {
		select {
		case k := <-c.cmds:
			c.exec(k)
		case <-leg.Done():
			c.leaveQueue(event.OutcomeAbandoned, event.ByCaller, "caller hung up in queue")
		case <-ctx.Done():
			c.leaveQueue(event.OutcomeFailed, event.BySystem, "maximum call duration or shutdown")
		case <-announce:
			d, err := c.announce(ctx, q)
			if c.interrupted(err) {
				return
			}
			announceT.Reset(q.Announce.Every)
			if d != 0 {
				c.option(ctx, q, d)
			}
		case d := <-digits:
			c.option(ctx, q, d)
		case <-drop:
			c.dropDue()
		case <-maxWait:
			c.log.Info("maximum wait reached", "queue", q.Name, "waited", time.Since(entered).Round(time.Second))
			c.limit(ctx, q, *q.MaxWait, "max wait", true)
			maxWait = nil
		case <-empty:
			if loggedIn, _, _, err := m.acd.Staffing(q.Name); err == nil && loggedIn == 0 {
				c.log.Info("last agent logged out; leaving the queue", "queue", q.Name)
				c.limit(ctx, q, *q.NoAgents, "no agents", true)
				empty = nil
			}
		}
	}
}

// leaveQueue takes a waiting call out of the ACD and ends it. If an agent
// answered at the same moment, their offer finds the call gone and hangs up.
func (c *Call) leaveQueue(outcome event.Outcome, by event.HangupBy, reason string) {
	_ = c.m.acd.Abandon(c.ID, reason)
	c.m.poke()
	now := time.Now()
	c.update(func(r *store.CallRecord) {
		if r.QueuedAt != nil {
			r.WaitSeconds = now.Sub(*r.QueuedAt).Seconds()
		}
	})
	how := event.SegmentAbandoned
	if outcome != event.OutcomeAbandoned {
		how = event.SegmentWithdrawn
	}
	c.closeSegment(how, "")
	c.end(outcome, by, reason)
}

// interrupted handles a prompt cut short while waiting: by a change of
// state (an agent took the call), the caller hanging up, or the end of
// time. True means the waiting is over.
func (c *Call) interrupted(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, errMoved):
	case errors.Is(err, errHungUp):
		c.leaveQueue(event.OutcomeAbandoned, event.ByCaller, "caller hung up in queue")
	default:
		c.leaveQueue(event.OutcomeFailed, event.BySystem, "maximum call duration or shutdown")
	}
	return true
}

// option acts on a key the waiting caller pressed.
func (c *Call) option(ctx context.Context, q config.Queue, d byte) {
	opt, ok := q.Options[string(d)]
	c.log.Debug("key pressed while waiting", "key", string(d), "option", opt)
	if !ok {
		return
	}
	c.m.event(event.QueueOption, c.ID, "", q.Name, fmt.Sprintf("key=%c option=%s", d, opt))
	c.update(func(r *store.CallRecord) { r.Digits += string(d) })
	switch opt {
	case config.OptionCallback:
		c.offerCallback(ctx, q)
	case config.OptionVoicemail:
		if err := c.m.acd.Withdraw(c.ID, "caller chose voicemail"); err != nil {
			c.log.Debug("leave queue", "err", err) // an agent's answer is on its way
			return
		}
		c.m.poke()
		c.closeSegment(event.SegmentWithdrawn, "")
		c.toVoicemail(q.Voicemail)
	}
}

// limit applies a queue limit's action. waiting says whether the call is
// in the ACD (max wait, leave-when-empty) or was never queued (full, no
// agents at entry). The call's state says what follows: still queued (a
// declined callback offer), queued elsewhere, voicemail, or ended.
func (c *Call) limit(ctx context.Context, q config.Queue, o config.Overflow, why string, waiting bool) {
	m := c.m
	m.event(event.Overflow, c.ID, "", q.Name, fmt.Sprintf("reason=%s action=%s %s", why, o.Action, o.Queue))
	if o.Prompt != "" && o.Action != config.ActionHangup {
		if _, err := c.play(ctx, []string{o.Prompt}, false); err != nil {
			c.interruptedAtLimit(err, waiting)
			return
		}
	}
	if o.Action == config.ActionQueue {
		c.hops++
		if c.hops > maxOverflowHops {
			// Queues that overflow into each other: stop going round.
			c.log.Warn("overflow loop; hanging up", "queue", q.Name, "hops", c.hops)
			o = config.Overflow{Action: config.ActionHangup, Prompt: o.Prompt}
			why += " (overflow loop)"
		}
	}
	withdraw := func() bool {
		if !waiting {
			return true
		}
		if err := m.acd.Withdraw(c.ID, why); err != nil {
			c.log.Debug("leave queue", "err", err) // an agent's answer is on its way
			return false
		}
		m.poke()
		return true
	}
	switch o.Action {
	case config.ActionQueue:
		if !waiting {
			c.closeSegment(event.SegmentOverflowed, "")
			c.enqueue(ctx, o.Queue, c.priority)
			return
		}
		c.keepRetired(o.Queue)
		if err := m.acd.Move(c.ID, o.Queue, why); err != nil {
			c.log.Debug("overflow", "err", err)
			return
		}
		m.poke()
		c.moveTo(o.Queue, event.SegmentOverflowed)
		c.log.Info("call moved", "from", q.Name, "to", o.Queue, "reason", why)
	case config.ActionCallback:
		if !waiting {
			// The caller is not in line: queue them, then offer the callback.
			c.keepRetired(q.Name)
			if err := m.acd.Enqueue(c.ID, q.Name, c.priority); err != nil {
				c.closeSegment(event.SegmentWithdrawn, "")
				c.end(event.OutcomeFailed, event.BySystem, "enqueue: "+err.Error())
				return
			}
			m.poke()
			c.music(q)
			c.toQueued()
		}
		c.offerCallback(ctx, q)
	case config.ActionVoicemail:
		if withdraw() {
			c.closeSegment(event.SegmentWithdrawn, "")
			c.toVoicemail(q.Voicemail)
		}
	default: // hang up
		if !withdraw() {
			return
		}
		c.closeSegment(event.SegmentWithdrawn, "")
		if o.Prompt != "" {
			_, _ = c.play(ctx, []string{o.Prompt}, false)
		}
		c.caller.Hangup()
		c.end(event.OutcomeOverflow, event.BySystem, why)
	}
}

// interruptedAtLimit ends a call whose limit prompt was cut short.
func (c *Call) interruptedAtLimit(err error, waiting bool) {
	if waiting {
		c.interrupted(err)
		return
	}
	if errors.Is(err, errHungUp) {
		c.closeSegment(event.SegmentAbandoned, "")
		c.end(event.OutcomeAbandoned, event.ByCaller, "caller hung up in queue")
		return
	}
	c.closeSegment(event.SegmentWithdrawn, "")
	c.end(event.OutcomeFailed, event.BySystem, "maximum call duration or shutdown")
}

// moveTo follows a move the ACD has made already (overflow, supervisor):
// the record and segments say so, and the queued step starts over with the
// new queue's music, announcements and limits.
func (c *Call) moveTo(queue string, how event.SegmentEnd) {
	c.closeSegment(how, "")
	c.queue = queue
	c.update(func(r *store.CallRecord) { r.Queue = queue })
	c.setView(func(v *callView) { v.Queue = queue })
	c.openSegment(queue)
	if q, ok := c.queueConfig(queue); ok {
		c.music(q)
	}
	c.toQueued()
}

// announce tells the caller their position and estimated wait, then the
// queue's options. It returns a key pressed during it (0 for none).
func (c *Call) announce(ctx context.Context, q config.Queue) (byte, error) {
	w, err := c.m.acd.Wait(c.ID)
	if err != nil {
		return 0, nil // no longer queued: an agent's answer is on its way
	}
	var prompts []string
	if q.Announce.Position {
		prompts = append(prompts, "you-are-caller-number")
		prompts = append(prompts, NumberPrompts(w.Position)...)
	}
	if q.Announce.EstimatedWait && w.Known {
		prompts = append(prompts, WaitPrompts(w.Estimate)...)
	}
	if len(q.Options) > 0 && q.OptionsPrompt != "" {
		prompts = append(prompts, q.OptionsPrompt)
	}
	if len(prompts) == 0 {
		return 0, nil
	}
	detail := fmt.Sprintf("position=%d", w.Position)
	if w.Known {
		detail += fmt.Sprintf(" estimated=%.0fs", w.Estimate.Seconds())
	}
	c.m.event(event.Announcement, c.ID, "", q.Name, detail)
	c.log.Debug("announcement", "queue", q.Name, "prompts", prompts)
	return c.play(ctx, prompts, len(q.Options) > 0)
}

// Requeue moves a waiting call to another queue and/or changes its
// priority (a supervisor's action); queue "" keeps the queue, priority nil
// keeps the priority.
func (m *Manager) Requeue(callID, queue string, priority *int, by string) error {
	if queue != "" {
		if _, ok := m.config().QueueByName(queue); !ok {
			return fmt.Errorf("%w: %q", ErrUnknownTarget, queue)
		}
	}
	return m.command(callID, "move", func(c *Call) error {
		if c.st != StateQueued && c.st != StateCallbackPending {
			return c.refuse("move")
		}
		if priority != nil {
			if err := m.acd.SetPriority(callID, *priority); err != nil {
				return fmt.Errorf("%w: %v", ErrNotWaiting, err)
			}
			c.priority = *priority
			m.event(event.PriorityChanged, c.ID, "", c.queue, fmt.Sprintf("priority=%d by %s", *priority, by))
		}
		if queue != "" && queue != c.queue {
			if err := m.acd.Move(callID, queue, "moved by "+by); err != nil {
				return fmt.Errorf("%w: %v", ErrNotWaiting, err)
			}
			if c.st == StateQueued {
				c.moveTo(queue, event.SegmentMoved)
			} else { // a callback keeps its state; only its queue changes
				st := c.st
				c.moveTo(queue, event.SegmentMoved)
				c.setState(st)
				c.reenter = false
			}
		}
		m.poke()
		return nil
	})
}

// NumberPrompts speaks n with the num-N prompts: 0–20 as one word, 21–99
// as tens and units, larger numbers digit by digit.
func NumberPrompts(n int) []string {
	switch {
	case n < 0:
		return nil
	case n <= 20:
		return []string{fmt.Sprintf("num-%d", n)}
	case n < 100:
		out := []string{fmt.Sprintf("num-%d", n/10*10)}
		if n%10 != 0 {
			out = append(out, fmt.Sprintf("num-%d", n%10))
		}
		return out
	}
	return DigitPrompts(fmt.Sprint(n))
}

// DigitPrompts speaks a phone number digit by digit.
func DigitPrompts(s string) []string {
	out := make([]string, 0, len(s))
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			out = append(out, fmt.Sprintf("num-%c", r))
		case r == '*':
			out = append(out, "num-star")
		case r == '#':
			out = append(out, "num-pound")
		}
	}
	return out
}

// WaitPrompts speaks an estimated wait rounded to whole minutes: "less than
// a minute", "about N minutes", "more than an hour".
func WaitPrompts(d time.Duration) []string {
	mins := int(math.Round(d.Minutes()))
	switch {
	case mins < 1:
		return []string{"estimated-wait-under-minute"}
	case mins > 60:
		return []string{"estimated-wait-over-hour"}
	case mins == 1:
		return []string{"estimated-wait-about", "num-1", "minute"}
	}
	return append(append([]string{"estimated-wait-about"}, NumberPrompts(mins)...), "minutes")
}

// keepRetired makes sure the ACD can take the call into queue when a reload
// removed it since the call arrived (its flow, overflow or callback still
// leads there): the queue is kept, retired, with its settings and members
// of the setup the call arrived with.
func (c *Call) keepRetired(queue string) {
	if _, ok := c.m.config().QueueByName(queue); ok {
		return
	}
	q, ok := c.cfg.QueueByName(queue)
	if !ok {
		return
	}
	qc, err := queueConfig(q)
	if err != nil {
		return
	}
	var members []string
	for _, a := range c.cfg.Agents {
		if slices.Contains(a.Queues, queue) {
			members = append(members, a.Extension)
		}
	}
	c.m.acd.KeepRetired(qc, members)
}
