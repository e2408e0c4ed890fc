package call

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/flow"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/recording"
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
	// priority is the call's priority in its queue.
	priority int
	// estimate is the wait the caller was estimated on joining the queue.
	estimate acd.WaitInfo
	// callback is the number to call back, once the caller asked for it.
	callback string
	// agentDirect: the connected agent was reserved for a direct call
	// (released, not wrapped up, when it ends).
	agentDirect bool
	// transfers carries a transfer request to the call's goroutine.
	transfers chan transferReq
	// hops counts overflows to another queue.
	hops int
	// recording is the call's recording in progress.
	recording *recording.Recording
	// held: the caller is on hold from the API.
	held bool
	// moves tells the waiting loop that a supervisor moved the call.
	moves chan string
	// consult is the desktop's attended transfer in progress.
	consult *consultation
}

// connectedCh is closed when an agent is connected (replaced for each
// callback attempt).
func (c *Call) connectedCh() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

// presentation is what the agent's phone shows for an offer: the caller, or
// for a callback the number to call and how long it has waited.
func (c *Call) presentation() (number, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.callback != "" {
		waited := time.Duration(0)
		if c.rec.QueuedAt != nil {
			waited = time.Since(*c.rec.QueuedAt).Round(time.Second)
		}
		return c.callback, "Callback, waited " + waited.String()
	}
	return c.caller.Caller, c.caller.CallerName
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
	c := &Call{ID: newID(), m: m, caller: leg, connected: make(chan struct{}), transfers: make(chan transferReq, 1),
		moves: make(chan string, 1)}
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
	c.mu.Lock()
	caller := c.caller // nil for a click-to-call that never reached the customer
	c.ended = true
	c.mu.Unlock()
	if caller != nil {
		caller.Hangup()
	}
	c.closeRecording()
	now := time.Now()
	c.update(func(r *store.CallRecord) {
		if r.EndedAt == nil {
			r.EndedAt = &now
		}
		if r.Outcome == OutcomeInProgress {
			r.Outcome = OutcomeFailed
		}
		if caller != nil {
			ep := caller.Media()
			r.RTPIn, r.RTPOut, r.RTPLost = ep.Received.Load(), ep.Sent.Load(), ep.Lost.Load()
		}
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
	if mode, ext, ok := m.cfg.FeatureCodes.MonitorCode(leg.Dialed); ok && leg.AuthUser != "" {
		ctx, cancel := context.WithTimeout(m.ctx, m.cfg.Server.MaxCallDuration)
		defer cancel()
		c.monitor(ctx, mode, ext)
		return
	}
	flowName, queue, priority := "", "", 0
	for _, n := range m.cfg.Numbers {
		if n.Number == leg.Dialed {
			flowName, queue, priority = n.Flow, n.Queue, n.Priority
		}
	}
	_, isAgent := m.agents[leg.Dialed]
	if queue != "" || (leg.AuthUser != "" && isAgent) {
		// A number straight to a queue, or an agent calling another agent.
		if err := leg.Answer(); err != nil {
			c.end(OutcomeFailed, "system", "answer failed: "+err.Error())
			return
		}
		now := time.Now()
		c.update(func(r *store.CallRecord) { r.AnsweredAt = &now })
		ctx, cancel := context.WithTimeout(m.ctx, m.cfg.Server.MaxCallDuration)
		defer cancel()
		if queue != "" {
			c.queue(ctx, queue, priority)
		} else {
			c.direct(ctx, leg.Dialed)
		}
		return
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
	case flow.ActionVoicemail:
		c.voicemail(ctx, res.Mailbox)
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

// leaveQueue takes a call that is not connected out of the ACD; if an agent
// was connected at the same moment, the call is finished as a talk instead.
func (c *Call) leaveQueue(outcome, by, reason string) {
	c.mu.Lock()
	c.ended = true
	connected := c.agentLeg != nil
	c.mu.Unlock()
	if connected {
		c.talk(context.Background(), c.caller)
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
	c.agentLeg, c.agentID, c.held = leg, agentID, false
	callback := c.callback != ""
	caller := c.caller
	if !callback {
		media.Bridge(caller.Media(), leg.Media())
	}
	c.mu.Unlock()
	if !callback {
		c.record(caller, leg, c.recordPolicy() == config.RecordAll)
	}
	leg.OnTransfer(c.onAgentTransfer(agentID))
	leg.OnHold(func(on bool) {
		if err := c.m.acd.SetHold(agentID, on); err != nil {
			c.log.Debug("hold", "err", err)
		}
		c.m.event(map[bool]event.Kind{true: event.Hold, false: event.Unhold}[on], c.ID, agentID, "", "agent's phone")
	})
	now := time.Now()
	c.update(func(r *store.CallRecord) {
		r.Agent = agentID
		if callback || r.ConnectedAt != nil {
			return // a callback connects when the customer answers; a transfer keeps the first answer
		}
		r.ConnectedAt = &now
		if r.QueuedAt != nil {
			r.WaitSeconds = now.Sub(*r.QueuedAt).Seconds()
		}
	})
	c.mu.Lock()
	queue, est, queuedAt := c.rec.Queue, c.estimate, c.rec.QueuedAt
	c.mu.Unlock()
	detail := "agent leg " + leg.ID
	if queuedAt != nil {
		// The wait the caller was told on joining beside the wait they had:
		// the estimate's accuracy, measurable from the events.
		actual := now.Sub(*queuedAt)
		detail += fmt.Sprintf(" wait=%.1fs estimated=%.0fs known=%t", actual.Seconds(), est.Estimate.Seconds(), est.Known)
		c.log.Info("wait estimate accuracy", "queue", queue, "actual_wait", actual.Round(time.Millisecond), "estimated_wait", est.Estimate, "estimate_known", est.Known)
	}
	if callback {
		detail = "callback " + detail
	}
	c.m.event("connected", c.ID, agentID, queue, detail)
	c.log.Info("call connected", "agent", agentID, "callback", callback)
	c.mu.Lock()
	close(c.connected)
	c.mu.Unlock()
	return true
}

// talk lasts until either side hangs up: the agent and party, the caller
// or the customer a callback reached.
func (c *Call) talk(ctx context.Context, party *sip.Leg) {
	c.mu.Lock()
	agentLeg, agentID, direct := c.agentLeg, c.agentID, c.agentDirect
	c.mu.Unlock()
	by, reason := "", ""
	code := c.m.cfg.FeatureCodes.RecordToggle
	var keys string
	var keyAt time.Time
	for reason == "" {
		select {
		case t := <-c.transfers:
			c.handOver(ctx, t)
			return
		case d := <-agentLeg.Media().Digits():
			// The agent's phone keys a feature code mid-call: pause or
			// resume the recording (the keys also reach the caller).
			if time.Since(keyAt) > 3*time.Second {
				keys = ""
			}
			keys, keyAt = keys+string(d), time.Now()
			if code != "" && strings.HasSuffix(keys, code) {
				keys = ""
				c.toggleRecordingPause("agent " + agentID + " (" + code + ")")
			}
		case <-party.Done():
			by, reason = "caller", "caller hung up"
		case <-agentLeg.Done():
			by, reason = "agent", "agent hung up"
		case <-ctx.Done():
			by, reason = "system", "maximum call duration or shutdown"
		}
	}
	agentLeg.Hangup()
	party.Hangup()
	c.mu.Lock()
	cons := c.consult
	c.mu.Unlock()
	if cons != nil { // a consultation left behind: its party goes too
		c.dropConsult(cons)
	}
	switch {
	case agentID == "": // an external number
	case direct:
		_ = c.m.acd.Release(agentID)
	default:
		_ = c.m.acd.CallEnded(agentID)
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
		c.end(c.failed(), "system", "extension "+ext+": "+err.Error())
		return
	}
	if music, ok := m.sounds.Get("hold-music"); ok {
		c.caller.Media().Loop(music)
	}
	leg, err := dialWhile(ctx, 30*time.Second, c.caller.Done(), func(ctx context.Context) (*sip.Leg, error) {
		return m.dialAgent(ctx, ext, c.caller.Caller, c.caller.CallerName)
	})
	if errors.Is(err, errWaiterGone) {
		_ = m.acd.Release(ext)
		c.end(OutcomeAbandoned, "caller", "caller hung up while extension rang")
		return
	}
	if err != nil {
		_ = m.acd.Release(ext)
		if box := m.agents[ext].Voicemail; box != "" {
			m.event("no_answer", c.ID, ext, "", err.Error())
			c.voicemail(ctx, box)
			return
		}
		c.caller.Hangup()
		c.end(c.failed(), "system", "extension "+ext+": "+err.Error())
		return
	}
	if !c.connect(leg, ext) {
		leg.Hangup()
		_ = m.acd.Release(ext)
		return
	}
	c.mu.Lock()
	c.agentDirect = true
	c.mu.Unlock()
	c.talk(ctx, c.caller)
}

// failed is the outcome of a call that could not go on: answered when an
// agent had taken it before (a transfer that failed), else failed.
func (c *Call) failed() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec.ConnectedAt != nil {
		return OutcomeAnswered
	}
	return OutcomeFailed
}

// Hangup ends a call from the API or on shutdown.
func (c *Call) Hangup() {
	c.mu.Lock()
	leg := c.caller
	c.mu.Unlock()
	leg.Hangup()
}

// Config reports the loaded setup.
func (m *Manager) Config() *config.Config { return m.cfg }
