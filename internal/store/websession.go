package store

import (
	"context"
	"fmt"
	"time"
)

// WebSession is a browser's login as kept across restarts: the hash of
// its cookie (never the cookie), whose it is, and until when it lasts.
type WebSession struct {
	Hash    string
	User    string
	Expires time.Time
}

// SaveSession writes (or refreshes) a web session.
func (s *Store) SaveSession(ctx context.Context, ws WebSession) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO web_sessions (hash, username, expires_at) VALUES (?,?,?)
 ON CONFLICT(hash) DO UPDATE SET expires_at = excluded.expires_at`, ws.Hash, ws.User, ms(ws.Expires))
	if err != nil {
		return fmt.Errorf("store: save web session: %w", err)
	}
	return nil
}

// DeleteSession removes a web session (logout).
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM web_sessions WHERE hash = ?`, hash); err != nil {
		return fmt.Errorf("store: delete web session: %w", err)
	}
	return nil
}

// Sessions returns the web sessions that have not expired at now, and
// deletes those that have.
func (s *Store) Sessions(ctx context.Context, now time.Time) ([]WebSession, error) {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM web_sessions WHERE expires_at <= ?`, ms(now)); err != nil {
		return nil, fmt.Errorf("store: web sessions: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT hash, username, expires_at FROM web_sessions`)
	if err != nil {
		return nil, fmt.Errorf("store: web sessions: %w", err)
	}
	defer rows.Close()
	var out []WebSession
	for rows.Next() {
		var ws WebSession
		var exp int64
		if err := rows.Scan(&ws.Hash, &ws.User, &exp); err != nil {
			return nil, fmt.Errorf("store: web sessions: %w", err)
		}
		ws.Expires = time.UnixMilli(exp)
		out = append(out, ws)
	}
	return out, rows.Err()
}
