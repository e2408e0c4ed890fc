package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Registration is a SIP phone's binding as the store keeps it, so a
// restarted server can still reach the phones registered with the one
// before it until their registrations expire.
type Registration struct {
	User string
	// Contact is the binding's Contact URI; Source where the REGISTER came
	// from (host:port); Transport udp, tcp or tls.
	Contact, Source, Transport string
	Expires                    time.Time
	// Version orders the writes of one user's binding: a write carrying a
	// lower version than the row's is ignored, so two writes that race
	// (a refresh and the expiry sweep) cannot leave the older one stored.
	Version int64
	// Path is the proxies the phone is reached through, one per line.
	Path string
}

// SaveRegistration writes a user's binding (insert, or update when its
// version is newer than the one stored). It waits on the disk: when it
// returns nil the binding survives a kill.
func (s *Store) SaveRegistration(ctx context.Context, r Registration) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO registrations (username, contact, source, transport, expires_at, version, node, path)
 VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(username) DO UPDATE SET contact = excluded.contact, source = excluded.source,
 transport = excluded.transport, expires_at = excluded.expires_at, version = excluded.version, node = excluded.node,
 path = excluded.path WHERE excluded.version > registrations.version`,
		r.User, r.Contact, r.Source, r.Transport, ms(r.Expires), r.Version, s.node, r.Path)
	if err != nil {
		return fmt.Errorf("store: save registration of %s: %w", r.User, err)
	}
	return nil
}

// DeleteRegistration forgets a user's binding (unregistered, expired),
// unless a newer version is stored. The row stays as a tombstone (no
// contact, expired) until Registrations next prunes, so that a late write
// of an older binding cannot bring it back.
func (s *Store) DeleteRegistration(ctx context.Context, user string, version int64) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO registrations (username, contact, source, transport, expires_at, version)
 VALUES (?, '', '', '', 0, ?) ON CONFLICT(username) DO UPDATE SET contact = '', source = '', transport = '', expires_at = 0,
 path = '', version = excluded.version WHERE excluded.version > registrations.version`, user, version)
	if err != nil {
		return fmt.Errorf("store: delete registration of %s: %w", user, err)
	}
	return nil
}

// Registrations prunes the bindings expired at now (and the tombstones)
// and returns the others, by user; on a shared database, those of phones
// registered with the node.
func (s *Store) Registrations(ctx context.Context, now time.Time) ([]Registration, error) {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM registrations WHERE expires_at <= ?`, ms(now)); err != nil {
		return nil, fmt.Errorf("store: prune registrations: %w", err)
	}
	own, args := s.db.own("node", s.node)
	rows, err := s.db.QueryContext(ctx, `SELECT username, contact, source, transport, expires_at, version, path FROM registrations
 WHERE 1 = 1`+own+` ORDER BY username`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: registrations: %w", err)
	}
	defer rows.Close()
	var out []Registration
	for rows.Next() {
		var (
			r       Registration
			expires int64
		)
		if err := rows.Scan(&r.User, &r.Contact, &r.Source, &r.Transport, &expires, &r.Version, &r.Path); err != nil {
			return nil, fmt.Errorf("store: registrations: %w", err)
		}
		r.Expires = time.UnixMilli(expires).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: registrations: %w", err)
	}
	return out, nil
}

// LookupRegistration returns a user's binding unless it has expired at
// now, whichever node wrote it: on a shared database a phone registered
// with one node is reached from all.
func (s *Store) LookupRegistration(ctx context.Context, user string, now time.Time) (Registration, bool, error) {
	r := Registration{User: user}
	var expires int64
	err := s.db.QueryRowContext(ctx, `SELECT contact, source, transport, expires_at, version, path FROM registrations
 WHERE username = ? AND expires_at > ? AND contact <> ''`, user, ms(now)).Scan(&r.Contact, &r.Source, &r.Transport, &expires, &r.Version, &r.Path)
	if errors.Is(err, sql.ErrNoRows) {
		return Registration{}, false, nil
	}
	if err != nil {
		return Registration{}, false, fmt.Errorf("store: look up registration of %s: %w", user, err)
	}
	r.Expires = time.UnixMilli(expires).UTC()
	return r, true, nil
}
