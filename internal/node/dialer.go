package node

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	acdpkg "github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/outbound"
	"github.com/switchboard/switchboard/internal/store"
)

// dialer dials the running campaigns. One goroutine (run) owns the
// campaigns' runtime state and their pacers: every second, or when poked,
// it asks each running campaign's pacer how many lines to dial, takes that
// many due contacts (skipping, and counting, those outside their calling
// window or on the do-not-call list, checked at this moment), and places
// the calls; the calls report their stages back on a channel it drains.
// In a cluster only the node that leads the ACD dials.
type dialer struct {
	n       *Node
	log     *slog.Logger
	pokes   chan struct{}
	reports chan dialReport
	stopped chan struct{} // closed when run returns: reports are dropped then

	mu   sync.Mutex // guards lines, read by the API
	busy map[string]int

	// owned by run
	runs map[string]*campaignRun
}

// campaignRun is a campaign's runtime state.
type campaignRun struct {
	pacer *outbound.Pacer
	calls map[string]*dialedCall // by call ID
	// rolling is the campaign's live answers and drops of the last 30
	// days, read from the store every rollEvery.
	rolling outbound.Counts
	rollAt  time.Time
	// failures counts the calls in a row the network could not place: at
	// maxFailures the campaign is paused (a trunk down would otherwise
	// burn the list).
	failures int
}

const (
	rollEvery   = 30 * time.Second
	maxFailures = 20
)

// dialedCall is one call a campaign placed, as far as it has got.
type dialedCall struct {
	contact store.CampaignContact
	stage   call.CampaignStage
	outcome outbound.Outcome
	agent   string
}

type dialReport struct {
	campaign string
	contact  store.CampaignContact
	call.CampaignReport
}

// dialed is when the report's contact was dialled: as the call says, or,
// for a call that ended before it dialled, its ring time before now.
func (r dialReport) dialed() time.Time {
	if !r.Dialed.IsZero() {
		return r.Dialed
	}
	return time.Now().Add(-r.Ring)
}

// maxDialsPerTick bounds the calls one campaign places at once.
const maxDialsPerTick = 25

func newDialer(n *Node) *dialer {
	return &dialer{n: n, log: n.log.With("part", "dialer"), pokes: make(chan struct{}, 1), reports: make(chan dialReport, 4096), stopped: make(chan struct{}),
		busy: map[string]int{}, runs: map[string]*campaignRun{}}
}

// lines is the campaign's calls dialling or connected now.
func (d *dialer) lines(campaign string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.busy[campaign]
}

// poke has the dialer look at the campaigns again at once.
func (d *dialer) poke() {
	select {
	case d.pokes <- struct{}{}:
	default:
	}
}

// run dials until ctx ends; calls in progress go on after it.
func (d *dialer) run(ctx context.Context) {
	defer close(d.stopped)
	if n, err := d.n.st.ResetDialing(ctx); err != nil {
		d.log.Error("contacts left dialling by a stopped server", "err", err)
	} else if n > 0 {
		d.log.Info("contacts a stopped server was dialling are pending again", "contacts", n)
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-d.reports:
			d.handle(ctx, r)
			continue
		case <-t.C:
		case <-d.pokes:
		}
		d.tick(ctx)
	}
}

// leads says whether this node dials: always on a store of its own, in a
// cluster when it leads the ACD.
func (d *dialer) leads() bool {
	if d.n.acd == nil {
		return true
	}
	_, leading := d.n.acd.Epoch()
	return leading
}

func (d *dialer) tick(ctx context.Context) {
	if !d.leads() {
		return
	}
	cfg := d.n.current()
	now := time.Now()
	for _, k := range cfg.Campaigns {
		run, err := d.n.st.CampaignRun(ctx, k.Name)
		if err != nil {
			d.log.Error("campaign state", "campaign", k.Name, "err", err)
			continue
		}
		if k.OutboundMode() == outbound.Preview {
			d.releasePreviews(ctx, k)
			continue
		}
		if run.State != store.CampaignRunning {
			continue
		}
		d.dial(ctx, cfg, k, now)
	}
}

// releasePreviews gives back the contacts held in a preview campaign by
// agents logged out or away (or no longer its agents), so that no contact
// waits for an agent on a break or gone home.
func (d *dialer) releasePreviews(ctx context.Context, k config.Campaign) {
	held, err := d.n.st.PreviewsHeld(ctx, k.Name)
	if err != nil || len(held) == 0 {
		return
	}
	for _, ext := range held {
		if a, ok := d.n.mgr.ACD().Agent(ext); ok && a.State != acdpkg.LoggedOut && a.State != acdpkg.Away && slices.Contains(a.Queues, k.Queue) {
			continue
		}
		if n, err := d.n.st.ReleasePreviews(ctx, k.Name, ext); err != nil {
			d.log.Error("release previews", "campaign", k.Name, "agent", ext, "err", err)
		} else if n > 0 {
			d.log.Info("previewed contacts given back: the agent is not working the campaign", "campaign", k.Name, "agent", ext, "contacts", n)
		}
	}
}

func (d *dialer) runOf(ctx context.Context, k config.Campaign) *campaignRun {
	r, ok := d.runs[k.Name]
	if !ok {
		r = &campaignRun{pacer: outbound.NewPacer(k.Pacer()), calls: map[string]*dialedCall{}}
		// the campaign's drops so far count, after a restart or a change
		// of leader too
		if c, err := d.n.st.CampaignCounts(ctx, k.Name, time.Time{}); err == nil {
			r.pacer.Seed(outbound.Counts{Live: c.Live, Dropped: c.Abandoned})
		}
		d.runs[k.Name] = r
	} else {
		r.pacer.SetConfig(k.Pacer()) // an edited campaign: what the pacer learnt stays
	}
	return r
}

// dial places the lines the campaign's pacer asks for now.
func (d *dialer) dial(ctx context.Context, cfg *config.Config, k config.Campaign, now time.Time) {
	r := d.runOf(ctx, k)
	if now.Sub(r.rollAt) > rollEvery {
		if c, err := d.n.st.CampaignCounts(ctx, k.Name, now.Add(-outbound.RollingWindow)); err == nil {
			r.rolling, r.rollAt = outbound.Counts{Live: c.Live, Dropped: c.Abandoned}, now
		}
	}
	acd := d.n.mgr.ACD()
	_, _, free, err := acd.Staffing(k.Queue)
	if err != nil {
		return
	}
	st := outbound.State{Now: now, Free: free, Rolling: r.rolling}
	// The queue's agents at work, and when those in wrap-up will be free.
	for _, a := range acd.Agents() {
		if !slices.Contains(a.Queues, k.Queue) {
			continue
		}
		switch a.State {
		case acdpkg.OnCall, acdpkg.OnHold, acdpkg.Ringing:
			st.Busy++
		case acdpkg.WrapUp:
			st.Busy++
			if a.WrapUpUntil != nil {
				st.FreeIn = append(st.FreeIn, max(0, a.WrapUpUntil.Sub(now)))
			}
		}
	}
	for _, c := range r.calls {
		switch {
		case c.stage == call.StageDecided && c.outcome.Live():
			st.Waiting++
		case c.stage == "" || c.stage == call.StageAnswered:
			st.InFlight++
		}
	}
	// Blended: inbound callers first. While any wait in the queue, its
	// free agents are theirs.
	if k.IsBlended() && acd.Length(k.Queue) > st.Waiting {
		return
	}
	lines := min(r.pacer.Lines(st), maxDialsPerTick)
	if lines <= 0 {
		return
	}
	due, err := d.n.st.DueContacts(ctx, k.Name, now, 2*lines+10)
	if err != nil {
		d.log.Error("due contacts", "campaign", k.Name, "err", err)
		return
	}
	for _, c := range due {
		if lines == 0 {
			break
		}
		ok, err := d.callable(ctx, k, &c, now)
		if err != nil {
			d.log.Error("do-not-call check", "campaign", k.Name, "err", err)
			return // never dial a number that could not be checked
		}
		if !ok {
			continue
		}
		if c.Agent != "" { // a callback scheduled for a named agent: their phone first, when they are free
			d.callBack(ctx, r, k, c)
			continue
		}
		c.State, c.Attempts = store.ContactDialing, c.Attempts+1
		if claimed, err := d.n.st.ClaimContact(ctx, k.Name, c.Number, c.Attempts); err != nil {
			d.log.Error("claim a contact", "campaign", k.Name, "number", c.Number, "err", err)
			return
		} else if !claimed {
			continue // an agent previewing it, or another node: not ours
		}
		id, err := d.n.mgr.DialCampaign(d.campaignDial(k, c))
		if err != nil {
			d.log.Warn("campaign call not placed", "campaign", k.Name, "number", c.Number, "err", err)
			c.State, c.Attempts = store.ContactPending, c.Attempts-1
			c.NextAt = now.Add(time.Minute)
			if err := d.n.st.UpdateContact(ctx, k.Name, c); err != nil {
				d.log.Error("give a contact back", "campaign", k.Name, "number", c.Number, "err", err)
			}
			return // busy or shutting down: try again later
		}
		r.calls[id] = &dialedCall{contact: c}
		lines--
	}
	d.setBusy(k.Name, len(r.calls))
}

// callBack places a callback scheduled for a named agent once they are
// available: their phone rings, then the contact (as a preview call). It
// waits, not counted, while the agent is busy or away.
func (d *dialer) callBack(ctx context.Context, r *campaignRun, k config.Campaign, c store.CampaignContact) {
	if a, ok := d.n.mgr.ACD().Agent(c.Agent); !ok || a.State != acdpkg.Available {
		return
	}
	c.State, c.Attempts = store.ContactDialing, c.Attempts+1
	if claimed, err := d.n.st.ClaimContact(ctx, k.Name, c.Number, c.Attempts); err != nil || !claimed {
		return
	}
	id, err := d.n.mgr.PreviewDial(c.Agent, d.campaignDial(k, c))
	if err != nil {
		d.log.Warn("scheduled callback not placed", "campaign", k.Name, "agent", c.Agent, "err", err)
		c.State, c.Attempts, c.NextAt = store.ContactPending, c.Attempts-1, time.Now().Add(30*time.Second)
		if err := d.n.st.UpdateContact(ctx, k.Name, c); err != nil {
			d.log.Error("give a callback back", "campaign", k.Name, "err", err)
		}
		return
	}
	r.calls[id] = &dialedCall{contact: c}
	d.setBusy(k.Name, len(r.calls))
}

// callable checks, at the moment a due contact would be dialled, that its
// calling window is open in its zone and that it is on no do-not-call
// list; a contact that is not is skipped (counted, and its next attempt
// put where the window opens, or finished for the do-not-call list). An
// error means the list could not be read: nothing may be dialled then.
func (d *dialer) callable(ctx context.Context, k config.Campaign, c *store.CampaignContact, now time.Time) (bool, error) {
	loc := time.Local
	if k.Timezone != "" {
		if l, err := time.LoadLocation(k.Timezone); err == nil {
			loc = l
		}
	}
	if c.Zone != "" {
		if l, err := time.LoadLocation(c.Zone); err == nil {
			loc = l
		}
	}
	window := k.OutboundWindow()
	if !window.Open(now, loc) {
		next, ok := window.NextOpen(now, loc)
		c.NextAt = next
		if !ok {
			c.State, c.LastOutcome = store.ContactDone, "no_window"
		}
		d.skip(ctx, k, *c, "window")
		return false, nil
	}
	var (
		list    string
		blocked bool
	)
	for _, form := range dncForms(c.Number) {
		l, b, err := d.n.st.DNCMatch(ctx, form)
		if err != nil {
			return false, err
		}
		if b {
			list, blocked = l, true
			break
		}
	}
	if blocked {
		c.State, c.LastOutcome = store.ContactDone, "dnc:"+list
		d.skip(ctx, k, *c, "dnc")
		return false, nil
	}
	return true, nil
}

// dncForms are the forms of a number a do-not-call entry may be written
// in: as it is, and for a North American number with and without its
// country code 1 (the lists write both ways).
func dncForms(n string) []string {
	switch {
	case len(n) == 11 && n[0] == '1':
		return []string{n, n[1:]}
	case len(n) == 10 && n[0] >= '2':
		return []string{n, "1" + n}
	}
	return []string{n}
}

// skip records a contact skipped at the moment it was due, and why.
func (d *dialer) skip(ctx context.Context, k config.Campaign, c store.CampaignContact, why string) {
	if err := d.n.st.UpdateContact(ctx, k.Name, c); err != nil {
		d.log.Error("skip a contact", "campaign", k.Name, "err", err)
	}
	d.skipped(ctx, k, c, why)
}

// skipped records the skip of a contact already updated.
func (d *dialer) skipped(ctx context.Context, k config.Campaign, c store.CampaignContact, why string) {
	if err := d.n.st.RecordAttempt(ctx, store.Attempt{Campaign: k.Name, Number: c.Number, At: time.Now(), Skip: why}); err != nil {
		d.log.Error("record a skip", "campaign", k.Name, "err", err)
	}
	d.log.Info("contact skipped", "campaign", k.Name, "number", c.Number, "reason", why, "next", c.NextAt)
}

func (d *dialer) setBusy(campaign string, n int) {
	d.mu.Lock()
	d.busy[campaign] = n
	d.mu.Unlock()
}

// campaignDial is the call to place for contact c of campaign k, its
// stages reported to run.
func (d *dialer) campaignDial(k config.Campaign, c store.CampaignContact) call.CampaignDial {
	return call.CampaignDial{Campaign: k, Number: c.Number, Fields: c.Fields, Attempt: c.Attempts,
		Report: func(rep call.CampaignReport) { d.report(dialReport{campaign: k.Name, contact: c, CampaignReport: rep}) }}
}

// report hands a call's report to run; after run has stopped (the node
// shuts down while calls end) only the ends matter.
func (d *dialer) report(r dialReport) {
	select {
	case d.reports <- r:
	case <-d.stopped:
		// The node is shutting down: the pacer is gone, but the attempt is
		// still recorded and the contact's next attempt set, from the
		// call's goroutine.
		if r.Stage == call.StageEnded {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			live := r.Outcome.Live() && (r.Dropped || r.Record.ConnectedAt != nil)
			d.finished(ctx, r, live)
		}
	}
}

// handle takes a call's report: the pacer learns from it, and at the end
// the attempt is recorded and the contact's next attempt set.
func (d *dialer) handle(ctx context.Context, rep dialReport) {
	run := d.runs[rep.campaign]
	if run == nil {
		k, ok := d.n.current().CampaignByName(rep.campaign)
		if !ok {
			k = config.Campaign{Name: rep.campaign, Mode: string(outbound.Preview)} // removed from the setup meanwhile
		}
		run = d.runOf(ctx, k)
	}
	c := run.calls[rep.CallID]
	if c == nil {
		c = &dialedCall{contact: rep.contact}
		run.calls[rep.CallID] = c
	}
	prev := c.stage
	c.stage, c.outcome = rep.Stage, rep.Outcome
	switch rep.Stage {
	case call.StageDecided:
		run.pacer.Attempted(rep.Outcome, rep.dialed(), rep.Ring)
	case call.StageConnected:
		c.agent = rep.Agent
		run.pacer.Connected()
	case call.StageEnded:
		delete(run.calls, rep.CallID)
		// the line is counted free only once its attempt is recorded, so
		// that no reader sees neither
		defer d.setBusy(rep.campaign, len(run.calls))
		if rep.Outcome == "" { // never dialled (a preview agent's phone was not reached)
			d.giveBack(ctx, rep)
			return
		}
		if rep.Outcome == outbound.Failed {
			run.failures++
			if run.failures == maxFailures {
				d.log.Error("campaign paused: the network could not place its calls", "campaign", rep.campaign, "failures_in_a_row", maxFailures)
				if err := d.n.st.SetCampaignRun(ctx, rep.campaign, store.CampaignRun{State: store.CampaignPaused, At: time.Now(), Actor: "system: calls failing"}); err != nil {
					d.log.Error("pause a failing campaign", "campaign", rep.campaign, "err", err)
				}
			}
		} else {
			run.failures = 0
		}
		if prev == "" || prev == call.StageAnswered { // never decided: unanswered, or hung up during AMD
			run.pacer.Attempted(rep.Outcome, rep.dialed(), rep.Ring)
		}
		live := rep.Outcome.Live()
		switch {
		case rep.Dropped && !live:
			// a machine sent to agents (amd: connect) that none took: not
			// a person abandoned
		case rep.Dropped:
			run.pacer.Dropped()
		case rep.Record.ConnectedAt != nil:
			k, _ := d.n.current().CampaignByName(rep.campaign)
			wrap := time.Duration(0)
			if q, ok := d.n.current().QueueByName(k.Queue); ok {
				wrap = q.WrapUp
			}
			run.pacer.Handled(rep.Handled + wrap)
		case live && prev != call.StageConnected:
			live = false // hung up before an agent could take them: neither live nor dropped
		}
		d.finished(ctx, rep, live)
	}
}

// finished records the attempt and schedules the contact's next one.
func (d *dialer) finished(ctx context.Context, rep dialReport, live bool) {
	st := d.n.st
	a := store.Attempt{Campaign: rep.campaign, Number: rep.contact.Number, CallID: rep.CallID, At: rep.Record.ArrivedAt,
		Outcome: string(rep.Outcome), AMD: rep.AMD, Live: live, Dropped: rep.Dropped && live, Agent: rep.Agent}
	if err := st.RecordAttempt(ctx, a); err != nil {
		d.log.Error("record an attempt", "campaign", rep.campaign, "err", err)
	}
	k, ok := d.n.current().CampaignByName(rep.campaign)
	c, found, err := st.Contact(ctx, rep.campaign, rep.contact.Number)
	if err != nil || !found {
		return
	}
	key := string(rep.Outcome)
	switch {
	case rep.Dropped:
		key = "dropped"
	case rep.Record.ConnectedAt != nil:
		key = "connected" // an agent talked to them: done, unless a disposition says otherwise
		if disp, err := st.GetDisposition(ctx, rep.CallID); err == nil && disp.Code != "" {
			key = disp.Code // saved during the call: its rule applies now
		}
	case rep.Outcome == outbound.Human || rep.Outcome == outbound.Unknown:
		key = "hung_up"
	}
	c.LastOutcome = key
	c.Agent = "" // a scheduled callback is placed; what follows is the campaign's
	maxAttempts := c.Attempts
	var rules map[string]outbound.Rule
	if ok {
		maxAttempts, rules = k.MaxAttempts, k.Rules()
	}
	if key == "hung_up" {
		key = string(outbound.NoAnswer) // tried again as if unanswered
	}
	if next, again := outbound.Next(rules, key, c.Attempts, maxAttempts, time.Now()); again {
		c.State, c.NextAt = store.ContactPending, next
	} else {
		c.State = store.ContactDone
	}
	if err := st.UpdateContact(ctx, rep.campaign, c); err != nil {
		d.log.Error("update a contact", "campaign", rep.campaign, "err", err)
	}
	d.poke() // an agent may be free now
}

// disposed applies a disposition's rule to a campaign call's contact: a
// retry (a "call back tomorrow"), or the do-not-call list. One saved while
// the call is up waits for its end (finished applies it then).
func (d *dialer) disposed(ctx context.Context, callID, code string) {
	rec, _, err := d.n.st.GetCall(ctx, callID)
	if err != nil {
		return
	}
	k, rule, ok := d.ruleOf(rec.Source, code)
	if !ok {
		return
	}
	if rule.DNC {
		if _, err := (campaigns{d.n}).AddDNC(ctx, rec.Caller, "disposition:"+code); err != nil {
			d.log.Error("disposition's do-not-call", "campaign", k.Name, "call", callID, "err", err)
		}
	}
	if rec.EndedAt == nil {
		return // the call's end applies the retry (finished)
	}
	c, found, err := d.n.st.Contact(ctx, k.Name, rec.Caller)
	if err != nil || !found {
		return
	}
	c.LastOutcome = code
	if next, again := outbound.Next(k.Rules(), code, c.Attempts, k.MaxAttempts, time.Now()); again {
		c.State, c.NextAt = store.ContactPending, next
	} else {
		c.State = store.ContactDone
	}
	if err := d.n.st.UpdateContact(ctx, k.Name, c); err != nil {
		d.log.Error("a disposition's retry", "campaign", k.Name, "err", err)
	}
}

// ruleOf is the campaign a call's source names ("campaign:NAME") and the
// rule a disposition code has in it.
func (d *dialer) ruleOf(source, code string) (config.Campaign, outbound.Rule, bool) {
	name, ok := strings.CutPrefix(source, "campaign:")
	if !ok {
		return config.Campaign{}, outbound.Rule{}, false
	}
	k, ok := d.n.current().CampaignByName(name)
	if !ok {
		return config.Campaign{}, outbound.Rule{}, false
	}
	r, ok := k.Rules()[code]
	return k, r, ok
}

// giveBack returns a contact whose call never dialled it (a preview
// agent's phone was not reached) to its agent's preview, its attempt not
// spent.
func (d *dialer) giveBack(ctx context.Context, rep dialReport) {
	c, found, err := d.n.st.Contact(ctx, rep.campaign, rep.contact.Number)
	if err != nil || !found {
		return
	}
	c.State, c.Attempts = store.ContactPreviewing, max(0, c.Attempts-1)
	if run, _ := d.n.st.CampaignRun(ctx, rep.campaign); c.Agent == "" || run.State != store.CampaignRunning ||
		d.n.current().CampaignByNameOr(rep.campaign).OutboundMode() != outbound.Preview {
		c.State = store.ContactPending // a scheduled callback: again once the agent is free
		c.NextAt = time.Now().Add(30 * time.Second)
	}
	if err := d.n.st.UpdateContact(ctx, rep.campaign, c); err != nil {
		d.log.Error("give a contact back", "campaign", rep.campaign, "err", err)
	}
}
