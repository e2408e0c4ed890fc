package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// AuditEntry is one action someone took: who, from where, when, what, on
// what, how it ended, and the state before and after where that applies.
type AuditEntry struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Role   string    `json:"role,omitempty"`
	Source string    `json:"source,omitempty"`
	// Action names what was done, e.g. "login", "login_failed",
	// "POST /api/v1/agents/{id}/state".
	Action string `json:"action"`
	Target string `json:"target,omitempty"`
	// Result is the HTTP status the action got (0 when not an HTTP request).
	Result int    `json:"result,omitempty"`
	Detail string `json:"detail,omitempty"`
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// AuditFilter selects audit entries; zero fields select everything.
type AuditFilter struct {
	Actor  string
	Action string // a prefix of the action
	Since  time.Time
	Until  time.Time
	Limit  int // at most this many, newest first (default 100)
}

// Audit appends an entry to the audit log at once (not through the
// writer's queue: an action is not reported done before its entry is).
// The table refuses updates and deletes.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit (at, actor, role, source, action, target, result, detail, before, after)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.At.UnixMilli(), e.Actor, e.Role, e.Source, e.Action, e.Target, e.Result, e.Detail, e.Before, e.After)
	if err != nil {
		return fmt.Errorf("audit %s by %s: %w", e.Action, e.Actor, err)
	}
	return nil
}

// AuditLog returns the entries f selects, newest first.
func (s *Store) AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var where []string
	var args []any
	if f.Actor != "" {
		where = append(where, "actor = ?")
		args = append(args, f.Actor)
	}
	if f.Action != "" {
		where = append(where, "substr(action, 1, ?) = ?")
		args = append(args, len(f.Action), f.Action)
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		where = append(where, "at < ?")
		args = append(args, f.Until.UnixMilli())
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q := `SELECT id, at, actor, role, source, action, target, result, detail, before, after FROM audit`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, f.Limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Role, &e.Source, &e.Action, &e.Target, &e.Result, &e.Detail, &e.Before, &e.After); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
