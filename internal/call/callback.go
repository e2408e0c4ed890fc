package call

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/sip"
	"github.com/switchboard/switchboard/internal/store"
)

// maxCallbackDigits bounds a keyed-in callback number.
const maxCallbackDigits = 20

// offerCallback asks the waiting caller for the number to call back: 1
// confirms the number they call from, or they key another followed by #.
// Once confirmed, the caller hangs up and keeps their place in line. It
// returns true when the call is done here, false when the caller did not
// take the offer and goes on waiting.
func (c *Call) offerCallback(ctx context.Context, q config.Queue) bool {
	for attempt := 0; attempt < 2; attempt++ {
		d, err := c.say(ctx, []string{"callback-confirm"}, true)
		if c.interrupted(ctx, err) {
			return true
		}
		if d == 0 {
			if d, err = c.collect(ctx, 8*time.Second); c.interrupted(ctx, err) {
				return true
			}
		}
		number := ""
		keyed := false
		switch d {
		case 0, '*':
			c.m.event("callback_declined", c.ID, "", q.Name, "no confirmation")
			return false
		case '1':
			number = c.caller.Caller
		default:
			keyed = true
			if d != '#' {
				number = string(d)
			}
			for d != '#' && len(number) < maxCallbackDigits {
				if d, err = c.collect(ctx, 6*time.Second); c.interrupted(ctx, err) {
					return true
				}
				if d == 0 || d == '#' {
					break
				}
				number += string(d)
			}
		}
		if !dialable(number) {
			c.log.Info("callback number not dialable", "number", number)
			if _, err := c.say(ctx, []string{"callback-invalid"}, false); c.interrupted(ctx, err) {
				return true
			}
			continue
		}
		if keyed {
			if _, err := c.say(ctx, append([]string{"callback-at"}, DigitPrompts(number)...), false); c.interrupted(ctx, err) {
				return true
			}
		}
		c.requestCallback(ctx, q, number)
		return true
	}
	return false
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
	c.mu.Lock()
	if c.agentLeg != nil {
		c.mu.Unlock()
		c.talk(ctx, c.caller) // an agent took the call before the callback was set
		return
	}
	c.callback = number
	c.mu.Unlock()
	if err := m.acd.SetCallback(c.ID, true); err != nil {
		c.log.Debug("set callback", "err", err)
	}
	pos := m.acd.Position(c.ID)
	m.event("callback_requested", c.ID, "", q.Name, fmt.Sprintf("number=%s position=%d", number, pos))
	c.log.Info("callback requested", "number", number, "position", pos)
	if _, err := c.say(ctx, []string{"callback-confirmed"}, false); err != nil {
		c.log.Debug("callback confirmation cut short", "err", err)
	}
	c.caller.Hangup()
	c.callbackLoop(ctx, q)
}

// callbackLoop waits for an agent to take the callback, dials the customer
// for them, and retries when nobody answers, up to the queue's attempts.
func (c *Call) callbackLoop(ctx context.Context, q config.Queue) {
	m := c.m
	for attempt := 1; ; attempt++ {
		select {
		case <-c.connectedCh():
		case <-ctx.Done():
			_ = m.acd.Withdraw(c.ID, "callback not reached in time")
			m.poke()
			c.end(OutcomeCallbackFailed, "system", "callback not placed before the maximum call duration or shutdown")
			return
		}
		if c.dialBack(ctx, q, attempt) {
			return
		}
		if attempt >= q.Callback.Attempts {
			c.end(OutcomeCallbackFailed, "system", fmt.Sprintf("customer did not answer %d callback attempts", attempt))
			return
		}
		t := time.NewTimer(q.Callback.RetryAfter)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			c.end(OutcomeCallbackFailed, "system", "maximum call duration or shutdown before the next callback attempt")
			return
		}
		c.mu.Lock()
		c.agentLeg, c.agentID, c.connected = nil, "", make(chan struct{})
		queue := c.rec.Queue
		c.mu.Unlock()
		if err := m.acd.Enqueue(c.ID, queue, c.priority); err != nil {
			c.end(OutcomeCallbackFailed, "system", "re-queue callback: "+err.Error())
			return
		}
		_ = m.acd.SetCallback(c.ID, true)
		m.poke()
		m.event("callback_retry", c.ID, "", queue, fmt.Sprintf("attempt=%d", attempt+1))
	}
}

// dialBack places one callback attempt for the agent who took it: the agent
// hears that the customer is being dialled, then the customer over the
// trunk. True when the customer answered (and the call is now over).
func (c *Call) dialBack(ctx context.Context, q config.Queue, attempt int) bool {
	m := c.m
	c.mu.Lock()
	agentLeg, agentID, number, dialed := c.agentLeg, c.agentID, c.callback, c.rec.Dialed
	c.mu.Unlock()
	log := c.log.With("agent", agentID, "number", number, "attempt", attempt)
	trunk, ok := m.cfg.OutboundTrunk(q.Callback.Trunk)
	if !ok {
		log.Error("callback: no outbound trunk")
		agentLeg.Hangup()
		_ = m.acd.CallEnded(agentID)
		return false
	}
	ob := trunk.Outbound
	if snd, ok := m.sounds.Get("callback-connecting"); ok {
		agentLeg.Media().Play(snd)
	}
	if rb, ok := m.sounds.Get("ringback"); ok {
		agentLeg.Media().Loop(rb)
	}
	callerID := ob.CallerID
	if callerID == "" {
		callerID = dialed
	}
	leg, err := dialWhile(ctx, q.Callback.RingTimeout, agentLeg.Done(), func(ctx context.Context) (*sip.Leg, error) {
		return m.dialer.DialTrunk(ctx, sip.TrunkDial{Host: ob.Host, Transport: ob.Transport, Number: number, CallerID: callerID,
			Username: ob.Username, Password: ob.Password})
	})
	if errors.Is(err, errWaiterGone) {
		err = errors.New("agent hung up while the customer rang")
	}
	if err != nil {
		m.event("callback_attempt", c.ID, agentID, q.Name, fmt.Sprintf("attempt=%d number=%s result=%v", attempt, number, err))
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
		_ = m.acd.CallEnded(agentID)
		m.poke()
		return false
	}
	m.event("callback_attempt", c.ID, agentID, q.Name, fmt.Sprintf("attempt=%d number=%s result=answered", attempt, number))
	log.Info("callback answered")
	media.Bridge(agentLeg.Media(), leg.Media())
	c.mu.Lock()
	c.caller = leg // the customer is the call's party from now on (transfers, hold, counters)
	c.mu.Unlock()
	c.record(leg, agentLeg, c.recordPolicy() == config.RecordAll)
	now := time.Now()
	c.update(func(rec *store.CallRecord) {
		rec.ConnectedAt = &now
		if rec.QueuedAt != nil {
			rec.WaitSeconds = now.Sub(*rec.QueuedAt).Seconds()
		}
	})
	c.talk(ctx, leg)
	return true
}
