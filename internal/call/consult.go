package call

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/sip"
)

// consultation is the desktop's attended transfer in progress: the caller
// on hold, the agent talking to the consulted party. The call's goroutine
// owns it.
type consultation struct {
	target string
	kind   string   // targetAgent or targetNumber
	agent  string   // the consulted agent, reserved ("" for a number)
	leg    *sip.Leg // nil while it rings
	cancel context.CancelFunc
	// released: the reserved agent was freed, or passed to the call.
	released bool
}

// Consult starts an attended transfer from the desktop: the caller is put
// on hold with music, and target (an agent, or a number over the trunk) is
// rung for the agent, who hears ringback, then talks to them. Complete or
// cancel with CompleteConsult and CancelConsult.
func (m *Manager) Consult(callID, target, by string) error {
	kind := m.targetKind(target)
	if kind != targetAgent && kind != targetNumber {
		return fmt.Errorf("%w: %q (consult an agent or a number)", ErrUnknownTarget, target)
	}
	return m.command(callID, "consult", func(c *Call) error { return c.startConsult(target, kind, by) })
}

func (c *Call) startConsult(target, kind, by string) error {
	m := c.m
	if c.consult != nil {
		return ErrConsulting
	}
	if c.st != StateConnected && c.st != StateHeld || c.agentLeg == nil {
		return c.refuse("consult")
	}
	if kind == targetAgent {
		if err := m.acd.Reserve(target, c.ID); err != nil {
			return fmt.Errorf("agent %s: %w", target, err)
		}
	}
	ctx, cancel := context.WithTimeout(m.ctx, 60*time.Second)
	cons := &consultation{target: target, kind: kind, cancel: cancel}
	if kind == targetAgent {
		cons.agent = target
	}
	c.consult = cons
	caller, agentLeg, agentID := c.caller, c.agentLeg, c.agentID
	caller.Media().Unbridge()
	if snd := c.holdMusic(); snd != nil {
		caller.Media().Loop(snd)
	}
	if rb, ok := m.sounds.Get("ringback"); ok {
		agentLeg.Media().Loop(rb)
	}
	m.event(event.ConsultStarted, c.ID, agentID, c.queue, fmt.Sprintf("to=%s by=%s", target, by))
	c.setView(func(v *callView) { v.Consult = &ConsultView{Target: target} })
	c.setState(StateConsulting)
	started := m.goTracked(func() {
		defer cancel()
		var leg *sip.Leg
		var err error
		if kind == targetAgent {
			leg, err = dialWhile(ctx, 30*time.Second, agentLeg.Done(), func(ctx context.Context) (*sip.Leg, error) {
				return m.dialAgent(ctx, target, caller.Caller, "Consult from "+agentID)
			})
		} else {
			leg, err = dialWhile(ctx, 60*time.Second, agentLeg.Done(), func(ctx context.Context) (*sip.Leg, error) {
				return m.dialTrunk(ctx, "", target, "", "")
			})
		}
		if derr := c.deliver("consult answered", func(c *Call) error { return c.consultDialed(cons, leg, err) }); derr != nil && leg != nil {
			leg.Hangup()
		}
	})
	if !started {
		c.resumeFromConsult()
		return ErrShuttingDown
	}
	return nil
}

// consultDialed follows the consulted party answering, or not.
func (c *Call) consultDialed(cons *consultation, leg *sip.Leg, err error) error {
	if c.consult != cons { // cancelled meanwhile
		if leg != nil {
			leg.Hangup()
		}
		return nil
	}
	if err != nil {
		c.m.event(event.ConsultFailed, c.ID, c.agentID, c.queue, fmt.Sprintf("to=%s: %v", cons.target, err))
		c.resumeFromConsult()
		return nil
	}
	cons.leg = leg
	media.Bridge(c.agentLeg.Media(), leg.Media())
	c.m.event(event.ConsultConnected, c.ID, c.agentID, c.queue, "to="+cons.target)
	c.setView(func(v *callView) { v.Consult = &ConsultView{Target: cons.target, Connected: true} })
	return nil
}

// consulting is the step while the agent consults: the caller on hold,
// the agent with the consulted party, until the agent completes or
// cancels, or someone hangs up.
func (c *Call) consulting(ctx context.Context) {
	for !c.moved(StateConsulting) {
		var consGone <-chan struct{}
		if c.consult != nil && c.consult.leg != nil {
			consGone = c.consult.leg.Done()
		}
		select {
		case k := <-c.cmds:
			c.exec(k)
		case <-consGone:
			c.m.event(event.ConsultEnded, c.ID, c.agentID, c.queue, "the consulted party hung up")
			c.resumeFromConsult()
		case <-c.caller.Done():
			c.hangUpTalk(event.ByCaller, "caller hung up")
		case <-c.agentLeg.Done():
			c.hangUpTalk(event.ByAgent, "agent hung up")
		case <-ctx.Done():
			c.hangUpTalk(event.BySystem, "maximum call duration or shutdown")
		}
	}
}

// CompleteConsult hands the caller to the consulted party; the agent leaves.
func (m *Manager) CompleteConsult(callID, by string) error {
	return m.command(callID, "complete transfer", func(c *Call) error {
		cons := c.consult
		if c.st != StateConsulting || cons == nil {
			return c.refuse("complete transfer")
		}
		if cons.leg == nil {
			return ErrNoConsulting
		}
		agentLeg, agentID := c.agentLeg, c.agentID
		c.m.event(event.Transfer, c.ID, agentID, c.queue, fmt.Sprintf("kind=attended to=%s by=%s", cons.target, by))
		c.consult = nil
		cons.cancel()
		cons.released = true // the reserved agent is the call's now (direct)
		c.hold = holdState{}
		c.setView(func(v *callView) { v.Consult, v.HeldSince = nil, time.Time{} })
		agentLeg.Media().Unbridge()
		agentLeg.Hangup()
		c.releaseAgent()
		c.connect(cons.leg, cons.agent, cons.agent != "")
		return nil
	})
}

// CancelConsult ends the consultation and gives the agent the caller back.
func (m *Manager) CancelConsult(callID, by string) error {
	return m.command(callID, "cancel consultation", func(c *Call) error {
		if c.st != StateConsulting || c.consult == nil {
			return c.refuse("cancel consultation")
		}
		c.m.event(event.ConsultCancelled, c.ID, "", "", "by "+by)
		c.resumeFromConsult()
		return nil
	})
}

// resumeFromConsult drops the consulted party and reconnects caller and agent.
func (c *Call) resumeFromConsult() {
	c.dropConsult()
	if c.agentLeg != nil {
		media.Bridge(c.caller.Media(), c.agentLeg.Media())
	}
	c.hold = holdState{}
	c.setView(func(v *callView) { v.HeldSince = time.Time{} })
	if c.agentID != "" {
		_ = c.m.acd.SetHold(c.agentID, false)
	}
	c.setState(StateConnected)
}

// dropConsult ends a consultation: its party hangs up, the consulted
// agent is freed.
func (c *Call) dropConsult() {
	cons := c.consult
	if cons == nil {
		return
	}
	c.consult = nil
	cons.cancel()
	if cons.leg != nil {
		cons.leg.Hangup()
	}
	if cons.agent != "" && !cons.released {
		cons.released = true
		_ = c.m.acd.Release(cons.agent)
		c.m.poke()
	}
	c.setView(func(v *callView) { v.Consult = nil })
}
