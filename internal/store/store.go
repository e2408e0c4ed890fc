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
}

// Store is safe for concurrent use.
type Store struct {
	db  *sql.DB
	log *slog.Logger
	w   writer

	mu     sync.RWMutex // guards closed; held shared by a send only to register it
	closed bool
}

const schema = `
CREATE TABLE IF NOT EXISTS calls (
  id TEXT PRIMARY KEY,
  caller TEXT NOT NULL DEFAULT '', caller_name TEXT NOT NULL DEFAULT '',
  dialed TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '',
  flow TEXT NOT NULL DEFAULT '', digits TEXT NOT NULL DEFAULT '', path TEXT NOT NULL DEFAULT '',
  queue TEXT NOT NULL DEFAULT '', agent TEXT NOT NULL DEFAULT '',
  arrived_at INTEGER NOT NULL, answered_at INTEGER, queued_at INTEGER, offered_at INTEGER,
  connected_at INTEGER, ended_at INTEGER,
  wait_seconds REAL NOT NULL DEFAULT 0, talk_seconds REAL NOT NULL DEFAULT 0,
  outcome TEXT NOT NULL DEFAULT '', hangup_by TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '',
  sip_call_id TEXT NOT NULL DEFAULT '',
  rtp_in INTEGER NOT NULL DEFAULT 0, rtp_out INTEGER NOT NULL DEFAULT 0, rtp_lost INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS calls_arrived ON calls(arrived_at);
CREATE INDEX IF NOT EXISTS calls_queue_arrived ON calls(queue, arrived_at);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL, kind TEXT NOT NULL,
  call_id TEXT NOT NULL DEFAULT '', agent TEXT NOT NULL DEFAULT '', queue TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_call ON events(call_id, seq);
CREATE INDEX IF NOT EXISTS events_at ON events(at);
CREATE TABLE IF NOT EXISTS tokens (
  hash TEXT PRIMARY KEY, username TEXT NOT NULL, created_at INTEGER NOT NULL
);
`

// Open opens (creating if needed) the database in dir and brings its
// schema up to date (see migrations).
func Open(dir string, log *slog.Logger) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: create data dir: %w", err)
	}
	path := filepath.Join(dir, "switchboard.db")
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	if _, err := db.Exec(schema + voicemailSchema + recordingSchema + reportIndex + dispositionSchema + qaSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: create schema in %s: %w", path, err)
	}
	if err := migrate(context.Background(), db); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: migrate %s: %w", path, err)
	}
	s := &Store{db: db, log: log}
	s.w.init()
	s.w.wg.Add(1)
	go s.writer()
	return s, nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func msp(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

const callColumns = `id, caller, caller_name, dialed, source, flow, digits, path, queue, agent, arrived_at, answered_at, queued_at,
 offered_at, connected_at, ended_at, wait_seconds, talk_seconds, outcome, hangup_by, reason, sip_call_id, rtp_in, rtp_out, rtp_lost`

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
		&r.Reason, &r.SIPCall, &rin, &rout, &rlost)
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
	rows, err := s.db.QueryContext(ctx, `SELECT `+callColumns+` FROM calls WHERE arrived_at >= ? ORDER BY arrived_at DESC, id DESC LIMIT ?`,
		since.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: list calls: %w", err)
	}
	defer rows.Close()
	out := []CallRecord{}
	for rows.Next() {
		r, err := scanCall(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list calls: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// GetCall returns one call record with its events in order.
func (s *Store) GetCall(ctx context.Context, id string) (CallRecord, []Event, error) {
	r, err := scanCall(s.db.QueryRowContext(ctx, `SELECT `+callColumns+` FROM calls WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, nil, ErrNotFound
	}
	if err != nil {
		return r, nil, fmt.Errorf("store: get call %s: %w", id, err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT seq, at, kind, call_id, agent, queue, detail, state, reason FROM events WHERE call_id = ? ORDER BY seq`, id)
	if err != nil {
		return r, nil, fmt.Errorf("store: events of %s: %w", id, err)
	}
	defer rows.Close()
	evs := []Event{}
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.Seq, &at, &e.Kind, &e.CallID, &e.Agent, &e.Queue, &e.Detail, &e.State, &e.Reason); err != nil {
			return r, nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		evs = append(evs, e)
	}
	return r, evs, rows.Err()
}

// MarkUnfinished closes calls left in progress by a previous process (a crash
// or kill): they get outcome "failed" with reason "server restarted".
func (s *Store) MarkUnfinished(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE calls SET outcome='failed', reason='server restarted', ended_at=?
 WHERE outcome='in_progress'`, now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: close unfinished calls: %w", err)
	}
	return res.RowsAffected()
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}
