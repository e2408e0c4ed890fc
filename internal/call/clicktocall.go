package call

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/outbound"
	"github.com/switchboard/switchboard/internal/sip"
	"github.com/switchboard/switchboard/internal/store"
)

// ClickToCall rings the agent's phone and, once they answer, dials number
// over the outbound trunk and connects them (a CRM's click-to-call). It
// returns the call's ID at once; the call runs on in the background and
// leaves a record like any other.
func (m *Manager) ClickToCall(agentID, number, by string) (string, error) {
	if _, ok := m.agent(agentID); !ok {
		return "", fmt.Errorf("%w: %s", ErrUnknownAgent, agentID)
	}
	if !dialable(number) {
		return "", fmt.Errorf("%w: %q", ErrBadNumber, number)
	}
	trunk, ok := m.config().OutboundTrunk("")
	if !ok {
		return "", ErrNoTrunk
	}
	c := m.newCall(nil)
	c.view.Presenting, c.view.Name, c.view.Outgoing = number, "Calling "+number, true
	if err := m.acd.Reserve(agentID, c.ID); err != nil {
		return "", fmt.Errorf("agent %s: %w", agentID, err)
	}
	now := time.Now()
	c.rec = store.CallRecord{ID: c.ID, Caller: agentID, Dialed: number, Source: "click-to-call", Flow: "click-to-call", Agent: agentID,
		ArrivedAt: now, Outcome: string(event.OutcomeInProgress)}
	if ok, why := m.admit(c); !ok {
		_ = m.acd.Release(agentID)
		if m.isClosing() {
			return "", ErrShuttingDown
		}
		return "", fmt.Errorf("%w: %s", ErrBusy, why)
	}
	m.rec.SaveCall(c.rec)
	m.event(event.ClickToCall, c.ID, agentID, "", fmt.Sprintf("to=%s by=%s", number, by))
	go func() {
		defer m.wg.Done()
		ctx, cancel := context.WithTimeout(m.ctx, m.config().Server.MaxCallDuration)
		defer cancel()
		defer c.finish()
		c.clickToCall(ctx, agentID, number, trunk.Outbound.CallerID)
		for st := c.st; st != StateEnded; {
			st = c.step(ctx, st)
		}
	}()
	return c.ID, nil
}

// setProgress sets the words the desktop shows of an outgoing call's
// progress.
func (c *Call) setProgress(p string) { c.setView(func(v *callView) { v.Progress = p }) }

// clickToCall rings the agent, then the customer, and connects them.
func (c *Call) clickToCall(ctx context.Context, agentID, number, callerID string) {
	m := c.m
	c.setState(StateRinging)
	c.setProgress("calling your phone")
	agentLeg, err := c.dial(ctx, 30*time.Second, nil, func(ctx context.Context) (*sip.Leg, error) {
		return m.dialAgent(ctx, agentID, number, "Calling "+number)
	})
	if err != nil {
		_ = m.acd.Release(agentID)
		c.end(event.OutcomeFailed, event.BySystem, "agent's phone: "+err.Error())
		return
	}
	if c.hungUp {
		agentLeg.Hangup()
		_ = m.acd.Release(agentID)
		c.end(event.OutcomeFailed, event.ByAgent, "hung up before the customer was dialled")
		return
	}
	m.event(event.AgentAnswered, c.ID, agentID, "", "dialling "+number)
	c.setView(func(v *callView) { v.Agent = agentID }) // on the call: they may give up on the dial
	if rb, ok := m.sounds.Get("ringback"); ok {
		agentLeg.Media().Loop(rb)
	}
	if callerID == "" {
		callerID = agentID
	}
	trunk, ring := "", 60*time.Second
	if cc := c.campaign; cc != nil { // a preview campaign's call: its trunk and ring time
		trunk, ring = cc.dial.Campaign.Trunk, cc.dial.Campaign.RingTimeout
	}
	start := time.Now()
	if cc := c.campaign; cc != nil {
		cc.dialed = start
	}
	c.setProgress("dialling " + number)
	leg, err := c.dial(ctx, ring, agentLeg.Done(), func(ctx context.Context) (*sip.Leg, error) {
		return m.dialTrunk(ctx, trunk, number, callerID, "")
	})
	if cc := c.campaign; cc != nil {
		cc.ring = time.Since(start)
		switch {
		case err != nil && c.hungUp: // the agent gave up on it: not the network's failure
			cc.outcome = outbound.NoAnswer
		case err != nil:
			cc.outcome, _ = unanswered(err, ctx)
		default:
			cc.outcome = outbound.Human // the agent hears who answered
		}
		cc.report(c, CampaignReport{Stage: StageDecided})
	}
	if err != nil {
		agentLeg.Hangup()
		_ = m.acd.Release(agentID)
		by := event.BySystem
		if errors.Is(err, errWaiterGone) || c.hungUp {
			by = event.ByAgent
		}
		if c.hungUp {
			err = errors.New("the agent hung up while it rang")
		}
		outcome := event.OutcomeFailed
		if cc := c.campaign; cc != nil {
			outcome = event.Outcome(cc.outcome) // busy, no_answer, ...
		}
		c.setProgress("not reached: " + strings.ReplaceAll(string(outcome), "_", " "))
		c.end(outcome, by, "customer not reached: "+err.Error())
		return
	}
	if c.st != StateRinging || c.hungUp { // hung up from the desktop meanwhile
		leg.Hangup()
		agentLeg.Hangup()
		_ = m.acd.Release(agentID)
		return
	}
	c.caller = leg
	c.setView(func(v *callView) { v.CallerLeg, v.Progress = leg.ID, "connected" })
	now := time.Now()
	c.update(func(r *store.CallRecord) { r.AnsweredAt = &now })
	c.connect(agentLeg, agentID, true)
}
