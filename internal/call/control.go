package call

import (
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/store"
)

// ErrNotWaiting: the call is not waiting in a queue (an agent has it, or it is a callback).
var ErrNotWaiting = errors.New("call: not waiting in a queue")

// HangupCall ends a live call from the API (the agent's desktop, a supervisor).
func (m *Manager) HangupCall(callID, by string) error {
	c := m.call(callID)
	if c == nil {
		return fmt.Errorf("%w: %s", ErrUnknownCall, callID)
	}
	m.event("hangup_requested", c.ID, "", "", "by "+by)
	c.mu.Lock()
	caller, agentLeg := c.caller, c.agentLeg
	c.mu.Unlock()
	if agentLeg != nil {
		agentLeg.Hangup() // the talk ends as "agent hung up"
		return nil
	}
	if caller != nil {
		caller.Hangup()
	}
	return nil
}

// Hold puts a connected call's caller on hold (music, the agent hears
// nothing) or takes them off it, from the API.
func (m *Manager) Hold(callID string, on bool, by string) error {
	c := m.call(callID)
	if c == nil {
		return fmt.Errorf("%w: %s", ErrUnknownCall, callID)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.agentLeg == nil || c.ended {
		return ErrNotConnected
	}
	if c.held == on {
		return nil
	}
	c.held = on
	if on {
		c.caller.Media().Unbridge()
		c.agentLeg.Media().Stop()
		music := "hold-music"
		if q, ok := m.cfg.QueueByName(c.rec.Queue); ok {
			music = q.Music
		}
		if snd, ok := m.sounds.Get(music); ok {
			c.caller.Media().Loop(snd)
		}
	} else {
		media.Bridge(c.caller.Media(), c.agentLeg.Media())
	}
	if c.agentID != "" {
		if err := m.acd.SetHold(c.agentID, on); err != nil {
			c.log.Debug("hold", "err", err)
		}
	}
	m.event(map[bool]event.Kind{true: event.Hold, false: event.Unhold}[on], c.ID, c.agentID, c.rec.Queue, "by "+by)
	return nil
}

// Requeue moves a waiting call to another queue and/or changes its
// priority (a supervisor's action); queue "" keeps the queue, priority nil
// keeps the priority.
func (m *Manager) Requeue(callID, queue string, priority *int, by string) error {
	c := m.call(callID)
	if c == nil {
		return fmt.Errorf("%w: %s", ErrUnknownCall, callID)
	}
	c.mu.Lock()
	current, waiting := c.rec.Queue, c.agentLeg == nil && c.moves != nil
	c.mu.Unlock()
	if !waiting {
		return ErrNotWaiting
	}
	if priority != nil {
		if err := m.acd.SetPriority(callID, *priority); err != nil {
			return fmt.Errorf("%w: %v", ErrNotWaiting, err)
		}
		c.mu.Lock()
		c.priority = *priority
		c.mu.Unlock()
		m.event("priority_changed", c.ID, "", current, fmt.Sprintf("priority=%d by %s", *priority, by))
	}
	if queue != "" && queue != current {
		if _, ok := m.cfg.QueueByName(queue); !ok {
			return fmt.Errorf("%w: %q", ErrUnknownTarget, queue)
		}
		if err := m.acd.Move(callID, queue, "moved by "+by); err != nil {
			return fmt.Errorf("%w: %v", ErrNotWaiting, err)
		}
		c.update(func(r *store.CallRecord) { r.Queue = queue })
		select {
		case c.moves <- queue:
		default:
		}
	}
	m.poke()
	return nil
}

// SendDigits plays DTMF digits (RFC 4733) to the party of a connected
// call, from the agent's desktop keypad (IVRs the agent has dialled, or a
// conference PIN).
func (m *Manager) SendDigits(callID, digits, by string) error {
	c := m.call(callID)
	if c == nil {
		return fmt.Errorf("%w: %s", ErrUnknownCall, callID)
	}
	c.mu.Lock()
	caller, connected := c.caller, c.agentLeg != nil && !c.ended
	c.mu.Unlock()
	if !connected || caller == nil {
		return ErrNotConnected
	}
	for i := 0; i < len(digits); i++ {
		if err := caller.Media().SendDTMF(digits[i], 100*time.Millisecond); err != nil {
			return err
		}
	}
	m.event("dtmf_sent", c.ID, "", "", fmt.Sprintf("digits=%s by %s", digits, by))
	return nil
}
