package call

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/flow"
	"github.com/switchboard/switchboard/internal/recording"
	"github.com/switchboard/switchboard/internal/report"
	"github.com/switchboard/switchboard/internal/sip"
	"github.com/switchboard/switchboard/internal/store"
)

// Call is one caller's journey: IVR, queue, agent. One goroutine owns it
// (Incoming's, or click-to-call's): it alone reads and writes the fields
// below mu and touches the call's media; everyone else sends commands
// (do). Lock order where locks remain: Manager.mu -> Call.mu; neither is
// held across I/O or while sending a command.
type Call struct {
	ID   string
	m    *Manager
	log  *slog.Logger
	cmds chan *command
	done chan struct{} // closed when the call's goroutine is finished
	// cfg is the setup in force when the call arrived: what a reload
	// removed (a queue the call waits in) the call keeps from it.
	cfg *config.Config

	// Owned by the call's goroutine.
	st      State
	reenter bool
	caller  *sip.Leg // the customer (nil for a click-to-call before the customer answers)
	// agentLeg is the far end the caller talks to: an agent's phone, or a
	// number over the trunk (agentID "").
	agentLeg    *sip.Leg
	agentID     string
	agentDirect bool // reserved for a direct call: released, not wrapped up
	queue       string
	priority    int
	estimate    acd.WaitInfo
	hops        int
	target      string // the extension a ringing call rings
	callback    string // the number to call back, once the caller asked for it
	mailbox     string // the mailbox a voicemail step records for
	recording   *recording.Recording
	listening   bool // speech analytics hears the recording (call.listen)
	consult     *consultation
	conf        *conference
	hold        holdState
	segments    int
	segment     *store.QueueSegment
	transfer    *transferReq // a transfer to carry out from the talk step
	// dialCancel stops the dial the call's goroutine waits on, if any.
	dialCancel context.CancelFunc
	// hungUp: the API hung the call up while it was dialling or waiting
	// for a callback: it ends instead of going on.
	hungUp bool
	// pendingParties counts parties rung to join before a conference exists.
	pendingParties int
	recordKeys     string
	recordKeyAt    time.Time
	// pending is the callback as kept in the store (restore.go), nil when
	// none is; kept: shutdown left it there for the next start, so the
	// record stays open.
	pending *store.PendingCallback
	kept    bool
	// campaign is the outbound campaign call this is (campaign.go), nil
	// for every other call.
	campaign *campaignCall

	// mu guards what other goroutines read: the record and the view.
	mu   sync.Mutex
	rec  store.CallRecord
	view callView
}

// callView is what the API reads of a live call.
type callView struct {
	State      State
	Agent      string
	Queue      string
	Presenting string // the number an offer shows the agent
	Name       string
	Consult    *ConsultView
	Parties    []Party
	HeldSince  time.Time
	CallerLeg  string // SIP Call-ID of the caller's leg (attended transfers find consultations by it)
	// Campaign and Contact: an outbound campaign's call and the contact's
	// fields (the agent's contact card).
	Campaign string
	Contact  map[string]string
	// Recording is the call's recording as its agent may act on it: one
	// of the Rec* values.
	Recording string
	// Outgoing: the call was placed by Switchboard (click-to-call, a
	// campaign's), not answered from a caller.
	Outgoing bool
	// Progress is how far an outgoing call (click-to-call, a campaign's)
	// has got, in words for the desktop: "calling your phone", "dialling
	// 5551234", "answered: listening for a machine", "connected", ...
	Progress string
	// Cues are the phrases heard so far, Sentiment the caller's so far
	// (speech analytics; nil until something was heard).
	Cues      []Cue
	Sentiment *float64
}

// ConsultView is a consultation in progress, for the desktop.
type ConsultView struct {
	Target    string `json:"target"`
	Connected bool   `json:"connected"`
}

func (m *Manager) newCall(leg *sip.Leg) *Call {
	c := &Call{ID: newID(), m: m, cfg: m.config(), caller: leg, cmds: make(chan *command), done: make(chan struct{}), st: StateNew}
	c.log = m.log.With("call", c.ID)
	c.view.State = StateNew
	if leg != nil {
		c.view.Presenting, c.view.Name, c.view.CallerLeg = leg.Caller, leg.CallerName, leg.ID
	}
	return c
}

// queueConfig is the queue named name in the setup in force, or, when a
// reload has removed it since the call arrived, as it was then: a call
// already in a queue finishes there with that queue's settings.
func (c *Call) queueConfig(name string) (config.Queue, bool) {
	if q, ok := c.m.config().QueueByName(name); ok {
		return q, true
	}
	return c.cfg.QueueByName(name)
}

// retryAfterSeconds is what a caller refused for capacity is told to wait.
const retryAfterSeconds = 5

// Incoming runs a new inbound call to its end (sip.Handler).
func (m *Manager) Incoming(leg *sip.Leg) {
	c := m.arrive(leg)
	if c == nil {
		return
	}
	defer m.wg.Done()
	ctx, cancel := context.WithTimeout(m.ctx, m.config().Server.MaxCallDuration)
	defer cancel()
	c.run(ctx)
}

// arrive admits a new call and writes its arrival, or refuses it (nil). It
// is Incoming's setup, in a function of its own so that its frame — the
// call record's copies, about 1.4 KB — is off the call goroutine's stack
// for the call's life: with it there, the goroutine used more than a
// quarter of the 8 KiB its stack grows to while answering and dialling,
// and the collector never shrank it (BENCHMARKS.md, 2026-12-02).
func (m *Manager) arrive(leg *sip.Leg) *Call {
	now := time.Now()
	c := m.newCall(leg)
	c.rec = store.CallRecord{ID: c.ID, Caller: leg.Caller, CallerName: leg.CallerName, Dialed: leg.Dialed, Source: leg.Source,
		ArrivedAt: now, Outcome: string(event.OutcomeInProgress), SIPCall: leg.ID}
	if ok, why := m.admit(c); !ok {
		// Shed: the calls already up are untouched; the caller is told
		// when to try again.
		leg.RejectRetry(503, "Service Unavailable", retryAfterSeconds)
		c.rec.EndedAt, c.rec.Outcome, c.rec.HangupBy, c.rec.Reason = &now, string(event.OutcomeRejected), string(event.BySystem), "503 "+why
		m.rec.SaveCall(c.rec)
		m.event(event.Rejected, c.ID, "", "", "503 "+why)
		m.event(event.Ended, c.ID, "", "", string(event.OutcomeRejected))
		m.countOutcome(string(event.OutcomeRejected))
		m.log.Warn("call refused", "call", c.ID, "caller", leg.Caller, "reason", why)
		return nil
	}
	m.rec.SaveCall(c.rec)
	m.event(event.Arrived, c.ID, "", "", fmt.Sprintf("from=%s to=%s source=%s", leg.Caller, leg.Dialed, leg.Source))
	c.log.Info("call arrived", "caller", leg.Caller, "dialed", leg.Dialed, "source", leg.Source)
	return c
}

// run is the call's loop: one step per state until it has ended.
func (c *Call) run(ctx context.Context) {
	defer c.finish()
	for st := c.st; st != StateEnded; {
		st = c.step(ctx, st)
	}
}

func (c *Call) update(f func(r *store.CallRecord)) {
	c.mu.Lock()
	f(&c.rec)
	snap := c.rec
	c.mu.Unlock()
	c.m.rec.SaveCall(snap)
}

func (c *Call) setView(f func(v *callView)) {
	c.mu.Lock()
	f(&c.view)
	c.mu.Unlock()
}

// finish closes the record: end time, RTP counters, and an outcome for any
// path that did not set one.
func (c *Call) finish() {
	c.setState(StateEnded)
	close(c.done)
	if c.kept {
		c.finishKept()
		return
	}
	caller := c.caller // nil for a click-to-call that never reached the customer
	if caller != nil {
		caller.Hangup()
	}
	// Whatever a path left behind goes now: the ACD forgets the call, a
	// consultation or conference ends, the agent is let go.
	_ = c.m.acd.Abandon(c.ID, "call ended")
	if c.consult != nil {
		c.dropConsult()
	}
	if c.conf != nil {
		c.endConference()
	}
	if c.agentLeg != nil {
		c.agentLeg.Hangup()
		c.releaseAgent()
	}
	c.closeSegment(event.SegmentAbandoned, "")
	c.closeRecording()
	now := time.Now()
	c.update(func(r *store.CallRecord) {
		if r.EndedAt == nil {
			r.EndedAt = &now
		}
		if r.Outcome == string(event.OutcomeInProgress) || r.Outcome == string(event.OutcomeCallbackPending) {
			r.Outcome = string(event.OutcomeFailed)
		}
		if caller != nil {
			ep := caller.Media()
			r.RTPIn, r.RTPOut, r.RTPLost = ep.Received.Load(), ep.Sent.Load(), ep.Lost.Load()
		}
	})
	c.mu.Lock()
	final := c.rec
	c.mu.Unlock()
	c.m.event(event.Ended, c.ID, "", "", final.Outcome)
	c.m.countOutcome(final.Outcome)
	c.campaignFinished(final)
	c.m.forget(c)
	c.log.Info("call ended", "outcome", final.Outcome, "hangup_by", final.HangupBy, "reason", final.Reason)
}

// end sets the call's outcome and moves it to ended.
func (c *Call) end(outcome event.Outcome, by event.HangupBy, reason string) {
	now := time.Now()
	c.update(func(r *store.CallRecord) {
		r.Outcome, r.HangupBy, r.Reason = string(outcome), string(by), reason
		r.EndedAt = &now
	})
	c.setState(StateEnded)
}

// failed is the outcome of a call that could not go on: answered when an
// agent had taken it before (a transfer that failed), else failed.
func (c *Call) failed() event.Outcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec.ConnectedAt != nil {
		return event.OutcomeAnswered
	}
	return event.OutcomeFailed
}

// route decides where a new call goes: a feature code, an extension, a
// number straight to a queue, or the number's IVR flow.
func (c *Call) route(ctx context.Context) {
	m, leg := c.m, c.caller
	if leg.AuthUser != "" && leg.Dialed == m.config().FeatureCodes.LoginToggle && m.config().FeatureCodes.LoginToggle != "" {
		c.loginToggle(ctx)
		return
	}
	if mode, ext, ok := m.config().FeatureCodes.MonitorCode(leg.Dialed); ok && leg.AuthUser != "" {
		c.monitor(ctx, mode, ext)
		return
	}
	if target, ok := m.config().FeatureCodes.ConferenceCode(leg.Dialed); ok && leg.AuthUser != "" {
		c.conferenceFromPhone(ctx, target)
		return
	}
	flowName, queue, priority := "", "", 0
	for _, n := range m.config().Numbers {
		if n.Number == leg.Dialed {
			flowName, queue, priority = n.Flow, n.Queue, n.Priority
		}
	}
	_, isAgent := m.agent(leg.Dialed)
	switch {
	case queue != "":
		// A number straight to a queue.
		if !c.answer() {
			return
		}
		c.enqueue(ctx, queue, priority)
	case leg.AuthUser != "" && isAgent:
		// An agent calling another agent: the caller hears the phone ring.
		c.target = leg.Dialed
		c.setState(StateRinging)
	default:
		f, ok := m.config().FlowByName(flowName)
		if !ok {
			leg.Reject(404, "Not Found")
			c.end(event.OutcomeRejected, event.BySystem, "404 unknown number "+leg.Dialed)
			return
		}
		if !c.answer() {
			return
		}
		c.update(func(r *store.CallRecord) { r.Flow = f.Name })
		m.event(event.IVRAnswered, c.ID, "", "", "flow="+f.Name)
		c.setState(StateIVR)
	}
}

// stepEvents writes an event for each step of the flow the call visited,
// at the time it entered it, for the IVR's figures; the last says where
// the flow ended.
func (c *Call) stepEvents(flowName string, res flow.Result, err error) {
	end := string(res.Action)
	switch {
	case err == errHungUp:
		end = report.IVREndHungUp
	case err != nil:
		end = report.IVREndFailed
	case res.Action == flow.ActionExtension:
		end = report.IVREndTransferred
	}
	now := time.Now()
	for i, v := range res.Visits {
		left := v.Left
		if left.IsZero() {
			left = now
		}
		d := report.IVRStepDetail{Flow: flowName, Step: v.Step, Type: v.Type, Seconds: left.Sub(v.Entered).Seconds(),
			Choice: v.Choice, Timeouts: v.Timeouts, Invalid: v.Invalid, Spoken: v.Spoken, Unsure: v.Unsure}
		if i == len(res.Visits)-1 {
			d.End = end
		}
		b, _ := json.Marshal(d)
		c.m.rec.AppendEvent(store.Event{At: v.Entered, Kind: event.IVRStep, CallID: c.ID, Detail: string(b)})
	}
}

// answer answers the caller's leg; false (and the call ended) if that failed.
func (c *Call) answer() bool {
	if err := c.caller.Answer(); err != nil {
		c.log.Warn("answer failed", "err", err)
		c.end(event.OutcomeFailed, event.BySystem, "answer failed: "+err.Error())
		return false
	}
	now := time.Now()
	c.update(func(r *store.CallRecord) {
		if r.AnsweredAt == nil {
			r.AnsweredAt = &now
		}
	})
	return true
}

// ivr runs the number's flow, then goes where it ends.
func (c *Call) ivr(ctx context.Context) {
	m := c.m
	c.mu.Lock()
	name := c.rec.Flow
	c.mu.Unlock()
	f, ok := m.config().FlowByName(name)
	if !ok { // removed by a reload since the call arrived: the call goes on with it
		f, _ = c.cfg.FlowByName(name)
	}
	c.caller.Media().DetectInband(true) // keys sent as tones count in menus too
	res, err := flow.Run(ctx, f, m.hours, &legSession{c: c}, c.log)
	c.caller.Media().DetectInband(false)
	c.update(func(r *store.CallRecord) { r.Digits, r.Path = res.Digits, strings.Join(res.Path, ">") })
	if res.Digits != "" {
		m.event(event.IVRDigits, c.ID, "", "", res.Digits)
	}
	c.stepEvents(f.Name, res, err)
	if err != nil {
		if err == errHungUp {
			c.end(event.OutcomeAbandoned, event.ByCaller, "hung up in IVR")
			return
		}
		c.log.Warn("flow failed", "err", err)
		c.end(event.OutcomeFailed, event.BySystem, "flow: "+err.Error())
		return
	}
	switch res.Action {
	case flow.ActionHangup:
		c.caller.Hangup()
		c.end(event.OutcomeCompleted, event.BySystem, "flow ended")
	case flow.ActionQueue:
		c.enqueue(ctx, res.Queue, res.Priority)
	case flow.ActionExtension:
		c.target = res.Extension
		c.setState(StateRinging)
	case flow.ActionVoicemail:
		c.toVoicemail(res.Mailbox)
	default:
		c.end(event.OutcomeFailed, event.BySystem, "flow ended without an action")
	}
}

func (c *Call) loginToggle(ctx context.Context) {
	m, leg := c.m, c.caller
	agent := leg.AuthUser
	if !c.answer() {
		return
	}
	st, err := m.acd.Toggle(agent)
	m.poke()
	if err != nil {
		c.log.Warn("login toggle", "agent", agent, "err", err)
		leg.Hangup()
		c.end(event.OutcomeFailed, event.BySystem, err.Error())
		return
	}
	prompt := "agent-logged-out"
	if st != acd.LoggedOut {
		prompt = "agent-logged-in"
	}
	c.update(func(r *store.CallRecord) { r.Agent = agent })
	m.event(event.FeatureLogin, c.ID, agent, "", string(st))
	c.log.Info("agent login toggled", "agent", agent, "state", st)
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, _ = c.play(pctx, []string{prompt}, false)
	leg.Hangup()
	c.end(event.OutcomeCompleted, event.BySystem, "login toggle: "+string(st))
}
