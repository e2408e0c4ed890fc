package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
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
