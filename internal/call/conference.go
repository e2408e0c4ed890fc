package call

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/sip"
	"github.com/switchboard/switchboard/internal/store"
)

// Party kinds.
const (
	PartyCaller   = "caller"
	PartyAgent    = "agent"
	PartyExternal = "external"
)

// Party is one person on a live call, as the API lists them.
type Party struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"`
	Agent    string    `json:"agent,omitempty"`
	Number   string    `json:"number,omitempty"`
	JoinedAt time.Time `json:"joined_at"`
	Held     bool      `json:"held,omitempty"`
}

// conference is a call with more than two parties: every leg is mixed, so
// all of them hear each other. The call's goroutine owns it.
type conference struct {
	mix     *media.Conference
	members []*member
	gone    chan *member // a member's leg ended
	next    int
	// dialing counts parties being rung to join.
	dialing int
}

type member struct {
	Party
	leg      *sip.Leg
	reserved bool // an agent reserved for this call (released when they leave)
	stop     func() bool
}

// setParties publishes who is on a two-party call.
func (c *Call) setParties() {
	if c.conf != nil {
		c.publishConference()
		return
	}
	now := time.Now()
	c.mu.Lock()
	joined := now
	if c.rec.ConnectedAt != nil {
		joined = *c.rec.ConnectedAt
	}
	c.mu.Unlock()
	var parties []Party
	if c.caller != nil {
		parties = append(parties, Party{ID: "caller", Kind: PartyCaller, Number: c.caller.Caller, JoinedAt: joined})
	}
	if c.agentLeg != nil {
		p := Party{ID: "agent", JoinedAt: now}
		if c.agentID != "" {
			p.Kind, p.Agent, p.ID = PartyAgent, c.agentID, c.agentID
		} else {
			p.Kind = PartyExternal
		}
		parties = append(parties, p)
	}
	c.setView(func(v *callView) { v.Parties = parties })
}

func (c *Call) publishConference() {
	parties := make([]Party, 0, len(c.conf.members))
	for _, mb := range c.conf.members {
		parties = append(parties, mb.Party)
	}
	c.setView(func(v *callView) { v.Parties = parties })
}

// Parties lists who is on a live call.
func (m *Manager) Parties(callID string) ([]Party, bool) {
	c := m.call(callID)
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Party(nil), c.view.Parties...), true
}

// AddToConference adds a party to a live call: an agent's extension, a
// queue (its longest-idle free agent) or a number over the trunk. The
// party is rung while the call goes on; when they answer, the caller, the
// agent and they all hear each other. During a consultation, target ""
// merges the consulted party into a conference.
func (m *Manager) AddToConference(callID, target, by string) error {
	if target != "" && m.targetKind(target) == "" {
		return fmt.Errorf("%w: %q", ErrUnknownTarget, target)
	}
	return m.command(callID, "conference", func(c *Call) error { return c.addParty(target, by) })
}

func (c *Call) addParty(target, by string) error {
	m := c.m
	if target == "" {
		if c.st != StateConsulting || c.consult == nil || c.consult.leg == nil {
			return c.refuse("merge")
		}
		return c.mergeConsult(by)
	}
	if !c.st.talking() || c.st == StateConsulting || c.agentLeg == nil && c.conf == nil {
		return c.refuse("conference")
	}
	if c.parties()+c.dialing() >= media.MaxConferenceSize {
		return ErrConferenceFull
	}
	kind := m.targetKind(target)
	agent := ""
	switch kind {
	case targetQueue:
		agent = m.freeAgentOf(m.queueOf(target))
		if agent == "" {
			return fmt.Errorf("queue %s: %w", target, errNoFreeAgent)
		}
		kind = targetAgent
	case targetAgent:
		agent = target
	}
	if agent != "" {
		if err := m.acd.Reserve(agent, c.ID); err != nil {
			return fmt.Errorf("agent %s: %w", agent, err)
		}
	}
	c.ensureConferenceDialing(1)
	callerNumber := c.caller.Caller
	fromAgent := c.agentID
	m.event(event.ConferenceRinging, c.ID, c.agentID, c.queue, fmt.Sprintf("to=%s by=%s", target, by))
	started := m.goTracked(func() {
		ctx, cancel := context.WithTimeout(m.ctx, 60*time.Second)
		defer cancel()
		var leg *sip.Leg
		var err error
		if agent != "" {
			leg, err = dialWhile(ctx, 30*time.Second, c.done, func(ctx context.Context) (*sip.Leg, error) {
				return m.dialAgent(ctx, agent, callerNumber, "Conference from "+fromAgent)
			})
		} else {
			leg, err = dialWhile(ctx, 60*time.Second, c.done, func(ctx context.Context) (*sip.Leg, error) {
				return m.dialTrunk(ctx, "", target, "", "")
			})
		}
		if derr := c.deliver("conference answered", func(c *Call) error { return c.partyDialed(target, agent, leg, err) }); derr == ErrUnknownCall {
			// The call ended first: partyDialed did not run, so its
			// party and reservation are released here.
			if leg != nil {
				leg.Hangup()
			}
			if agent != "" {
				_ = m.acd.Release(agent)
			}
		}
	})
	if !started {
		c.ensureConferenceDialing(-1)
		if agent != "" {
			_ = m.acd.Release(agent)
		}
		return ErrShuttingDown
	}
	return nil
}

var errNoFreeAgent = fmt.Errorf("%w: no free agent", ErrUnknownTarget)

// freeAgentOf picks the longest-idle available agent of a queue.
func (m *Manager) freeAgentOf(queue string) string {
	best, since := "", time.Time{}
	for _, a := range m.acd.Agents() {
		if a.State != "available" || !a.Reachable {
			continue
		}
		member := false
		for _, q := range m.agentOrZero(a.ID).Queues {
			member = member || q == queue
		}
		if member && (best == "" || a.Since.Before(since)) {
			best, since = a.ID, a.Since
		}
	}
	return best
}

// dialingCount is kept on the call while no conference exists yet.
func (c *Call) dialing() int {
	if c.conf != nil {
		return c.conf.dialing
	}
	return c.pendingParties
}

func (c *Call) ensureConferenceDialing(d int) {
	if c.conf != nil {
		c.conf.dialing += d
		return
	}
	c.pendingParties += d
}

// parties counts who is on the call now.
func (c *Call) parties() int {
	if c.conf != nil {
		return len(c.conf.members)
	}
	n := 0
	if c.caller != nil {
		n++
	}
	if c.agentLeg != nil {
		n++
	}
	return n
}

// partyDialed follows a party rung for the conference answering, or not.
func (c *Call) partyDialed(target, agent string, leg *sip.Leg, err error) error {
	c.ensureConferenceDialing(-1)
	release := func() {
		if agent != "" {
			_ = c.m.acd.Release(agent)
			c.m.poke()
		}
	}
	if err != nil {
		c.m.event(event.ConferenceFailed, c.ID, c.agentID, c.queue, fmt.Sprintf("to=%s: %v", target, err))
		release()
		return nil
	}
	if !c.st.talking() || c.st == StateConsulting {
		leg.Hangup()
		release()
		return c.refuse("conference")
	}
	if err := c.toConference(); err != nil {
		leg.Hangup()
		release()
		return err
	}
	p := Party{Kind: PartyExternal, Number: target}
	if agent != "" {
		p = Party{Kind: PartyAgent, Agent: agent}
	}
	if err := c.join(p, leg, agent != ""); err != nil {
		leg.Hangup()
		release()
		return err
	}
	return nil
}

// toConference turns a two-party call into a conference of its caller and
// agent (or number); a conference already running stays as it is.
func (c *Call) toConference() error {
	if c.conf != nil {
		return nil
	}
	cf := &conference{mix: media.NewConference(), gone: make(chan *member, media.MaxConferenceSize), dialing: c.pendingParties}
	// Both legs must be mixable (a supervisor's monitor holds their taps):
	// otherwise the call goes on as it was.
	for _, l := range []*sip.Leg{c.caller, c.agentLeg} {
		if l == nil {
			continue
		}
		if err := cf.mix.Add(l.Media()); err != nil {
			cf.mix.Stop()
			if c.st != StateConsulting && c.st != StateHeld && c.agentLeg != nil {
				media.Bridge(c.caller.Media(), c.agentLeg.Media())
			} else if snd := c.holdMusic(); snd != nil {
				c.caller.Media().Loop(snd)
			}
			return fmt.Errorf("%w: %v", ErrConferenceBusy, err)
		}
	}
	c.pendingParties = 0
	c.conf = cf
	if c.hold != (holdState{}) {
		c.hold = holdState{}
		c.setView(func(v *callView) { v.HeldSince = time.Time{} })
		if c.agentID != "" {
			_ = c.m.acd.SetHold(c.agentID, false)
		}
	}
	if err := c.join(Party{Kind: PartyCaller, Number: c.caller.Caller}, c.caller, false); err != nil {
		return err
	}
	if c.agentLeg != nil {
		p := Party{Kind: PartyExternal}
		if c.agentID != "" {
			p = Party{Kind: PartyAgent, Agent: c.agentID}
		}
		if err := c.join(p, c.agentLeg, c.agentDirect); err != nil {
			return err
		}
	}
	if r := c.recording; r != nil {
		// The caller stays on the left channel; everybody else, mixed, on the right.
		if c.agentLeg != nil {
			c.agentLeg.Media().Tap(nil)
		}
		_ = cf.mix.TapHeard(c.caller.Media(), r.Right)
	}
	c.setState(StateConference)
	return nil
}

// join adds a leg to the conference as a party.
func (c *Call) join(p Party, leg *sip.Leg, reserved bool) error {
	cf := c.conf
	if err := cf.mix.Add(leg.Media()); err != nil {
		return fmt.Errorf("conference: %w", err)
	}
	cf.next++
	p.JoinedAt = time.Now()
	switch {
	case p.Kind == PartyCaller:
		p.ID = "caller"
	case p.Agent != "":
		p.ID = p.Agent
	default:
		p.ID = "p" + strconv.Itoa(cf.next)
	}
	mb := &member{Party: p, leg: leg, reserved: reserved}
	mb.stop = context.AfterFunc(contextOf(leg.Done()), func() {
		select {
		case cf.gone <- mb:
		default:
		}
	})
	cf.members = append(cf.members, mb)
	c.m.event(event.ConferenceJoined, c.ID, p.Agent, c.queue, fmt.Sprintf("party=%s kind=%s number=%s parties=%d", p.ID, p.Kind, p.Number, len(cf.members)))
	c.publishConference()
	return nil
}

// contextOf is a context done when ch closes (legs have channels, AfterFunc wants contexts).
func contextOf(ch <-chan struct{}) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // ends when the leg ends; every leg ends (hang-up, BYE or the call's end)
		<-ch
		cancel()
	}()
	return ctx
}

// mergeConsult turns a consultation into a conference: the caller comes
// off hold and joins the agent and the consulted party.
func (c *Call) mergeConsult(by string) error {
	cons := c.consult
	if err := c.toConference(); err != nil {
		return err // the consultation goes on
	}
	c.consult = nil
	cons.cancel()
	c.setView(func(v *callView) { v.Consult = nil })
	c.m.event(event.ConsultEnded, c.ID, c.agentID, c.queue, "merged into a conference by "+by)
	p := Party{Kind: PartyExternal, Number: cons.target}
	if cons.agent != "" {
		p = Party{Kind: PartyAgent, Agent: cons.agent}
	}
	cons.released = true // the member releases the agent when they leave
	return c.join(p, cons.leg, cons.agent != "")
}

// conferencing is the conference step: everyone hears everyone until the
// caller hangs up or the conference falls back to two parties.
func (c *Call) conferencing(ctx context.Context) {
	for !c.moved(StateConference) {
		select {
		case k := <-c.cmds:
			c.exec(k)
		case mb := <-c.conf.gone:
			c.leave(mb, "hung up")
		case <-ctx.Done():
			c.hangUpTalk(event.BySystem, "maximum call duration or shutdown")
		}
	}
}

// leave takes a member out of the conference; the caller leaving ends the
// call, and a conference left with two parties becomes a plain call again.
func (c *Call) leave(mb *member, why string) {
	cf := c.conf
	i := -1
	for j, x := range cf.members {
		if x == mb {
			i = j
		}
	}
	if i < 0 {
		return
	}
	cf.members = append(cf.members[:i], cf.members[i+1:]...)
	mb.stop()
	cf.mix.Remove(mb.leg.Media())
	mb.leg.Hangup()
	c.m.event(event.ConferenceLeft, c.ID, mb.Agent, c.queue, fmt.Sprintf("party=%s kind=%s %s parties=%d", mb.ID, mb.Kind, why, len(cf.members)))
	c.publishConference()
	isAgent := mb.leg == c.agentLeg
	switch {
	case mb.Kind == PartyCaller:
		c.hangUpTalk(event.ByCaller, "caller hung up")
		return
	case isAgent:
		c.releaseAgent() // wrap-up for the call's own agent
	case mb.reserved:
		_ = c.m.acd.Release(mb.Agent)
		c.m.poke()
	}
	if len(cf.members) == 1 { // only the caller is left
		c.hangUpTalk(event.BySystem, "everybody else left the conference")
		return
	}
	if len(cf.members) == 2 && cf.dialing == 0 {
		c.toTwoParty()
	}
}

// toTwoParty ends the mixing: the caller and the one party left talk over
// a plain relay again, and that party is the call's agent (or number).
func (c *Call) toTwoParty() {
	cf := c.conf
	var other *member
	for _, mb := range cf.members {
		mb.stop()
		if mb.Kind != PartyCaller {
			other = mb
		}
	}
	cf.mix.Stop()
	c.conf = nil
	if c.agentLeg != other.leg {
		c.agentLeg, c.agentID, c.agentDirect = other.leg, other.Agent, other.reserved
		c.watchAgentLeg(other.leg, other.Agent)
		c.update(func(r *store.CallRecord) { r.Agent = other.Agent })
		c.setView(func(v *callView) { v.Agent = other.Agent })
	}
	media.Bridge(c.caller.Media(), other.leg.Media())
	if r := c.recording; r != nil {
		other.leg.Media().Tap(r.Right)
	}
	c.setParties()
	c.setState(StateConnected)
}

// endConference hangs up every member but the caller and stops the mixer.
func (c *Call) endConference() {
	cf := c.conf
	c.conf = nil
	for _, mb := range cf.members {
		mb.stop()
		if mb.Kind == PartyCaller {
			continue
		}
		mb.leg.Hangup()
		if mb.reserved && mb.leg != c.agentLeg {
			_ = c.m.acd.Release(mb.Agent)
		}
	}
	cf.mix.Stop()
	c.m.poke()
}

// holdConference takes the agent out of the conference's audio (on) or
// back in: the others go on talking to each other.
func (c *Call) holdConference(on bool, by string) error {
	if c.agentLeg == nil {
		return c.refuse("hold")
	}
	if err := c.conf.mix.Hold(c.agentLeg.Media(), on); err != nil {
		return err
	}
	for i := range c.conf.members {
		if c.conf.members[i].leg == c.agentLeg {
			c.conf.members[i].Held = on
		}
	}
	c.publishConference()
	c.m.event(map[bool]event.Kind{true: event.ConferenceHold, false: event.ConferenceUnhold}[on], c.ID, c.agentID, c.queue, "by "+by)
	return nil
}

// LeaveConference takes the agent out of the conference: the others stay
// connected (a warm hand-off), and the agent moves to wrap-up.
func (m *Manager) LeaveConference(callID, by string) error {
	return m.command(callID, "leave conference", func(c *Call) error {
		if c.st != StateConference || c.agentLeg == nil {
			return c.refuse("leave conference")
		}
		for _, mb := range c.conf.members {
			if mb.leg == c.agentLeg {
				c.leave(mb, "left ("+by+")")
				return nil
			}
		}
		return c.refuse("leave conference")
	})
}

// RemoveParty drops one party from the conference.
func (m *Manager) RemoveParty(callID, party, by string) error {
	return m.command(callID, "remove party", func(c *Call) error {
		if c.st != StateConference {
			return c.refuse("remove party")
		}
		for _, mb := range c.conf.members {
			if mb.ID == party {
				if mb.Kind == PartyCaller {
					return fmt.Errorf("%w: the caller cannot be removed (hang up instead)", ErrUnknownParty)
				}
				c.leave(mb, "removed by "+by)
				return nil
			}
		}
		return fmt.Errorf("%w: %q", ErrUnknownParty, party)
	})
}

// conferenceFromPhone: the agent's phone dialled the conference code and a
// target while on a call; the target is rung into that call, and this
// short call tells the agent so.
func (c *Call) conferenceFromPhone(ctx context.Context, target string) {
	m, leg := c.m, c.caller
	agent := leg.AuthUser
	c.update(func(r *store.CallRecord) { r.Flow, r.Agent = "conference", agent })
	live := m.callOfAgent(agent)
	if live == nil {
		leg.Reject(404, "Not Found")
		c.end(event.OutcomeRejected, event.BySystem, "agent "+agent+" is on no call")
		return
	}
	if err := m.AddToConference(live.ID, target, "agent "+agent+" (phone)"); err != nil {
		leg.Reject(488, "Not Acceptable Here")
		c.end(event.OutcomeRejected, event.BySystem, "conference: "+err.Error())
		return
	}
	if !c.answer() {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, _ = c.play(pctx, []string{"beep"}, false)
	leg.Hangup()
	c.end(event.OutcomeCompleted, event.BySystem, "conference: ringing "+target+" into "+live.ID)
}

// Live is what the desktop shows of a live call.
type Live struct {
	State     State        `json:"state"`
	Parties   []Party      `json:"parties"`
	HeldSince *time.Time   `json:"held_since,omitempty"`
	Consult   *ConsultView `json:"consult,omitempty"`
	// Commands are what the call's agent may do now (State.Commands).
	Commands []string `json:"commands"`
	// Recording is the call's recording as the agent may act on it: ""
	// (none), "on_demand", "on" or "paused".
	Recording string `json:"recording,omitempty"`
	// Progress is how far an outgoing call has got, in words ("calling
	// your phone", "dialling 5551234", "connected"); "" for others.
	Progress string `json:"progress,omitempty"`
	// Campaign is the outbound campaign that placed the call, and Contact
	// the contact's fields from its list (the agent's contact card).
	Campaign string            `json:"campaign,omitempty"`
	Contact  map[string]string `json:"contact,omitempty"`
	// Cues are the phrases heard on the call so far (speech analytics),
	// Sentiment the caller's so far.
	Cues      []Cue    `json:"cues,omitempty"`
	Sentiment *float64 `json:"sentiment,omitempty"`
}

// LiveView reports a live call's state, parties, hold and consultation.
func (m *Manager) LiveView(callID string) (Live, bool) {
	c := m.call(callID)
	if c == nil {
		return Live{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v := Live{State: c.view.State, Parties: append([]Party(nil), c.view.Parties...)}
	if !c.view.HeldSince.IsZero() {
		t := c.view.HeldSince
		v.HeldSince = &t
	}
	if c.view.Consult != nil {
		cv := *c.view.Consult
		v.Consult = &cv
	}
	v.Recording, v.Progress = c.view.Recording, c.view.Progress
	v.Cues = append([]Cue(nil), c.view.Cues...)
	if c.view.Sentiment != nil {
		s := *c.view.Sentiment
		v.Sentiment = &s
	}
	v.Commands = v.State.Commands(v.Consult != nil && v.Consult.Connected, v.Recording)
	if v.State == StateRinging && c.view.Outgoing && c.view.Progress != "connected" {
		// dialling out, before its first connection (not a hold recall's
		// or a transfer's ringing later): the agent may give up on the
		// dial (HangupCall cancels it)
		v.Commands = []string{"hangup"}
	}
	v.Campaign, v.Contact = c.view.Campaign, c.view.Contact // never written after the call starts
	return v, true
}
