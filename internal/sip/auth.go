package sip

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Digest authentication (RFC 3261 §22, RFC 2617 with qop=auth). A nonce is
// a timestamp signed with a key (per process, or one for the cluster:
// Config.NonceKey), so a forged or stale one is
// recognised without a table. Only nonces that authenticated a request are
// remembered (their last nonce count, nc, and uses), in a bounded table, so
// a captured Authorization cannot be replayed.

const (
	nonceLifetime = 5 * time.Minute
	// maxNonceUses is how many requests one nonce may authenticate; a phone
	// is challenged again after that.
	maxNonceUses = 16
	// maxNonces bounds the table of used nonces; when it is full the oldest
	// are forgotten and every nonce issued up to them counts as stale.
	maxNonces = 65536
)

// Errors of authentication; the SIP layer answers 401 (challenge) or 403.
var (
	ErrNoCredentials = errors.New("no credentials")
	ErrStaleNonce    = errors.New("stale nonce")
	ErrBadCredential = errors.New("wrong credentials")
	// ErrNonceReplay is an Authorization whose nonce count did not
	// increase, or whose nonce was used too often; it is also an
	// ErrStaleNonce, so an honest phone is simply challenged again.
	ErrNonceReplay = errors.New("nonce replayed")
	// ErrURIMismatch is an Authorization computed for another request URI.
	ErrURIMismatch = errors.New("credentials for another request URI")
)

type authenticator struct {
	realm string
	key   [32]byte
	now   func() time.Time
	// ha1 returns a user's digest HA1, MD5(user:realm:password) in
	// lowercase hex, false if there is no such user: the server checks
	// digests without knowing passwords.
	ha1 func(user string) (string, bool)
	// guard bans sources that fail too often; nil bans nobody.
	guard Guard

	// shared, when set (ShareNonces), is where nonce uses are checked
	// for every node sharing a store; the table below then only when it
	// cannot answer.
	shared NonceStore

	mu      sync.Mutex
	used    map[string]nonceUse // nonce → its uses so far
	maxUsed int                 // bound of used (maxNonces; tests lower it)
	floor   int64               // nonces issued at or before this second are stale
}

// nonceUse is what is remembered of a nonce that authenticated requests.
type nonceUse struct {
	issued int64  // the nonce's timestamp
	nc     uint64 // the highest nonce count seen
	uses   int
}

// newAuthenticator signs nonces with key (its first 32 bytes), or with a
// random key when key is shorter.
func newAuthenticator(realm string, ha1 func(string) (string, bool), key []byte) *authenticator {
	a := &authenticator{realm: realm, now: time.Now, ha1: ha1, used: map[string]nonceUse{}, maxUsed: maxNonces}
	if len(key) >= len(a.key) {
		copy(a.key[:], key)
	} else {
		_, _ = rand.Read(a.key[:])
	}
	return a
}

// nonce is "timestamp.random.signature": the random part makes every
// challenge's nonce its own, so nonce counts are per phone.
func (a *authenticator) nonce() string {
	var r [8]byte
	_, _ = rand.Read(r[:])
	body := strconv.FormatInt(a.now().Unix(), 16) + "." + hex.EncodeToString(r[:])
	return body + "." + a.sign(body)
}

func (a *authenticator) sign(body string) string {
	m := hmac.New(sha256.New, a.key[:])
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

func (a *authenticator) checkNonce(n string) error {
	cut := strings.LastIndexByte(n, '.')
	if cut < 0 {
		return ErrBadCredential
	}
	body, sig := n[:cut], n[cut+1:]
	ts, _, _ := strings.Cut(body, ".")
	if !hmac.Equal([]byte(sig), []byte(a.sign(body))) {
		return ErrStaleNonce // signed by an earlier process: ask again
	}
	sec, err := strconv.ParseInt(ts, 16, 64)
	if err != nil {
		return ErrBadCredential
	}
	if a.now().Sub(time.Unix(sec, 0)) > nonceLifetime {
		return ErrStaleNonce
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if sec <= a.floor {
		return ErrStaleNonce
	}
	return nil
}

// NonceStore checks nonce uses for several nodes (a shared store): a
// nonce's count must rise and its uses stay within maxUses whichever node
// sees it; nonces issued before prune may be forgotten.
type NonceStore interface {
	UseNonce(ctx context.Context, nonce string, nc uint64, issued time.Time, maxUses int, prune time.Time) (bool, error)
}

// nonceCheckTimeout bounds one check of a nonce's use in a shared store.
const nonceCheckTimeout = 2 * time.Second

// use records that nonce n, with count nc (0 without qop), authenticated a
// request; it refuses a count that did not increase and a nonce used too often.
func (a *authenticator) use(n string, nc uint64) error {
	ts, _, _ := strings.Cut(n, ".")
	issued, _ := strconv.ParseInt(ts, 16, 64) // checked by checkNonce
	if a.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), nonceCheckTimeout)
		ok, err := a.shared.UseNonce(ctx, n, nc, time.Unix(issued, 0), maxNonceUses, a.now().Add(-nonceLifetime))
		cancel()
		switch {
		case err == nil && ok:
			return nil
		case err == nil:
			return fmt.Errorf("%w: %w: nc %d used before, or the nonce too often, on a node of the cluster", ErrStaleNonce, ErrNonceReplay, nc)
		}
		// The store cannot answer: this node's own table decides.
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u, seen := a.used[n]
	switch {
	case seen && nc <= u.nc:
		return fmt.Errorf("%w: %w: nc %d after %d", ErrStaleNonce, ErrNonceReplay, nc, u.nc)
	case u.uses >= maxNonceUses:
		return fmt.Errorf("%w: %w: used %d times", ErrStaleNonce, ErrNonceReplay, u.uses)
	}
	if !seen && len(a.used) >= a.maxUsed {
		a.forgetOldNonces()
	}
	a.used[n] = nonceUse{issued: issued, nc: nc, uses: u.uses + 1}
	return nil
}

// forgetOldNonces makes room in the table: expired nonces go, and if that
// is not enough, the older half, whose issue times then count as stale.
func (a *authenticator) forgetOldNonces() {
	expired := a.now().Add(-nonceLifetime).Unix()
	for n, u := range a.used {
		if u.issued < expired {
			delete(a.used, n)
		}
	}
	if len(a.used) < a.maxUsed {
		return
	}
	times := make([]int64, 0, len(a.used))
	for _, u := range a.used {
		times = append(times, u.issued)
	}
	slices.Sort(times)
	a.floor = max(a.floor, times[len(times)/2])
	for n, u := range a.used {
		if u.issued <= a.floor {
			delete(a.used, n)
		}
	}
}

// challenge is the WWW-Authenticate value to send.
func (a *authenticator) challenge(stale bool) string {
	c := digest.Challenge{Realm: a.realm, Nonce: a.nonce(), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	return c.String()
}

// verify checks an Authorization header value for method; it returns the
// authenticated user.
func (a *authenticator) verify(method, header string) (string, error) {
	return a.check(method, header, nil)
}

// verifyRequest checks req's Authorization, which must also have been
// computed for req's own request URI.
func (a *authenticator) verifyRequest(req *gosip.Request) (string, error) {
	return a.check(req.Method.String(), headerValue(req, "Authorization"), &req.Recipient)
}

// check verifies header for method and, when target is given, that its uri
// is target. An unknown user is checked against an HA1 nobody has, so it
// fails the same way, and in the same time, as a wrong password. Only MD5
// is accepted (what the challenge offers): HA1s are MD5.
func (a *authenticator) check(method, header string, target *gosip.Uri) (string, error) {
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
	if creds.Algorithm != "" && !strings.EqualFold(creds.Algorithm, "MD5") {
		return creds.Username, fmt.Errorf("%w: algorithm %q (MD5 was offered)", ErrBadCredential, creds.Algorithm)
	}
	if target != nil {
		if user, err := a.checkURI(header, target); err != nil {
			return user, err
		}
	}
	if err := a.checkNonce(creds.Nonce); err != nil {
		return creds.Username, err
	}
	ha1, known := a.ha1(creds.Username)
	if !known {
		ha1 = hex.EncodeToString(a.key[:16]) // not any user's HA1
	}
	chal := &digest.Challenge{Realm: a.realm, Nonce: creds.Nonce, Opaque: creds.Opaque, Algorithm: creds.Algorithm}
	if creds.QOP != "" {
		chal.QOP = []string{creds.QOP}
	}
	want, err := digest.Digest(chal, digest.Options{Method: method, URI: creds.URI, Username: creds.Username,
		A1: ha1, Count: creds.Nc, Cnonce: creds.Cnonce})
	if err != nil {
		return creds.Username, fmt.Errorf("%w: %v", ErrBadCredential, err)
	}
	if !hmac.Equal([]byte(strings.ToLower(want.Response)), []byte(strings.ToLower(creds.Response))) || !known {
		return creds.Username, ErrBadCredential
	}
	if err := a.use(creds.Nonce, uint64(creds.Nc)); err != nil {
		return creds.Username, err
	}
	return creds.Username, nil
}

// checkURI refuses a credential computed for another URI than target; an
// unreadable one is left to check.
func (a *authenticator) checkURI(header string, target *gosip.Uri) (string, error) {
	creds, err := digest.ParseCredentials(header)
	if err != nil || sameURI(creds.URI, target) {
		return "", nil
	}
	return creds.Username, fmt.Errorf("%w: %w: %q for %s", ErrBadCredential, ErrURIMismatch, creds.URI, target.Addr())
}

// sameURI reports whether a credential's uri names target: same scheme,
// host and port (the default port when absent), and user when the uri has
// one; parameters aside. Some phones (and SIPp) leave the user out of the
// uri they sign.
func sameURI(credURI string, target *gosip.Uri) bool {
	var u gosip.Uri
	if err := gosip.ParseUri(credURI, &u); err != nil {
		return false
	}
	port := func(x *gosip.Uri) int {
		switch {
		case x.Port != 0:
			return x.Port
		case x.IsEncrypted():
			return 5061
		}
		return 5060
	}
	scheme := func(x *gosip.Uri) string {
		if x.Scheme == "" {
			return "sip"
		}
		return strings.ToLower(x.Scheme)
	}
	return scheme(&u) == scheme(target) && (u.User == "" || u.User == target.User) &&
		strings.EqualFold(u.Host, target.Host) && port(&u) == port(target)
}
