package call

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/sip"
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
}

// handoff is what a consultation call gives to the call that replaces it.
type handoff struct {
	leg     *sip.Leg
	agentID string
	direct  bool
}

// Target kinds.
const (
	targetAgent  = "agent"
	targetQueue  = "queue"
	targetNumber = "number"
)

// targetKind says what a transfer target names.
func (m *Manager) targetKind(target string) string {
	if _, ok := m.agent(target); ok {
		return targetAgent
	}
	if m.queueOf(target) != "" {
		return targetQueue
	}
	if _, ok := m.config().OutboundTrunk(""); ok && dialable(target) {
		return targetNumber
	}
	return ""
}

// queueOf resolves a queue target (a queue name or a number that maps to one).
func (m *Manager) queueOf(target string) string {
	if _, ok := m.config().QueueByName(target); ok {
		return target
	}
	for _, n := range m.config().Numbers {
		if n.Number == target && n.Queue != "" {
			return n.Queue
		}
	}
	return ""
}

// Transfer moves a connected call's caller to target (blind): an agent's
// extension, a queue, or an external number over the trunk (API).
func (m *Manager) Transfer(callID, target, by string) error {
	return m.command(callID, "transfer", func(c *Call) error {
		return c.startTransfer(transferReq{target: target, by: by})
	})
}

// startTransfer checks a transfer and leaves it for the talk step.
func (c *Call) startTransfer(t transferReq) error {
	if c.st != StateConnected && c.st != StateHeld || c.agentLeg == nil {
		return c.refuse("transfer")
	}
	if t.replaces == "" && c.m.targetKind(t.target) == "" {
		return fmt.Errorf("%w: %q", ErrUnknownTarget, t.target)
	}
	if c.transfer != nil {
		return ErrTransferBusy
	}
	c.transfer = &t
	return nil
}

// handOver carries out a transfer while the caller talks to an agent.
func (c *Call) handOver(ctx context.Context, t transferReq) {
	m := c.m
	agentLeg, agentID := c.agentLeg, c.agentID
	kind := "blind"
	if t.replaces != "" {
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
	if t.replaces != "" {
		var err error
		if got, err = m.takeConsultation(c, t.replaces); err != nil {
			log.Info("attended transfer failed", "err", err)
			notify(481, "Call/Transaction Does Not Exist")
			m.event(event.TransferFailed, c.ID, agentID, c.queue, err.Error())
			return // the talk goes on
		}
		t.target = got.agentID
	}
	m.event(event.Transfer, c.ID, agentID, c.queue, fmt.Sprintf("kind=%s to=%s by=%s", kind, t.target, t.by))
	log.Info("transferring call")
	c.caller.Media().Unbridge()
	c.leaveAgent(agentLeg, t.refer, notify)
	c.releaseAgent()
	c.setState(StateRinging) // the caller waits for the transfer's target
	if c.hold != (holdState{}) {
		c.hold = holdState{}
		c.setView(func(v *callView) { v.HeldSince = time.Time{} })
	}
	if got.leg != nil {
		// Attended: the caller joins the consultation's far end.
		c.connect(got.leg, got.agentID, got.direct)
		return
	}
	switch m.targetKind(t.target) {
	case targetAgent:
		c.target = t.target
		c.reenter = true // the ringing step rings the extension
	case targetQueue:
		c.enqueue(ctx, m.queueOf(t.target), c.priority)
	default:
		c.dialNumber(ctx, t.target)
	}
}

// leaveAgent lets the transferring agent go: their phone is told (after a
// REFER), then hung up if it does not hang up itself.
func (c *Call) leaveAgent(leg *sip.Leg, refer bool, notify func(int, string)) {
	if !refer {
		leg.Hangup()
		return
	}
	notify(200, "OK")
	go func() { // bounded: the leg ends within 3 s either way
		select {
		case <-leg.Done():
		case <-time.After(3 * time.Second):
			leg.Hangup()
		}
	}()
}

// takeConsultation finds the call whose caller leg is the SIP dialog
// callID (the transferring agent's second call) and takes its agent leg.
func (m *Manager) takeConsultation(self *Call, callID string) (handoff, error) {
	var cons *Call
	m.mu.Lock()
	for _, c := range m.calls {
		c.mu.Lock()
		if c.view.CallerLeg == callID && c != self {
			cons = c
		}
		c.mu.Unlock()
	}
	m.mu.Unlock()
	if cons == nil {
		return handoff{}, fmt.Errorf("%w: %s", ErrNoConsultation, callID)
	}
	var h handoff
	err := cons.do("hand over", func(c *Call) error {
		if c.st != StateConnected && c.st != StateHeld || c.agentLeg == nil {
			return c.refuse("hand over")
		}
		// Its agent leg goes to the other call; the transferring agent's
		// leg (this call's caller) ends.
		c.caller.Media().Unbridge()
		h = handoff{leg: c.agentLeg, agentID: c.agentID, direct: c.agentDirect}
		c.agentLeg, c.agentID, c.agentDirect = nil, "", false
		c.m.event(event.Transfer, c.ID, h.agentID, c.queue, "consultation handed over; attended transfer")
		c.caller.Hangup()
		c.end(event.OutcomeCompleted, event.ByAgent, "attended transfer completed")
		return nil
	})
	if err != nil {
		return handoff{}, fmt.Errorf("%w: %v", ErrNoConsultation, err)
	}
	return h, nil
}

// dialNumber sends the caller to an external number over the outbound
// trunk; if it is not answered, the caller goes back to their queue (or
// the call ends when it had none).
func (c *Call) dialNumber(ctx context.Context, number string) {
	m, caller := c.m, c.caller
	if rb, ok := m.sounds.Get("ringback"); ok {
		caller.Media().Loop(rb)
	}
	c.mu.Lock()
	dialed := c.rec.Dialed
	c.mu.Unlock()
	leg, err := c.dial(ctx, 60*time.Second, caller.Done(), func(ctx context.Context) (*sip.Leg, error) {
		return m.dialTrunk(ctx, "", number, caller.Caller, caller.CallerName)
	})
	if errors.Is(err, errWaiterGone) {
		c.end(event.OutcomeAnswered, event.ByCaller, "caller hung up during the transfer to "+number)
		return
	}
	if err != nil {
		m.event(event.TransferFailed, c.ID, "", c.queue, fmt.Sprintf("to=%s: %v", number, err))
		c.log.Info("transfer to a number failed", "number", number, "err", err)
		if _, ok := c.queueConfig(c.queue); !ok {
			caller.Hangup()
			c.end(event.OutcomeAnswered, event.BySystem, "transfer to "+number+" failed: "+err.Error())
			return
		}
		c.enqueue(ctx, c.queue, c.priority)
		return
	}
	if c.st != StateRinging { // ended meanwhile
		leg.Hangup()
		return
	}
	m.event(event.TransferredOut, c.ID, "", c.queue, "to="+number+" via trunk, dialed "+dialed)
	c.agentLeg, c.agentID, c.agentDirect = leg, "", false
	media.Bridge(caller.Media(), leg.Media())
	c.record(caller, leg, false)
	c.setParties()
	c.setState(StateConnected)
}

// CallAgent reports the agent a call is connected to ("" for none).
func (m *Manager) CallAgent(callID string) (string, bool) {
	c := m.call(callID)
	if c == nil {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.view.Agent, true
}

// CallState reports a live call's state.
func (m *Manager) CallState(callID string) (State, bool) {
	c := m.call(callID)
	if c == nil {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.view.State, true
}
