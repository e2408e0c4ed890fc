package call

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/sip"
	"github.com/switchboard/switchboard/internal/store"
)

// Errors of click-to-call.
var (
	ErrUnknownAgent = errors.New("call: no such agent")
	ErrBadNumber    = errors.New("call: not a number that can be dialled")
	ErrNoTrunk      = errors.New("call: no outbound trunk")
)

// ClickToCall rings the agent's phone and, once they answer, dials number
// over the outbound trunk and connects them (a CRM's click-to-call). It
// returns the call's ID at once; the call runs on in the background and
// leaves a record like any other.
func (m *Manager) ClickToCall(agentID, number, by string) (string, error) {
	if _, ok := m.agents[agentID]; !ok {
		return "", fmt.Errorf("%w: %s", ErrUnknownAgent, agentID)
	}
	if !dialable(number) {
		return "", fmt.Errorf("%w: %q", ErrBadNumber, number)
	}
	trunk, ok := m.cfg.OutboundTrunk("")
	if !ok {
		return "", ErrNoTrunk
	}
	c := &Call{ID: newID(), m: m, connected: make(chan struct{}), transfers: make(chan transferReq, 1)}
	c.log = m.log.With("call", c.ID)
	if err := m.acd.Reserve(agentID, c.ID); err != nil {
		return "", fmt.Errorf("agent %s: %w", agentID, err)
	}
	now := time.Now()
	c.rec = store.CallRecord{ID: c.ID, Caller: agentID, Dialed: number, Source: "click-to-call", Flow: "click-to-call", Agent: agentID,
		ArrivedAt: now, Outcome: OutcomeInProgress}
	m.mu.Lock()
	m.calls[c.ID] = c
	m.mu.Unlock()
	m.rec.SaveCall(c.rec)
	m.event("click_to_call", c.ID, agentID, "", fmt.Sprintf("to=%s by=%s", number, by))
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer c.finish()
		c.clickToCall(agentID, number, trunk.Outbound.CallerID)
	}()
	return c.ID, nil
}

func (c *Call) clickToCall(agentID, number, callerID string) {
	m := c.m
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.Server.MaxCallDuration)
	defer cancel()
	agentLeg, err := dialWhile(ctx, 30*time.Second, nil, func(ctx context.Context) (*sip.Leg, error) {
		return m.dialAgent(ctx, agentID, number, "Calling "+number)
	})
	if err != nil {
		_ = m.acd.Release(agentID)
		c.end(OutcomeFailed, "system", "agent's phone: "+err.Error())
		return
	}
	m.event("agent_answered", c.ID, agentID, "", "dialling "+number)
	if rb, ok := m.sounds.Get("ringback"); ok {
		agentLeg.Media().Loop(rb)
	}
	if callerID == "" {
		callerID = agentID
	}
	trunk, _ := m.cfg.OutboundTrunk("")
	ob := trunk.Outbound
	leg, err := dialWhile(ctx, 60*time.Second, agentLeg.Done(), func(ctx context.Context) (*sip.Leg, error) {
		return m.dialer.DialTrunk(ctx, sip.TrunkDial{Host: ob.Host, Transport: ob.Transport, Number: number, CallerID: callerID,
			Username: ob.Username, Password: ob.Password})
	})
	if err != nil {
		agentLeg.Hangup()
		_ = m.acd.Release(agentID)
		by := "system"
		if errors.Is(err, errWaiterGone) {
			by = "agent"
		}
		c.end(OutcomeFailed, by, "customer not reached: "+err.Error())
		return
	}
	media.Bridge(agentLeg.Media(), leg.Media())
	now := time.Now()
	c.mu.Lock()
	c.caller, c.agentLeg, c.agentID, c.agentDirect = leg, agentLeg, agentID, true
	close(c.connected)
	c.mu.Unlock()
	agentLeg.OnTransfer(c.onAgentTransfer(agentID))
	c.update(func(r *store.CallRecord) { r.AnsweredAt, r.ConnectedAt = &now, &now })
	m.event("connected", c.ID, agentID, "", "customer "+number+" answered")
	c.talk(ctx, leg)
}
