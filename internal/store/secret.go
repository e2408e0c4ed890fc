package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// SharedSecret returns the secret called name, size random bytes made by
// whichever node asked first and the same for every node sharing the
// database afterwards (the key that signs SIP digest nonces, so a
// challenge from one node is answered to another).
func (s *Store) SharedSecret(ctx context.Context, name string, size int) ([]byte, error) {
	fresh := make([]byte, size)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO cluster_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
		name, hex.EncodeToString(fresh)); err != nil {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	var v string
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM cluster_secrets WHERE name = ?`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	b, err := hex.DecodeString(v)
	if err != nil || len(b) != size {
		return nil, fmt.Errorf("store: secret %s: stored value is not %d bytes of hex", name, size)
	}
	return b, nil
}

// UseNonce records that a digest nonce issued at issued authenticated a
// request with count nc, for every node sharing the database: it reports
// false (a replay) when the nonce was already used with a count as high,
// or maxUses times. Nonces issued before prune are forgotten first (at most
// once a minute).
func (s *Store) UseNonce(ctx context.Context, nonce string, nc uint64, issued time.Time, maxUses int, prune time.Time) (bool, error) {
	s.pruneMu.Lock()
	due := time.Since(s.prunedNonces) > time.Minute
	if due {
		s.prunedNonces = time.Now()
	}
	s.pruneMu.Unlock()
	if due {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM sip_nonces WHERE issued < ?`, ms(prune)); err != nil {
			return false, fmt.Errorf("store: prune nonces: %w", err)
		}
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO sip_nonces (nonce, nc, uses, issued) VALUES (?, ?, 1, ?)
 ON CONFLICT (nonce) DO UPDATE SET nc = excluded.nc, uses = sip_nonces.uses + 1
 WHERE excluded.nc > sip_nonces.nc AND sip_nonces.uses < ?`, nonce, int64(nc), ms(issued), maxUses)
	if err != nil {
		return false, fmt.Errorf("store: use nonce: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: use nonce: %w", err)
	}
	return n == 1, nil
}

// SaveMarker keeps value under name (a fact the store remembers between
// runs, such as the setup file a node last started from), replacing what
// was there.
func (s *Store) SaveMarker(ctx context.Context, name, value string) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO cluster_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
		"marker:"+name, value); err != nil {
		return fmt.Errorf("store: marker %s: %w", name, err)
	}
	return nil
}

// Marker is the value SaveMarker kept under name ("" when none).
func (s *Store) Marker(ctx context.Context, name string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM cluster_secrets WHERE name = ?`, "marker:"+name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: marker %s: %w", name, err)
	}
	return v, nil
}
