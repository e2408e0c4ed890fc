package call

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/flow"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/sip"
	"github.com/switchboard/switchboard/internal/store"
)

// Call is one caller's journey: IVR, queue, agent.
type Call struct {
	ID     string
	m      *Manager
	caller *sip.Leg
	log    *slog.Logger

	mu        sync.Mutex
	rec       store.CallRecord
	agentLeg  *sip.Leg
	agentID   string
	ended     bool
	connected chan struct{}
}

// Outcomes of a call record.
const (
	OutcomeInProgress = "in_progress"
	OutcomeAnswered   = "answered"
	OutcomeAbandoned  = "abandoned"
	OutcomeRejected   = "rejected"
	OutcomeFailed     = "failed"
	OutcomeCompleted  = "completed" // handled without an agent (feature code, closed message)
)

// Incoming runs a new inbound call to its end (sip.Handler).
func (m *Manager) Incoming(leg *sip.Leg) {
	now := time.Now()
	c := &Call{ID: newID(), m: m, caller: leg, connected: make(chan struct{})}
	c.log = m.log.With("call", c.ID)
	c.rec = store.CallRecord{ID: c.ID, Caller: leg.Caller, CallerName: leg.CallerName, Dialed: leg.Dialed, Source: leg.Source,
		ArrivedAt: now, Outcome: OutcomeInProgress, SIPCall: leg.ID}
	m.mu.Lock()
	m.calls[c.ID] = c
	m.mu.Unlock()
	m.wg.Add(1)
	defer m.wg.Done()
	m.rec.SaveCall(c.rec)
	m.event("arrived", c.ID, "", "", fmt.Sprintf("from=%s to=%s source=%s", leg.Caller, leg.Dialed, leg.Source))
	c.log.Info("call arrived", "caller", leg.Caller, "dialed", leg.Dialed, "source", leg.Source)
	defer c.finish()
	c.run()
}

func (c *Call) update(f func(r *store.CallRecord)) {
	c.mu.Lock()
	f(&c.rec)
	snap := c.rec
	c.mu.Unlock()
	c.m.rec.SaveCall(snap)
}

// finish closes the record: end time, RTP counters, and an outcome for any
// path that did not set one.
func (c *Call) finish() {
	c.caller.Hangup()
	ep := c.caller.Media()
	now := time.Now()
	c.mu.Lock()
	c.ended = true
	c.mu.Unlock()
	c.update(func(r *store.CallRecord) {
		if r.EndedAt == nil {
			r.EndedAt = &now
		}
		if r.Outcome == OutcomeInProgress {
			r.Outcome = OutcomeFailed
		}
		r.RTPIn, r.RTPOut, r.RTPLost = ep.Received.Load(), ep.Sent.Load(), ep.Lost.Load()
	})
	c.mu.Lock()
	final := c.rec
	c.mu.Unlock()
	c.m.event("ended", c.ID, "", "", final.Outcome)
	c.m.countOutcome(final.Outcome)
	c.m.mu.Lock()
	delete(c.m.calls, c.ID)
	c.m.mu.Unlock()
	c.log.Info("call ended", "outcome", final.Outcome, "hangup_by", final.HangupBy, "reason", final.Reason)
}

func (c *Call) end(outcome, by, reason string) {
	now := time.Now()
	c.update(func(r *store.CallRecord) {
		r.Outcome, r.HangupBy, r.Reason = outcome, by, reason
		r.EndedAt = &now
	})
}

func (c *Call) run() {
	m, leg := c.m, c.caller
	if leg.AuthUser != "" && leg.Dialed == m.cfg.FeatureCodes.LoginToggle && m.cfg.FeatureCodes.LoginToggle != "" {
		c.loginToggle()
		return
	}
	flowName := ""
	for _, n := range m.cfg.Numbers {
		if n.Number == leg.Dialed {
			flowName = n.Flow
		}
	}
	f, ok := m.cfg.FlowByName(flowName)
	if !ok {
		leg.Reject(404, "Not Found")
		c.end(OutcomeRejected, "system", "404 unknown number "+leg.Dialed)
		return
	}
	if err := leg.Answer(); err != nil {
		c.log.Warn("answer failed", "err", err)
		c.end(OutcomeFailed, "system", "answer failed: "+err.Error())
		return
	}
	now := time.Now()
	c.update(func(r *store.CallRecord) { r.AnsweredAt, r.Flow = &now, f.Name })
	m.event("ivr_answered", c.ID, "", "", "flow="+f.Name)

	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.Server.MaxCallDuration)
	defer cancel()
	res, err := flow.Run(ctx, f, m.hours, &legSession{leg: leg, sounds: m.sounds, log: c.log}, c.log)
	c.update(func(r *store.CallRecord) { r.Digits, r.Path = res.Digits, strings.Join(res.Path, ">") })
	if res.Digits != "" {
		m.event("ivr_digits", c.ID, "", "", res.Digits)
	}
	if err != nil {
		if errors.Is(err, errHungUp) {
			c.end(OutcomeAbandoned, "caller", "hung up in IVR")
			return
		}
		c.log.Warn("flow failed", "err", err)
		c.end(OutcomeFailed, "system", "flow: "+err.Error())
		return
	}
	switch res.Action {
	case flow.ActionHangup:
		leg.Hangup()
		c.end(OutcomeCompleted, "system", "flow ended")
	case flow.ActionQueue:
		c.queue(ctx, res.Queue, res.Priority)
	case flow.ActionExtension:
		c.direct(ctx, res.Extension)
	}
}

func (c *Call) loginToggle() {
	m, leg := c.m, c.caller
	agent := leg.AuthUser
	if err := leg.Answer(); err != nil {
		c.end(OutcomeFailed, "system", "answer failed")
		return
	}
	st, err := m.acd.Toggle(agent)
	m.poke()
	if err != nil {
		c.log.Warn("login toggle", "agent", agent, "err", err)
		leg.Hangup()
		c.end(OutcomeFailed, "system", err.Error())
		return
	}
	prompt := "agent-logged-out"
	if st != "logged_out" {
		prompt = "agent-logged-in"
	}
	c.update(func(r *store.CallRecord) { r.Agent = agent })
	m.event("feature_login_toggle", c.ID, agent, "", string(st))
	c.log.Info("agent login toggled", "agent", agent, "state", st)
	sess := &legSession{leg: leg, sounds: m.sounds, log: c.log}
	ctx, cancel := context.WithTimeout(m.ctx, 30*time.Second)
	defer cancel()
	_, _ = sess.Play(ctx, []string{prompt}, false)
	leg.Hangup()
	c.end(OutcomeCompleted, "system", "login toggle: "+string(st))
}

// queue waits in an ACD queue with music until an agent is connected, the
// caller hangs up, or the call runs out of time.
func (c *Call) queue(ctx context.Context, name string, priority int) {
	m, leg := c.m, c.caller
	q, _ := m.cfg.QueueByName(name)
	if music, ok := m.sounds.Get(q.Music); ok {
		leg.Media().Loop(music)
	}
	now := time.Now()
	c.update(func(r *store.CallRecord) { r.Queue, r.QueuedAt = name, &now })
	if err := m.acd.Enqueue(c.ID, name, priority); err != nil {
		c.log.Error("enqueue", "queue", name, "err", err)
		c.end(OutcomeFailed, "system", "enqueue: "+err.Error())
		return
	}
	m.poke()
	c.log.Info("call queued", "queue", name, "priority", priority, "position", m.acd.Position(c.ID))
	select {
	case <-c.connected:
		c.talk(ctx)
	case <-leg.Done():
		c.leaveQueue(OutcomeAbandoned, "caller", "caller hung up in queue")
	case <-ctx.Done():
		c.leaveQueue(OutcomeFailed, "system", "maximum call duration or shutdown")
	}
}

// leaveQueue takes a call that is not connected out of the ACD; if an agent
// was connected at the same moment, the call is finished as a talk instead.
func (c *Call) leaveQueue(outcome, by, reason string) {
	c.mu.Lock()
	c.ended = true
	connected := c.agentLeg != nil
	c.mu.Unlock()
	if connected {
		c.talk(context.Background())
		return
	}
	_ = c.m.acd.Abandon(c.ID, reason)
	c.m.poke()
	now := time.Now()
	c.update(func(r *store.CallRecord) {
		if r.QueuedAt != nil {
			r.WaitSeconds = now.Sub(*r.QueuedAt).Seconds()
		}
	})
	c.end(outcome, by, reason)
}

// connect bridges an answered agent leg to the caller; false if the caller has gone.
func (c *Call) connect(leg *sip.Leg, agentID string) bool {
	c.mu.Lock()
	if c.ended || c.agentLeg != nil {
		c.mu.Unlock()
		return false
	}
	c.agentLeg, c.agentID = leg, agentID
	c.mu.Unlock()
	media.Bridge(c.caller.Media(), leg.Media())
	leg.OnHold(func(on bool) {
		if err := c.m.acd.SetHold(agentID, on); err != nil {
			c.log.Debug("hold", "err", err)
		}
		c.m.event(map[bool]string{true: "hold", false: "unhold"}[on], c.ID, agentID, "", "agent's phone")
	})
	now := time.Now()
	c.update(func(r *store.CallRecord) {
		r.Agent, r.ConnectedAt = agentID, &now
		if r.QueuedAt != nil {
			r.WaitSeconds = now.Sub(*r.QueuedAt).Seconds()
		}
	})
	c.mu.Lock()
	queue := c.rec.Queue
	c.mu.Unlock()
	c.m.event("connected", c.ID, agentID, queue, "agent leg "+leg.ID)
	c.log.Info("call connected", "agent", agentID)
	close(c.connected)
	return true
}

// talk lasts until either side hangs up.
func (c *Call) talk(ctx context.Context) {
	c.mu.Lock()
	agentLeg, agentID, queued := c.agentLeg, c.agentID, c.rec.Queue != ""
	c.mu.Unlock()
	by, reason := "", ""
	select {
	case <-c.caller.Done():
		by, reason = "caller", "caller hung up"
	case <-agentLeg.Done():
		by, reason = "agent", "agent hung up"
	case <-ctx.Done():
		by, reason = "system", "maximum call duration or shutdown"
	}
	agentLeg.Hangup()
	c.caller.Hangup()
	if queued {
		_ = c.m.acd.CallEnded(agentID)
	} else {
		_ = c.m.acd.Release(agentID)
	}
	c.m.poke()
	now := time.Now()
	c.update(func(r *store.CallRecord) {
		if r.ConnectedAt != nil {
			r.TalkSeconds = now.Sub(*r.ConnectedAt).Seconds()
		}
	})
	c.end(OutcomeAnswered, by, reason)
}

// direct rings one agent's phone without a queue.
func (c *Call) direct(ctx context.Context, ext string) {
	m := c.m
	if err := m.acd.Reserve(ext, c.ID); err != nil {
		c.caller.Hangup()
		c.end(OutcomeFailed, "system", "extension "+ext+": "+err.Error())
		return
	}
	ringCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if music, ok := m.sounds.Get("hold-music"); ok {
		c.caller.Media().Loop(music)
	}
	type result struct {
		leg *sip.Leg
		err error
	}
	res := make(chan result, 1)
	go func() {
		l, err := m.dialer.Dial(ringCtx, sip.DialRequest{User: ext, CallerID: c.caller.Caller, CallerName: c.caller.CallerName})
		res <- result{l, err}
	}()
	var r result
	select {
	case r = <-res:
	case <-c.caller.Done():
		cancel()
		r = <-res
		if r.leg != nil {
			r.leg.Hangup()
		}
		_ = m.acd.Release(ext)
		c.end(OutcomeAbandoned, "caller", "caller hung up while extension rang")
		return
	}
	if r.err != nil {
		_ = m.acd.Release(ext)
		c.caller.Hangup()
		c.end(OutcomeFailed, "system", "extension "+ext+": "+r.err.Error())
		return
	}
	if !c.connect(r.leg, ext) {
		r.leg.Hangup()
		_ = m.acd.Release(ext)
		return
	}
	c.talk(ctx)
}

// Hangup ends a call from the API or on shutdown.
func (c *Call) Hangup() { c.caller.Hangup() }

// Config reports the loaded setup.
func (m *Manager) Config() *config.Config { return m.cfg }
