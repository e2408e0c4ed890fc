package node

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

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
	runs    map[string]*campaignRun
	rolling outbound.Counts
	rollAt  time.Time
}

// campaignRun is a campaign's runtime state.
type campaignRun struct {
	pacer *outbound.Pacer
	calls map[string]*dialedCall // by call ID
}

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

// maxDialsPerTick bounds the calls one campaign places at once.
const maxDialsPerTick = 50

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
	if now.Sub(d.rollAt) > 30*time.Second {
		if c, err := d.n.st.CampaignCounts(ctx, "", now.Add(-outbound.RollingWindow)); err == nil {
			d.rolling, d.rollAt = outbound.Counts{Live: c.Live, Dropped: c.Abandoned}, now
		}
	}
	for _, k := range cfg.Campaigns {
		run, err := d.n.st.CampaignRun(ctx, k.Name)
		if err != nil {
			d.log.Error("campaign state", "campaign", k.Name, "err", err)
			continue
		}
		if run.State != store.CampaignRunning || k.OutboundMode() == outbound.Preview {
			continue
		}
		d.dial(ctx, cfg, k, now)
	}
}

func (d *dialer) runOf(k config.Campaign) *campaignRun {
	r, ok := d.runs[k.Name]
	if !ok {
		r = &campaignRun{pacer: outbound.NewPacer(k.Pacer()), calls: map[string]*dialedCall{}}
		d.runs[k.Name] = r
	} else if r.pacer.Config().Mode != k.OutboundMode() || r.pacer.Config().Ratio != k.Ratio ||
		r.pacer.Config().AbandonTarget != k.AbandonTarget || r.pacer.Config().MaxLines != k.MaxLines {
		r.pacer.SetConfig(k.Pacer())
	}
	return r
}

// dial places the lines the campaign's pacer asks for now.
func (d *dialer) dial(ctx context.Context, cfg *config.Config, k config.Campaign, now time.Time) {
	r := d.runOf(k)
	acd := d.n.mgr.ACD()
	_, _, free, err := acd.Staffing(k.Queue)
	if err != nil {
		return
	}
	st := outbound.State{Free: free, Rolling: d.rolling}
	for _, c := range r.calls {
		switch {
		case c.stage == call.StageConnected:
			st.Busy++
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
		c.State, c.Attempts = store.ContactDialing, c.Attempts+1
		if err := d.n.st.UpdateContact(ctx, k.Name, c); err != nil {
			d.log.Error("claim a contact", "campaign", k.Name, "number", c.Number, "err", err)
			return
		}
		contact := c
		id, err := d.n.mgr.DialCampaign(call.CampaignDial{Campaign: k, Number: c.Number, Fields: c.Fields, Attempt: c.Attempts,
			Report: func(rep call.CampaignReport) {
				d.report(dialReport{campaign: k.Name, contact: contact, CampaignReport: rep})
			}})
		if err != nil {
			d.log.Warn("campaign call not placed", "campaign", k.Name, "number", c.Number, "err", err)
			c.State, c.Attempts = store.ContactPending, c.Attempts-1
			c.NextAt = now.Add(time.Minute)
			_ = d.n.st.UpdateContact(ctx, k.Name, c)
			return // busy or shutting down: try again later
		}
		r.calls[id] = &dialedCall{contact: c}
		lines--
	}
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
	list, blocked, err := d.n.st.DNCMatch(ctx, c.Number)
	if err != nil {
		return false, err
	}
	if blocked {
		c.State, c.LastOutcome = store.ContactDone, "dnc:"+list
		d.skip(ctx, k, *c, "dnc")
		return false, nil
	}
	return true, nil
}

// skip records a contact skipped at the moment it was due, and why.
func (d *dialer) skip(ctx context.Context, k config.Campaign, c store.CampaignContact, why string) {
	if err := d.n.st.UpdateContact(ctx, k.Name, c); err != nil {
		d.log.Error("skip a contact", "campaign", k.Name, "err", err)
	}
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

// report hands a call's report to run. After run has stopped (the node
// shuts down) reports are dropped: the calls' records say how they ended,
// and the next start makes their contacts pending again.
func (d *dialer) report(r dialReport) {
	select {
	case d.reports <- r:
	case <-d.stopped:
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
		run = d.runOf(k)
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
		run.pacer.Attempted(rep.Outcome, rep.Ring)
	case call.StageConnected:
		c.agent = rep.Agent
		run.pacer.Connected()
	case call.StageEnded:
		delete(run.calls, rep.CallID)
		d.setBusy(rep.campaign, len(run.calls))
		if prev == "" || prev == call.StageAnswered { // never decided: unanswered, or hung up during AMD
			run.pacer.Attempted(rep.Outcome, rep.Ring)
		}
		live := rep.Outcome.Live()
		switch {
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
		Outcome: string(rep.Outcome), AMD: rep.AMD, Live: live, Dropped: rep.Dropped, Agent: rep.Agent}
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
		key = "connected" // an agent talked to them: done, unless a disposition says otherwise (disposed)
	case rep.Outcome == outbound.Human || rep.Outcome == outbound.Unknown:
		key = "hung_up"
	}
	c.LastOutcome = key
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
// retry (a "call back tomorrow"), or the do-not-call list.
func (d *dialer) disposed(ctx context.Context, callID, code string) {
	rec, _, err := d.n.st.GetCall(ctx, callID)
	if err != nil {
		return
	}
	name, ok := strings.CutPrefix(rec.Source, "campaign:")
	if !ok {
		return
	}
	k, ok := d.n.current().CampaignByName(name)
	if !ok {
		return
	}
	rule, has := k.Rules()[code]
	if !has {
		return
	}
	number := rec.Caller
	if rule.DNC {
		if _, err := (campaigns{d.n}).AddDNC(ctx, number, "disposition:"+code); err != nil {
			d.log.Error("disposition's do-not-call", "campaign", name, "err", err)
		}
	}
	c, found, err := d.n.st.Contact(ctx, name, number)
	if err != nil || !found {
		return
	}
	c.LastOutcome = code
	if next, again := outbound.Next(k.Rules(), code, c.Attempts, k.MaxAttempts, time.Now()); again {
		c.State, c.NextAt = store.ContactPending, next
	} else {
		c.State = store.ContactDone
	}
	if err := d.n.st.UpdateContact(ctx, name, c); err != nil {
		d.log.Error("a disposition's retry", "campaign", name, "err", err)
	}
}
