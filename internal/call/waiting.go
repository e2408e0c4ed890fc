package call

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/store"
)

// Outcomes of calls that leave a queue without an agent.
const (
	OutcomeVoicemail      = "voicemail"       // the caller left a message
	OutcomeOverflow       = "overflow"        // told goodbye by a limit (queue full, no agents)
	OutcomeCallbackFailed = "callback_failed" // every callback attempt went unanswered
)

// maxOverflowHops bounds how many times one call overflows to another queue.
const maxOverflowHops = 8

// errConnected interrupts a prompt: an agent took the call meanwhile.
var errConnected = errors.New("agent connected")

// queue waits in an ACD queue with music until an agent is connected, the
// caller hangs up, or the call runs out of time. On the way it announces
// position and estimated wait, offers the queue's options, and applies its
// limits.
func (c *Call) queue(ctx context.Context, name string, priority int) {
	m := c.m
	q, _ := m.cfg.QueueByName(name)
	c.priority = priority
	now := time.Now()
	c.update(func(r *store.CallRecord) { r.Queue, r.QueuedAt = name, &now })
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
	if err := m.acd.Enqueue(c.ID, name, priority); err != nil {
		c.log.Error("enqueue", "queue", name, "err", err)
		c.end(OutcomeFailed, "system", "enqueue: "+err.Error())
		return
	}
	m.poke()
	if w, err := m.acd.Wait(c.ID); err == nil {
		c.estimate = w
		detail := fmt.Sprintf("position=%d estimated=unknown", w.Position)
		if w.Known {
			detail = fmt.Sprintf("position=%d estimated=%.0fs", w.Position, w.Estimate.Seconds())
		}
		m.event("wait_estimate", c.ID, "", name, detail)
		c.log.Info("call queued", "queue", name, "priority", priority, "position", w.Position, "estimated_wait", w.Estimate, "estimate_known", w.Known)
	}
	c.wait(ctx, q)
}

// music starts the queue's music on hold, unless an agent is already connected.
func (c *Call) music(q config.Queue) {
	snd, ok := c.m.sounds.Get(q.Music)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.agentLeg == nil {
		c.caller.Media().Loop(snd)
	}
}

// wait is the queue's waiting loop.
func (c *Call) wait(ctx context.Context, q config.Queue) {
	m, leg := c.m, c.caller
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
	for {
		select {
		case <-c.connectedCh():
			c.talk(ctx, c.caller)
			return
		case <-leg.Done():
			c.leaveQueue(OutcomeAbandoned, "caller", "caller hung up in queue")
			return
		case <-ctx.Done():
			c.leaveQueue(OutcomeFailed, "system", "maximum call duration or shutdown")
			return
		case <-announce:
			d, err := c.announce(ctx, q)
			if c.interrupted(ctx, err) {
				return
			}
			announceT.Reset(q.Announce.Every)
			if d != 0 && c.option(ctx, q, d) {
				return
			}
		case d := <-digits:
			if c.option(ctx, q, d) {
				return
			}
		case name := <-c.moves:
			// A supervisor moved the call (the ACD has it there already):
			// go on with the new queue's music, announcements and limits.
			target, _ := m.cfg.QueueByName(name)
			c.music(target)
			c.wait(ctx, target)
			return
		case <-maxWait:
			c.log.Info("maximum wait reached", "queue", q.Name, "waited", time.Since(entered).Round(time.Second))
			if c.limit(ctx, q, *q.MaxWait, "max wait", true) {
				return
			}
			maxWait = nil
		case <-empty:
			if loggedIn, _, _, err := m.acd.Staffing(q.Name); err == nil && loggedIn == 0 {
				c.log.Info("last agent logged out; leaving the queue", "queue", q.Name)
				if c.limit(ctx, q, *q.NoAgents, "no agents", true) {
					return
				}
				empty = nil
			}
		}
	}
}

// interrupted finishes the call when a prompt was cut short by the agent
// answering, the caller hanging up, or the end of time; true means done.
func (c *Call) interrupted(ctx context.Context, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, errConnected):
		c.talk(ctx, c.caller)
	case errors.Is(err, errHungUp):
		c.leaveQueue(OutcomeAbandoned, "caller", "caller hung up in queue")
	default:
		c.leaveQueue(OutcomeFailed, "system", "maximum call duration or shutdown")
	}
	return true
}

// option acts on a key the waiting caller pressed; true means the call is done.
func (c *Call) option(ctx context.Context, q config.Queue, d byte) bool {
	opt, ok := q.Options[string(d)]
	c.log.Debug("key pressed while waiting", "key", string(d), "option", opt)
	if !ok {
		return false
	}
	c.m.event("queue_option", c.ID, "", q.Name, fmt.Sprintf("key=%c option=%s", d, opt))
	c.update(func(r *store.CallRecord) { r.Digits += string(d) })
	switch opt {
	case config.OptionCallback:
		return c.offerCallback(ctx, q)
	case config.OptionVoicemail:
		if err := c.m.acd.Withdraw(c.ID, "caller chose voicemail"); err != nil {
			return c.lostToAgent(ctx, err)
		}
		c.m.poke()
		c.voicemail(ctx, q.Voicemail)
		return true
	}
	return false
}

// lostToAgent handles a call that could not leave its queue because it
// was no longer there: an agent took it meanwhile.
func (c *Call) lostToAgent(ctx context.Context, err error) bool {
	c.log.Debug("leave queue", "err", err)
	c.talk(ctx, c.caller)
	return true
}

// limit applies a queue limit's action. waiting says whether the call is
// in the ACD (max wait, leave-when-empty) or was never queued (full, no
// agents at entry). It returns true when the call is done, false when the
// caller goes on waiting where they are (a declined callback offer).
func (c *Call) limit(ctx context.Context, q config.Queue, o config.Overflow, why string, waiting bool) bool {
	m := c.m
	m.event("overflow", c.ID, "", q.Name, fmt.Sprintf("reason=%s action=%s %s", why, o.Action, o.Queue))
	if o.Prompt != "" && o.Action != config.ActionHangup {
		if _, err := c.say(ctx, []string{o.Prompt}, false); c.interrupted(ctx, err) {
			return true
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
	switch o.Action {
	case config.ActionQueue:
		target, _ := m.cfg.QueueByName(o.Queue)
		if waiting {
			if err := m.acd.Move(c.ID, o.Queue, why); err != nil {
				return c.lostToAgent(ctx, err)
			}
			m.poke()
			c.update(func(r *store.CallRecord) { r.Queue = o.Queue })
			c.log.Info("call moved", "from", q.Name, "to", o.Queue, "reason", why)
			c.music(target)
			c.wait(ctx, target)
			return true
		}
		c.queue(ctx, o.Queue, c.priority)
		return true
	case config.ActionCallback:
		if !waiting {
			// The caller is not in line: queue them, then offer the callback.
			if err := m.acd.Enqueue(c.ID, q.Name, c.priority); err != nil {
				c.end(OutcomeFailed, "system", "enqueue: "+err.Error())
				return true
			}
			m.poke()
			c.music(q)
			if !c.offerCallback(ctx, q) {
				c.wait(ctx, q)
			}
			return true
		}
		return c.offerCallback(ctx, q)
	case config.ActionVoicemail:
		if waiting {
			if err := m.acd.Withdraw(c.ID, why); err != nil {
				return c.lostToAgent(ctx, err)
			}
			m.poke()
		}
		c.voicemail(ctx, q.Voicemail)
		return true
	default: // hang up
		if waiting {
			if err := m.acd.Withdraw(c.ID, why); err != nil {
				return c.lostToAgent(ctx, err)
			}
			m.poke()
		}
		if o.Prompt != "" {
			_, _ = c.say(ctx, []string{o.Prompt}, false)
		}
		c.caller.Hangup()
		c.end(OutcomeOverflow, "system", why)
		return true
	}
}

// announce tells the caller their position and estimated wait, then the
// queue's options. It returns a key pressed during it (0 for none).
func (c *Call) announce(ctx context.Context, q config.Queue) (byte, error) {
	w, err := c.m.acd.Wait(c.ID)
	if err != nil {
		return 0, nil // no longer queued: the select sees why
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
	c.m.event("announcement", c.ID, "", q.Name, detail)
	c.log.Debug("announcement", "queue", q.Name, "prompts", prompts)
	return c.say(ctx, prompts, len(q.Options) > 0)
}

// say plays prompts over the music on hold (which resumes after them). A
// key ends an interruptible prompt and is returned; errConnected means an
// agent took the call meanwhile.
func (c *Call) say(ctx context.Context, prompts []string, interruptible bool) (byte, error) {
	ep := c.caller.Media()
	sounds := lookupSounds(c.m.sounds, prompts, c.log)
	c.mu.Lock()
	if c.agentLeg != nil {
		c.mu.Unlock()
		return 0, errConnected
	}
	done := ep.Play(sounds...)
	c.mu.Unlock()
	var digits <-chan byte
	if interruptible {
		digits = ep.Digits()
	}
	select {
	case <-done:
		return 0, nil
	case d := <-digits:
		c.stopPrompt()
		return d, nil
	case <-c.connectedCh():
		return 0, errConnected
	case <-c.caller.Done():
		return 0, errHungUp
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// stopPrompt ends a prompt early; music on hold, if set, resumes.
func (c *Call) stopPrompt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.agentLeg == nil {
		c.caller.Media().Play()
	}
}

// collect waits for one key for up to timeout (0, nil on timeout).
func (c *Call) collect(ctx context.Context, timeout time.Duration) (byte, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case d := <-c.caller.Media().Digits():
		return d, nil
	case <-t.C:
		return 0, nil
	case <-c.connectedCh():
		return 0, errConnected
	case <-c.caller.Done():
		return 0, errHungUp
	case <-ctx.Done():
		return 0, ctx.Err()
	}
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
