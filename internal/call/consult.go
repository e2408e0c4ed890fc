package call

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/sip"
)

// Errors of consultations.
var (
	ErrConsulting   = errors.New("call: a consultation is already under way")
	ErrNoConsulting = errors.New("call: no consultation under way")
)

// consultation is the desktop's attended transfer in progress: the caller
// on hold, the agent talking to the consulted party.
type consultation struct {
	target string
	leg    *sip.Leg // nil while it rings
	agent  string   // the consulted agent ("" for a number)
	cancel context.CancelFunc
}

// Consult starts an attended transfer from the desktop: the caller is put
// on hold with music, and target (an agent, or a number over the trunk) is
// rung for the agent, who hears ringback, then talks to them. Complete or
// cancel with CompleteConsult and CancelConsult.
func (m *Manager) Consult(callID, target, by string) error {
	c := m.call(callID)
	if c == nil {
		return fmt.Errorf("%w: %s", ErrUnknownCall, callID)
	}
	kind := m.targetKind(target)
	if kind != "agent" && kind != "number" {
		return fmt.Errorf("%w: %q (consult an agent or a number)", ErrUnknownTarget, target)
	}
	c.mu.Lock()
	if c.agentLeg == nil || c.ended {
		c.mu.Unlock()
		return ErrNotConnected
	}
	if c.consult != nil {
		c.mu.Unlock()
		return ErrConsulting
	}
	ctx, cancel := context.WithTimeout(m.ctx, 60*time.Second)
	cons := &consultation{target: target, cancel: cancel}
	c.consult = cons
	caller, agentLeg, agentID, queue := c.caller, c.agentLeg, c.agentID, c.rec.Queue
	c.mu.Unlock()
	if kind == "agent" {
		if err := m.acd.Reserve(target, c.ID); err != nil {
			c.endConsult(cons)
			return fmt.Errorf("agent %s: %w", target, err)
		}
		cons.agent = target
	}
	caller.Media().Unbridge()
	if snd, ok := m.sounds.Get("hold-music"); ok {
		caller.Media().Loop(snd)
	}
	if rb, ok := m.sounds.Get("ringback"); ok {
		agentLeg.Media().Loop(rb)
	}
	m.event("consult_started", c.ID, agentID, queue, fmt.Sprintf("to=%s by=%s", target, by))
	go func() {
		defer cancel()
		var leg *sip.Leg
		var err error
		if kind == "agent" {
			leg, err = dialWhile(ctx, 30*time.Second, agentLeg.Done(), func(ctx context.Context) (*sip.Leg, error) {
				return m.dialAgent(ctx, target, caller.Caller, "Consult from "+agentID)
			})
		} else {
			trunk, _ := m.cfg.OutboundTrunk("")
			ob := trunk.Outbound
			leg, err = dialWhile(ctx, 60*time.Second, agentLeg.Done(), func(ctx context.Context) (*sip.Leg, error) {
				return m.dialer.DialTrunk(ctx, sip.TrunkDial{Host: ob.Host, Transport: ob.Transport, Number: target,
					CallerID: ob.CallerID, Username: ob.Username, Password: ob.Password})
			})
		}
		c.mu.Lock()
		current := c.consult == cons
		if err == nil && current {
			cons.leg = leg
		}
		c.mu.Unlock()
		if err != nil || !current {
			if leg != nil {
				leg.Hangup()
			}
			m.event("consult_failed", c.ID, agentID, queue, fmt.Sprintf("to=%s: %v", target, err))
			if current {
				c.resumeFromConsult(cons)
			}
			return
		}
		media.Bridge(agentLeg.Media(), leg.Media())
		m.event("consult_connected", c.ID, agentID, queue, "to="+target)
		select { // the consulted party hangs up first: back to the caller
		case <-leg.Done():
			c.mu.Lock()
			still := c.consult == cons
			c.mu.Unlock()
			if still {
				m.event("consult_ended", c.ID, agentID, queue, "the consulted party hung up")
				c.resumeFromConsult(cons)
			}
		case <-m.ctx.Done():
		}
	}()
	return nil
}

// CompleteConsult hands the caller to the consulted party; the agent leaves.
func (m *Manager) CompleteConsult(callID, by string) error {
	c := m.call(callID)
	if c == nil {
		return fmt.Errorf("%w: %s", ErrUnknownCall, callID)
	}
	c.mu.Lock()
	cons := c.consult
	if cons == nil || cons.leg == nil {
		c.mu.Unlock()
		return ErrNoConsulting
	}
	c.consult = nil
	c.mu.Unlock()
	return c.requestTransfer(transferReq{target: cons.target, by: by, consult: &handoff{leg: cons.leg, agentID: cons.agent, direct: cons.agent != ""}})
}

// CancelConsult ends the consultation and gives the agent the caller back.
func (m *Manager) CancelConsult(callID, by string) error {
	c := m.call(callID)
	if c == nil {
		return fmt.Errorf("%w: %s", ErrUnknownCall, callID)
	}
	c.mu.Lock()
	cons := c.consult
	c.mu.Unlock()
	if cons == nil {
		return ErrNoConsulting
	}
	m.event("consult_cancelled", c.ID, "", "", "by "+by)
	c.resumeFromConsult(cons)
	return nil
}

// resumeFromConsult drops the consulted party and reconnects caller and agent.
func (c *Call) resumeFromConsult(cons *consultation) {
	c.dropConsult(cons)
	c.mu.Lock()
	caller, agentLeg := c.caller, c.agentLeg
	c.mu.Unlock()
	if agentLeg != nil {
		media.Bridge(caller.Media(), agentLeg.Media())
	}
}

// dropConsult ends a consultation and hangs up its party.
func (c *Call) dropConsult(cons *consultation) {
	c.endConsult(cons)
	c.mu.Lock()
	leg := cons.leg
	c.mu.Unlock()
	if leg != nil {
		leg.Hangup()
	}
}

// endConsult forgets a consultation and frees the consulted agent.
func (c *Call) endConsult(cons *consultation) {
	c.mu.Lock()
	if c.consult == cons {
		c.consult = nil
	}
	c.mu.Unlock()
	cons.cancel()
	if cons.agent != "" {
		_ = c.m.acd.Release(cons.agent)
	}
}

// Consulting reports the target of a call's consultation in progress.
func (m *Manager) Consulting(callID string) (target string, connected bool, ok bool) {
	c := m.call(callID)
	if c == nil {
		return "", false, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.consult == nil {
		return "", false, false
	}
	return c.consult.target, c.consult.leg != nil, true
}
