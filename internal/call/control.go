package call

import (
	"fmt"

	"github.com/switchboard/switchboard/internal/media"
)

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
	m.event(map[bool]string{true: "hold", false: "unhold"}[on], c.ID, c.agentID, c.rec.Queue, "by "+by)
	return nil
}
