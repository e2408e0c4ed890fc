package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"
)

// NodeBeat is one node's heartbeat: who it is, where it listens and how
// many calls it carries.
type NodeBeat struct {
	Name      string
	SIP       string
	HTTP      string
	RTP       string // the RTP port range, "20000-29999"
	StartedAt time.Time
	At        time.Time
	Calls     int
}

// NodeRow is a node as the database last heard of it.
type NodeRow struct {
	NodeBeat
	// At is its last heartbeat, by the database's clock. StoppedAt is when
	// it stopped normally; LostAt when another node found its heartbeat
	// stopped and closed its calls.
	StoppedAt, LostAt *time.Time
}

// Beat writes node b's heartbeat (clearing a stop or loss of before),
// timed by the database's clock (b.At is not used). It waits on the
// database.
func (s *Store) Beat(ctx context.Context, b NodeBeat) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO cluster_nodes (name, sip, http, rtp, started_at, beat_at, calls)
 VALUES (?,?,?,?,?,`+s.db.nowMS()+`,?) ON CONFLICT (name) DO UPDATE SET sip = excluded.sip, http = excluded.http, rtp = excluded.rtp,
 started_at = excluded.started_at, beat_at = excluded.beat_at, calls = excluded.calls, stopped_at = NULL, lost_at = NULL`,
		b.Name, b.SIP, b.HTTP, b.RTP, ms(b.StartedAt), int64(b.Calls))
	if err != nil {
		return fmt.Errorf("store: heartbeat of %s: %w", b.Name, err)
	}
	return nil
}

// NodeStopped notes that node stopped normally at at.
func (s *Store) NodeStopped(ctx context.Context, node string, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE cluster_nodes SET stopped_at = ?, calls = 0 WHERE name = ?`, ms(at), node); err != nil {
		return fmt.Errorf("store: stop of %s: %w", node, err)
	}
	return nil
}

// Now is the database's clock, the one heartbeats are written by.
func (s *Store) Now(ctx context.Context) (time.Time, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT `+s.db.nowMS()).Scan(&n); err != nil {
		return time.Time{}, fmt.Errorf("store: clock: %w", err)
	}
	return time.UnixMilli(n).UTC(), nil
}

// Nodes lists the nodes that have written a heartbeat, by name.
func (s *Store) Nodes(ctx context.Context) ([]NodeRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, sip, http, rtp, started_at, beat_at, calls, stopped_at, lost_at
 FROM cluster_nodes ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: nodes: %w", err)
	}
	defer rows.Close()
	var out []NodeRow
	for rows.Next() {
		var (
			r               NodeRow
			started, beat   int64
			calls           int64
			stopped, lostAt sql.NullInt64
		)
		if err := rows.Scan(&r.Name, &r.SIP, &r.HTTP, &r.RTP, &started, &beat, &calls, &stopped, &lostAt); err != nil {
			return nil, fmt.Errorf("store: nodes: %w", err)
		}
		r.StartedAt, r.At, r.Calls = time.UnixMilli(started).UTC(), time.UnixMilli(beat).UTC(), int(calls)
		r.StoppedAt, r.LostAt = tp(stopped), tp(lostAt)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Leader is who holds the leader lease, and its epoch: the number of
// times the lease has been taken, so a later leader's is always higher.
type Leader struct {
	Node  string
	Epoch int64
	Since time.Time
}

// CurrentLeader returns the last leader recorded (zero: none yet). The
// lease may have ended since; Lease.Check is the holder's own test.
func (s *Store) CurrentLeader(ctx context.Context) (Leader, error) {
	var (
		l     Leader
		since int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT node, epoch, since FROM cluster_leader WHERE id = 1`).Scan(&l.Node, &l.Epoch, &since)
	if errors.Is(err, sql.ErrNoRows) {
		return Leader{}, nil
	}
	if err != nil {
		return Leader{}, fmt.Errorf("store: leader: %w", err)
	}
	l.Since = time.UnixMilli(since).UTC()
	return l, nil
}

// leaseKey is the advisory lock of the leader lease.
const leaseKey = 0x5357424c // "SWBL"

// Lease is the leader lease held: a PostgreSQL advisory lock on a
// connection of its own. The connection's idle_session_timeout is the
// lease's term: a holder that stops checking (frozen) has its session cut
// by the server and the lock goes to another node.
type Lease struct {
	conn  *sql.Conn
	Epoch int64
}

// TryLead takes the leader lease for node if it is free, with term as its
// term (its holder must Check more often than that); it returns nil and
// no error when another node holds it.
func (s *Store) TryLead(ctx context.Context, node string, term time.Duration, at time.Time) (*Lease, error) {
	if !s.db.pg {
		return nil, errors.New("store: the leader lease needs PostgreSQL")
	}
	conn, err := s.db.sql.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: lease connection: %w", err)
	}
	fail := func(err error) (*Lease, error) {
		conn.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // a bad connection is not returned to the pool
		conn.Close()
		return nil, fmt.Errorf("store: take the lease: %w", err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`SET idle_session_timeout = %d`, term.Milliseconds())); err != nil {
		return fail(err)
	}
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, leaseKey).Scan(&got); err != nil {
		return fail(err)
	}
	if !got {
		// Another node leads: this connection goes back to the pool as
		// any other, without the term.
		if _, err := conn.ExecContext(ctx, `RESET idle_session_timeout`); err != nil {
			return fail(err)
		}
		conn.Close()
		return nil, nil
	}
	l := &Lease{conn: conn}
	err = conn.QueryRowContext(ctx, `INSERT INTO cluster_leader (id, node, epoch, since) VALUES (1, $1, 1, $2)
 ON CONFLICT (id) DO UPDATE SET node = excluded.node, epoch = cluster_leader.epoch + 1, since = excluded.since RETURNING epoch`,
		node, ms(at)).Scan(&l.Epoch)
	if err != nil {
		return fail(err)
	}
	return l, nil
}

// Check reports an error when the lease is no longer held (its session
// ended); the holder must then stop acting as leader.
func (l *Lease) Check(ctx context.Context) error {
	var held bool
	err := l.conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
 AND objid = $1 AND granted)`, leaseKey).Scan(&held)
	if err != nil {
		return fmt.Errorf("store: lease lost: %w", err)
	}
	if !held {
		return errors.New("store: lease lost: the lock is gone")
	}
	return nil
}

// Release gives the lease up (a normal stop): the lock is released at
// once, and the connection is closed rather than returned, so nothing of
// the lease outlives it.
func (l *Lease) Release() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// Closing alone frees the lock only once the server has seen the
	// connection go, a moment later.
	l.conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, leaseKey) //nolint:errcheck // a dead session has no lock to free
	l.conn.Raw(func(any) error { return driver.ErrBadConn })           //nolint:errcheck // see TryLead
	l.conn.Close()
}
