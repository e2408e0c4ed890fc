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

// transferReq asks a connected call to move its caller on.
type transferReq struct {
	target string // extension, queue or number (blind)
	// replaces is the SIP Call-ID of the transferring agent's consultation
	// call (attended): the caller goes to that call's far end.
	replaces string
	by       string
	// refer: asked by the agent's phone, which is told the progress (NOTIFY).
	refer bool
	// handoff, on a consultation call, asks it to give up its agent leg
	// to the call being transferred: the answer comes on reply.
	handoff chan<- handoff
	// consult completes the desktop's consultation: the caller goes to
	// the consulted party.
	consult *handoff
}

// handoff is what a consultation call gives to the call that replaces it.
type handoff struct {
	leg     *sip.Leg
	agentID string
	direct  bool
}

// Errors of transfer requests.
var (
	ErrNotConnected   = errors.New("call: not connected to an agent")
	ErrUnknownTarget  = errors.New("call: no agent, queue or number to transfer to")
	ErrTransferBusy   = errors.New("call: a transfer is already under way")
	ErrNoConsultation = errors.New("call: the consultation call is not connected")
)

// targetKind says what a transfer target names.
func (m *Manager) targetKind(target string) string {
	if _, ok := m.agents[target]; ok {
		return "agent"
	}
	if _, ok := m.cfg.QueueByName(target); ok {
		return "queue"
	}
	for _, n := range m.cfg.Numbers {
		if n.Number == target && n.Queue != "" {
			return "queue"
		}
	}
	if _, ok := m.cfg.OutboundTrunk(""); ok && dialable(target) {
		return "number"
	}
	return ""
}

// queueOf resolves a queue target (a queue name or a number that maps to one).
func (m *Manager) queueOf(target string) string {
	if _, ok := m.cfg.QueueByName(target); ok {
		return target
	}
	for _, n := range m.cfg.Numbers {
		if n.Number == target {
			return n.Queue
		}
	}
	return ""
}

// Transfer moves a connected call's caller to target (blind): an agent's
// extension, a queue, or an external number over the trunk (API).
func (m *Manager) Transfer(callID, target, by string) error {
	c := m.call(callID)
	if c == nil {
		return fmt.Errorf("%w: %s", ErrNotConnected, callID)
	}
	return c.requestTransfer(transferReq{target: target, by: by})
}

// CallAgent reports the agent a call is connected to ("" for none).
func (m *Manager) CallAgent(callID string) (string, bool) {
	c := m.call(callID)
	if c == nil {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.agentID, true
}

func (c *Call) requestTransfer(t transferReq) error {
	if t.replaces == "" && t.handoff == nil && t.consult == nil && c.m.targetKind(t.target) == "" {
		return fmt.Errorf("%w: %q", ErrUnknownTarget, t.target)
	}
	c.mu.Lock()
	connected := c.agentLeg != nil && !c.ended
	c.mu.Unlock()
	if !connected {
		return ErrNotConnected
	}
	select {
	case c.transfers <- t:
		return nil
	default:
		return ErrTransferBusy
	}
}

// onAgentTransfer handles a REFER from the agent's phone.
func (c *Call) onAgentTransfer(agentID string) func(sip.Transfer) error {
	return func(t sip.Transfer) error {
		return c.requestTransfer(transferReq{target: t.Target, replaces: t.Replaces, by: "agent " + agentID, refer: true})
	}
}

// handOver carries out a transfer while the caller talks to an agent.
func (c *Call) handOver(ctx context.Context, t transferReq) {
	m := c.m
	c.mu.Lock()
	agentLeg, agentID, direct, queue := c.agentLeg, c.agentID, c.agentDirect, c.rec.Queue
	caller := c.caller
	c.mu.Unlock()
	if t.handoff != nil {
		// This is the consultation call of an attended transfer: its agent
		// leg goes to the other call; the transferring agent's leg ends.
		caller.Media().Unbridge()
		c.mu.Lock()
		c.agentLeg, c.agentID, c.agentDirect = nil, "", false
		c.mu.Unlock()
		t.handoff <- handoff{leg: agentLeg, agentID: agentID, direct: direct}
		m.event("transfer", c.ID, agentID, queue, "consultation handed over; "+t.by)
		caller.Hangup()
		c.end(OutcomeCompleted, "agent", "attended transfer completed")
		return
	}
	kind := "blind"
	if t.replaces != "" || t.consult != nil {
		kind = "attended"
	}
	log := c.log.With("target", t.target, "kind", kind, "by", t.by)
	notify := func(code int, reason string) {
		if t.refer {
			agentLeg.NotifyTransfer(code, reason)
		}
	}
	notify(100, "Trying")
	var got handoff
	if t.consult != nil {
		got = *t.consult
		t.target = got.agentID
		agentLeg.Media().Unbridge()
	}
	if t.replaces != "" {
		var err error
		if got, err = m.takeConsultation(t.replaces); err != nil {
			log.Info("attended transfer failed", "err", err)
			notify(481, "Call/Transaction Does Not Exist")
			m.event("transfer_failed", c.ID, agentID, queue, err.Error())
			c.talk(ctx, caller)
			return
		}
		t.target = got.agentID
	}
	m.event("transfer", c.ID, agentID, queue, fmt.Sprintf("kind=%s to=%s by=%s", kind, t.target, t.by))
	log.Info("transferring call")
	caller.Media().Unbridge()
	// The transferring agent is done: their phone is told, then hung up
	// if it does not hang up itself.
	go func() {
		if !t.refer {
			agentLeg.Hangup()
			return
		}
		notify(200, "OK")
		select {
		case <-agentLeg.Done():
		case <-time.After(3 * time.Second):
			agentLeg.Hangup()
		}
	}()
	if direct {
		_ = m.acd.Release(agentID)
	} else {
		_ = m.acd.CallEnded(agentID)
	}
	m.poke()
	c.mu.Lock()
	c.agentLeg, c.agentID, c.agentDirect, c.connected = nil, "", false, make(chan struct{})
	c.mu.Unlock()
	if got.leg != nil {
		// Attended: the caller joins the consultation's far end.
		if !c.connect(got.leg, got.agentID) {
			got.leg.Hangup()
			return
		}
		c.mu.Lock()
		c.agentDirect = got.direct
		c.mu.Unlock()
		c.talk(ctx, caller)
		return
	}
	switch m.targetKind(t.target) {
	case "agent":
		c.direct(ctx, t.target)
	case "queue":
		name := m.queueOf(t.target)
		q, _ := m.cfg.QueueByName(name)
		c.music(q)
		if err := m.acd.Enqueue(c.ID, name, c.priority); err != nil {
			c.end(OutcomeFailed, "system", "transfer enqueue: "+err.Error())
			return
		}
		m.poke()
		c.update(func(r *store.CallRecord) { r.Queue = name })
		c.wait(ctx, q)
	default:
		c.dialNumber(ctx, t.target, queue)
	}
}

// takeConsultation finds the call whose caller leg is the SIP dialog
// callID and takes its agent leg.
func (m *Manager) takeConsultation(callID string) (handoff, error) {
	m.mu.Lock()
	var cons *Call
	for _, c := range m.calls {
		c.mu.Lock()
		if c.caller.ID == callID {
			cons = c
		}
		c.mu.Unlock()
	}
	m.mu.Unlock()
	if cons == nil {
		return handoff{}, fmt.Errorf("%w: %s", ErrNoConsultation, callID)
	}
	reply := make(chan handoff, 1)
	if err := cons.requestTransfer(transferReq{handoff: reply, by: "attended transfer"}); err != nil {
		return handoff{}, fmt.Errorf("%w: %v", ErrNoConsultation, err)
	}
	select {
	case h := <-reply:
		return h, nil
	case <-time.After(3 * time.Second):
		return handoff{}, fmt.Errorf("%w: no answer from the consultation call", ErrNoConsultation)
	}
}

// dialNumber sends the caller to an external number over the outbound
// trunk; if it is not answered, the caller goes back to their queue (or
// the call ends when it had none).
func (c *Call) dialNumber(ctx context.Context, number, queue string) {
	m := c.m
	trunk, _ := m.cfg.OutboundTrunk("")
	ob := trunk.Outbound
	c.mu.Lock()
	caller, dialed := c.caller, c.rec.Dialed
	c.mu.Unlock()
	if rb, ok := m.sounds.Get("ringback"); ok {
		caller.Media().Loop(rb)
	}
	callerID := ob.CallerID
	if callerID == "" {
		callerID = caller.Caller
	}
	leg, err := dialWhile(ctx, 60*time.Second, caller.Done(), func(ctx context.Context) (*sip.Leg, error) {
		return m.dialer.DialTrunk(ctx, sip.TrunkDial{Host: ob.Host, Transport: ob.Transport, Number: number, CallerID: callerID,
			CallerName: caller.CallerName, Username: ob.Username, Password: ob.Password})
	})
	if errors.Is(err, errWaiterGone) {
		c.end(OutcomeAnswered, "caller", "caller hung up during the transfer to "+number)
		return
	}
	if err != nil {
		m.event("transfer_failed", c.ID, "", queue, fmt.Sprintf("to=%s: %v", number, err))
		c.log.Info("transfer to a number failed", "number", number, "err", err)
		q, ok := m.cfg.QueueByName(queue)
		if !ok {
			caller.Hangup()
			c.end(OutcomeAnswered, "system", "transfer to "+number+" failed: "+err.Error())
			return
		}
		c.music(q)
		if err := m.acd.Enqueue(c.ID, queue, c.priority); err != nil {
			c.end(OutcomeFailed, "system", "re-queue after a failed transfer: "+err.Error())
			return
		}
		m.poke()
		c.wait(ctx, q)
		return
	}
	m.event("transferred_out", c.ID, "", queue, "to="+number+" via trunk, caller-id "+callerID+", dialed "+dialed)
	media.Bridge(caller.Media(), leg.Media())
	c.mu.Lock()
	c.agentLeg, c.agentID = leg, ""
	c.mu.Unlock()
	c.record(caller, leg, false)
	c.talk(ctx, caller)
}
