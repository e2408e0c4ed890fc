package sip

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/icholy/digest"
)

// Digest authentication (RFC 3261 §22, RFC 2617 with qop=auth). Nonces are
// stateless: a timestamp signed with a per-process key, so no table of
// nonces grows with traffic and a stale nonce is recognised.

const nonceLifetime = 5 * time.Minute

// Errors of authentication; the SIP layer answers 401 (challenge) or 403.
var (
	ErrNoCredentials = errors.New("no credentials")
	ErrStaleNonce    = errors.New("stale nonce")
	ErrBadCredential = errors.New("wrong credentials")
)

type authenticator struct {
	realm string
	key   [32]byte
	now   func() time.Time
	// password returns the password of a user, false if there is no such user.
	password func(user string) (string, bool)
}

func newAuthenticator(realm string, password func(string) (string, bool)) *authenticator {
	a := &authenticator{realm: realm, now: time.Now, password: password}
	_, _ = rand.Read(a.key[:])
	return a
}

func (a *authenticator) nonce() string {
	ts := strconv.FormatInt(a.now().Unix(), 16)
	m := hmac.New(sha256.New, a.key[:])
	m.Write([]byte(ts))
	return ts + "." + hex.EncodeToString(m.Sum(nil)[:16])
}

func (a *authenticator) checkNonce(n string) error {
	ts, sig, ok := strings.Cut(n, ".")
	if !ok {
		return ErrBadCredential
	}
	m := hmac.New(sha256.New, a.key[:])
	m.Write([]byte(ts))
	want := hex.EncodeToString(m.Sum(nil)[:16])
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return ErrStaleNonce // signed by an earlier process: ask again
	}
	sec, err := strconv.ParseInt(ts, 16, 64)
	if err != nil {
		return ErrBadCredential
	}
	if a.now().Sub(time.Unix(sec, 0)) > nonceLifetime {
		return ErrStaleNonce
	}
	return nil
}

// challenge is the WWW-Authenticate value to send.
func (a *authenticator) challenge(stale bool) string {
	c := digest.Challenge{Realm: a.realm, Nonce: a.nonce(), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	return c.String()
}

// verify checks an Authorization header value for method; it returns the
// authenticated user.
func (a *authenticator) verify(method, header string) (string, error) {
	if header == "" {
		return "", ErrNoCredentials
	}
	creds, err := digest.ParseCredentials(header)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadCredential, err)
	}
	if creds.Realm != a.realm {
		return creds.Username, fmt.Errorf("%w: realm %q", ErrBadCredential, creds.Realm)
	}
	if err := a.checkNonce(creds.Nonce); err != nil {
		return creds.Username, err
	}
	pw, ok := a.password(creds.Username)
	if !ok {
		return creds.Username, fmt.Errorf("%w: unknown user %q", ErrBadCredential, creds.Username)
	}
	chal := &digest.Challenge{Realm: a.realm, Nonce: creds.Nonce, Opaque: creds.Opaque, Algorithm: creds.Algorithm}
	if creds.QOP != "" {
		chal.QOP = []string{creds.QOP}
	}
	want, err := digest.Digest(chal, digest.Options{Method: method, URI: creds.URI, Username: creds.Username,
		Password: pw, Count: creds.Nc, Cnonce: creds.Cnonce})
	if err != nil {
		return creds.Username, fmt.Errorf("%w: %v", ErrBadCredential, err)
	}
	if !hmac.Equal([]byte(strings.ToLower(want.Response)), []byte(strings.ToLower(creds.Response))) {
		return creds.Username, ErrBadCredential
	}
	return creds.Username, nil
}
