package call

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/sip"
	"github.com/switchboard/switchboard/internal/store"
)

// maxCallbackDigits bounds a keyed-in callback number.
const maxCallbackDigits = 20

// offerCallback asks the waiting caller for the number to call back: 1
// confirms the number they call from, or they key another followed by #.
// Once confirmed, the caller hangs up and keeps their place in line
// (callback_pending); otherwise they go on waiting.
func (c *Call) offerCallback(ctx context.Context, q config.Queue) {
	for attempt := 0; attempt < 2; attempt++ {
		d, err := c.play(ctx, []string{"callback-confirm"}, true)
		if c.interrupted(err) {
			return
		}
		if d == 0 {
			if d, err = c.collect(ctx, 8*time.Second); c.interrupted(err) {
				return
			}
		}
		number := ""
		keyed := false
		switch d {
		case 0, '*':
			c.m.event(event.CallbackDeclined, c.ID, "", q.Name, "no confirmation")
			return
		case '1':
			number = c.caller.Caller
		default:
			keyed = true
			if d != '#' {
				number = string(d)
			}
			for d != '#' && len(number) < maxCallbackDigits {
				if d, err = c.collect(ctx, 6*time.Second); c.interrupted(err) {
					return
				}
				if d == 0 || d == '#' {
					break
				}
				number += string(d)
			}
		}
		if !dialable(number) {
			c.log.Info("callback number not dialable", "number", number)
			if _, err := c.play(ctx, []string{"callback-invalid"}, false); c.interrupted(err) {
				return
			}
			continue
		}
		if keyed {
			if _, err := c.play(ctx, append([]string{"callback-at"}, DigitPrompts(number)...), false); c.interrupted(err) {
				return
			}
		}
		c.requestCallback(ctx, q, number)
		return
	}
}

// dialable reports whether a callback can be placed to s: 3 to 20 digits,
// optionally after a +.
func dialable(s string) bool {
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	if len(s) < 3 || len(s) > maxCallbackDigits {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// requestCallback turns the waiting call into a callback: the caller hears
// the confirmation and is disconnected; the call keeps its place.
func (c *Call) requestCallback(ctx context.Context, q config.Queue, number string) {
	m := c.m
	c.callback = number
	waited := time.Duration(0)
	c.mu.Lock()
	if c.rec.QueuedAt != nil {
		waited = time.Since(*c.rec.QueuedAt).Round(time.Second)
	}
	c.view.Presenting, c.view.Name = number, "Callback, waited "+waited.String()
	c.mu.Unlock()
	if err := m.acd.SetCallback(c.ID, true); err != nil {
		c.log.Debug("set callback", "err", err)
	}
	pos := m.acd.Position(c.ID)
	m.event(event.CallbackRequested, c.ID, "", q.Name, fmt.Sprintf("number=%s position=%d", number, pos))
	c.log.Info("callback requested", "number", number, "position", pos)
	c.setState(StateCallbackPending)
	c.update(func(r *store.CallRecord) { r.Outcome = string(event.OutcomeCallbackPending) })
	// Stored before the caller is told (after the record's new outcome,
	// which the store's writer has written by then): a server killed from
	// now on still calls them back.
	c.storeCallback(number)
	if _, err := c.play(ctx, []string{"callback-confirmed"}, false); err != nil {
		c.log.Debug("callback confirmation cut short", "err", err)
	}
	c.caller.Hangup()
}

// callbackPending is the step of a callback: it waits for an agent to take
// it (agentAnswered), dials the customer for them, and retries when nobody
// answers, up to the queue's attempts. The stored callback follows it
// (restore.go): updated after each attempt and move, forgotten when the
// callback ends, and left stored when the server stops.
func (c *Call) callbackPending(ctx context.Context) {
	defer c.settleCallback()
	m := c.m
	q, _ := c.queueConfig(c.queue)
	for attempt := c.callbackAttempts() + 1; !c.moved(StateCallbackPending); attempt++ {
		for c.agentLeg == nil && !c.moved(StateCallbackPending) {
			select {
			case k := <-c.cmds:
				c.exec(k)
				c.syncCallback()
			case <-ctx.Done():
				if c.keepForRestart() {
					return
				}
				_ = m.acd.Withdraw(c.ID, "callback not reached in time")
				m.poke()
				c.closeSegment(event.SegmentWithdrawn, "")
				c.end(event.OutcomeCallbackFailed, event.BySystem, "callback not placed before the maximum call duration or shutdown")
			}
		}
		if c.moved(StateCallbackPending) {
			return
		}
		if c.dialBack(ctx, q, attempt) {
			return
		}
		if c.hungUp {
			c.end(event.OutcomeCallbackFailed, event.BySystem, "callback hung up from the desktop")
			return
		}
		if c.keepForRestart() { // the attempt was cut short by the shutdown: not counted
			return
		}
		if attempt >= q.Callback.Attempts {
			c.end(event.OutcomeCallbackFailed, event.BySystem, fmt.Sprintf("customer did not answer %d callback attempts", attempt))
			return
		}
		c.callbackAttempted(attempt)
		t := time.NewTimer(q.Callback.RetryAfter)
	retry:
		for {
			select {
			case <-t.C:
				break retry
			case k := <-c.cmds:
				c.exec(k)
				c.syncCallback()
				if c.moved(StateCallbackPending) {
					t.Stop()
					return
				}
			case <-ctx.Done():
				t.Stop()
				if c.keepForRestart() {
					return
				}
				c.end(event.OutcomeCallbackFailed, event.BySystem, "maximum call duration or shutdown before the next callback attempt")
				return
			}
		}
		c.keepRetired(c.queue)
		if err := m.acd.Enqueue(c.ID, c.queue, c.priority); err != nil {
			c.end(event.OutcomeCallbackFailed, event.BySystem, "re-queue callback: "+err.Error())
			return
		}
		_ = m.acd.SetCallback(c.ID, true)
		m.poke()
		c.openSegment(c.queue)
		m.event(event.CallbackRetry, c.ID, "", c.queue, fmt.Sprintf("attempt=%d", attempt+1))
	}
}

// dialBack places one callback attempt for the agent who took it: the agent
// hears that the customer is being dialled, then the customer over the
// trunk. True when the customer answered (the call is connected now).
func (c *Call) dialBack(ctx context.Context, q config.Queue, attempt int) bool {
	m := c.m
	agentLeg, agentID, number := c.agentLeg, c.agentID, c.callback
	c.mu.Lock()
	dialed := c.rec.Dialed
	c.mu.Unlock()
	log := c.log.With("agent", agentID, "number", number, "attempt", attempt)
	if snd, ok := m.sounds.Get("callback-connecting"); ok {
		agentLeg.Media().Play(snd)
	}
	if rb, ok := m.sounds.Get("ringback"); ok {
		agentLeg.Media().Loop(rb)
	}
	leg, err := c.dial(ctx, q.Callback.RingTimeout, agentLeg.Done(), func(ctx context.Context) (*sip.Leg, error) {
		return m.dialTrunk(ctx, q.Callback.Trunk, number, dialed, "")
	})
	if errors.Is(err, errWaiterGone) {
		err = errors.New("agent hung up while the customer rang")
	}
	if err != nil {
		m.event(event.CallbackAttempt, c.ID, agentID, q.Name, fmt.Sprintf("attempt=%d number=%s result=%v", attempt, number, err))
		log.Info("callback not answered", "err", err)
		if snd, ok := m.sounds.Get("callback-no-answer"); ok {
			done := agentLeg.Media().Play(snd)
			select {
			case <-done:
			case <-agentLeg.Done():
			case <-time.After(15 * time.Second):
			}
		}
		agentLeg.Hangup()
		c.releaseAgent()
		return false
	}
	m.event(event.CallbackAttempt, c.ID, agentID, q.Name, fmt.Sprintf("attempt=%d number=%s result=answered", attempt, number))
	log.Info("callback answered")
	c.caller = leg // the customer is the call's party from now on (transfers, hold, counters)
	media.Bridge(agentLeg.Media(), leg.Media())
	c.record(leg, agentLeg, c.recordPolicy() == config.RecordAll)
	c.watchAgentLeg(agentLeg, agentID)
	now := time.Now()
	c.update(func(rec *store.CallRecord) {
		rec.Outcome = string(event.OutcomeInProgress) // somebody is on the line again
		rec.Agent = agentID
		rec.ConnectedAt = &now
		if rec.QueuedAt != nil {
			rec.WaitSeconds = now.Sub(*rec.QueuedAt).Seconds()
		}
	})
	m.event(event.Connected, c.ID, agentID, c.queue, "callback customer "+number+" answered")
	c.setView(func(v *callView) { v.CallerLeg = leg.ID })
	c.setParties()
	c.setState(StateConnected)
	return true
}
