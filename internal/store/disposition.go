package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Disposition is how an agent closed a call: a code, tags and notes.
type Disposition struct {
	CallID string    `json:"call_id"`
	Agent  string    `json:"agent"`
	Code   string    `json:"code"`
	Tags   []string  `json:"tags,omitempty"`
	Notes  string    `json:"notes,omitempty"`
	At     time.Time `json:"at"`
}

// SaveDisposition stores (or replaces) a call's disposition.
func (s *Store) SaveDisposition(ctx context.Context, d Disposition) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO dispositions (call_id, agent, code, tags, notes, at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(call_id) DO UPDATE SET agent = excluded.agent, code = excluded.code, tags = excluded.tags, notes = excluded.notes, at = excluded.at`,
		d.CallID, d.Agent, d.Code, strings.Join(d.Tags, ","), d.Notes, ms(d.At))
	if err != nil {
		return fmt.Errorf("store: save disposition of %s: %w", d.CallID, err)
	}
	return nil
}

// GetDisposition returns a call's disposition (ErrNotFound for none).
func (s *Store) GetDisposition(ctx context.Context, callID string) (Disposition, error) {
	var (
		d    Disposition
		tags string
		at   int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT call_id, agent, code, tags, notes, at FROM dispositions WHERE call_id = ?`, callID).
		Scan(&d.CallID, &d.Agent, &d.Code, &tags, &d.Notes, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("store: disposition of %s: %w", callID, err)
	}
	if tags != "" {
		d.Tags = strings.Split(tags, ",")
	}
	d.At = time.UnixMilli(at)
	return d, nil
}

// PastCall is an earlier call of a caller with how it was closed.
type PastCall struct {
	CallRecord
	Disposition string `json:"disposition,omitempty"`
	Notes       string `json:"notes,omitempty"`
	// DispositionAgent is who closed the call (not served: it decides
	// whether an agent may read the notes).
	DispositionAgent string `json:"-"`
}

// CallsByCaller returns a caller's calls, newest first, with dispositions.
func (s *Store) CallsByCaller(ctx context.Context, caller string, limit int) ([]PastCall, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+prefixed("c.", callColumns)+`, COALESCE(d.code, ''), COALESCE(d.notes, ''), COALESCE(d.agent, '')
		FROM calls c LEFT JOIN dispositions d ON d.call_id = c.id WHERE c.caller = ? ORDER BY c.arrived_at DESC LIMIT ?`, caller, limit)
	if err != nil {
		return nil, fmt.Errorf("store: calls of %s: %w", caller, err)
	}
	defer rows.Close()
	out := []PastCall{}
	for rows.Next() {
		var p PastCall
		r, err := scanCall(extra{rows, []any{&p.Disposition, &p.Notes, &p.DispositionAgent}})
		if err != nil {
			return nil, fmt.Errorf("store: calls of %s: %w", caller, err)
		}
		p.CallRecord = r
		out = append(out, p)
	}
	return out, rows.Err()
}

// extra scans a call's columns followed by more.
type extra struct {
	sc   scanner
	more []any
}

func (e extra) Scan(dest ...any) error { return e.sc.Scan(append(dest, e.more...)...) }

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
