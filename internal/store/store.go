// Package store persists events, call records and API tokens in SQLite
// (modernc.org/sqlite, no cgo, WAL). Writes go through one goroutine that
// batches them into transactions, so a call never waits on the disk; reads
// run on the pool directly.
package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/event"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// ErrNotFound is returned for a record that does not exist.
var ErrNotFound = errors.New("store: not found")

// CallRecord is the summary of one call, kept up to date while it runs.
type CallRecord struct {
	ID         string     `json:"id"`
	Caller     string     `json:"caller"`
	CallerName string     `json:"caller_name,omitempty"`
	Dialed     string     `json:"dialed"`
	Source     string     `json:"source"`
	Flow       string     `json:"flow,omitempty"`
	Digits     string     `json:"digits"`
	Path       string     `json:"ivr_path,omitempty"`
	Queue      string     `json:"queue,omitempty"`
	Agent      string     `json:"agent,omitempty"`
	ArrivedAt  time.Time  `json:"arrived_at"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"` // by Switchboard (IVR)
	QueuedAt   *time.Time `json:"queued_at,omitempty"`
	OfferedAt  *time.Time `json:"offered_at,omitempty"`
	// ConnectedAt is when an agent answered.
	ConnectedAt *time.Time `json:"connected_at,omitempty"`
	EndedAt     *time.Time `json:"ended_at,omitempty"`
	WaitSeconds float64    `json:"wait_seconds"`
	TalkSeconds float64    `json:"talk_seconds"`
	// Outcome: in_progress, answered, abandoned, rejected, failed, ivr_hangup, completed (feature codes).
	Outcome  string `json:"outcome"`
	HangupBy string `json:"hangup_by,omitempty"` // caller, agent, system
	Reason   string `json:"reason,omitempty"`
	SIPCall  string `json:"sip_call_id,omitempty"`
	// RTP counters of the caller's leg.
	RTPIn   uint64 `json:"rtp_packets_in"`
	RTPOut  uint64 `json:"rtp_packets_out"`
	RTPLost uint64 `json:"rtp_packets_lost"`
	// Node is the node that handled the call.
	Node string `json:"node"`
	// Recorded says a recording of the call is kept (read by ListCalls
	// and GetCall only; left out elsewhere).
	Recorded bool `json:"recorded,omitempty"`
}

// Event is one timestamped change of a call or an agent.
type Event struct {
	Seq    int64      `json:"seq"`
	At     time.Time  `json:"at"`
	Kind   event.Kind `json:"kind"`
	CallID string     `json:"call_id,omitempty"`
	Agent  string     `json:"agent,omitempty"`
	Queue  string     `json:"queue,omitempty"`
	Detail string     `json:"detail,omitempty"`
	// State is the state an agent_state event enters (logged_out,
	// available, away, ...); Reason is why (an away reason: lunch, missed).
	// Rows written before these columns have them empty and say both in
	// Detail ("away:lunch"); AgentStateOf reads either.
	State  string `json:"state,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Node is the node that wrote the event.
	Node string `json:"node,omitempty"`
}

// Store is safe for concurrent use.
type Store struct {
	db    *db
	node  string // written on every call record and event
	log   *slog.Logger
	w     writer
	stmts stmtCache // the writer's prepared statements

	mu     sync.RWMutex // guards closed; held shared by a send only to register it
	closed bool

	// pruneMu guards prunedNonces, when UseNonce last pruned.
	pruneMu      sync.Mutex
	prunedNonces time.Time
}

// Options say which database the store runs on.
type Options struct {
	// Driver is DriverSQLite (the default: a file in Dir) or
	// DriverPostgres (DSN).
	Driver string
	// Dir is the SQLite database's directory.
	Dir string
	// DSN is the PostgreSQL connection string (a URL or key=value pairs).
	DSN string
	// Node is the name of the node writing: every call record and event
	// it writes carries it.
	Node string
}

// Open opens (creating if needed) the SQLite database in dir and brings
// its schema up to date.
func Open(dir string, log *slog.Logger) (*Store, error) {
	return New(Options{Dir: dir}, log)
}

// New opens the database o names and brings its schema up to date (see
// migrate.go).
func New(o Options, log *slog.Logger) (*Store, error) {
	var (
		d     *db
		where string
	)
	switch o.Driver {
	case "", DriverSQLite:
		if err := os.MkdirAll(o.Dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create data dir: %w", err)
		}
		where = filepath.Join(o.Dir, "switchboard.db")
		dsn := "file:" + where + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)"
		sdb, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open %s: %w", where, err)
		}
		sdb.SetMaxOpenConns(4)
		d = &db{sql: sdb}
	case DriverPostgres:
		where = "postgres"
		pc, err := pgx.ParseConfig(o.DSN)
		if err != nil {
			return nil, fmt.Errorf("store: postgres dsn: %w", err)
		}
		// The store's queries are short or are reports over indexed
		// ranges: JIT compiling a report's plan took longer than running
		// it (seconds against a fraction of one), and the data it reads
		// is in memory, where a random read costs about what a sequential
		// one does. A DSN that sets either keeps its own.
		for k, v := range map[string]string{"jit": "off", "random_page_cost": "1.1"} {
			if _, set := pc.RuntimeParams[k]; !set {
				pc.RuntimeParams[k] = v
			}
		}
		sdb := stdlib.OpenDB(*pc)
		// Room for the writer, reads and reports besides the lease's own
		// connection, so a heartbeat never waits behind a report.
		sdb.SetMaxOpenConns(16)
		sdb.SetConnMaxIdleTime(5 * time.Minute)
		d = &db{sql: sdb, pg: true}
	default:
		return nil, fmt.Errorf("store: unknown driver %q (sqlite or postgres)", o.Driver)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if d.pg {
		// The lease's term is idle_session_timeout, new in PostgreSQL 14.
		var version int
		if err := d.sql.QueryRowContext(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
			d.Close()
			return nil, fmt.Errorf("store: postgres: %w", err)
		}
		if version < 140000 {
			d.Close()
			return nil, fmt.Errorf("store: postgres %d.%d is too old: 14 or later is needed", version/10000, version%10000)
		}
	}
	if err := upgrade(ctx, d, log); err != nil {
		d.Close()
		return nil, fmt.Errorf("store: migrate %s: %w", where, err)
	}
	stmts, err := prepareStmts(ctx, d, writerQueries...)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("store: %s: %w", where, err)
	}
	s := &Store{db: d, log: log, stmts: stmts, node: o.Node}
	s.w.init()
	s.w.wg.Add(1)
	go s.writer()
	return s, nil
}

// Node is the name of the node the store writes for.
func (s *Store) Node() string { return s.node }

// Shared reports whether the database is shared by several nodes
// (PostgreSQL) rather than this process's own (SQLite).
func (s *Store) Shared() bool { return s.db.pg }

func ms(t time.Time) int64 { return t.UnixMilli() }

func msp(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

const callColumns = `id, caller, caller_name, dialed, source, flow, digits, path, queue, agent, arrived_at, answered_at, queued_at,
 offered_at, connected_at, ended_at, wait_seconds, talk_seconds, outcome, hangup_by, reason, sip_call_id, rtp_in, rtp_out, rtp_lost, node`

// recordedColumn follows callColumns where a call's Recorded is read.
const recordedColumn = `, EXISTS (SELECT 1 FROM recordings WHERE recordings.call_id = calls.id)`

type scanner interface{ Scan(dest ...any) error }

func scanCall(sc scanner) (CallRecord, error) {
	var (
		r                               CallRecord
		arrived                         int64
		answered, queued, offered, conn sql.NullInt64
		ended                           sql.NullInt64
		rin, rout, rlost                int64
	)
	err := sc.Scan(&r.ID, &r.Caller, &r.CallerName, &r.Dialed, &r.Source, &r.Flow, &r.Digits, &r.Path, &r.Queue, &r.Agent,
		&arrived, &answered, &queued, &offered, &conn, &ended, &r.WaitSeconds, &r.TalkSeconds, &r.Outcome, &r.HangupBy,
		&r.Reason, &r.SIPCall, &rin, &rout, &rlost, &r.Node)
	if err != nil {
		return r, err
	}
	r.ArrivedAt = time.UnixMilli(arrived).UTC()
	r.AnsweredAt, r.QueuedAt, r.OfferedAt = tp(answered), tp(queued), tp(offered)
	r.ConnectedAt, r.EndedAt = tp(conn), tp(ended)
	r.RTPIn, r.RTPOut, r.RTPLost = uint64(rin), uint64(rout), uint64(rlost)
	return r, nil
}

func tp(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := time.UnixMilli(n.Int64).UTC()
	return &t
}

// ListCalls returns calls newest first, arrived at or after since (zero: any), at most limit.
func (s *Store) ListCalls(ctx context.Context, limit int, since time.Time) ([]CallRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+callColumns+recordedColumn+` FROM calls WHERE arrived_at >= ? ORDER BY arrived_at DESC, id DESC LIMIT ?`,
		since.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: list calls: %w", err)
	}
	defer rows.Close()
	out := []CallRecord{}
	for rows.Next() {
		var recorded bool
		r, err := scanCall(extra{rows, []any{&recorded}})
		if err != nil {
			return nil, fmt.Errorf("store: list calls: %w", err)
		}
		r.Recorded = recorded
		out = append(out, r)
	}
	return out, rows.Err()
}

// GetCall returns one call record with its events in order.
func (s *Store) GetCall(ctx context.Context, id string) (CallRecord, []Event, error) {
	var recorded bool
	r, err := scanCall(extra{s.db.QueryRowContext(ctx, `SELECT `+callColumns+recordedColumn+` FROM calls WHERE id = ?`, id), []any{&recorded}})
	r.Recorded = recorded
	if errors.Is(err, sql.ErrNoRows) {
		return r, nil, ErrNotFound
	}
	if err != nil {
		return r, nil, fmt.Errorf("store: get call %s: %w", id, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT seq, at, kind, call_id, agent, queue, detail, state, reason, node FROM events WHERE call_id = ? ORDER BY seq`, id)
	if err != nil {
		return r, nil, fmt.Errorf("store: events of %s: %w", id, err)
	}
	defer rows.Close()
	evs := []Event{}
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.Seq, &at, &e.Kind, &e.CallID, &e.Agent, &e.Queue, &e.Detail, &e.State, &e.Reason, &e.Node); err != nil {
			return r, nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		evs = append(evs, e)
	}
	return r, evs, rows.Err()
}

// MarkUnfinished closes the calls a previous process left in progress (a
// crash or a kill): see MarkUnfinishedWithOutbox; no webhook deliveries.
func (s *Store) MarkUnfinished(ctx context.Context, now time.Time) (int64, error) {
	return s.MarkUnfinishedWithOutbox(ctx, now, nil)
}

// MarkUnfinishedWithOutbox closes the calls a previous process left in
// progress (a crash or a kill). Each gets outcome failed, hangup_by system,
// reason StoppedReason and, as its end, the time the process was last seen
// alive (LastAlive; now when that is unknown or later) — never before the
// call arrived, was queued, offered or connected. A connected call's talk
// time runs to that end, a call still waiting gets its wait so far, and
// its open queue segment is closed (withdrawn). Each call gets an ended
// event (Detail failed, Reason StoppedReason) written in the same
// transaction as its webhook deliveries, deliveries(e) (nil: none), so
// reports and webhooks see every call end. The calls of pending callbacks
// are left open: the next start resumes them. It is to be called at
// start, before any call; it returns how many calls it closed.
func (s *Store) MarkUnfinishedWithOutbox(ctx context.Context, now time.Time, deliveries func(Event) []OutboxEntry) (int64, error) {
	s.Flush()
	n, err := s.closeUnfinished(ctx, s.node, StoppedReason, now, deliveries, nil)
	if n > 0 {
		s.log.Info("calls left in progress by a stopped server closed", "calls", n)
	}
	return n, err
}

// LostReason is the reason of the calls of a node that stopped beating.
const LostReason = "node lost"

// CloseLostNode closes, as MarkUnfinishedWithOutbox does its own, the calls
// another node sharing the database left in progress, if its heartbeat
// is older than silentFor on the database's clock and it is neither
// stopped nor lost already: reason LostReason, each ended at the node's
// last sign of life. The node is marked lost in the same transaction (its
// next heartbeat waits for it, and clears the mark), so its calls are
// closed once, by one node, or not at all.
func (s *Store) CloseLostNode(ctx context.Context, node string, silentFor time.Duration, deliveries func(Event) []OutboxEntry) (lost bool, closed int64, err error) {
	if !s.db.pg {
		return false, 0, errors.New("store: no other node shares a SQLite database")
	}
	closed, err = s.closeUnfinished(ctx, node, LostReason, time.Now(), deliveries, func(ctx context.Context, tx *tx) (bool, error) {
		res, err := tx.ExecContext(ctx, `UPDATE cluster_nodes SET lost_at = `+s.db.nowMS()+`
 WHERE name = ? AND beat_at < `+s.db.nowMS()+` - ? AND stopped_at IS NULL AND lost_at IS NULL`, node, silentFor.Milliseconds())
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		lost = n == 1
		return lost, err
	})
	return lost, closed, err
}

// closeUnfinished closes node's calls left in progress (all calls in a
// database of one node's own) with reason. first, when set, runs first in
// the transaction: when it says no, nothing is closed.
func (s *Store) closeUnfinished(ctx context.Context, node, reason string, now time.Time, deliveries func(Event) []OutboxEntry,
	first func(context.Context, *tx) (bool, error)) (int64, error) {
	alive, err := s.lastAlive(ctx, node)
	if err != nil {
		return 0, err
	}
	if alive.IsZero() || alive.After(now) {
		alive = now
	}
	type open struct {
		id                string
		end               int64
		queued, connected sql.NullInt64
	}
	// On a shared database a node closes only its own calls.
	own, args := s.db.own("node", node)
	rows, err := s.db.QueryContext(ctx, `SELECT id, `+s.db.greatest()+`(?, arrived_at, COALESCE(answered_at, 0), COALESCE(queued_at, 0),
  COALESCE(offered_at, 0), COALESCE(connected_at, 0)), queued_at, connected_at
 FROM calls WHERE outcome = ?`+own+` AND id NOT IN (SELECT call_id FROM pending_callbacks) ORDER BY arrived_at, id`,
		append([]any{ms(alive), string(event.OutcomeInProgress)}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("store: close unfinished calls: %w", err)
	}
	var calls []open
	for rows.Next() {
		var c open
		if err := rows.Scan(&c.id, &c.end, &c.queued, &c.connected); err != nil {
			rows.Close()
			return 0, fmt.Errorf("store: close unfinished calls: %w", err)
		}
		calls = append(calls, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: close unfinished calls: %w", err)
	}
	if len(calls) == 0 && first == nil {
		return 0, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: close unfinished calls: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if first != nil {
		if ok, err := first(ctx, tx); err != nil || !ok {
			return 0, err
		}
	}
	var closed int64
	for _, c := range calls {
		// Talk runs from the agent's answer, the wait from the queue entry
		// of a call never answered; other figures stay as last written.
		// Only if still in progress: another node may have closed it since
		// it was read.
		res, err := tx.ExecContext(ctx, `UPDATE calls SET outcome = ?, hangup_by = ?, reason = ?, ended_at = ?,
  talk_seconds = CASE WHEN connected_at IS NULL THEN talk_seconds ELSE (? - connected_at) / 1000.0 END,
  wait_seconds = CASE WHEN connected_at IS NULL AND queued_at IS NOT NULL THEN (? - queued_at) / 1000.0 ELSE wait_seconds END
 WHERE id = ? AND outcome = ?`, string(event.OutcomeFailed), string(event.BySystem), reason, c.end, c.end, c.end, c.id,
			string(event.OutcomeInProgress))
		if err != nil {
			return 0, fmt.Errorf("store: close unfinished call %s: %w", c.id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return 0, fmt.Errorf("store: close unfinished call %s: %w", c.id, err)
		} else if n == 0 {
			continue
		}
		closed++
		if _, err := tx.ExecContext(ctx, `UPDATE queue_segments SET left_at = `+s.db.greatest()+`(?, entered_at), how = ?,
  wait_seconds = (`+s.db.greatest()+`(?, entered_at) - entered_at) / 1000.0
 WHERE call_id = ? AND left_at IS NULL`, c.end, string(event.SegmentWithdrawn), c.end, c.id); err != nil {
			return 0, fmt.Errorf("store: close the queue segment of %s: %w", c.id, err)
		}
		e := Event{At: time.UnixMilli(c.end).UTC(), Kind: event.Ended, CallID: c.id, Detail: string(event.OutcomeFailed), Reason: reason, Node: node}
		if err := insertEvent(ctx, tx, e); err != nil {
			return 0, fmt.Errorf("store: ended event of %s: %w", c.id, err)
		}
		if deliveries != nil {
			for _, o := range deliveries(e) {
				if err := insertOutbox(ctx, tx, o, s.node); err != nil {
					return 0, fmt.Errorf("store: webhook delivery of %s: %w", c.id, err)
				}
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: close unfinished calls: %w", err)
	}
	return closed, nil
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}
