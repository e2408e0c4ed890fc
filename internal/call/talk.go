package call

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/sip"
	"github.com/switchboard/switchboard/internal/store"
)

// agentAnswered is the command an offer sends once the agent's phone
// answered: a waiting call is bridged to them, a pending callback dials
// the customer for them. Any other state refuses, and the offer hangs up.
func (c *Call) agentAnswered(leg *sip.Leg, agentID string) error {
	switch c.st {
	case StateQueued:
		c.connect(leg, agentID, false)
		return nil
	case StateCallbackPending:
		if c.agentLeg != nil {
			return c.refuse("answer")
		}
		c.agentLeg, c.agentID, c.agentDirect = leg, agentID, false
		c.setView(func(v *callView) { v.Agent = agentID })
		c.closeSegment(event.SegmentAnswered, agentID)
		return nil
	}
	return c.refuse("answer")
}

// connect bridges an answered agent leg (or a number's) to the caller and
// moves the call to connected.
func (c *Call) connect(leg *sip.Leg, agentID string, direct bool) {
	c.agentLeg, c.agentID, c.agentDirect = leg, agentID, direct
	c.setView(func(v *callView) { v.Agent = agentID }) // the agent may act on the call at once
	media.Bridge(c.caller.Media(), leg.Media())
	c.record(c.caller, leg, c.recordPolicy() == config.RecordAll)
	c.watchAgentLeg(leg, agentID)
	now := time.Now()
	c.update(func(r *store.CallRecord) {
		r.Agent = agentID
		if r.ConnectedAt != nil {
			return // a transfer keeps the first answer
		}
		r.ConnectedAt = &now
		if r.QueuedAt != nil {
			r.WaitSeconds = now.Sub(*r.QueuedAt).Seconds()
		}
	})
	c.closeSegment(event.SegmentAnswered, agentID)
	c.mu.Lock()
	queuedAt := c.rec.QueuedAt
	c.mu.Unlock()
	detail := "agent leg " + leg.ID
	if queuedAt != nil {
		// The wait the caller was told on joining beside the wait they had:
		// the estimate's accuracy, measurable from the events.
		actual := now.Sub(*queuedAt)
		est := c.estimate
		detail += fmt.Sprintf(" wait=%.1fs estimated=%.0fs known=%t", actual.Seconds(), est.Estimate.Seconds(), est.Known)
		c.log.Info("wait estimate accuracy", "queue", c.queue, "actual_wait", actual.Round(time.Millisecond), "estimated_wait", est.Estimate, "estimate_known", est.Known)
	}
	c.m.event(event.Connected, c.ID, agentID, c.queue, detail)
	c.log.Info("call connected", "agent", agentID)
	c.setView(func(v *callView) { v.Agent = agentID })
	c.setParties()
	c.setState(StateConnected)
	c.campaignConnected(agentID)
}

// watchAgentLeg turns what the agent's phone does (REFER, re-INVITE hold)
// into commands.
func (c *Call) watchAgentLeg(leg *sip.Leg, agentID string) {
	leg.OnTransfer(func(t sip.Transfer) error {
		return c.do("transfer", func(c *Call) error {
			return c.startTransfer(transferReq{target: t.Target, replaces: t.Replaces, by: "agent " + agentID, refer: true})
		})
	})
	leg.OnHold(func(on bool) {
		_ = c.do("phone hold", func(c *Call) error {
			if agentID == "" || c.agentID != agentID {
				return nil
			}
			if err := c.m.acd.SetHold(agentID, on); err != nil {
				c.log.Debug("hold", "err", err)
			}
			c.m.event(map[bool]event.Kind{true: event.Hold, false: event.Unhold}[on], c.ID, agentID, c.queue, "agent's phone")
			return nil
		})
	})
}

// talk is the connected and held steps: the caller and the agent (or a
// number) talk until one hangs up, a transfer moves the caller on, or the
// agent consults or conferences.
func (c *Call) talk(ctx context.Context) {
	st := c.st
	agentLeg := c.agentLeg
	var remind, maxHold <-chan time.Time
	if st == StateHeld {
		if h := c.holdConfig(); h.RemindEvery > 0 {
			t := time.NewTicker(h.RemindEvery)
			defer t.Stop()
			remind = t.C
		}
		if h := c.holdConfig(); h.Max > 0 {
			t := time.NewTimer(max(h.Max-time.Since(c.hold.since), 0))
			defer t.Stop()
			maxHold = t.C
		}
	}
	for !c.moved(st) {
		if t := c.transfer; t != nil {
			c.transfer = nil
			c.handOver(ctx, *t)
			return
		}
		select {
		case k := <-c.cmds:
			c.exec(k)
		case d := <-agentLeg.Media().Digits():
			c.agentKey(d)
		case <-c.caller.Done():
			c.hangUpTalk(event.ByCaller, "caller hung up")
		case <-agentLeg.Done():
			c.hangUpTalk(event.ByAgent, "agent hung up")
		case <-ctx.Done():
			c.hangUpTalk(event.BySystem, "maximum call duration or shutdown")
		case <-remind:
			c.holdReminder()
		case <-maxHold:
			c.holdRecall(ctx)
		}
	}
}

// agentKey follows the agent's phone keying a feature code mid-call:
// pause or resume the recording (the keys also reach the caller).
func (c *Call) agentKey(d byte) {
	code := c.m.config().FeatureCodes.RecordToggle
	if time.Since(c.recordKeyAt) > 3*time.Second {
		c.recordKeys = ""
	}
	c.recordKeys, c.recordKeyAt = c.recordKeys+string(d), time.Now()
	if code != "" && strings.HasSuffix(c.recordKeys, code) {
		c.recordKeys = ""
		c.toggleRecordingPause("agent " + c.agentID + " (" + code + ")")
	}
}

// hangUpTalk ends a talk: both legs go, a consultation or conference left
// behind goes too, and the agent moves to wrap-up.
func (c *Call) hangUpTalk(by event.HangupBy, reason string) {
	if c.agentLeg != nil {
		c.agentLeg.Hangup()
	}
	c.caller.Hangup()
	if c.consult != nil {
		c.dropConsult()
	}
	if c.conf != nil {
		c.endConference()
	}
	c.releaseAgent()
	now := time.Now()
	c.update(func(r *store.CallRecord) {
		if r.ConnectedAt != nil {
			r.TalkSeconds = now.Sub(*r.ConnectedAt).Seconds()
		}
	})
	c.end(event.OutcomeAnswered, by, reason)
}

// releaseAgent lets the ACD know the call's agent is done with it: wrap-up
// after a queue call, free at once after a direct one.
func (c *Call) releaseAgent() {
	switch {
	case c.agentID == "": // an external number
	case c.agentDirect:
		_ = c.m.acd.Release(c.agentID)
	default:
		_ = c.m.acd.CallEnded(c.agentID)
	}
	c.m.poke()
	c.agentLeg, c.agentID, c.agentDirect = nil, "", false
	c.transfer = nil // a transfer asked of this agent goes with them
	c.setView(func(v *callView) { v.Agent = "" })
}

// holdState is the caller's hold from the API.
type holdState struct {
	since     time.Time
	reminders int
}

// holdConfig is the hold policy of the call's queue.
func (c *Call) holdConfig() config.Hold {
	q, _ := c.queueConfig(c.queue)
	return q.Hold
}

// holdMusic is the music a held caller hears.
func (c *Call) holdMusic() *media.Sound {
	music := "hold-music"
	if q, ok := c.queueConfig(c.queue); ok && q.Music != "" {
		music = q.Music
	}
	snd, _ := c.m.sounds.Get(music)
	return snd
}

// setHold puts the caller on hold (music, the agent hears nothing) or
// takes them off it (the command behind the API's hold).
func (c *Call) setHold(on bool, by string) error {
	switch {
	case c.st == StateConference:
		return c.holdConference(on, by)
	case on && c.st == StateHeld, !on && c.st == StateConnected:
		return nil
	case c.st != StateConnected && c.st != StateHeld, c.agentLeg == nil:
		return c.refuse(map[bool]string{true: "hold", false: "resume"}[on])
	}
	if on {
		c.caller.Media().Unbridge()
		c.agentLeg.Media().Stop()
		if snd := c.holdMusic(); snd != nil {
			c.caller.Media().Loop(snd)
		}
		c.hold = holdState{since: time.Now()}
		c.setView(func(v *callView) { v.HeldSince = c.hold.since })
		c.setState(StateHeld)
	} else {
		media.Bridge(c.caller.Media(), c.agentLeg.Media())
		c.hold = holdState{}
		c.setView(func(v *callView) { v.HeldSince = time.Time{} })
		c.setState(StateConnected)
	}
	if c.agentID != "" {
		if err := c.m.acd.SetHold(c.agentID, on); err != nil {
			c.log.Debug("hold", "err", err)
		}
	}
	c.m.event(map[bool]event.Kind{true: event.Hold, false: event.Unhold}[on], c.ID, c.agentID, c.queue, "by "+by)
	return nil
}

// holdReminder checks on a held caller: they hear "thank you for holding"
// between the music, the agent's phone a short beep (the desktop shows
// its own alert from the hold timer).
func (c *Call) holdReminder() {
	c.hold.reminders++
	held := time.Since(c.hold.since).Round(time.Second)
	h := c.holdConfig()
	if snd, ok := c.m.sounds.Get(h.CallerPrompt); ok {
		c.caller.Media().Play(snd) // the music loop resumes after it
	}
	if snd, ok := c.m.sounds.Get("beep"); ok && c.agentLeg != nil {
		c.agentLeg.Media().Play(snd)
	}
	c.m.event(event.HoldReminder, c.ID, c.agentID, c.queue, fmt.Sprintf("reminder=%d held=%s", c.hold.reminders, held))
	c.log.Info("hold reminder", "agent", c.agentID, "held", held)
}

// holdRecall follows a hold past its maximum: the call rings back to the
// agent; if they do not answer, it goes back to the queue.
func (c *Call) holdRecall(ctx context.Context) {
	m := c.m
	agentID, direct := c.agentID, c.agentDirect
	c.m.event(event.HoldMaxReached, c.ID, agentID, c.queue, fmt.Sprintf("held=%s", time.Since(c.hold.since).Round(time.Second)))
	c.log.Info("maximum hold reached; ringing the agent again", "agent", agentID)
	old := c.agentLeg
	c.agentLeg = nil
	c.setState(StateRinging) // hold, transfer and monitor are refused while the agent's phone rings again
	old.Hangup()
	if agentID != "" {
		timeout := 30 * time.Second
		if q, ok := c.queueConfig(c.queue); ok && q.RingTimeout > 0 {
			timeout = q.RingTimeout
		}
		leg, err := c.dial(ctx, timeout, c.caller.Done(), func(ctx context.Context) (*sip.Leg, error) {
			return m.dialAgent(ctx, agentID, c.caller.Caller, "Held call returning")
		})
		if err == nil {
			c.hold = holdState{}
			c.setView(func(v *callView) { v.HeldSince = time.Time{} })
			c.agentLeg = leg
			media.Bridge(c.caller.Media(), leg.Media())
			c.record(c.caller, leg, false)
			c.watchAgentLeg(leg, agentID)
			_ = m.acd.SetHold(agentID, false)
			m.event(event.Unhold, c.ID, agentID, c.queue, "the held call rang back and the agent answered")
			c.setState(StateConnected)
			return
		}
		c.log.Info("the agent did not take the held call back", "agent", agentID, "err", err)
		if err == errWaiterGone {
			c.agentLeg = nil
			c.agentID, c.agentDirect = agentID, direct
			c.hangUpTalk(event.ByCaller, "caller hung up on hold")
			return
		}
	}
	c.agentID, c.agentDirect = agentID, direct
	c.releaseAgent()
	c.hold = holdState{}
	c.setView(func(v *callView) { v.HeldSince = time.Time{} })
	if _, ok := c.queueConfig(c.queue); !ok {
		c.caller.Hangup()
		c.end(event.OutcomeAnswered, event.BySystem, "held past the maximum and the agent did not answer")
		return
	}
	m.event(event.Transfer, c.ID, agentID, c.queue, "kind=recall to="+c.queue+" by=system (held past the maximum)")
	c.enqueue(ctx, c.queue, c.priority)
}

// Hold puts a connected call's caller on hold (music, the agent hears
// nothing) or takes them off it, from the API.
func (m *Manager) Hold(callID string, on bool, by string) error {
	return m.command(callID, "hold", func(c *Call) error { return c.setHold(on, by) })
}

// HangupCall ends a live call from the API (the agent's desktop, a supervisor).
func (m *Manager) HangupCall(callID, by string) error {
	return m.command(callID, "hangup", func(c *Call) error {
		m.event(event.HangupRequested, c.ID, "", "", "by "+by)
		c.hungUp = true
		if c.dialCancel != nil {
			c.dialCancel()
		}
		switch {
		case c.st == StateCallbackPending && c.agentLeg == nil:
			_ = m.acd.Withdraw(c.ID, "callback cancelled by "+by)
			m.poke()
			c.closeSegment(event.SegmentWithdrawn, "")
			c.end(event.OutcomeCallbackFailed, event.BySystem, "callback cancelled by "+by)
		case c.conf != nil:
			c.hangUpTalk(event.ByAgent, "hung up from the desktop")
		case c.agentLeg != nil:
			c.agentLeg.Hangup() // the talk ends as "agent hung up"
		case c.caller != nil:
			c.caller.Hangup()
		}
		return nil
	})
}

// SendDigits plays DTMF digits (RFC 4733) to the party of a connected
// call, from the agent's desktop keypad (IVRs the agent has dialled, or a
// conference PIN).
func (m *Manager) SendDigits(callID, digits, by string) error {
	return m.command(callID, "dtmf", func(c *Call) error {
		if c.st != StateConnected || c.caller == nil {
			return c.refuse("dtmf")
		}
		for i := 0; i < len(digits); i++ {
			if err := c.caller.Media().SendDTMF(digits[i], 100*time.Millisecond); err != nil {
				return err
			}
		}
		m.event(event.DTMFSent, c.ID, "", "", fmt.Sprintf("digits=%s by %s", digits, by))
		return nil
	})
}
