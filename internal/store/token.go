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

// TokenIDLength is how many hex digits of a token's hash name it in
// listings and revocations (the token itself is never stored).
const TokenIDLength = 12

// Token describes an API token without revealing it.
type Token struct {
	ID        string     `json:"id"`
	User      string     `json:"user"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Valid reports whether the token still authenticates at now.
func (t Token) Valid(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// ErrTokenExpired and ErrTokenRevoked refuse a token that once was good.
var (
	ErrTokenExpired = errors.New("token expired")
	ErrTokenRevoked = errors.New("token revoked")
)

// CreateToken makes a new API token for a user that never expires; only
// its hash is stored.
func (s *Store) CreateToken(ctx context.Context, username string) (string, error) {
	tok, _, err := s.NewToken(ctx, username, time.Time{})
	return tok, err
}

// NewToken makes a new API token for a user, valid until expires (zero:
// no expiry), and returns it with its ID.
func (s *Store) NewToken(ctx context.Context, username string, expires time.Time) (token, id string, err error) {
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", "", err
	}
	tok := "sb_" + hex.EncodeToString(raw[:])
	var exp any
	if !expires.IsZero() {
		exp = expires.UnixMilli()
	}
	h := hashToken(tok)
	_, err = s.db.ExecContext(ctx, `INSERT INTO tokens (hash, username, created_at, expires_at) VALUES (?,?,?,?)`,
		h, username, time.Now().UnixMilli(), exp)
	if err != nil {
		return "", "", fmt.Errorf("store: create token: %w", err)
	}
	return tok, h[:TokenIDLength], nil
}

// TokenUser returns the user a valid token belongs to.
func (s *Store) TokenUser(ctx context.Context, token string) (string, error) {
	var u string
	var exp, revoked sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT username, expires_at, revoked_at FROM tokens WHERE hash = ?`, hashToken(token)).Scan(&u, &exp, &revoked)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", ErrNotFound
	case err != nil:
		return "", err
	case revoked.Valid:
		return "", ErrTokenRevoked
	case exp.Valid && time.Now().UnixMilli() >= exp.Int64:
		return "", ErrTokenExpired
	}
	return u, nil
}

// Tokens lists every token, oldest first.
func (s *Store) Tokens(ctx context.Context) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT hash, username, created_at, expires_at, revoked_at FROM tokens ORDER BY created_at, hash`)
	if err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var h, u string
		var created int64
		var exp, revoked sql.NullInt64
		if err := rows.Scan(&h, &u, &created, &exp, &revoked); err != nil {
			return nil, fmt.Errorf("store: tokens: %w", err)
		}
		t := Token{ID: h[:min(len(h), TokenIDLength)], User: u, CreatedAt: time.UnixMilli(created).UTC()}
		if exp.Valid {
			e := time.UnixMilli(exp.Int64).UTC()
			t.ExpiresAt = &e
		}
		if revoked.Valid {
			r := time.UnixMilli(revoked.Int64).UTC()
			t.RevokedAt = &r
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes the token whose ID is id (or a longer prefix of its
// hash) and returns its user; ErrNotFound when none matches, an error when
// the prefix names more than one.
func (s *Store) RevokeToken(ctx context.Context, id string) (string, error) {
	if len(id) < TokenIDLength {
		return "", fmt.Errorf("store: token id %q: give at least %d hex digits", id, TokenIDLength)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT hash, username FROM tokens WHERE substr(hash, 1, ?) = ?`, len(id), id)
	if err != nil {
		return "", fmt.Errorf("store: revoke token: %w", err)
	}
	var hashes, users []string
	for rows.Next() {
		var h, u string
		if err := rows.Scan(&h, &u); err != nil {
			rows.Close()
			return "", fmt.Errorf("store: revoke token: %w", err)
		}
		hashes, users = append(hashes, h), append(users, u)
	}
	rows.Close()
	switch len(hashes) {
	case 0:
		return "", ErrNotFound
	case 1:
	default:
		return "", fmt.Errorf("store: token id %q names %d tokens: give more digits", id, len(hashes))
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL`,
		time.Now().UnixMilli(), hashes[0]); err != nil {
		return "", fmt.Errorf("store: revoke token: %w", err)
	}
	return users[0], nil
}
