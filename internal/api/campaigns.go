package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/outbound"
	"github.com/switchboard/switchboard/internal/report"
	"github.com/switchboard/switchboard/internal/store"
)

// maxContactsBytes bounds one contact (or do-not-call) list import.
const maxContactsBytes = 64 << 20

// dncListName is what an imported do-not-call list may be called.
var dncListName = regexp.MustCompile(`^[a-z0-9_-]{1,40}$`)

// CampaignStatus is a campaign's state and figures.
type CampaignStatus struct {
	Name  string `json:"name"`
	Mode  string `json:"mode"`
	Queue string `json:"queue"`
	State string `json:"state"`
	store.CampaignCounts
	// AbandonRate is the share of live answers dropped over the campaign;
	// AbandonRate30d over its last 30 days.
	AbandonRate    float64 `json:"abandon_rate"`
	AbandonRate30d float64 `json:"abandon_rate_30d"`
	// Lines is the calls dialling or connected now.
	Lines int `json:"lines"`
	// Target is the campaign's abandonment target.
	Target float64 `json:"target"`
}

// AgentCampaign is a running campaign an agent works (their desktop's
// campaign panel).
type AgentCampaign struct {
	Name  string `json:"name"`
	Mode  string `json:"mode"`
	Queue string `json:"queue"`
}

// DNCImport is what an import of a do-not-call list did.
type DNCImport struct {
	List  string `json:"list"`
	Added int    `json:"added"`
	// Entries is the list's entries after the import.
	Entries int `json:"entries"`
	// Rejected are lines that are neither a number nor a prefix (the
	// first 100), RejectedCount all of them.
	Rejected      []outbound.RowError `json:"rejected"`
	RejectedCount int                 `json:"rejected_count"`
}

// ContactImport is what an import of a contact list did.
type ContactImport struct {
	Added int `json:"added"`
	// Duplicates are numbers the list had already (left as they were).
	Duplicates []string `json:"duplicates"`
	// Rejected are rows not taken, with why.
	Rejected []outbound.RowError `json:"rejected"`
	Fields   []string            `json:"fields"`
}

// Campaigns runs the outbound campaigns.
type Campaigns interface {
	List(ctx context.Context) ([]CampaignStatus, error)
	// Mine is the running campaigns agent works (by their queues).
	Mine(ctx context.Context, agent string) ([]AgentCampaign, error)
	Status(ctx context.Context, name string) (CampaignStatus, error)
	// Import adds a CSV list's contacts; mapping renames its columns.
	Import(ctx context.Context, name string, csv io.Reader, mapping map[string]string, by string) (ContactImport, error)
	Contacts(ctx context.Context, name string, offset, limit int) ([]store.CampaignContact, error)
	// SetState starts (running), pauses or stops a campaign.
	SetState(ctx context.Context, name, state, by string) (CampaignStatus, error)
	// Preview is the contact agent previews in a preview campaign (the one
	// they hold, or the next due, which becomes theirs); false when none
	// is due. PreviewDial calls it (their phone first); PreviewSkip passes
	// it by, with a reason.
	Preview(ctx context.Context, name, agent string) (store.CampaignContact, bool, error)
	PreviewDial(ctx context.Context, name, agent string) (string, error)
	PreviewSkip(ctx context.Context, name, agent, reason string) error
	// ScheduleCallback makes a contact due at a time, for a named agent
	// ("" for any).
	ScheduleCallback(ctx context.Context, name, number string, at time.Time, agent, by string) error
	AddDNC(ctx context.Context, entry, by string) (store.DNCEntry, error)
	// ImportDNC puts a list's entries (one number or prefix per line, or
	// a CSV whose first column they are) on the do-not-call list under the
	// list's name; replace drops the list's earlier entries first.
	ImportDNC(ctx context.Context, list string, r io.Reader, replace bool, by string) (DNCImport, error)
	DNCLists(ctx context.Context) ([]store.DNCList, error)
	RemoveDNCList(ctx context.Context, list, by string) (int, error)
	RemoveDNC(ctx context.Context, entry, by string) (bool, error)
	// DNC is the do-not-call entries of list ("" for every list) by
	// number, from offset, at most limit.
	DNC(ctx context.Context, list string, offset, limit int) ([]store.DNCEntry, error)
}

// Errors of Campaigns: no such campaign (404), a list that cannot be read
// or a number that is none (422).
var (
	ErrNoCampaign  = errors.New("no such campaign")
	ErrBadContacts = errors.New("the contact list cannot be read")
	ErrBadNumber   = errors.New("not a phone number")
	// ErrNotPreview: the campaign is not a running preview campaign (409).
	ErrNotPreview = errors.New("not a running preview campaign")
	// ErrNotCampaignAgent: the agent does not work the campaign's queue (403).
	ErrNotCampaignAgent = errors.New("not an agent of the campaign")
	// ErrNoPreview: the agent holds no contact to dial or skip (409).
	ErrNoPreview = errors.New("no contact previewed")
	// ErrNoContact: the campaign has no such contact (404).
	ErrNoContact = errors.New("no such contact")
	// ErrContactBusy: the contact is being dialled now (409).
	ErrContactBusy = errors.New("the contact is being dialled now")
)

// ServeCampaigns serves /api/v1/campaigns (the campaigns themselves are
// created and edited as part of the setup: POST /api/v1/campaigns is the
// setup's campaigns collection) and /api/v1/dnc.
func (s *Server) ServeCampaigns(c Campaigns) {
	fail := func(w http.ResponseWriter, err error, what string) {
		switch {
		case errors.Is(err, ErrNoCampaign), errors.Is(err, ErrNoContact):
			writeError(w, 404, err.Error())
		case errors.Is(err, ErrContactBusy):
			writeError(w, 409, err.Error())
		case errors.Is(err, ErrBadContacts), errors.Is(err, ErrBadNumber):
			writeJSON(w, 422, map[string]any{"errors": []string{err.Error()}})
		case errors.Is(err, ErrNotCampaignAgent):
			writeError(w, 403, err.Error())
		case errors.Is(err, ErrNotPreview), errors.Is(err, ErrNoPreview):
			writeError(w, 409, err.Error())
		case errors.Is(err, call.ErrBusy), errors.Is(err, call.ErrShuttingDown):
			writeError(w, 503, err.Error())
		case errors.Is(err, acd.ErrAgentBusy), errors.Is(err, acd.ErrLoggedOut):
			writeError(w, 409, err.Error())
		default:
			s.log.Error("api: "+what, "err", err)
			writeError(w, 500, "could not "+what)
		}
	}
	// imported answers a list's import (contacts, do-not-call): 413 for
	// one over maxContactsBytes.
	imported := func(w http.ResponseWriter, res any, err error, what string) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, 413, fmt.Sprintf("a list must be at most %d MiB: split it", maxContactsBytes>>20))
			return
		}
		if err != nil {
			fail(w, err, what)
			return
		}
		writeJSON(w, 200, res)
	}
	s.handle("GET /api/v1/campaigns", func(w http.ResponseWriter, r *http.Request) {
		list, err := c.List(r.Context())
		if err != nil {
			fail(w, err, "list the campaigns")
			return
		}
		writeJSON(w, 200, map[string]any{"campaigns": list})
	}, staff())
	s.handle("GET /api/v1/campaigns/mine", func(w http.ResponseWriter, r *http.Request) {
		list, err := c.Mine(r.Context(), who(r).name)
		if err != nil {
			fail(w, err, "list the agent's campaigns")
			return
		}
		writeJSON(w, 200, map[string]any{"campaigns": list})
	}, []string{config.RoleAgent})
	s.handle("GET /api/v1/campaigns/{name}", func(w http.ResponseWriter, r *http.Request) {
		st, err := c.Status(r.Context(), r.PathValue("name"))
		if err != nil {
			fail(w, err, "read the campaign")
			return
		}
		writeJSON(w, 200, st)
	}, staff())
	for _, action := range []struct{ path, state string }{{"start", store.CampaignRunning}, {"pause", store.CampaignPaused}, {"stop", store.CampaignStopped}} {
		s.handle("POST /api/v1/campaigns/{name}/"+action.path, func(w http.ResponseWriter, r *http.Request) {
			st, err := c.SetState(r.Context(), r.PathValue("name"), action.state, who(r).name)
			if err != nil {
				fail(w, err, action.path+" the campaign")
				return
			}
			writeJSON(w, 200, st)
		}, staff())
	}
	s.handle("POST /api/v1/campaigns/{name}/contacts", func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			writeError(w, 415, "send the contact list as text/csv (a header row naming at least number)")
			return
		}
		// ?map=Phone:number,Zone:timezone renames the list's columns
		mapping := map[string]string{}
		if m := r.URL.Query().Get("map"); m != "" {
			for _, pair := range strings.Split(m, ",") {
				from, to, ok := strings.Cut(pair, ":")
				if !ok || from == "" || to == "" {
					writeJSON(w, 422, map[string]any{"errors": []string{fmt.Sprintf("map: %q is not column:field", pair)}})
					return
				}
				mapping[from] = to
			}
		}
		res, err := c.Import(r.Context(), r.PathValue("name"), http.MaxBytesReader(w, r.Body, maxContactsBytes), mapping, who(r).name)
		imported(w, res, err, "import the contacts")
	}, staff())
	s.handle("GET /api/v1/campaigns/{name}/contacts", func(w http.ResponseWriter, r *http.Request) {
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
		if err != nil || limit <= 0 || limit > 1000 {
			limit = 100
		}
		list, err := c.Contacts(r.Context(), r.PathValue("name"), max(0, offset), limit)
		if err != nil {
			fail(w, err, "list the contacts")
			return
		}
		writeJSON(w, 200, map[string]any{"contacts": list})
	}, staff())
	// Preview dialling, for the campaign's agents.
	agents := []string{config.RoleAgent}
	s.handle("GET /api/v1/campaigns/{name}/preview", func(w http.ResponseWriter, r *http.Request) {
		ct, ok, err := c.Preview(r.Context(), r.PathValue("name"), who(r).name)
		if err != nil {
			fail(w, err, "preview a contact")
			return
		}
		if !ok {
			writeJSON(w, 200, map[string]any{"contact": nil, "reason": "no contact is due now"})
			return
		}
		// the campaign's queue's script, filled with the contact's fields
		script, cfg := "", s.config()
		if k, ok := cfg.CampaignByName(r.PathValue("name")); ok {
			if q, ok := cfg.QueueByName(k.Queue); ok {
				script = renderScript(q.Script, store.CallRecord{Caller: ct.Number, CallerName: ct.Fields["name"], Queue: k.Queue}, ct.Fields)
			}
		}
		writeJSON(w, 200, map[string]any{"contact": ct, "script": script})
	}, agents)
	s.handle("POST /api/v1/campaigns/{name}/preview/dial", func(w http.ResponseWriter, r *http.Request) {
		id, err := c.PreviewDial(r.Context(), r.PathValue("name"), who(r).name)
		if err != nil {
			fail(w, err, "dial the contact")
			return
		}
		writeJSON(w, 202, map[string]any{"call_id": id})
	}, agents)
	s.handle("POST /api/v1/campaigns/{name}/preview/skip", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Reason string `json:"reason"`
		}
		if err := decodeBody(w, r, &body, 4<<10); err != nil {
			writeError(w, 400, "body: "+err.Error())
			return
		}
		if strings.TrimSpace(body.Reason) == "" || len(body.Reason) > 200 {
			writeJSON(w, 422, map[string]any{"errors": []string{"reason: required, at most 200 characters"}})
			return
		}
		if err := c.PreviewSkip(r.Context(), r.PathValue("name"), who(r).name, body.Reason); err != nil {
			fail(w, err, "skip the contact")
			return
		}
		writeJSON(w, 200, map[string]any{"skipped": true})
	}, agents)
	// A callback the contact asked for: staff name any agent (or none),
	// an agent schedules it for themselves.
	s.handle("POST /api/v1/campaigns/{name}/contacts/{number}/callback", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			At    time.Time `json:"at"`
			Agent string    `json:"agent"`
		}
		if err := decodeBody(w, r, &body, 4<<10); err != nil {
			writeError(w, 400, "body: "+err.Error())
			return
		}
		p := who(r)
		if p.role == config.RoleAgent {
			if body.Agent != "" && body.Agent != p.name {
				writeError(w, 403, "agents schedule callbacks for themselves")
				return
			}
			body.Agent = p.name
		}
		if body.At.IsZero() || body.At.Before(time.Now().Add(-time.Minute)) || body.At.After(time.Now().Add(366*24*time.Hour)) {
			writeJSON(w, 422, map[string]any{"errors": []string{"at: an RFC 3339 time from now to a year ahead"}})
			return
		}
		if body.Agent != "" {
			if _, ok := s.config().AgentByExtension(body.Agent); !ok {
				writeJSON(w, 422, map[string]any{"errors": []string{fmt.Sprintf("agent: %q is not an agent", body.Agent)}})
				return
			}
		}
		if err := c.ScheduleCallback(r.Context(), r.PathValue("name"), r.PathValue("number"), body.At, body.Agent, p.name); err != nil {
			fail(w, err, "schedule the callback")
			return
		}
		writeJSON(w, 200, map[string]any{"scheduled": body.At, "agent": body.Agent})
	}, append(staff(), config.RoleAgent))
	s.handle("GET /api/v1/dnc", func(w http.ResponseWriter, r *http.Request) {
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
		if err != nil || limit <= 0 || limit > 10000 {
			limit = 1000
		}
		list, err := c.DNC(r.Context(), r.URL.Query().Get("list"), max(0, offset), limit)
		if err != nil {
			fail(w, err, "read the do-not-call list")
			return
		}
		writeJSON(w, 200, map[string]any{"numbers": list})
	}, staff())
	s.handle("POST /api/v1/dnc", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Number string `json:"number"`
		}
		if err := decodeBody(w, r, &body, 4<<10); err != nil {
			writeError(w, 400, "body: "+err.Error())
			return
		}
		e, err := c.AddDNC(r.Context(), body.Number, who(r).name)
		if err != nil {
			fail(w, err, "add to the do-not-call list")
			return
		}
		writeJSON(w, 201, e)
	}, staff())
	s.handle("GET /api/v1/dnc/lists", func(w http.ResponseWriter, r *http.Request) {
		lists, err := c.DNCLists(r.Context())
		if err != nil {
			fail(w, err, "read the do-not-call lists")
			return
		}
		writeJSON(w, 200, map[string]any{"lists": lists})
	}, staff())
	s.handle("POST /api/v1/dnc/lists/{list}", func(w http.ResponseWriter, r *http.Request) {
		list := r.PathValue("list")
		if !dncListName.MatchString(list) || list == "internal" {
			writeJSON(w, 422, map[string]any{"errors": []string{`list: a name of a-z, 0-9, _ and - (at most 40), not "internal" (the list entries are added to one by one)`}})
			return
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") && !strings.HasPrefix(ct, "text/plain") {
			writeError(w, 415, "send the list as text/plain (a number or prefix* per line) or text/csv (numbers in the first column)")
			return
		}
		res, err := c.ImportDNC(r.Context(), list, http.MaxBytesReader(w, r.Body, maxContactsBytes), r.URL.Query().Get("replace") == "true", who(r).name)
		imported(w, res, err, "import the do-not-call list")
	}, []string{config.RoleAdmin})
	s.handle("DELETE /api/v1/dnc/lists/{list}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("list") == "internal" {
			writeError(w, 409, "the internal list is removed entry by entry (DELETE /api/v1/dnc/{number})")
			return
		}
		n, err := c.RemoveDNCList(r.Context(), r.PathValue("list"), who(r).name)
		if err != nil {
			fail(w, err, "remove the do-not-call list")
			return
		}
		if n == 0 {
			writeError(w, 404, "no such do-not-call list, or it is empty")
			return
		}
		writeJSON(w, 200, map[string]any{"removed": n})
	}, []string{config.RoleAdmin})
	s.handle("DELETE /api/v1/dnc/{number}", func(w http.ResponseWriter, r *http.Request) {
		found, err := c.RemoveDNC(r.Context(), r.PathValue("number"), who(r).name)
		if err != nil {
			fail(w, err, "remove from the do-not-call list")
			return
		}
		if !found {
			writeError(w, 404, "the number is not on the do-not-call list")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}, staff())
}

// CampaignReports are what the campaign and compliance reports read.
type CampaignReports interface {
	CampaignBuckets(ctx context.Context, from, to time.Time, interval time.Duration, wrongParty []string) ([]store.CampaignBucket, error)
	CampaignCountsBetween(ctx context.Context, campaign string, since, until time.Time) (store.CampaignCounts, error)
	Penetration(ctx context.Context, campaign string) (tried, contacts int, err error)
	Drops(ctx context.Context, campaign string, from, to time.Time, limit int) ([]store.Drop, error)
}

// wrongParty are the disposition codes that do not count as a right-party
// contact (an agent reached somebody, not the contact).
var wrongParty = []string{"wrong_number", "wrong_party", "wrong_person"}

// CampaignRow is a campaign's figures over an interval (or the whole range).
type CampaignRow struct {
	Campaign  string `json:"campaign"`
	Start     string `json:"start,omitempty"`
	Attempts  int    `json:"attempts"`
	Connected int    `json:"connected"`
	// RightParty: connected calls whose disposition is not a wrong-party code.
	RightParty int `json:"right_party_contacts"`
	Live       int `json:"live"`
	Dropped    int `json:"dropped"`
	// AbandonRate is dropped / live answers; AbandonRate30d over the
	// campaign's 30 days up to the interval's end.
	AbandonRate    float64        `json:"abandon_rate"`
	AbandonRate30d float64        `json:"abandon_rate_30d"`
	AMD            map[string]int `json:"amd"`
	Machines       int            `json:"machines"`
	Busy           int            `json:"busy"`
	NoAnswer       int            `json:"no_answer"`
	Failed         int            `json:"failed"`
	Skipped        int            `json:"skipped"`
	DNCSkipped     int            `json:"dnc_skipped"`
	TalkSeconds    float64        `json:"talk_seconds"`
	// Penetration (totals only) is the share of the list dialled at least once.
	Penetration *float64 `json:"list_penetration,omitempty"`
	// AgentOccupancy (totals only) is the occupancy of the agents of the
	// campaign's queue over the range, as the agent report counts it
	// (their inbound calls too, on a blended campaign).
	AgentOccupancy *float64 `json:"agent_occupancy,omitempty"`
}

func (r *CampaignRow) add(b store.CampaignBucket) {
	r.Attempts += b.Attempts
	r.Connected += b.Connected
	r.RightParty += b.RightParty
	r.Live += b.Live
	r.Dropped += b.Dropped
	r.AMD["human"] += b.AMDHuman
	r.AMD["machine"] += b.AMDMachine
	r.AMD["unknown"] += b.AMDUnknown
	r.Machines += b.Machines
	r.Busy += b.Busy
	r.NoAnswer += b.NoAnswer
	r.Failed += b.Failed
	r.Skipped += b.Skipped
	r.DNCSkipped += b.DNCSkipped
	r.TalkSeconds += b.TalkSeconds
	r.AbandonRate = outbound.Counts{Live: r.Live, Dropped: r.Dropped}.Rate()
}

// campaignReport answers GET /api/v1/reports/campaigns?from=&to=&interval=:
// per campaign and interval the attempts, connects, right-party contacts,
// AMD's decisions, drops and abandonment (over the interval and the 30
// days to its end), skips and talk; a total per campaign with the list's
// penetration.
func (s *Server) campaignReport(w http.ResponseWriter, r *http.Request) {
	if s.CampaignReports == nil {
		writeError(w, 404, "reports are not enabled")
		return
	}
	from, to, ok := reportRange(w, r)
	if !ok {
		return
	}
	interval := time.Hour
	if v := r.URL.Query().Get("interval"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 15*time.Minute {
			writeError(w, 400, "interval: a duration of at least 15m, e.g. 1h, 24h")
			return
		}
		interval = d
	}
	if to.Sub(from)/interval > 2000 {
		writeError(w, 400, "too many intervals: widen the interval or narrow the range")
		return
	}
	ctx := r.Context()
	buckets, err := s.CampaignReports.CampaignBuckets(ctx, from, to, interval, wrongParty)
	if err != nil {
		s.log.Error("api: campaign report", "err", err)
		writeError(w, 500, "could not compute the report")
		return
	}
	rolling := func(campaign string, end time.Time) float64 {
		c, err := s.CampaignReports.CampaignCountsBetween(ctx, campaign, end.Add(-outbound.RollingWindow), end)
		if err != nil {
			return 0
		}
		return outbound.Counts{Live: c.Live, Dropped: c.Abandoned}.Rate()
	}
	rows := []CampaignRow{}
	totals := map[string]*CampaignRow{}
	var names []string
	for _, b := range buckets {
		start := from.Add(time.Duration(b.Index) * interval)
		row := CampaignRow{Campaign: b.Campaign, Start: start.Format(time.RFC3339), AMD: map[string]int{}}
		row.add(b)
		row.AbandonRate30d = rolling(b.Campaign, minTime(start.Add(interval), to))
		rows = append(rows, row)
		t, ok := totals[b.Campaign]
		if !ok {
			t = &CampaignRow{Campaign: b.Campaign, AMD: map[string]int{}}
			totals[b.Campaign] = t
			names = append(names, b.Campaign)
		}
		t.add(b)
	}
	occupancy := func(string) *float64 { return nil }
	if len(names) > 0 { // the agents' states are read only for campaigns to show
		occupancy = s.queueOccupancy(ctx, from, to)
	}
	var out []CampaignRow
	for _, name := range names {
		t := totals[name]
		t.AbandonRate30d = rolling(name, to)
		if k, ok := s.config().CampaignByName(name); ok {
			t.AgentOccupancy = occupancy(k.Queue)
		}
		if tried, contacts, err := s.CampaignReports.Penetration(ctx, name); err == nil && contacts > 0 {
			p := float64(tried) / float64(contacts)
			t.Penetration = &p
		}
		out = append(out, *t)
	}
	writeJSON(w, 200, map[string]any{"from": from, "to": to, "intervals": rows, "campaigns": out, "definitions": map[string]string{
		"attempts":             "calls dialled (skips not counted)",
		"connected":            "people an agent talked to",
		"right_party_contacts": "connected calls whose disposition is not " + strings.Join(wrongParty, ", "),
		"live":                 "calls a person answered (or AMD could not tell from one): the calls the abandonment rate counts",
		"dropped":              "people who answered and whom no agent took within 2 s: they heard the campaign's identification message",
		"abandon_rate":         "dropped / live, over the interval",
		"abandon_rate_30d":     "dropped / live over the campaign's 30 days up to the interval's end (the TSR's measure)",
		"amd":                  "answering-machine detection's decisions",
		"list_penetration":     "the share of the campaign's contacts dialled at least once",
		"talk_seconds":         "the connected calls' talk",
		"agent_occupancy":      "the campaign's queue's agents (as the setup has them now) over the range: (on call + on hold + wrap-up) / (that + available), their inbound calls included",
	}})
}

// queueOccupancy gives a queue's agents' occupancy from from to to (the
// agent report's handle time over handle and available time, summed over
// the queue's agents); nil when there are no reports or no such time.
func (s *Server) queueOccupancy(ctx context.Context, from, to time.Time) func(queue string) *float64 {
	none := func(string) *float64 { return nil }
	if s.Reports == nil {
		return none
	}
	if now := time.Now(); to.After(now) {
		to = now
	}
	if !to.After(from) {
		return none
	}
	list, err := s.agentRows(ctx, from, to)
	if err != nil {
		s.log.Error("api: campaign report: the agents' occupancy", "err", err)
		return none
	}
	cfg := s.config()
	rows := map[string]report.AgentRow{}
	for _, r := range list {
		rows[r.Agent] = r
	}
	return func(queue string) *float64 {
		var busy, total float64
		for _, a := range cfg.Agents {
			if !slices.Contains(a.Queues, queue) {
				continue
			}
			st := rows[a.Extension].StateSeconds
			b := st["on_call"] + st["on_hold"] + st["wrap_up"]
			busy, total = busy+b, total+b+st["available"]
		}
		if total == 0 {
			return nil
		}
		occ := busy / total
		return &occ
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// ComplianceDay is one day of a campaign's compliance report.
type ComplianceDay struct {
	Day     string  `json:"day"`
	Live    int     `json:"live"`
	Dropped int     `json:"dropped"`
	Rate    float64 `json:"abandon_rate"`
	// Rate30d is over the campaign's 30 days up to the day's end.
	Rate30d float64 `json:"abandon_rate_30d"`
	Within  bool    `json:"within_target"`
}

// complianceReport answers GET /api/v1/reports/compliance?from=&to=&campaign=:
// per campaign the live answers, drops and abandonment rate against its
// target, day by day with the rolling 30 days, and every drop (call id,
// number, time: each call's record shows its events, the identification
// message among them).
func (s *Server) complianceReport(w http.ResponseWriter, r *http.Request) {
	if s.CampaignReports == nil {
		writeError(w, 404, "reports are not enabled")
		return
	}
	from, to, ok := reportRange(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	only := r.URL.Query().Get("campaign")
	var out []map[string]any
	for _, k := range s.config().Campaigns {
		if only != "" && k.Name != only {
			continue
		}
		total, err := s.CampaignReports.CampaignCountsBetween(ctx, k.Name, from, to)
		if err != nil {
			writeError(w, 500, "could not compute the report")
			return
		}
		var days []ComplianceDay
		for d := from.UTC().Truncate(24 * time.Hour); d.Before(to) && len(days) < 400; d = d.Add(24 * time.Hour) {
			end := d.Add(24 * time.Hour)
			c, err1 := s.CampaignReports.CampaignCountsBetween(ctx, k.Name, d, end)
			roll, err2 := s.CampaignReports.CampaignCountsBetween(ctx, k.Name, end.Add(-outbound.RollingWindow), end)
			if err1 != nil || err2 != nil {
				writeError(w, 500, "could not compute the report")
				return
			}
			day := ComplianceDay{Day: d.Format(time.DateOnly), Live: c.Live, Dropped: c.Abandoned,
				Rate: outbound.Counts{Live: c.Live, Dropped: c.Abandoned}.Rate(), Rate30d: outbound.Counts{Live: roll.Live, Dropped: roll.Abandoned}.Rate()}
			day.Within = day.Rate30d <= k.AbandonTarget
			days = append(days, day)
		}
		drops, err := s.CampaignReports.Drops(ctx, k.Name, from, to, 1000)
		if err != nil {
			writeError(w, 500, "could not compute the report")
			return
		}
		rate := outbound.Counts{Live: total.Live, Dropped: total.Abandoned}.Rate()
		out = append(out, map[string]any{"campaign": k.Name, "target": k.AbandonTarget, "live": total.Live, "dropped": total.Abandoned,
			"abandon_rate": rate, "within_target": rate <= k.AbandonTarget, "days": days, "drops": drops, "skipped": total.Skipped})
	}
	if out == nil {
		out = []map[string]any{}
	}
	writeJSON(w, 200, map[string]any{"from": from, "to": to, "campaigns": out})
}
