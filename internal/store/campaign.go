package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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
	rows, err := s.db.QueryContext(ctx, `SELECT number, zone, fields, state, attempts, next_at, last_outcome, agent, added_at
 FROM campaign_contacts WHERE campaign = ? ORDER BY added_at, number LIMIT ? OFFSET ?`, campaign, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("store: contacts of %s: %w", campaign, err)
	}
	defer rows.Close()
	out := []CampaignContact{}
	for rows.Next() {
		var (
			c             CampaignContact
			fields        string
			next, addedAt int64
		)
		if err := rows.Scan(&c.Number, &c.Zone, &fields, &c.State, &c.Attempts, &next, &c.LastOutcome, &c.Agent, &addedAt); err != nil {
			return nil, fmt.Errorf("store: contacts of %s: %w", campaign, err)
		}
		if err := json.Unmarshal([]byte(fields), &c.Fields); err != nil {
			return nil, fmt.Errorf("store: contact %s of %s: fields: %w", c.Number, campaign, err)
		}
		if next > 0 {
			c.NextAt = time.UnixMilli(next).UTC()
		}
		c.AddedAt = time.UnixMilli(addedAt).UTC()
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
	var c CampaignCounts
	c.Skipped = map[string]int{}
	where, args := "at >= ?", []any{ms(since)}
	if campaign != "" {
		where, args = "campaign = ? AND at >= ?", []any{campaign, ms(since)}
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
 ON CONFLICT (number) DO UPDATE SET list = excluded.list, at = excluded.at, actor = excluded.actor`, e.Number, e.List, ms(e.At), e.Actor)
	if err != nil {
		return fmt.Errorf("store: add %s to the do-not-call list: %w", e.Number, err)
	}
	return nil
}

// RemoveDNC takes an entry off the list; found says whether it was there.
func (s *Store) RemoveDNC(ctx context.Context, number string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM dnc WHERE number = ?`, number)
	if err != nil {
		return false, fmt.Errorf("store: remove %s from the do-not-call list: %w", number, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// DNC is the whole do-not-call list, by number.
func (s *Store) DNC(ctx context.Context) ([]DNCEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT number, list, at, actor FROM dnc ORDER BY number`)
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
