package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/event"
)

// QueueSegment is one stay of a call in one queue. A call that overflows,
// is moved by a supervisor or is transferred to a queue has one segment
// per queue it visited; per-queue reports count segments, so each queue is
// charged with the calls it was offered and the wait it caused.
type QueueSegment struct {
	CallID string `json:"call_id"`
	// Seq is the segment's order within the call, from 1.
	Seq       int        `json:"seq"`
	Queue     string     `json:"queue"`
	EnteredAt time.Time  `json:"entered_at"`
	LeftAt    *time.Time `json:"left_at,omitempty"`
	// How the call left the queue; "" while it waits.
	How event.SegmentEnd `json:"how,omitempty"`
	// Agent answered the call (How answered).
	Agent       string  `json:"agent,omitempty"`
	WaitSeconds float64 `json:"wait_seconds"`
}

// SaveSegment writes (inserts or replaces, by call and seq) a queue
// segment, asynchronously like SaveCall: at queue entry with LeftAt nil,
// again when the call leaves the queue.
func (s *Store) SaveSegment(seg QueueSegment) { s.send(op{segment: &seg}) }

func upsertSegment(ctx context.Context, tx execer, g QueueSegment) error {
	_, err := tx.ExecContext(ctx, qUpsertSegment,
		g.CallID, g.Seq, g.Queue, ms(g.EnteredAt), msp(g.LeftAt), string(g.How), g.Agent, g.WaitSeconds)
	return err
}

// Segments returns a call's queue segments in order.
func (s *Store) Segments(ctx context.Context, callID string) ([]QueueSegment, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT call_id, seq, queue, entered_at, left_at, how, agent, wait_seconds
 FROM queue_segments WHERE call_id = ? ORDER BY seq`, callID)
	if err != nil {
		return nil, fmt.Errorf("store: segments of %s: %w", callID, err)
	}
	defer rows.Close()
	out := []QueueSegment{}
	for rows.Next() {
		var (
			g       QueueSegment
			entered int64
			left    sql.NullInt64
			how     string
		)
		if err := rows.Scan(&g.CallID, &g.Seq, &g.Queue, &entered, &left, &how, &g.Agent, &g.WaitSeconds); err != nil {
			return nil, fmt.Errorf("store: segments of %s: %w", callID, err)
		}
		g.EnteredAt, g.LeftAt, g.How = time.UnixMilli(entered).UTC(), tp(left), event.SegmentEnd(how)
		out = append(out, g)
	}
	return out, rows.Err()
}

// SingleSegment is the one queue segment a call record implies when the
// call visited only its queue (the rule the migration backfilled old calls
// with); ok is false for a call that never queued. Fixtures and tools that
// write call records without segments use it.
func SingleSegment(c CallRecord) (seg QueueSegment, ok bool) {
	if c.QueuedAt == nil || c.Queue == "" {
		return QueueSegment{}, false
	}
	seg = QueueSegment{CallID: c.ID, Seq: 1, Queue: c.Queue, EnteredAt: *c.QueuedAt, WaitSeconds: c.WaitSeconds}
	left := c.QueuedAt.Add(time.Duration(c.WaitSeconds * float64(time.Second)))
	switch {
	case c.ConnectedAt != nil:
		seg.How, seg.Agent, seg.LeftAt = event.SegmentAnswered, c.Agent, c.ConnectedAt
	case c.Outcome == string(event.OutcomeInProgress), c.Outcome == string(event.OutcomeCallbackPending):
	case c.Outcome == string(event.OutcomeAbandoned):
		seg.How, seg.LeftAt = event.SegmentAbandoned, &left
	default:
		seg.How, seg.LeftAt = event.SegmentWithdrawn, &left
	}
	return seg, true
}

// qUpsertSegment is run by the store's writer, prepared (stmt.go).
const qUpsertSegment = `INSERT INTO queue_segments (call_id, seq, queue, entered_at, left_at, how, agent, wait_seconds)
 VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(call_id, seq) DO UPDATE SET queue = excluded.queue, entered_at = excluded.entered_at,
 left_at = excluded.left_at, how = excluded.how, agent = excluded.agent, wait_seconds = excluded.wait_seconds`
