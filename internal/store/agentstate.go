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
// writes for agents a stopped server left logged in (the call manager
// writes the same at a normal stop), and of the call records
// MarkUnfinished closes.
const StoppedReason = "server stopped"

// The ACD's states the store reads (the store does not import acd).
const (
	loggedOut = "logged_out"
	available = "available"
	away      = "away"
	ringing   = "ringing"
	onCall    = "on_call"
	onHold    = "on_hold"
	wrapUp    = "wrap_up"
)

func insertEvent(ctx context.Context, tx execer, e Event) error {
	_, err := tx.ExecContext(ctx, qInsertEvent,
		e.At.UnixMilli(), e.Kind, e.CallID, e.Agent, e.Queue, e.Detail, e.State, e.Reason, e.Node)
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
	return s.lastAlive(ctx, s.node)
}

// lastAlive is LastAlive of node; in a database of its own, the node is
// the only one.
func (s *Store) lastAlive(ctx context.Context, node string) (time.Time, error) {
	var beat, last sql.NullInt64
	key := "alive_at"
	if s.db.pg {
		key = "alive_at:" + node
	}
	own, args := s.db.own("node", node)
	err := s.db.QueryRowContext(ctx, `SELECT (SELECT value FROM meta WHERE key = ?), (SELECT MAX(at) FROM events WHERE 1 = 1`+own+`)`,
		append([]any{key}, args...)...).Scan(&beat, &last)
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
	// On a shared database, only the agents whose last state this node wrote.
	own, args := s.db.own("e.node", s.node)
	rows, err := s.db.QueryContext(ctx, `SELECT e.agent, e.kind, e.state, e.reason, e.detail, e.seq FROM events e
 JOIN (SELECT agent, MAX(seq) AS seq FROM events WHERE kind = ? AND agent != '' GROUP BY agent) l ON e.seq = l.seq
 WHERE 1 = 1`+own+` ORDER BY e.agent`, append([]any{event.AgentState}, args...)...)
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
			Detail: loggedOut + ":" + StoppedReason, Node: s.node}
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

// AgentStateAtStop is the state an agent was in when the previous run of
// the server ended: logged_out, available, or away with its reason.
type AgentStateAtStop struct {
	Agent, State, Reason string
}

// stateScan is how far back AgentStatesAtStop looks through an agent's
// events for the state before the stop: past the logouts of stops (one per
// start that died before restoring) and the requests made during a call.
const stateScan = 64

// AgentStatesAtStop returns, by agent, the state each agent was in when the
// previous run ended, read from the events: the last agent_state before
// the logouts of stops (reason StoppedReason, written by the call manager
// at a normal stop or by ReconcileAgentStates after a kill). An agent who
// was ringing, on a call, on hold or in wrap-up was logged in: the state
// is what would have followed the call — away or logged_out when asked for
// during it (agent_state_pending), else available. It is to be called at
// start, after ReconcileAgentStates and before the ACD writes any event.
func (s *Store) AgentStatesAtStop(ctx context.Context) ([]AgentStateAtStop, error) {
	s.Flush()
	// On a shared database, the agents whose last state this node wrote.
	own, args := s.db.own("e.node", s.node)
	rows, err := s.db.QueryContext(ctx, `SELECT e.agent, e.seq FROM events e
 JOIN (SELECT agent, MAX(seq) AS seq FROM events WHERE kind = ? AND agent != '' GROUP BY agent) l ON e.seq = l.seq
 WHERE 1 = 1`+own+` ORDER BY e.agent`, append([]any{event.AgentState}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("store: agent states at stop: %w", err)
	}
	type last struct {
		agent string
		seq   int64
	}
	var agents []last
	for rows.Next() {
		var l last
		if err := rows.Scan(&l.agent, &l.seq); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: agent states at stop: %w", err)
		}
		agents = append(agents, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: agent states at stop: %w", err)
	}
	out := make([]AgentStateAtStop, 0, len(agents))
	for _, l := range agents {
		st, ok, err := s.agentStateAtStop(ctx, l.agent, l.seq)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, st)
		}
	}
	return out, nil
}

// agentStateAtStop walks back from an agent's last agent_state event (seq)
// to the state it was in before the stop; ok is false when there is none
// within stateScan events.
func (s *Store) agentStateAtStop(ctx context.Context, agent string, seq int64) (AgentStateAtStop, bool, error) {
	// agent != '' lets SQLite use the partial index events_agent.
	rows, err := s.db.QueryContext(ctx, `SELECT kind, state, reason, detail FROM events
 WHERE agent = ? AND agent != '' AND seq <= ? AND kind IN (?, ?) ORDER BY seq DESC LIMIT ?`, agent, seq, event.AgentState, event.AgentPending, stateScan)
	if err != nil {
		return AgentStateAtStop{}, false, fmt.Errorf("store: state of agent %s at stop: %w", agent, err)
	}
	defer rows.Close()
	// Walking back: past the stops' logouts, then through the states of
	// the call the agent was on (its requests are the pending events among
	// them), to the state before it.
	var (
		pending *Event // the last request made during the call
		onACall bool
	)
	afterCall := func() AgentStateAtStop {
		if pending != nil && pending.State != "" {
			return AgentStateAtStop{Agent: agent, State: pending.State, Reason: pending.Reason}
		}
		return AgentStateAtStop{Agent: agent, State: available}
	}
	for rows.Next() {
		e := Event{Agent: agent}
		if err := rows.Scan(&e.Kind, &e.State, &e.Reason, &e.Detail); err != nil {
			return AgentStateAtStop{}, false, fmt.Errorf("store: state of agent %s at stop: %w", agent, err)
		}
		if e.Kind == event.AgentPending {
			if pending == nil {
				pending = &e
			}
			continue
		}
		state, reason, ok := e.AgentState()
		switch {
		case !ok, state == loggedOut && reason == StoppedReason && !onACall:
			continue
		case state == ringing, state == onCall, state == onHold, state == wrapUp:
			onACall = true
		case onACall:
			return afterCall(), true, nil
		case state == loggedOut, state == available, state == away:
			return AgentStateAtStop{Agent: agent, State: state, Reason: reason}, true, nil
		default:
			return AgentStateAtStop{}, false, nil // a state this store does not know
		}
	}
	if err := rows.Err(); err != nil {
		return AgentStateAtStop{}, false, fmt.Errorf("store: state of agent %s at stop: %w", agent, err)
	}
	if onACall {
		return afterCall(), true, nil
	}
	return AgentStateAtStop{}, false, nil
}

// qInsertEvent is run by the store's writer, prepared (stmt.go).
const qInsertEvent = `INSERT INTO events (at, kind, call_id, agent, queue, detail, state, reason, node) VALUES (?,?,?,?,?,?,?,?,?)`

// AgentLastState is an agent's last state in the events.
type AgentLastState struct {
	Agent, State, Reason string
}

// LastAgentStates returns every agent's last agent_state, whichever node
// wrote it: what a cluster's new leader restores the agents to.
func (s *Store) LastAgentStates(ctx context.Context) ([]AgentLastState, error) {
	s.Flush()
	rows, err := s.db.QueryContext(ctx, `SELECT e.agent, e.kind, e.state, e.reason, e.detail FROM events e
 JOIN (SELECT agent, MAX(seq) AS seq FROM events WHERE kind = ? AND agent != '' GROUP BY agent) l ON e.seq = l.seq
 ORDER BY e.agent`, event.AgentState)
	if err != nil {
		return nil, fmt.Errorf("store: last agent states: %w", err)
	}
	defer rows.Close()
	var out []AgentLastState
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.Agent, &e.Kind, &e.State, &e.Reason, &e.Detail); err != nil {
			return nil, fmt.Errorf("store: last agent states: %w", err)
		}
		if st, reason, ok := e.AgentState(); ok {
			out = append(out, AgentLastState{Agent: e.Agent, State: st, Reason: reason})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: last agent states: %w", err)
	}
	return out, nil
}
