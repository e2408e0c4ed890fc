package call

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/outbound"
	"github.com/switchboard/switchboard/internal/sip"
	"github.com/switchboard/switchboard/internal/store"
)

// CampaignDial is one call of an outbound campaign: the person is dialled
// over the trunk first; when they answer, answering-machine detection
// listens, and a person (or an answer AMD could not tell) is put at the
// head of the campaign's queue, where an agent must take them within
// outbound.DropAfter or they hear the identification message (a drop).
type CampaignDial struct {
	Campaign config.Campaign
	Number   string
	// Fields are the contact's, shown to the agent (the contact card).
	Fields map[string]string
	// Attempt is which attempt at the contact this is (1 for the first).
	Attempt int
	// Report is told how the call goes, from the call's goroutine; it must
	// not block.
	Report func(CampaignReport)
}

// CampaignStage is how far a campaign call has got.
type CampaignStage string

// The stages a campaign call reports.
const (
	// StageAnswered: the far end answered (AMD listens now).
	StageAnswered CampaignStage = "answered"
	// StageDecided: the call's fate on the network's side is known
	// (Outcome): a person waiting for an agent, a machine, or no answer.
	StageDecided CampaignStage = "decided"
	// StageConnected: an agent took the person.
	StageConnected CampaignStage = "connected"
	// StageEnded: the call is over (Record is its record).
	StageEnded CampaignStage = "ended"
)

// CampaignReport is one step of a campaign call.
type CampaignReport struct {
	CallID string
	Stage  CampaignStage
	// Outcome on the network's side (StageDecided and after).
	Outcome outbound.Outcome
	// AMD is the detector's decision, "" when it did not listen.
	AMD string
	// Dialed is when the contact was dialled (zero before); Ring from
	// then to the moment the call needed an agent (or ended unanswered).
	Dialed time.Time
	Ring   time.Duration
	// Dropped: nobody took the person within outbound.DropAfter.
	Dropped bool
	Agent   string
	// Handled is the agent's time on the call, connection to hang-up.
	Handled time.Duration
	Record  store.CallRecord
}

// campaignCall is what a call of a campaign keeps.
type campaignCall struct {
	dial    CampaignDial
	outcome outbound.Outcome
	amd     string
	dialed  time.Time
	ring    time.Duration
	dropped bool
	// waiting: a person the campaign reached waits for their first agent
	// (until dropAt); connected: an agent has taken them (reported once,
	// whatever transfers follow).
	waiting   bool
	connected bool
	dropAt    time.Time
}

func (cc *campaignCall) report(c *Call, r CampaignReport) {
	if cc.dial.Report == nil {
		return
	}
	r.CallID = c.ID
	if r.Outcome == "" {
		r.Outcome = cc.outcome
	}
	r.AMD, r.Dialed, r.Ring, r.Dropped = cc.amd, cc.dialed, cc.ring, cc.dropped
	cc.dial.Report(r)
}

// AMDListen bounds how long a campaign call listens for AMD's decision.
const AMDListen = 4 * time.Second

// DialCampaign places one campaign call. It returns the call's ID at once;
// the call runs in the background, reports its stages, and leaves a record
// like any other (source "campaign:NAME").
func (m *Manager) DialCampaign(d CampaignDial) (string, error) {
	k := d.Campaign
	if !dialable(d.Number) {
		return "", fmt.Errorf("%w: %q", ErrBadNumber, d.Number)
	}
	if _, ok := m.config().OutboundTrunk(k.Trunk); !ok {
		return "", ErrNoTrunk
	}
	c := m.newCall(nil)
	c.campaign = &campaignCall{dial: d}
	c.view.Presenting, c.view.Name, c.view.Outgoing = d.Number, d.Fields["name"], true
	c.view.Campaign, c.view.Contact = k.Name, d.Fields
	now := time.Now()
	c.rec = store.CallRecord{ID: c.ID, Caller: d.Number, CallerName: d.Fields["name"], Dialed: k.CallerID, Source: "campaign:" + k.Name,
		Flow: "campaign:" + k.Name, ArrivedAt: now, Outcome: string(event.OutcomeInProgress)}
	if ok, why := m.admit(c); !ok {
		if m.isClosing() {
			return "", ErrShuttingDown
		}
		return "", fmt.Errorf("%w: %s", ErrBusy, why)
	}
	m.rec.SaveCall(c.rec)
	m.event(event.CampaignDial, c.ID, "", k.Queue, fmt.Sprintf("campaign=%s number=%s attempt=%d", k.Name, d.Number, d.Attempt))
	go func() {
		defer m.wg.Done()
		ctx, cancel := context.WithTimeout(m.ctx, m.config().Server.MaxCallDuration)
		defer cancel()
		defer c.finish()
		c.dialContact(ctx)
		for st := c.st; st != StateEnded; {
			st = c.step(ctx, st)
		}
	}()
	return c.ID, nil
}

// PreviewDial places a preview campaign's call for the agent who chose
// the contact: the agent's phone rings, then the contact over the
// campaign's trunk, and the two are connected (no AMD: the agent hears
// who answers). It returns the call's ID at once.
func (m *Manager) PreviewDial(agentID string, d CampaignDial) (string, error) {
	k := d.Campaign
	if _, ok := m.agent(agentID); !ok {
		return "", fmt.Errorf("%w: %s", ErrUnknownAgent, agentID)
	}
	if !dialable(d.Number) {
		return "", fmt.Errorf("%w: %q", ErrBadNumber, d.Number)
	}
	if _, ok := m.config().OutboundTrunk(k.Trunk); !ok {
		return "", ErrNoTrunk
	}
	c := m.newCall(nil)
	c.campaign = &campaignCall{dial: d}
	c.view.Presenting, c.view.Name, c.view.Outgoing = d.Number, "Calling "+d.Number, true
	c.view.Campaign, c.view.Contact = k.Name, d.Fields
	if err := m.acd.Reserve(agentID, c.ID); err != nil {
		return "", fmt.Errorf("agent %s: %w", agentID, err)
	}
	now := time.Now()
	c.rec = store.CallRecord{ID: c.ID, Caller: d.Number, CallerName: d.Fields["name"], Dialed: k.CallerID, Source: "campaign:" + k.Name,
		Flow: "campaign:" + k.Name, Queue: k.Queue, Agent: agentID, ArrivedAt: now, Outcome: string(event.OutcomeInProgress)}
	if ok, why := m.admit(c); !ok {
		_ = m.acd.Release(agentID)
		if m.isClosing() {
			return "", ErrShuttingDown
		}
		return "", fmt.Errorf("%w: %s", ErrBusy, why)
	}
	m.rec.SaveCall(c.rec)
	m.event(event.CampaignDial, c.ID, agentID, k.Queue, fmt.Sprintf("campaign=%s number=%s attempt=%d preview=true", k.Name, d.Number, d.Attempt))
	go func() {
		defer m.wg.Done()
		ctx, cancel := context.WithTimeout(m.ctx, m.config().Server.MaxCallDuration)
		defer cancel()
		defer c.finish()
		c.clickToCall(ctx, agentID, d.Number, k.CallerID)
		for st := c.st; st != StateEnded; {
			st = c.step(ctx, st)
		}
	}()
	return c.ID, nil
}

// dialContact rings the contact, listens for a machine, and queues a person
// for an agent; it ends the call for anything else.
func (c *Call) dialContact(ctx context.Context) {
	m, cc := c.m, c.campaign
	k := cc.dial.Campaign
	c.setState(StateRinging)
	c.setProgress("dialling " + cc.dial.Number)
	start := time.Now()
	cc.dialed = start
	leg, err := c.dial(ctx, k.RingTimeout, nil, func(ctx context.Context) (*sip.Leg, error) {
		return m.dialTrunk(ctx, k.Trunk, cc.dial.Number, k.CallerID, "")
	})
	if err != nil {
		cc.ring = time.Since(start)
		cc.outcome, err = unanswered(err, ctx)
		if c.hungUp { // hung up from the API while it rang: not the network's failure
			cc.outcome, err = outbound.NoAnswer, errors.New("hung up from the API while it rang")
		}
		c.campaignEnd(event.Outcome(cc.outcome), "not answered: "+err.Error())
		return
	}
	if c.hungUp || c.st != StateRinging {
		leg.Hangup()
		cc.outcome = outbound.Failed
		c.campaignEnd(event.OutcomeFailed, "hung up from the API while dialling")
		return
	}
	c.caller = leg
	answered := time.Now()
	c.update(func(r *store.CallRecord) { r.AnsweredAt = &answered; r.SIPCall = leg.ID })
	c.setView(func(v *callView) { v.CallerLeg, v.Progress = leg.ID, "answered: listening for a machine" })
	cc.report(c, CampaignReport{Stage: StageAnswered})
	outcome, reason := outbound.Human, "detection off"
	if !k.AMD.Off {
		dec, ok := c.listenForMachine(ctx, leg)
		if !ok { // the person hung up, or the call's time ran out, while AMD listened
			cc.ring = time.Since(start)
			cc.outcome = outbound.Human
			c.campaignEnd(event.OutcomeAbandoned, "hung up as the call was answered")
			return
		}
		outcome, reason = dec.Outcome, dec.Reason
		cc.amd = string(dec.Outcome)
		m.event(event.CampaignAMD, c.ID, "", k.Queue, fmt.Sprintf("decision=%s after=%.2fs reason=%s", dec.Outcome, dec.At.Seconds(), dec.Reason))
	}
	cc.ring, cc.outcome = time.Since(start), outcome
	if outcome == outbound.Machine {
		c.setProgress("an answering machine")
	} else {
		c.setProgress("a person: waiting for an agent")
	}
	if outcome == outbound.Machine && k.AMD.Machine != config.AMDConnect {
		cc.report(c, CampaignReport{Stage: StageDecided})
		if k.AMD.Machine == config.AMDMessage {
			c.leaveMessage(ctx, leg, k.AMD.Message, reason == outbound.ReasonBeep)
		}
		c.campaignEnd(event.OutcomeMachine, "answering machine ("+reason+")")
		return
	}
	// The 2 s run from the end of the person's greeting: AMD said "human"
	// after hearing the silence that followed it.
	since := time.Duration(0)
	if reason == outbound.ReasonAfterGreeting {
		since = outbound.AMDConfig{}.Defaults().AfterGreeting
	}
	cc.dropAt = time.Now().Add(outbound.DropAfter - since)
	cc.report(c, CampaignReport{Stage: StageDecided})
	c.campaignEnqueue(k.Queue)
}

// unanswered is the outcome of a dial that got no answer.
func unanswered(err error, ctx context.Context) (outbound.Outcome, error) {
	var de *sip.DialError
	switch {
	case errors.As(err, &de) && (de.Code == 486 || de.Code == 600 || de.Code == 603):
		return outbound.Busy, err
	case errors.As(err, &de) && (de.Code == 480 || de.Code == 408 || de.Code == 487):
		return outbound.NoAnswer, err
	case errors.As(err, &de) && (de.Code == 404 || de.Code == 410 || de.Code == 484 || de.Code == 604):
		return outbound.Invalid, err // the number does not exist: never again
	case errors.Is(err, errWaiterGone):
		return outbound.NoAnswer, errors.New("the agent hung up while it rang")
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return outbound.NoAnswer, errors.New("rang out")
	}
	return outbound.Failed, err // the network's trouble (5xx, no route): tried again later
}

// listener feeds what a leg hears to a detector (AMD, the beep
// detector): each packet's audio, decoded, from the leg's tap, and silence
// for the gaps where no packet came (a phone that sends nothing between
// words), so the detector's clock keeps up with the call's. The detector
// runs under the listener's lock: the tap's goroutine and the call's feed
// it in turn.
type listener struct {
	mu    sync.Mutex
	start time.Time
	fed   time.Duration // audio fed so far
	pcm   []int16
	feed  func(pcm []int16) bool // true: decided
	done  chan struct{}          // closed once decided
}

// listenGap is how far behind the call's clock the audio fed may fall
// (jitter) before the gap is filled with silence.
const listenGap = 200 * time.Millisecond

func listen(ep *media.Endpoint, feed func(pcm []int16) bool) *listener {
	l := &listener{start: time.Now(), pcm: make([]int16, 320), feed: feed, done: make(chan struct{})}
	ep.Tap(func(codec media.Codec, payload []byte) {
		l.mu.Lock()
		defer l.mu.Unlock()
		n := min(len(payload), len(l.pcm))
		media.Decode(codec, l.pcm[:n], payload[:n])
		l.push(l.pcm[:n])
	})
	return l
}

// push feeds pcm; l.mu is held.
func (l *listener) push(pcm []int16) {
	select {
	case <-l.done:
		return
	default:
	}
	l.fed += time.Duration(len(pcm)) * time.Second / 8000
	if l.feed(pcm) {
		close(l.done)
	}
}

// fill feeds silence for the time no packet came.
func (l *listener) fill() {
	l.mu.Lock()
	defer l.mu.Unlock()
	silence := make([]int16, 160)
	for gap := time.Since(l.start) - l.fed - listenGap; gap >= 20*time.Millisecond; gap -= 20 * time.Millisecond {
		l.push(silence)
	}
}

// listenForMachine feeds the callee's first seconds to AMD until it
// decides; false when the callee hung up or time ran out first.
func (c *Call) listenForMachine(ctx context.Context, leg *sip.Leg) (outbound.AMDDecision, bool) {
	amd := outbound.NewAMD(outbound.AMDConfig{})
	var dec outbound.AMDDecision
	ep := leg.Media()
	l := listen(ep, func(pcm []int16) bool {
		d, ok := amd.Feed(pcm)
		dec = d
		return ok
	})
	defer ep.Tap(nil)
	t := time.NewTimer(AMDListen)
	defer t.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-l.done:
			l.mu.Lock()
			d := dec
			l.mu.Unlock()
			return d, true
		case <-tick.C:
			l.fill()
		case k := <-c.cmds:
			c.exec(k)
			if c.hungUp || c.st == StateEnded {
				return outbound.AMDDecision{}, false
			}
		case <-t.C: // AMD could not tell in time
			return outbound.AMDDecision{Outcome: outbound.Unknown, At: AMDListen, Reason: "no decision"}, true
		case <-leg.Done():
			return outbound.AMDDecision{}, false
		case <-ctx.Done():
			return outbound.AMDDecision{}, false
		}
	}
}

// leaveMessage waits for the machine's beep (at most 30 s), plays the
// message into the recording and hangs up. When AMD decided on the beep
// itself (inBeep), what is left of it may be too short to detect again:
// the message starts within 1.5 s whatever is heard.
func (c *Call) leaveMessage(ctx context.Context, leg *sip.Leg, message string, inBeep bool) {
	snd, ok := c.m.sounds.Get(message)
	if !ok {
		c.log.Warn("campaign message sound not found", "sound", message)
		return
	}
	bd := outbound.NewBeepDetector()
	ep := leg.Media()
	l := listen(ep, func(pcm []int16) bool {
		_, ok := bd.Feed(pcm)
		return ok
	})
	wait := 30 * time.Second
	if inBeep {
		wait = 1500 * time.Millisecond
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case <-l.done:
			break wait
		case <-tick.C:
			l.fill()
		case <-t.C:
			break wait
		case <-leg.Done():
			break wait
		case <-ctx.Done():
			break wait
		}
	}
	ep.Tap(nil)
	select {
	case <-leg.Done():
		return
	case <-ctx.Done():
		return
	default:
	}
	c.m.event(event.CampaignMessage, c.ID, "", c.campaign.dial.Campaign.Queue, "message="+message)
	done := ep.Play(snd)
	select {
	case <-done:
	case <-leg.Done():
	case <-ctx.Done():
	}
}

// campaignEnqueue puts a person who answered at the head of the
// campaign's queue: no music, announcements or limits, for they wait at
// most outbound.DropAfter.
func (c *Call) campaignEnqueue(queue string) {
	m := c.m
	c.queue, c.priority = queue, campaignPriority
	now := time.Now()
	c.update(func(r *store.CallRecord) { r.Queue = queue; r.QueuedAt = &now })
	c.setView(func(v *callView) { v.Queue = queue })
	c.openSegment(queue)
	c.keepRetired(queue)
	if err := m.acd.Enqueue(c.ID, queue, campaignPriority); err != nil {
		c.log.Error("enqueue campaign call", "queue", queue, "err", err)
		c.closeSegment(event.SegmentWithdrawn, "")
		c.drop("no agent: " + err.Error())
		return
	}
	m.poke()
	c.campaign.waiting = true
	c.toQueued()
}

// campaignPriority puts campaign calls that a person answered ahead of
// every waiting call: they may wait 2 s at most.
const campaignPriority = 1 << 20

// drop tells a person no agent took that the campaign will call back (its
// identification message) and ends the call as dropped.
func (c *Call) drop(reason string) {
	cc := c.campaign
	cc.dropped, cc.waiting = true, false
	c.m.event(event.CampaignDrop, c.ID, "", cc.dial.Campaign.Queue, "campaign="+cc.dial.Campaign.Name+" "+reason)
	c.log.Info("campaign call dropped: no agent in time", "campaign", cc.dial.Campaign.Name, "reason", reason)
	snd, ok := c.m.sounds.Get(cc.dial.Campaign.Identification)
	if !ok {
		c.log.Error("campaign identification sound missing: the dropped person heard nothing", "sound", cc.dial.Campaign.Identification)
		c.m.event(event.CampaignDrop, c.ID, "", cc.dial.Campaign.Queue, "identification sound missing: "+cc.dial.Campaign.Identification)
	}
	if ok && c.caller != nil {
		done := c.caller.Media().Play(snd)
		t := time.NewTimer(30 * time.Second)
		select {
		case <-done:
		case <-c.caller.Done():
		case <-t.C:
		}
		t.Stop()
	}
	c.campaignEnd(event.OutcomeDropped, reason)
}

// dropDue drops a person still waiting when their time is up.
func (c *Call) dropDue() {
	_ = c.m.acd.Abandon(c.ID, "dropped: no agent within 2 s")
	c.m.poke()
	c.closeSegment(event.SegmentWithdrawn, "")
	c.drop("no agent within " + outbound.DropAfter.String() + " of the answer")
}

// campaignEnd ends a campaign call that no agent took.
func (c *Call) campaignEnd(outcome event.Outcome, reason string) {
	by := event.BySystem
	if outcome == event.OutcomeAbandoned {
		by = event.ByCaller
	}
	c.end(outcome, by, reason)
}

// campaignConnected notes that an agent took the person: the first time
// only (a transfer connects the call again), and from then on the call is
// like any other (no drop clock, no campaign priority in a queue).
func (c *Call) campaignConnected(agentID string) {
	cc := c.campaign
	if cc == nil || cc.connected {
		return
	}
	cc.connected, cc.waiting, c.priority = true, false, 0
	c.setProgress("connected")
	cc.report(c, CampaignReport{Stage: StageConnected, Agent: agentID})
}

// campaignFinished reports the end of a campaign call with its record.
func (c *Call) campaignFinished(final store.CallRecord) {
	cc := c.campaign
	if cc == nil {
		return
	}
	// An outcome "" means the contact was never dialled (a preview call
	// whose agent's phone was not reached): the dialer gives it back.
	r := CampaignReport{Stage: StageEnded, Agent: final.Agent, Record: final}
	if final.ConnectedAt != nil && final.EndedAt != nil {
		r.Handled = final.EndedAt.Sub(*final.ConnectedAt)
	}
	cc.report(c, r)
}
