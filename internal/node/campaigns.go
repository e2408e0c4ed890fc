package node

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	acdpkg "github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/api"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/outbound"
	"github.com/switchboard/switchboard/internal/store"
)

// campaigns gives the API the outbound campaigns: the setup defines them,
// the store keeps their state, contacts, attempts and the do-not-call
// list, and the dialer (dialer.go) dials the running ones.
type campaigns struct{ n *Node }

func (c campaigns) campaign(name string) (config.Campaign, error) {
	k, ok := c.n.current().CampaignByName(name)
	if !ok {
		return config.Campaign{}, fmt.Errorf("%w: %q", api.ErrNoCampaign, name)
	}
	return k, nil
}

func (c campaigns) List(ctx context.Context) ([]api.CampaignStatus, error) {
	out := []api.CampaignStatus{}
	for _, k := range c.n.current().Campaigns {
		st, err := c.status(ctx, k)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func (c campaigns) Mine(ctx context.Context, agent string) ([]api.AgentCampaign, error) {
	out := []api.AgentCampaign{}
	cfg := c.n.current()
	a, ok := cfg.AgentByExtension(agent)
	if !ok {
		return out, nil
	}
	for _, k := range cfg.Campaigns {
		if !slices.Contains(a.Queues, k.Queue) {
			continue
		}
		run, err := c.n.st.CampaignRun(ctx, k.Name)
		if err != nil {
			return nil, err
		}
		if run.State == store.CampaignRunning {
			out = append(out, api.AgentCampaign{Name: k.Name, Mode: k.Mode, Queue: k.Queue})
		}
	}
	return out, nil
}

func (c campaigns) Status(ctx context.Context, name string) (api.CampaignStatus, error) {
	k, err := c.campaign(name)
	if err != nil {
		return api.CampaignStatus{}, err
	}
	return c.status(ctx, k)
}

func (c campaigns) status(ctx context.Context, k config.Campaign) (api.CampaignStatus, error) {
	st := c.n.st
	run, err := st.CampaignRun(ctx, k.Name)
	if err != nil {
		return api.CampaignStatus{}, err
	}
	counts, err := st.CampaignCounts(ctx, k.Name, time.Time{})
	if err != nil {
		return api.CampaignStatus{}, err
	}
	rolling, err := st.CampaignCounts(ctx, k.Name, time.Now().Add(-outbound.RollingWindow))
	if err != nil {
		return api.CampaignStatus{}, err
	}
	out := api.CampaignStatus{Name: k.Name, Mode: k.Mode, Queue: k.Queue, State: run.State, CampaignCounts: counts, Target: k.AbandonTarget,
		AbandonRate:    outbound.Counts{Live: counts.Live, Dropped: counts.Abandoned}.Rate(),
		AbandonRate30d: outbound.Counts{Live: rolling.Live, Dropped: rolling.Abandoned}.Rate()}
	if d := c.n.dialer; d != nil {
		out.Lines = d.lines(k.Name)
	}
	return out, nil
}

func (c campaigns) Import(ctx context.Context, name string, r io.Reader, mapping map[string]string, by string) (api.ContactImport, error) {
	k, err := c.campaign(name)
	if err != nil {
		return api.ContactImport{}, err
	}
	list, bad, err := outbound.ParseContacts(r, mapping)
	if err != nil { // nothing is added (a list cut short by the size limit too)
		return api.ContactImport{}, fmt.Errorf("%w: %w", api.ErrBadContacts, err)
	}
	now := time.Now()
	rows := make([]store.CampaignContact, len(list))
	nanp := outbound.InNANP(k.Timezone) // a campaign without a timezone runs in the server's, which has no name to tell
	for i, ct := range list {
		if ct.Zone == "" && nanp { // a national number in a North American campaign: its area code's zone
			ct.Zone = outbound.NANPZone(ct.Number)
		}
		rows[i] = store.CampaignContact{Number: ct.Number, Zone: ct.Zone, Fields: ct.Fields, AddedAt: now}
	}
	added, dups, err := c.n.st.AddContacts(ctx, name, rows)
	if err != nil {
		return api.ContactImport{}, err
	}
	if bad == nil {
		bad = []outbound.RowError{}
	}
	if dups == nil {
		dups = []string{}
	}
	c.n.log.Info("contacts imported", "campaign", name, "added", added, "duplicates", len(dups), "rejected", len(bad), "by", by)
	return api.ContactImport{Added: added, Duplicates: dups, Rejected: bad, Fields: outbound.FieldNames(list)}, nil
}

func (c campaigns) Contacts(ctx context.Context, name string, offset, limit int) ([]store.CampaignContact, error) {
	if _, err := c.campaign(name); err != nil {
		return nil, err
	}
	return c.n.st.Contacts(ctx, name, offset, limit)
}

func (c campaigns) SetState(ctx context.Context, name, state, by string) (api.CampaignStatus, error) {
	k, err := c.campaign(name)
	if err != nil {
		return api.CampaignStatus{}, err
	}
	if err := c.n.st.SetCampaignRun(ctx, name, store.CampaignRun{State: state, At: time.Now(), Actor: by}); err != nil {
		return api.CampaignStatus{}, err
	}
	c.n.log.Info("campaign "+state, "campaign", name, "by", by)
	if d := c.n.dialer; d != nil {
		d.poke()
	}
	return c.status(ctx, k)
}

// dncEntry normalizes an entry of the do-not-call list: a number, or a
// prefix ending in *.
func dncEntry(entry string) (string, error) {
	digits, prefix := strings.CutSuffix(strings.TrimSpace(entry), "*")
	n := outbound.Normalize(digits)
	if n == "" {
		return "", fmt.Errorf("%w: %q (digits, formatting and a leading +; a prefix ends in *)", api.ErrBadNumber, entry)
	}
	if prefix {
		n += "*"
	}
	return n, nil
}

func (c campaigns) AddDNC(ctx context.Context, entry, by string) (store.DNCEntry, error) {
	n, err := dncEntry(entry)
	if err != nil {
		return store.DNCEntry{}, err
	}
	e := store.DNCEntry{Number: n, List: "internal", At: time.Now().UTC().Truncate(time.Millisecond), Actor: by}
	if err := c.n.st.AddDNC(ctx, e); err != nil {
		return store.DNCEntry{}, err
	}
	c.n.log.Info("do-not-call entry added", "number", n, "by", by)
	return e, nil
}

func (c campaigns) RemoveDNC(ctx context.Context, entry, by string) (bool, error) {
	n, err := dncEntry(entry)
	if err != nil {
		return false, err
	}
	found, err := c.n.st.RemoveDNC(ctx, n)
	if found {
		c.n.log.Info("do-not-call entry removed", "number", n, "by", by)
	}
	return found, err
}

func (c campaigns) DNC(ctx context.Context, list string, offset, limit int) ([]store.DNCEntry, error) {
	return c.n.st.DNC(ctx, list, offset, limit)
}

// maxRejected bounds the rejected lines an import reports.
const maxRejected = 100

func (c campaigns) ImportDNC(ctx context.Context, list string, r io.Reader, replace bool, by string) (api.DNCImport, error) {
	res := api.DNCImport{List: list, Rejected: []outbound.RowError{}}
	var entries []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 4096)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff") // a UTF-8 byte-order mark
		}
		field, _, _ := strings.Cut(text, ",")
		field = strings.Trim(strings.TrimSpace(field), `"`)
		if field == "" {
			continue
		}
		n, err := dncEntry(field)
		if err != nil {
			if line > 1 { // the first line may be a header
				res.RejectedCount++
				if len(res.Rejected) < maxRejected {
					res.Rejected = append(res.Rejected, outbound.RowError{Line: line, Reason: fmt.Sprintf("%q is neither a number nor a prefix*", field)})
				}
			}
			continue
		}
		entries = append(entries, n)
	}
	if err := sc.Err(); err != nil { // nothing is added
		return api.DNCImport{}, fmt.Errorf("%w: line %d: %w", api.ErrBadContacts, line+1, err)
	}
	if len(entries) == 0 || res.RejectedCount > len(entries) {
		// not a list of numbers (another column, another separator, an
		// error page): nothing changes, a list being replaced included
		return api.DNCImport{}, fmt.Errorf("%w: %d lines are numbers or prefixes, %d are not: the numbers must be the first column", api.ErrBadContacts, len(entries), res.RejectedCount)
	}
	added, err := c.n.st.ImportDNC(ctx, list, entries, replace, time.Now().UTC().Truncate(time.Millisecond), by)
	if err != nil {
		return api.DNCImport{}, err
	}
	res.Added = added
	lists, err := c.n.st.DNCLists(ctx)
	if err != nil {
		return api.DNCImport{}, err
	}
	for _, l := range lists {
		if l.List == list {
			res.Entries = l.Entries
		}
	}
	c.n.log.Info("do-not-call list imported", "list", list, "added", added, "entries", res.Entries, "replace", replace, "by", by)
	return res, nil
}

func (c campaigns) DNCLists(ctx context.Context) ([]store.DNCList, error) {
	return c.n.st.DNCLists(ctx)
}

func (c campaigns) RemoveDNCList(ctx context.Context, list, by string) (int, error) {
	n, err := c.n.st.RemoveDNCList(ctx, list)
	if n > 0 {
		c.n.log.Info("do-not-call list removed", "list", list, "entries", n, "by", by)
	}
	return n, err
}

// previewCampaign is the running preview campaign name that agent works.
func (c campaigns) previewCampaign(name, agent string) (config.Campaign, error) {
	k, err := c.campaign(name)
	if err != nil {
		return k, err
	}
	if k.OutboundMode() != outbound.Preview {
		return k, fmt.Errorf("%w: %s is a %s campaign: its calls come to agents by themselves", api.ErrNotPreview, name, k.Mode)
	}
	a, ok := c.n.current().AgentByExtension(agent)
	if !ok || !slices.Contains(a.Queues, k.Queue) {
		return k, fmt.Errorf("%w: %s does not work queue %s", api.ErrNotCampaignAgent, agent, k.Queue)
	}
	return k, nil
}

func (c campaigns) Preview(ctx context.Context, name, agent string) (store.CampaignContact, bool, error) {
	k, err := c.previewCampaign(name, agent)
	if err != nil {
		return store.CampaignContact{}, false, err
	}
	run, err := c.n.st.CampaignRun(ctx, name)
	if err != nil {
		return store.CampaignContact{}, false, err
	}
	if run.State != store.CampaignRunning {
		return store.CampaignContact{}, false, fmt.Errorf("%w: campaign %s is %s", api.ErrNotPreview, name, run.State)
	}
	// A new contact is claimed only for an agent free to call it; one they
	// hold already is theirs whatever their state.
	free := false
	if a, ok := c.n.mgr.ACD().Agent(agent); ok && (a.State == acdpkg.Available || a.State == acdpkg.WrapUp) {
		free = true
	}
	var checkErr error
	ct, ok, err := c.n.st.PreviewContact(ctx, name, agent, time.Now(), func(ct store.CampaignContact) bool {
		if !free {
			return false
		}
		if ct.Agent != "" && ct.Agent != agent {
			return false // a callback scheduled for another agent
		}
		ok, err := c.n.dialer.callable(ctx, k, &ct, time.Now())
		if err != nil {
			checkErr = err
		}
		return ok && err == nil
	})
	if checkErr != nil {
		return store.CampaignContact{}, false, checkErr
	}
	return ct, ok, err
}

func (c campaigns) PreviewDial(ctx context.Context, name, agent string) (string, error) {
	k, err := c.previewCampaign(name, agent)
	if err != nil {
		return "", err
	}
	ct, ok, err := c.held(ctx, name, agent)
	if err != nil || !ok {
		return "", err
	}
	// the do-not-call list again, at the moment of dialling
	if ok, err := c.n.dialer.callable(ctx, k, &ct, time.Now()); err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("%w: the contact may not be called now (its window, or the do-not-call list)", api.ErrNoPreview)
		}
		return "", err
	}
	ct.State, ct.Attempts = store.ContactDialing, ct.Attempts+1
	if took, err := c.n.st.TakePreview(ctx, name, agent, ct); err != nil || !took {
		if err == nil {
			err = fmt.Errorf("%w: the contact was given back meanwhile", api.ErrNoPreview)
		}
		return "", err
	}
	id, err := c.n.mgr.PreviewDial(agent, c.n.dialer.campaignDial(k, ct))
	if err != nil {
		ct.State, ct.Attempts = store.ContactPreviewing, ct.Attempts-1
		_ = c.n.st.UpdateContact(ctx, name, ct)
		return "", err
	}
	return id, nil
}

// held is the contact agent previews in campaign name.
func (c campaigns) held(ctx context.Context, name, agent string) (store.CampaignContact, bool, error) {
	ct, ok, err := c.n.st.PreviewContact(ctx, name, agent, time.Now(), func(store.CampaignContact) bool { return false })
	if err != nil {
		return ct, false, err
	}
	if !ok {
		return ct, false, fmt.Errorf("%w: ask for the next contact first (GET .../preview)", api.ErrNoPreview)
	}
	return ct, true, nil
}

func (c campaigns) ScheduleCallback(ctx context.Context, name, number string, at time.Time, agent, by string) error {
	if _, err := c.campaign(name); err != nil {
		return err
	}
	n := outbound.Normalize(number)
	found, ok, err := c.n.st.ScheduleCallback(ctx, name, n, at, agent)
	switch {
	case err != nil:
		return err
	case !found:
		return fmt.Errorf("%w: %s in %s", api.ErrNoContact, number, name)
	case !ok:
		return fmt.Errorf("%w: %s", api.ErrContactBusy, number)
	}
	c.n.log.Info("campaign callback scheduled", "campaign", name, "number", n, "at", at, "agent", agent, "by", by)
	c.n.dialer.poke()
	return nil
}

func (c campaigns) PreviewSkip(ctx context.Context, name, agent, reason string) error {
	k, err := c.previewCampaign(name, agent)
	if err != nil {
		return err
	}
	ct, _, err := c.held(ctx, name, agent)
	if err != nil {
		return err
	}
	ct.State, ct.Agent, ct.NextAt = store.ContactPending, "", time.Now().Add(time.Hour)
	if took, err := c.n.st.TakePreview(ctx, name, agent, ct); err != nil || !took {
		if err == nil {
			err = fmt.Errorf("%w: the contact was given back meanwhile", api.ErrNoPreview)
		}
		return err
	}
	c.n.dialer.skipped(ctx, k, ct, "agent: "+reason)
	return nil
}
