package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Campaign states.
const (
	CampaignStopped = "stopped" // never started, or stopped: not dialling
	CampaignRunning = "running"
	CampaignPaused  = "paused"
)

// CampaignRun is whether a campaign dials.
type CampaignRun struct {
	State string    `json:"state"`
	At    time.Time `json:"at"`
	Actor string    `json:"by"`
}

// CampaignRun is the named campaign's state; stopped when it never ran.
func (s *Store) CampaignRun(ctx context.Context, campaign string) (CampaignRun, error) {
	var (
		r  CampaignRun
		at int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT state, at, actor FROM campaign_runs WHERE campaign = ?`, campaign).Scan(&r.State, &at, &r.Actor)
	if errors.Is(err, sql.ErrNoRows) {
		return CampaignRun{State: CampaignStopped}, nil
	}
	if err != nil {
		return CampaignRun{}, fmt.Errorf("store: campaign %s: %w", campaign, err)
	}
	r.At = time.UnixMilli(at).UTC()
	return r, nil
}

// SetCampaignRun records a campaign's new state.
func (s *Store) SetCampaignRun(ctx context.Context, campaign string, r CampaignRun) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO campaign_runs (campaign, state, at, actor) VALUES (?,?,?,?)
 ON CONFLICT (campaign) DO UPDATE SET state = excluded.state, at = excluded.at, actor = excluded.actor`,
		campaign, r.State, ms(r.At), r.Actor)
	if err != nil {
		return fmt.Errorf("store: set campaign %s %s: %w", campaign, r.State, err)
	}
	return nil
}

// Contact states.
const (
	ContactPending = "pending" // to be dialled at NextAt (zero: as soon as may be)
	ContactDone    = "done"    // finished: reached, attempts used up, a final outcome
)

// CampaignContact is one contact of a campaign's list.
type CampaignContact struct {
	Number      string            `json:"number"`
	Zone        string            `json:"timezone,omitempty"`
	Fields      map[string]string `json:"fields"`
	State       string            `json:"state"`
	Attempts    int               `json:"attempts"`
	NextAt      time.Time         `json:"next_at,omitzero"`
	LastOutcome string            `json:"last_outcome,omitempty"`
	// Agent is the agent a scheduled callback is for ("" for anyone).
	Agent   string    `json:"agent,omitempty"`
	AddedAt time.Time `json:"added_at"`
}

// AddContacts adds contacts to a campaign's list, in one transaction; a
// number the list has already is left as it is and returned in dups.
func (s *Store) AddContacts(ctx context.Context, campaign string, cs []CampaignContact) (added int, dups []string, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("store: add contacts to %s: %w", campaign, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	for _, c := range cs {
		fields, err := json.Marshal(c.Fields)
		if err != nil {
			return 0, nil, fmt.Errorf("store: contact %s: %w", c.Number, err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO campaign_contacts (campaign, number, zone, fields, state, added_at)
 VALUES (?,?,?,?,?,?) ON CONFLICT (campaign, number) DO NOTHING`, campaign, c.Number, c.Zone, string(fields), ContactPending, ms(c.AddedAt))
		if err != nil {
			return 0, nil, fmt.Errorf("store: add contact %s to %s: %w", c.Number, campaign, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			dups = append(dups, c.Number)
			continue
		}
		added++
	}
	if err := tx.Commit(); err != nil {
		return 0, nil, fmt.Errorf("store: add contacts to %s: %w", campaign, err)
	}
	return added, dups, nil
}

// Contacts lists a campaign's contacts in the order they were added, at
// most limit from offset.
func (s *Store) Contacts(ctx context.Context, campaign string, offset, limit int) ([]CampaignContact, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+contactColumns+`
 FROM campaign_contacts WHERE campaign = ? ORDER BY added_at, number LIMIT ? OFFSET ?`, campaign, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("store: contacts of %s: %w", campaign, err)
	}
	defer rows.Close()
	out := []CampaignContact{}
	for rows.Next() {
		c, err := scanContact(rows, campaign)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Attempt is one dial of a campaign, or one contact skipped at the moment
// it was due (Skip says why: dnc, window).
type Attempt struct {
	Campaign, Number string
	CallID           string
	At               time.Time
	Outcome          string // human, machine, unknown, no_answer, busy, failed; "" for a skip
	AMD              string // AMD's decision, "" when it did not listen
	Live, Dropped    bool
	Skip             string
	Agent            string
}

// RecordAttempt writes an attempt or a skip.
func (s *Store) RecordAttempt(ctx context.Context, a Attempt) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO campaign_attempts (campaign, number, call_id, at, outcome, amd, live, dropped, skip, agent)
 VALUES (?,?,?,?,?,?,?,?,?,?)`, a.Campaign, a.Number, a.CallID, ms(a.At), a.Outcome, a.AMD, b2i(a.Live), b2i(a.Dropped), a.Skip, a.Agent)
	if err != nil {
		return fmt.Errorf("store: attempt of %s to %s: %w", a.Campaign, a.Number, err)
	}
	return nil
}

// CampaignCounts is a campaign's figures over a period.
type CampaignCounts struct {
	Contacts   int `json:"contacts"`
	Pending    int `json:"pending"`
	Attempts   int `json:"attempts"`
	Live       int `json:"live"`
	Connected  int `json:"connected"`
	Machines   int `json:"machines"`
	Abandoned  int `json:"abandoned"`
	DNCSkipped int `json:"dnc_skipped"`
	// Skipped counts the skips by reason (dnc, window, …).
	Skipped map[string]int `json:"skipped"`
}

// CampaignCounts is the campaign's figures for attempts since since (the
// contacts are counted whatever their age). An empty campaign counts
// every campaign's attempts (the rolling abandonment rate).
func (s *Store) CampaignCounts(ctx context.Context, campaign string, since time.Time) (CampaignCounts, error) {
	return s.CampaignCountsBetween(ctx, campaign, since, time.UnixMilli(1<<62))
}

// CampaignCountsBetween is CampaignCounts for the attempts from since to
// before until.
func (s *Store) CampaignCountsBetween(ctx context.Context, campaign string, since, until time.Time) (CampaignCounts, error) {
	var c CampaignCounts
	c.Skipped = map[string]int{}
	where, args := "at >= ? AND at < ?", []any{ms(since), ms(until)}
	if campaign != "" {
		where, args = "campaign = ? AND at >= ? AND at < ?", []any{campaign, ms(since), ms(until)}
		err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN state = ? THEN 1 ELSE 0 END), 0)
 FROM campaign_contacts WHERE campaign = ?`, ContactPending, campaign).Scan(&c.Contacts, &c.Pending)
		if err != nil {
			return c, fmt.Errorf("store: contacts of %s: %w", campaign, err)
		}
	}
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN skip = '' THEN 1 ELSE 0 END), 0), COALESCE(SUM(live), 0),
 COALESCE(SUM(CASE WHEN live = 1 AND dropped = 0 THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN outcome = 'machine' THEN 1 ELSE 0 END), 0),
 COALESCE(SUM(dropped), 0) FROM campaign_attempts WHERE `+where, args...).Scan(&c.Attempts, &c.Live, &c.Connected, &c.Machines, &c.Abandoned)
	if err != nil {
		return c, fmt.Errorf("store: attempts of %s: %w", campaign, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT skip, COUNT(*) FROM campaign_attempts WHERE skip <> '' AND `+where+` GROUP BY skip`, args...)
	if err != nil {
		return c, fmt.Errorf("store: skips of %s: %w", campaign, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			reason string
			n      int
		)
		if err := rows.Scan(&reason, &n); err != nil {
			return c, fmt.Errorf("store: skips of %s: %w", campaign, err)
		}
		c.Skipped[reason] = n
	}
	c.DNCSkipped = c.Skipped["dnc"]
	return c, rows.Err()
}

// DNCEntry is an entry of the internal do-not-call list: a number, or a
// prefix ending in *.
type DNCEntry struct {
	Number string    `json:"number"`
	List   string    `json:"list"`
	At     time.Time `json:"at"`
	Actor  string    `json:"by"`
}

// AddDNC puts an entry on the do-not-call list (or updates it).
func (s *Store) AddDNC(ctx context.Context, e DNCEntry) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO dnc (number, list, at, actor) VALUES (?,?,?,?)
 ON CONFLICT (number, list) DO UPDATE SET at = excluded.at, actor = excluded.actor`, e.Number, e.List, ms(e.At), e.Actor)
	if err != nil {
		return fmt.Errorf("store: add %s to the do-not-call list: %w", e.Number, err)
	}
	return nil
}

// RemoveDNC takes an entry off the internal list (an imported list's stay,
// and still block it); found says whether it was there.
func (s *Store) RemoveDNC(ctx context.Context, number string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM dnc WHERE number = ? AND list = 'internal'`, number)
	if err != nil {
		return false, fmt.Errorf("store: remove %s from the do-not-call list: %w", number, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// DNC is the do-not-call list by number (a number on several lists once
// for each), from offset, at most limit entries; list "" is every list.
func (s *Store) DNC(ctx context.Context, list string, offset, limit int) ([]DNCEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT number, list, at, actor FROM dnc WHERE list = ? OR ? = ''
 ORDER BY number, list LIMIT ? OFFSET ?`, list, list, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("store: the do-not-call list: %w", err)
	}
	defer rows.Close()
	out := []DNCEntry{}
	for rows.Next() {
		var (
			e  DNCEntry
			at int64
		)
		if err := rows.Scan(&e.Number, &e.List, &at, &e.Actor); err != nil {
			return nil, fmt.Errorf("store: the do-not-call list: %w", err)
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// ContactDialing is a contact being dialled now; a start finds those a
// stopped server left and makes them pending again (ResetDialing).
const ContactDialing = "dialing"

// DueContacts are a campaign's pending contacts whose next attempt is due
// at now, the longest due first, at most limit.
func (s *Store) DueContacts(ctx context.Context, campaign string, now time.Time, limit int) ([]CampaignContact, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+contactColumns+`
 FROM campaign_contacts WHERE campaign = ? AND state = ? AND next_at <= ? ORDER BY next_at, added_at, number LIMIT ?`,
		campaign, ContactPending, ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due contacts of %s: %w", campaign, err)
	}
	defer rows.Close()
	out := []CampaignContact{}
	for rows.Next() {
		c, err := scanContact(rows, campaign)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// UpdateContact writes a contact's state, attempts, next attempt and last
// outcome.
func (s *Store) UpdateContact(ctx context.Context, campaign string, c CampaignContact) error {
	next := msOrZero(c.NextAt)
	_, err := s.db.ExecContext(ctx, `UPDATE campaign_contacts SET state = ?, attempts = ?, next_at = ?, last_outcome = ?, agent = ?, node = ?
 WHERE campaign = ? AND number = ?`, c.State, c.Attempts, next, c.LastOutcome, c.Agent, s.node, campaign, c.Number)
	if err != nil {
		return fmt.Errorf("store: update contact %s of %s: %w", c.Number, campaign, err)
	}
	return nil
}

// msOrZero is t in milliseconds, 0 for the zero time (no next attempt).
func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

// TakePreview updates a contact agent holds in a preview campaign (to
// dial it, or to skip it) only if they still hold it; false when they do
// not (given back meanwhile: the agent logged out, or went away).
func (s *Store) TakePreview(ctx context.Context, campaign, agent string, c CampaignContact) (bool, error) {
	next := msOrZero(c.NextAt)
	res, err := s.db.ExecContext(ctx, `UPDATE campaign_contacts SET state = ?, attempts = ?, next_at = ?, last_outcome = ?, agent = ?, node = ?
 WHERE campaign = ? AND number = ? AND state = ? AND agent = ?`, c.State, c.Attempts, next, c.LastOutcome, c.Agent, s.node,
		campaign, c.Number, ContactPreviewing, agent)
	if err != nil {
		return false, fmt.Errorf("store: take %s's preview %s of %s: %w", agent, c.Number, campaign, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Contact is one contact of a campaign; ok is false when there is none.
func (s *Store) Contact(ctx context.Context, campaign, number string) (CampaignContact, bool, error) {
	c, err := scanContact(s.db.QueryRowContext(ctx, `SELECT `+contactColumns+`
 FROM campaign_contacts WHERE campaign = ? AND number = ?`, campaign, number), campaign)
	if errors.Is(err, sql.ErrNoRows) {
		return CampaignContact{}, false, nil
	}
	if err != nil {
		return CampaignContact{}, false, err
	}
	return c, true, nil
}

// ClaimContact marks a pending contact as being dialled by this node, with
// its attempts; false when it is no longer pending (another dialler took
// it, or an agent).
func (s *Store) ClaimContact(ctx context.Context, campaign, number string, attempts int) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE campaign_contacts SET state = ?, attempts = ?, node = ? WHERE campaign = ? AND number = ? AND state = ?`,
		ContactDialing, attempts, s.node, campaign, number, ContactPending)
	if err != nil {
		return false, fmt.Errorf("store: claim %s of %s: %w", number, campaign, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ResetDialing makes pending again the contacts this node was dialling
// when it stopped (their attempt counted; a call that ended in time wrote
// its outcome), at its next start.
func (s *Store) ResetDialing(ctx context.Context) (int, error) { return s.ResetDialingOf(ctx, s.node) }

// ResetDialingOf makes pending again the contacts node was dialling: this
// node's at its start, a lost node's when the leader finds it lost.
func (s *Store) ResetDialingOf(ctx context.Context, node string) (int, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE campaign_contacts SET state = ? WHERE state = ? AND node = ?`, ContactPending, ContactDialing, node)
	if err != nil {
		return 0, fmt.Errorf("store: reset %s's dialling contacts: %w", node, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// PreviewsHeld lists the agents holding a contact of a preview campaign.
func (s *Store) PreviewsHeld(ctx context.Context, campaign string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT agent FROM campaign_contacts WHERE campaign = ? AND state = ?`, campaign, ContactPreviewing)
	if err != nil {
		return nil, fmt.Errorf("store: previews held in %s: %w", campaign, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("store: previews held in %s: %w", campaign, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ReleasePreviews makes pending again the contacts agent holds in a
// preview campaign (an agent who logged out).
func (s *Store) ReleasePreviews(ctx context.Context, campaign, agent string) (int, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE campaign_contacts SET state = ?, agent = '' WHERE campaign = ? AND state = ? AND agent = ?`,
		ContactPending, campaign, ContactPreviewing, agent)
	if err != nil {
		return 0, fmt.Errorf("store: release %s's previews in %s: %w", agent, campaign, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DNCList is one do-not-call list: "internal" (entries added one by one,
// and by dispositions), or an imported list's name, and its entries.
type DNCList struct {
	List    string `json:"list"`
	Entries int    `json:"entries"`
}

// dncBatch is the rows one statement of ImportDNC inserts.
const dncBatch = 500

// ImportDNC puts entries (numbers, or prefixes ending in *, normalized)
// on the do-not-call list under list's name, in one transaction; with
// replace, the list's earlier entries go first (a registry's new
// download). A number may be on several lists; each blocks it. It
// reports the entries added.
func (s *Store) ImportDNC(ctx context.Context, list string, entries []string, replace bool, at time.Time, actor string) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: import do-not-call list %s: %w", list, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if replace {
		if _, err := tx.ExecContext(ctx, `DELETE FROM dnc WHERE list = ?`, list); err != nil {
			return 0, fmt.Errorf("store: replace do-not-call list %s: %w", list, err)
		}
	}
	added := 0
	for len(entries) > 0 { // many rows a statement: a registry has millions
		batch := entries[:min(len(entries), dncBatch)]
		entries = entries[len(batch):]
		args := make([]any, 0, 4*len(batch))
		for _, e := range batch {
			args = append(args, e, list, ms(at), actor)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO dnc (number, list, at, actor) VALUES (?,?,?,?)`+strings.Repeat(",(?,?,?,?)", len(batch)-1)+
			` ON CONFLICT (number, list) DO NOTHING`, args...)
		if err != nil {
			return 0, fmt.Errorf("store: import into do-not-call list %s: %w", list, err)
		}
		n, _ := res.RowsAffected()
		added += int(n)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: import do-not-call list %s: %w", list, err)
	}
	return added, nil
}

// DNCLists counts each do-not-call list's entries.
func (s *Store) DNCLists(ctx context.Context) ([]DNCList, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT list, COUNT(*) FROM dnc GROUP BY list ORDER BY list`)
	if err != nil {
		return nil, fmt.Errorf("store: do-not-call lists: %w", err)
	}
	defer rows.Close()
	out := []DNCList{}
	for rows.Next() {
		var l DNCList
		if err := rows.Scan(&l.List, &l.Entries); err != nil {
			return nil, fmt.Errorf("store: do-not-call lists: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// RemoveDNCList removes an imported list's entries; it reports how many.
func (s *Store) RemoveDNCList(ctx context.Context, list string) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM dnc WHERE list = ?`, list)
	if err != nil {
		return 0, fmt.Errorf("store: remove do-not-call list %s: %w", list, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DNCMatch says whether number (normalized) is on the do-not-call list,
// itself or by one of its prefixes, and which list put it there.
func (s *Store) DNCMatch(ctx context.Context, number string) (string, bool, error) {
	keys := []any{number}
	for l := len(number); l > 0; l-- {
		keys = append(keys, number[:l]+"*")
	}
	q := `SELECT list FROM dnc WHERE number IN (?` + strings.Repeat(",?", len(keys)-1) + `) LIMIT 1`
	var list string
	err := s.db.QueryRowContext(ctx, q, keys...).Scan(&list)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: check %s against the do-not-call list: %w", number, err)
	}
	return list, true, nil
}

// ContactPreviewing is a preview campaign's contact an agent is looking at.
const ContactPreviewing = "previewing"

// PreviewContact is the contact agent previews in a campaign: the one they
// hold already, or else the first due one in pick's order that pick
// accepts, which becomes theirs (pick may update a contact it refuses:
// the window, the do-not-call list). ok is false when none is due.
func (s *Store) PreviewContact(ctx context.Context, campaign, agent string, now time.Time, pick func(CampaignContact) bool) (CampaignContact, bool, error) {
	var held CampaignContact
	err := func() error {
		rows, err := s.db.QueryContext(ctx, `SELECT number FROM campaign_contacts WHERE campaign = ? AND state = ? AND agent = ? LIMIT 1`,
			campaign, ContactPreviewing, agent)
		if err != nil {
			return err
		}
		defer rows.Close()
		if rows.Next() {
			return rows.Scan(&held.Number)
		}
		return rows.Err()
	}()
	if err != nil {
		return CampaignContact{}, false, fmt.Errorf("store: %s's preview in %s: %w", agent, campaign, err)
	}
	if held.Number != "" {
		c, ok, err := s.Contact(ctx, campaign, held.Number)
		return c, ok, err
	}
	for range 5 { // others may take the same contacts meanwhile
		due, err := s.DueContacts(ctx, campaign, now, 20)
		if err != nil || len(due) == 0 {
			return CampaignContact{}, false, err
		}
		for _, c := range due {
			if !pick(c) {
				continue
			}
			res, err := s.db.ExecContext(ctx, `UPDATE campaign_contacts SET state = ?, agent = ? WHERE campaign = ? AND number = ? AND state = ?`,
				ContactPreviewing, agent, campaign, c.Number, ContactPending)
			if err != nil {
				return CampaignContact{}, false, fmt.Errorf("store: claim %s for %s: %w", c.Number, agent, err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				c.State, c.Agent = ContactPreviewing, agent
				return c, true, nil
			}
		}
	}
	return CampaignContact{}, false, nil
}

// CampaignBucket is a campaign's attempts in one interval of a report.
type CampaignBucket struct {
	Campaign                           string
	Index                              int // the interval: from + Index × interval
	Attempts, Live, Connected, Dropped int
	// AMD's decisions, by outcome (human, machine, unknown).
	AMDHuman, AMDMachine, AMDUnknown int
	Machines, Busy, NoAnswer, Failed int
	Skipped, DNCSkipped              int
	// RightParty are connected calls whose disposition is not one of the
	// wrong-party codes; TalkSeconds the connected calls' talk.
	RightParty  int
	TalkSeconds float64
}

// CampaignBuckets sums every campaign's attempts between from and to by
// interval; wrongParty are the disposition codes that do not count as a
// right-party contact.
func (s *Store) CampaignBuckets(ctx context.Context, from, to time.Time, interval time.Duration, wrongParty []string) ([]CampaignBucket, error) {
	wrong := "''"
	args := []any{ms(from), interval.Milliseconds()}
	if len(wrongParty) > 0 {
		wrong = "?" + strings.Repeat(",?", len(wrongParty)-1)
		for _, w := range wrongParty {
			args = append(args, w)
		}
	}
	args = append(args, ms(from), ms(to))
	rows, err := s.db.QueryContext(ctx, `SELECT a.campaign, (a.at - ?) / ? AS bucket,
 SUM(CASE WHEN a.skip = '' THEN 1 ELSE 0 END), SUM(a.live), SUM(CASE WHEN a.live = 1 AND a.dropped = 0 THEN 1 ELSE 0 END), SUM(a.dropped),
 SUM(CASE WHEN a.amd = 'human' THEN 1 ELSE 0 END), SUM(CASE WHEN a.amd = 'machine' THEN 1 ELSE 0 END), SUM(CASE WHEN a.amd = 'unknown' THEN 1 ELSE 0 END),
 SUM(CASE WHEN a.outcome = 'machine' THEN 1 ELSE 0 END), SUM(CASE WHEN a.outcome = 'busy' THEN 1 ELSE 0 END),
 SUM(CASE WHEN a.outcome = 'no_answer' THEN 1 ELSE 0 END), SUM(CASE WHEN a.outcome = 'failed' THEN 1 ELSE 0 END),
 SUM(CASE WHEN a.skip <> '' THEN 1 ELSE 0 END), SUM(CASE WHEN a.skip = 'dnc' THEN 1 ELSE 0 END),
 SUM(CASE WHEN a.live = 1 AND a.dropped = 0 AND c.connected_at IS NOT NULL AND (d.code IS NULL OR d.code NOT IN (`+wrong+`)) THEN 1 ELSE 0 END),
 COALESCE(SUM(CASE WHEN c.connected_at IS NOT NULL THEN c.talk_seconds ELSE 0 END), 0)
 FROM campaign_attempts a LEFT JOIN calls c ON c.id = a.call_id AND a.call_id <> '' LEFT JOIN dispositions d ON d.call_id = a.call_id
 WHERE a.at >= ? AND a.at < ? GROUP BY a.campaign, bucket ORDER BY a.campaign, bucket`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: campaign report: %w", err)
	}
	defer rows.Close()
	var out []CampaignBucket
	for rows.Next() {
		var b CampaignBucket
		var idx int64
		if err := rows.Scan(&b.Campaign, &idx, &b.Attempts, &b.Live, &b.Connected, &b.Dropped, &b.AMDHuman, &b.AMDMachine, &b.AMDUnknown,
			&b.Machines, &b.Busy, &b.NoAnswer, &b.Failed, &b.Skipped, &b.DNCSkipped, &b.RightParty, &b.TalkSeconds); err != nil {
			return nil, fmt.Errorf("store: campaign report: %w", err)
		}
		b.Index = int(idx)
		out = append(out, b)
	}
	return out, rows.Err()
}

// Penetration is how many of a campaign's contacts have been dialled at
// least once, of how many.
func (s *Store) Penetration(ctx context.Context, campaign string) (tried, contacts int, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0), COUNT(*) FROM campaign_contacts WHERE campaign = ?`,
		campaign).Scan(&tried, &contacts)
	if err != nil {
		return 0, 0, fmt.Errorf("store: penetration of %s: %w", campaign, err)
	}
	return tried, contacts, nil
}

// Drop is one dropped call of a campaign, for the compliance report.
type Drop struct {
	Campaign string    `json:"campaign"`
	CallID   string    `json:"call_id"`
	Number   string    `json:"number"`
	At       time.Time `json:"at"`
}

// Drops lists the campaign's dropped calls between from and to, oldest
// first (every campaign's with campaign empty), at most limit.
func (s *Store) Drops(ctx context.Context, campaign string, from, to time.Time, limit int) ([]Drop, error) {
	q, args := `SELECT campaign, call_id, number, at FROM campaign_attempts WHERE dropped = 1 AND at >= ? AND at < ?`, []any{ms(from), ms(to)}
	if campaign != "" {
		q, args = q+` AND campaign = ?`, append(args, campaign)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY at, id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: drops: %w", err)
	}
	defer rows.Close()
	out := []Drop{}
	for rows.Next() {
		var (
			d  Drop
			at int64
		)
		if err := rows.Scan(&d.Campaign, &d.CallID, &d.Number, &at); err != nil {
			return nil, fmt.Errorf("store: drops: %w", err)
		}
		d.At = time.UnixMilli(at).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// ScheduleCallback makes a contact due at at, for agent ("" for any of the
// campaign's agents): a callback the contact asked for. It is placed even
// when the contact's attempts are used up. found is false for no such
// contact; a contact being dialled now is not changed (ok false).
func (s *Store) ScheduleCallback(ctx context.Context, campaign, number string, at time.Time, agent string) (found, ok bool, err error) {
	res, err := s.db.ExecContext(ctx, `UPDATE campaign_contacts SET state = ?, next_at = ?, agent = ?, last_outcome = 'callback_scheduled'
 WHERE campaign = ? AND number = ? AND state <> ?`, ContactPending, ms(at), agent, campaign, number, ContactDialing)
	if err != nil {
		return false, false, fmt.Errorf("store: schedule a callback to %s: %w", number, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, true, nil
	}
	_, found, err = s.Contact(ctx, campaign, number)
	return found, false, err
}

// contactColumns are what scanContact reads, in its order.
const contactColumns = `number, zone, fields, state, attempts, next_at, last_outcome, agent, added_at`

// scanContact reads one contact of campaign (contactColumns).
func scanContact(sc scanner, campaign string) (CampaignContact, error) {
	var (
		c             CampaignContact
		fields        string
		next, addedAt int64
	)
	if err := sc.Scan(&c.Number, &c.Zone, &fields, &c.State, &c.Attempts, &next, &c.LastOutcome, &c.Agent, &addedAt); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return c, err
		}
		return c, fmt.Errorf("store: contacts of %s: %w", campaign, err)
	}
	if err := json.Unmarshal([]byte(fields), &c.Fields); err != nil {
		return c, fmt.Errorf("store: contact %s of %s: fields: %w", c.Number, campaign, err)
	}
	if next > 0 {
		c.NextAt = time.UnixMilli(next).UTC()
	}
	c.AddedAt = time.UnixMilli(addedAt).UTC()
	return c, nil
}
