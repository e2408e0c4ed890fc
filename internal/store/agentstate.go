package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/event"
)

// StoppedReason is the reason of the logged_out events ReconcileAgentStates
// writes for agents a stopped server left logged in.
const StoppedReason = "server stopped"

// loggedOut is the ACD's logged_out state (the store does not import acd).
const loggedOut = "logged_out"

func insertEvent(ctx context.Context, tx *sql.Tx, e Event) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO events (at, kind, call_id, agent, queue, detail, state, reason) VALUES (?,?,?,?,?,?,?,?)`,
		e.At.UnixMilli(), e.Kind, e.CallID, e.Agent, e.Queue, e.Detail, e.State, e.Reason)
	return err
}

// AgentState reads an agent_state event: the state it enters and why. ok
// is false for any other kind and for the wrap-up extensions older servers
// wrote as agent_state ("wrap_up:extended 30s": no change of state). Rows
// written before events had a state column say both in Detail
// ("away:lunch"); this is the one place that reads that form.
func (e Event) AgentState() (state, reason string, ok bool) {
	if e.Kind != event.AgentState {
		return "", "", false
	}
	if e.State != "" {
		return e.State, e.Reason, true
	}
	if e.Detail == "wrap_up:extended" || strings.HasPrefix(e.Detail, "wrap_up:extended ") {
		return "", "", false
	}
	state, reason, _ = strings.Cut(e.Detail, ":")
	return state, reason, state != ""
}

// Heartbeat records that the server is alive at at (through the writer,
// so it is as late as the last batch written). ReconcileAgentStates ends a
// stopped server's agent states at the last heartbeat, or at the last
// event when it is later.
func (s *Store) Heartbeat(at time.Time) { s.send(op{alive: &at}) }

// KeepAlive writes a heartbeat every interval until ctx ends. The owner
// runs it in a goroutine of its own; every few seconds is enough (the
// report charges at most that much of a crash to the agents' states).
func (s *Store) KeepAlive(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	s.Heartbeat(time.Now())
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.Heartbeat(now)
		}
	}
}

// LastAlive is the last time the previous process was seen alive: its
// last heartbeat or its last event, whichever is later (zero for an empty
// store).
func (s *Store) LastAlive(ctx context.Context) (time.Time, error) {
	var beat, last sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT (SELECT value FROM meta WHERE key = 'alive_at'), (SELECT MAX(at) FROM events)`).Scan(&beat, &last)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: last alive: %w", err)
	}
	n := max(beat.Int64, last.Int64)
	if !beat.Valid && !last.Valid {
		return time.Time{}, nil
	}
	return time.UnixMilli(n).UTC(), nil
}

// ReconcileAgentStates ends the states a stopped server left open: every
// agent whose last agent_state event is not logged_out gets a logged_out
// event (reason StoppedReason) at the time the server was last seen alive
// (LastAlive; now if that is unknown or later). Without it the agent
// report charges the downtime to the state each agent was in. It is to be
// called at start, before the ACD writes any event; it returns how many
// agents it logged out.
func (s *Store) ReconcileAgentStates(ctx context.Context, now time.Time) (int, error) {
	s.Flush()
	alive, err := s.LastAlive(ctx)
	if err != nil {
		return 0, err
	}
	if alive.IsZero() || alive.After(now) {
		alive = now
	}
	rows, err := s.db.QueryContext(ctx, `SELECT agent, kind, state, reason, detail, MAX(seq) FROM events
 WHERE kind = ? AND agent != '' GROUP BY agent ORDER BY agent`, event.AgentState)
	if err != nil {
		return 0, fmt.Errorf("store: reconcile agent states: %w", err)
	}
	var open []string
	for rows.Next() {
		var (
			e   Event
			seq int64
		)
		if err := rows.Scan(&e.Agent, &e.Kind, &e.State, &e.Reason, &e.Detail, &seq); err != nil {
			rows.Close()
			return 0, fmt.Errorf("store: reconcile agent states: %w", err)
		}
		if st, _, ok := e.AgentState(); ok && st != loggedOut {
			open = append(open, e.Agent)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: reconcile agent states: %w", err)
	}
	if len(open) == 0 {
		return 0, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: reconcile agent states: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	for _, a := range open {
		e := Event{At: alive, Kind: event.AgentState, Agent: a, State: loggedOut, Reason: StoppedReason,
			Detail: loggedOut + ":" + StoppedReason}
		if err := insertEvent(ctx, tx, e); err != nil {
			return 0, fmt.Errorf("store: reconcile agent %s: %w", a, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: reconcile agent states: %w", err)
	}
	s.log.Info("agents left logged in by a stopped server logged out", "agents", len(open), "at", alive)
	return len(open), nil
}
