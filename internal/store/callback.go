package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PendingCallback is a callback a caller asked for that has not ended: no
// agent has placed it yet, or the customer has not answered an attempt.
// It is kept in the store so that a server stopped or killed calls the
// customer back after its restart, in the order they were waiting.
type PendingCallback struct {
	CallID string
	Queue  string
	// Number is the number to call back; Dialed and Caller are the
	// original call's (the callback presents Dialed to the customer).
	Number, Dialed, Caller string
	Priority               int
	RequestedAt            time.Time
	// QueuedAt is when the call first entered a queue (its record's
	// queued_at); LineAt is when the callback took its current place in
	// line: QueuedAt, or when it was queued again after an unanswered
	// attempt. Restored callbacks are queued again in LineAt order.
	QueuedAt, LineAt time.Time
	// Attempts is how many times the customer has been dialled so far.
	Attempts int
	// Seq is the order in which the callbacks were requested (set by the
	// store; it breaks ties of LineAt).
	Seq int64

	// Record is the call's record as last written (zero ID when none was);
	// Segments are its queue segments. PendingCallbacks fills both; they
	// are not written by SaveCallback.
	Record   CallRecord
	Segments []QueueSegment
}

// SaveCallback writes a pending callback (insert, or update by call id:
// queue, priority, attempts and place in line), durably: when it returns
// nil the callback survives a kill of the process. What the writer was
// given before (the call's record, its events and queue segment) is
// written first, so a callback is never stored ahead of its call. It
// waits on the disk, so it is for the rare moments a promise is made to
// a caller, not for every change of a call.
func (s *Store) SaveCallback(ctx context.Context, cb PendingCallback) error {
	if err := s.flushContext(ctx); err != nil {
		return fmt.Errorf("store: save callback %s: %w", cb.CallID, err)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO pending_callbacks
 (call_id, queue, number, priority, dialed, caller, requested_at, queued_at, line_at, attempts, node)
 VALUES (?,?,?,?,?,?,?,?,?,?,?)
 ON CONFLICT(call_id) DO UPDATE SET queue = excluded.queue, number = excluded.number, priority = excluded.priority,
 line_at = excluded.line_at, attempts = excluded.attempts`,
		cb.CallID, cb.Queue, cb.Number, cb.Priority, cb.Dialed, cb.Caller, ms(cb.RequestedAt), ms(cb.QueuedAt), ms(cb.LineAt), cb.Attempts, s.node)
	if err != nil {
		return fmt.Errorf("store: save callback %s: %w", cb.CallID, err)
	}
	return nil
}

// DeleteCallback forgets a callback that has ended (the customer answered,
// every attempt failed, it was cancelled). A callback not stored is no
// error.
func (s *Store) DeleteCallback(ctx context.Context, callID string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM pending_callbacks WHERE call_id = ?`, callID); err != nil {
		return fmt.Errorf("store: delete callback %s: %w", callID, err)
	}
	return nil
}

// PendingCallbacks returns the stored callbacks in the order they were
// waiting (LineAt, then Seq), each with its call's record and queue
// segments; on a shared database, those the node took.
func (s *Store) PendingCallbacks(ctx context.Context) ([]PendingCallback, error) {
	own, args := s.db.own("node", s.node)
	rows, err := s.db.QueryContext(ctx, `SELECT seq, call_id, queue, number, priority, dialed, caller, requested_at, queued_at, line_at, attempts
 FROM pending_callbacks WHERE 1 = 1`+own+` ORDER BY line_at, seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: pending callbacks: %w", err)
	}
	var out []PendingCallback
	for rows.Next() {
		var (
			cb                        PendingCallback
			requested, queued, lineAt int64
		)
		if err := rows.Scan(&cb.Seq, &cb.CallID, &cb.Queue, &cb.Number, &cb.Priority, &cb.Dialed, &cb.Caller,
			&requested, &queued, &lineAt, &cb.Attempts); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: pending callbacks: %w", err)
		}
		cb.RequestedAt, cb.QueuedAt, cb.LineAt = time.UnixMilli(requested).UTC(), time.UnixMilli(queued).UTC(), time.UnixMilli(lineAt).UTC()
		out = append(out, cb)
	}
	err = rows.Err()
	rows.Close() // before the reads below: the pool is small
	if err != nil {
		return nil, fmt.Errorf("store: pending callbacks: %w", err)
	}
	for i := range out {
		cb := &out[i]
		cb.Record, err = scanCall(s.db.QueryRowContext(ctx, `SELECT `+callColumns+` FROM calls WHERE id = ?`, cb.CallID))
		if errors.Is(err, sql.ErrNoRows) {
			cb.Record = CallRecord{}
		} else if err != nil {
			return nil, fmt.Errorf("store: pending callback %s: record: %w", cb.CallID, err)
		}
		if cb.Segments, err = s.Segments(ctx, cb.CallID); err != nil {
			return nil, fmt.Errorf("store: pending callback %s: %w", cb.CallID, err)
		}
	}
	return out, nil
}

// flushContext waits until everything sent to the writer before it is
// written, or ctx ends.
func (s *Store) flushContext(ctx context.Context) error {
	ch := make(chan struct{})
	if !s.send(op{flush: ch}) {
		return errors.New("store closed")
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// AdoptCallbacks makes this node the owner of a lost node's pending
// callbacks (on a shared database) and returns them as PendingCallbacks
// does: the customers who asked to be called back keep their callback
// when the node that took it dies. Each is moved once: another node
// adopting the same ones at the same time gets none of them.
func (s *Store) AdoptCallbacks(ctx context.Context, lost string) ([]PendingCallback, error) {
	if !s.db.pg || lost == s.node {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, `UPDATE pending_callbacks SET node = ? WHERE node = ? RETURNING call_id`, s.node, lost)
	if err != nil {
		return nil, fmt.Errorf("store: adopt %s's callbacks: %w", lost, err)
	}
	moved := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: adopt %s's callbacks: %w", lost, err)
		}
		moved[id] = true
	}
	err = rows.Err()
	rows.Close()
	if err != nil || len(moved) == 0 {
		return nil, err
	}
	all, err := s.PendingCallbacks(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, cb := range all {
		if moved[cb.CallID] {
			out = append(out, cb)
		}
	}
	return out, nil
}
