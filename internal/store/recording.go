package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Recording is a call's recording file in the index.
type Recording struct {
	CallID  string    `json:"call_id"`
	Path    string    `json:"-"`
	Started time.Time `json:"started_at"`
	Seconds float64   `json:"seconds"`
	// Pauses lists the stretches left silent ("paused 12.3-20.1"), "" for none.
	Pauses string `json:"pauses,omitempty"`
	// Queue is where the call was recorded (retention is per queue).
	Queue string `json:"queue"`
}

// SaveRecording indexes (or updates) a call's recording.
func (s *Store) SaveRecording(ctx context.Context, r Recording) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO recordings (call_id, path, started_at, seconds, pauses, queue, node) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(call_id) DO UPDATE SET path = excluded.path, seconds = excluded.seconds, pauses = excluded.pauses, queue = excluded.queue`,
		r.CallID, r.Path, ms(r.Started), r.Seconds, r.Pauses, r.Queue, s.node)
	if err != nil {
		return fmt.Errorf("store: save recording of %s: %w", r.CallID, err)
	}
	return nil
}

// GetRecording returns a call's recording.
func (s *Store) GetRecording(ctx context.Context, callID string) (Recording, error) {
	var (
		r       Recording
		started int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT call_id, path, started_at, seconds, pauses, queue FROM recordings WHERE call_id = ?`, callID).
		Scan(&r.CallID, &r.Path, &started, &r.Seconds, &r.Pauses, &r.Queue)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("store: recording of %s: %w", callID, err)
	}
	r.Started = time.UnixMilli(started)
	return r, nil
}

// ExpiredRecordings lists a queue's recordings started before cutoff (on
// a shared database, the node's own: their files are on its disk).
func (s *Store) ExpiredRecordings(ctx context.Context, queue string, cutoff time.Time, limit int) ([]Recording, error) {
	own, args := s.db.own("node", s.node)
	rows, err := s.db.QueryContext(ctx, `SELECT call_id, path, started_at, seconds, pauses, queue FROM recordings
		WHERE queue = ? AND started_at < ?`+own+` ORDER BY started_at LIMIT ?`, append(append([]any{queue, ms(cutoff)}, args...), limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: expired recordings: %w", err)
	}
	return scanRecordings(rows, "expired recordings")
}

// scanRecordings reads rows of call_id, path, started_at, seconds, pauses
// and queue (what is the query's name in errors) and closes them.
func scanRecordings(rows *sql.Rows, what string) ([]Recording, error) {
	defer rows.Close()
	var out []Recording
	for rows.Next() {
		var (
			r       Recording
			started int64
		)
		if err := rows.Scan(&r.CallID, &r.Path, &started, &r.Seconds, &r.Pauses, &r.Queue); err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		r.Started = time.UnixMilli(started)
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteRecording removes a recording from the index, and the call's
// transcript and spotted phrases with it (the words go with the audio:
// retention covers both).
func (s *Store) DeleteRecording(ctx context.Context, callID string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: delete recording of %s: %w", callID, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	for _, q := range []string{`DELETE FROM recordings WHERE call_id = ?`, `DELETE FROM transcripts WHERE call_id = ?`, `DELETE FROM spots WHERE call_id = ?`} {
		if _, err := tx.ExecContext(ctx, q, callID); err != nil {
			return fmt.Errorf("store: delete recording of %s: %w", callID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: delete recording of %s: %w", callID, err)
	}
	return nil
}
