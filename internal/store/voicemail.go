package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Voicemail is one message left in a mailbox, and its email delivery.
type Voicemail struct {
	ID              string     `json:"id"`
	CallID          string     `json:"call_id"`
	Mailbox         string     `json:"mailbox"`
	Email           string     `json:"email,omitempty"`
	Caller          string     `json:"caller"`
	CallerName      string     `json:"caller_name,omitempty"`
	At              time.Time  `json:"at"`
	DurationSeconds float64    `json:"duration_seconds"`
	Path            string     `json:"-"`
	DeliveredAt     *time.Time `json:"delivered_at,omitempty"`
	Attempts        int        `json:"delivery_attempts"`
	LastError       string     `json:"last_error,omitempty"`
}

// SaveVoicemail stores a new message (synchronously: the caller is told it is saved).
func (s *Store) SaveVoicemail(ctx context.Context, v Voicemail) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO voicemails (id, call_id, mailbox, email, caller, caller_name, at, duration_ms, path, node)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, v.ID, v.CallID, v.Mailbox, v.Email, v.Caller, v.CallerName, ms(v.At),
		int64(v.DurationSeconds*1000), v.Path, s.node)
	if err != nil {
		return fmt.Errorf("store: save voicemail %s: %w", v.ID, err)
	}
	return nil
}

// Delivered records a delivery attempt: success (err nil) or its failure.
func (s *Store) Delivered(ctx context.Context, id string, at time.Time, deliveryErr error) error {
	var err error
	if deliveryErr == nil {
		_, err = s.db.ExecContext(ctx, `UPDATE voicemails SET delivered_at = ?, attempts = attempts + 1, last_error = '' WHERE id = ?`, ms(at), id)
	} else {
		_, err = s.db.ExecContext(ctx, `UPDATE voicemails SET attempts = attempts + 1, last_error = ? WHERE id = ?`, deliveryErr.Error(), id)
	}
	if err != nil {
		return fmt.Errorf("store: voicemail %s delivery: %w", id, err)
	}
	return nil
}

// Voicemails lists messages, newest first; undelivered only when pending
// (those with an email address not yet sent).
func (s *Store) Voicemails(ctx context.Context, pending bool, limit int) ([]Voicemail, error) {
	q := `SELECT id, call_id, mailbox, email, caller, caller_name, at, duration_ms, path, delivered_at, attempts, last_error FROM voicemails`
	var args []any
	if pending {
		// The node's own: the message's file is on its disk.
		own, oargs := s.db.own("node", s.node)
		q += ` WHERE delivered_at IS NULL AND email != ''` + own
		args = oargs
	}
	q += ` ORDER BY at DESC LIMIT ?`
	rows, err := s.db.QueryContext(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: list voicemails: %w", err)
	}
	defer rows.Close()
	var out []Voicemail
	for rows.Next() {
		var (
			v         Voicemail
			at, durMS int64
			delivered sql.NullInt64
		)
		if err := rows.Scan(&v.ID, &v.CallID, &v.Mailbox, &v.Email, &v.Caller, &v.CallerName, &at, &durMS, &v.Path,
			&delivered, &v.Attempts, &v.LastError); err != nil {
			return nil, fmt.Errorf("store: list voicemails: %w", err)
		}
		v.At = time.UnixMilli(at)
		v.DurationSeconds = float64(durMS) / 1000
		v.DeliveredAt = tp(delivered)
		out = append(out, v)
	}
	return out, rows.Err()
}
