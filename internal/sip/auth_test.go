package sip

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// newTestAuth knows 1001, password demo1001, by its HA1 only; key, if
// given, signs its nonces.
func newTestAuth(key ...byte) *authenticator {
	ha1 := testHA1("1001", "switchboard", "demo1001")
	return newAuthenticator("switchboard", func(u string) (string, bool) {
		if u == "1001" {
			return ha1, true
		}
		return "", false
	}, key)
}

func testHA1(user, realm, password string) string {
	sum := md5.Sum([]byte(user + ":" + realm + ":" + password))
	return hex.EncodeToString(sum[:])
}

// answer computes what a phone sends for a challenge.
func answer(t *testing.T, chalHeader, user, pass string) string {
	t.Helper()
	chal, err := digest.ParseChallenge(chalHeader)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:127.0.0.1", Username: user, Password: pass, Count: 1, Cnonce: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	return cred.String()
}

func TestDigestVerify(t *testing.T) {
	a := newTestAuth()
	now := time.Now()
	a.now = func() time.Time { return now }
	tests := []struct {
		name    string
		header  func() string
		wantErr error
	}{
		{"good", func() string { return answer(t, a.challenge(false), "1001", "demo1001") }, nil},
		{"wrong password", func() string { return answer(t, a.challenge(false), "1001", "nope") }, ErrBadCredential},
		{"unknown user", func() string { return answer(t, a.challenge(false), "9999", "x") }, ErrBadCredential},
		{"no header", func() string { return "" }, ErrNoCredentials},
		{"garbage", func() string { return "Digest ,,,=" }, ErrBadCredential},
		{"forged nonce", func() string {
			return `Digest username="1001", realm="switchboard", nonce="1.abc", uri="sip:x", response="00"`
		}, ErrStaleNonce},
		{"another realm's HA1", func() string {
			chal := strings.Replace(a.challenge(false), `realm="switchboard"`, `realm="other"`, 1)
			return answer(t, chal, "1001", "demo1001")
		}, ErrBadCredential},
		{"an algorithm not offered", func() string {
			chal := strings.Replace(a.challenge(false), "algorithm=MD5", "algorithm=SHA-256", 1)
			return answer(t, chal, "1001", "demo1001")
		}, ErrBadCredential},
		{"stale nonce", func() string {
			h := answer(t, a.challenge(false), "1001", "demo1001")
			now = now.Add(nonceLifetime + time.Second)
			return h
		}, ErrStaleNonce},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header()
			user, err := a.verify("REGISTER", h)
			if tc.wantErr == nil {
				if err != nil || user != "1001" {
					t.Fatalf("verify: %q %v", user, err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func FuzzDigestVerify(f *testing.F) {
	f.Add(`Digest username="1001", realm="switchboard", nonce="1.abc", uri="sip:x", response="00", qop=auth, nc=00000001, cnonce="x"`)
	f.Add("Basic abc")
	a := newTestAuth()
	f.Fuzz(func(t *testing.T, h string) {
		if u, err := a.verify("INVITE", h); err == nil {
			t.Fatalf("fuzzed header authenticated as %q", u)
		}
	})
}

// answerN computes a phone's Authorization for a challenge with nonce count
// nc and credential uri.
func answerN(t *testing.T, chalHeader, user, pass, uri string, nc int) string {
	t.Helper()
	chal, err := digest.ParseChallenge(chalHeader)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: uri, Username: user, Password: pass, Count: nc, Cnonce: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	return cred.String()
}

func TestDigestNonceReplay(t *testing.T) {
	tests := []struct {
		name string
		// counts are the nonce counts sent in turn on one nonce; the last
		// is expected to be refused as a replay when replay is set.
		counts []int
		replay bool
	}{
		{"increasing counts", []int{1, 2, 3}, false},
		{"the same Authorization twice", []int{1, 1}, true},
		{"a count going back", []int{1, 3, 2}, true},
		{"a count skipping ahead", []int{1, 5, 6}, false},
		{"a nonce used past its limit", func() []int {
			c := make([]int, maxNonceUses+1)
			for i := range c {
				c[i] = i + 1
			}
			return c
		}(), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newTestAuth()
			chal := a.challenge(false)
			for i, nc := range tc.counts {
				_, err := a.verify("REGISTER", answerN(t, chal, "1001", "demo1001", "sip:127.0.0.1", nc))
				last := i == len(tc.counts)-1
				if last && tc.replay {
					if !errors.Is(err, ErrNonceReplay) || !errors.Is(err, ErrStaleNonce) {
						t.Fatalf("nc %d: err %v, want a replay (and stale)", nc, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("nc %d: %v", nc, err)
				}
			}
		})
	}
}

// Nodes sharing a nonce key accept each other's challenges; a node with
// its own key asks again (stale), as after a restart.
func TestDigestSharedNonceKey(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	a, b, other := newTestAuth(key...), newTestAuth(key...), newTestAuth()
	if _, err := b.verify("REGISTER", answer(t, a.challenge(false), "1001", "demo1001")); err != nil {
		t.Fatalf("node b refused node a's challenge: %v", err)
	}
	if _, err := other.verify("REGISTER", answer(t, a.challenge(false), "1001", "demo1001")); !errors.Is(err, ErrStaleNonce) {
		t.Fatalf("a node with another key: %v, want a stale nonce", err)
	}
}

func TestDigestNoncesAreDistinct(t *testing.T) {
	a := newTestAuth()
	now := time.Now()
	a.now = func() time.Time { return now } // the same second for both phones
	for range 2 {
		if _, err := a.verify("REGISTER", answerN(t, a.challenge(false), "1001", "demo1001", "sip:127.0.0.1", 1)); err != nil {
			t.Fatalf("a second phone's first use of its nonce: %v", err)
		}
	}
}

func TestDigestFailedGuessDoesNotSpendNonce(t *testing.T) {
	a := newTestAuth()
	chal := a.challenge(false)
	if _, err := a.verify("REGISTER", answerN(t, chal, "1001", "nope", "sip:127.0.0.1", 1)); !errors.Is(err, ErrBadCredential) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := a.verify("REGISTER", answerN(t, chal, "1001", "demo1001", "sip:127.0.0.1", 1)); err != nil {
		t.Fatalf("the right password on the same nonce: %v", err)
	}
}

func TestDigestURIMustMatchRequest(t *testing.T) {
	tests := []struct {
		name, target, credURI string
		wantErr               error
	}{
		{"same", "sip:127.0.0.1", "sip:127.0.0.1", nil},
		{"default port written out", "sip:127.0.0.1", "sip:127.0.0.1:5060", nil},
		{"parameters aside", "sip:127.0.0.1:5070;transport=udp", "sip:127.0.0.1:5070", nil},
		{"another host", "sip:127.0.0.1", "sip:10.0.0.1", ErrURIMismatch},
		{"another port", "sip:127.0.0.1:5070", "sip:127.0.0.1:5080", ErrURIMismatch},
		{"another user", "sip:100@127.0.0.1", "sip:200@127.0.0.1", ErrURIMismatch},
		{"no user in the credential's uri", "sip:*45@127.0.0.1:5070", "sip:127.0.0.1:5070", nil},
		{"not a URI", "sip:127.0.0.1", "x", ErrURIMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newTestAuth()
			var target gosip.Uri
			if err := gosip.ParseUri(tc.target, &target); err != nil {
				t.Fatal(err)
			}
			req := gosip.NewRequest(gosip.REGISTER, target)
			req.AppendHeader(gosip.NewHeader("Authorization", answerN(t, a.challenge(false), "1001", "demo1001", tc.credURI, 1)))
			_, err := a.verifyRequest(req)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestDigestUnknownUserLooksLikeWrongPassword(t *testing.T) {
	a := newTestAuth()
	_, wrong := a.verify("REGISTER", answer(t, a.challenge(false), "1001", "nope"))
	_, unknown := a.verify("REGISTER", answer(t, a.challenge(false), "9999", "nope"))
	if wrong == nil || unknown == nil || wrong.Error() != unknown.Error() {
		t.Fatalf("wrong password: %v; unknown user: %v", wrong, unknown)
	}
}

// The table of used nonces stays bounded; the nonces it had to forget
// count as stale (the phone is challenged again), never as fresh.
func TestDigestUsedNoncesBounded(t *testing.T) {
	a := newTestAuth()
	a.maxUsed = 8
	now := time.Now()
	a.now = func() time.Time { return now }
	var first string
	for i := range 20 {
		now = now.Add(time.Second)
		h := answerN(t, a.challenge(false), "1001", "demo1001", "sip:127.0.0.1", 1)
		if i == 0 {
			first = h
		}
		if _, err := a.verify("REGISTER", h); err != nil {
			t.Fatalf("nonce %d: %v", i, err)
		}
		if len(a.used) > 8 {
			t.Fatalf("%d used nonces kept, bound 8", len(a.used))
		}
	}
	if _, err := a.verify("REGISTER", first); !errors.Is(err, ErrStaleNonce) {
		t.Fatalf("a forgotten nonce replayed: %v, want stale", err)
	}
}

// memNonces is a NonceStore in memory shared by "nodes".
type memNonces struct {
	mu   sync.Mutex
	used map[string][2]uint64 // nonce → nc, uses
	down bool
}

func (m *memNonces) UseNonce(_ context.Context, nonce string, nc uint64, _ time.Time, maxUses int, _ time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return false, errors.New("store down")
	}
	u, seen := m.used[nonce]
	if seen && (nc <= u[0] || u[1] >= uint64(maxUses)) {
		return false, nil
	}
	m.used[nonce] = [2]uint64{nc, u[1] + 1}
	return true, nil
}

// With the nonce uses shared, an Authorization used with one node is a
// replay at another; when the store cannot answer, the node's own table
// decides.
func TestDigestReplayAcrossNodes(t *testing.T) {
	key := make([]byte, 32)
	shared := &memNonces{used: map[string][2]uint64{}}
	a, b := newTestAuth(key...), newTestAuth(key...)
	a.shared, b.shared = shared, shared
	auth := answer(t, a.challenge(false), "1001", "demo1001")
	if _, err := a.verify("REGISTER", auth); err != nil {
		t.Fatalf("first use at a: %v", err)
	}
	if _, err := b.verify("REGISTER", auth); !errors.Is(err, ErrNonceReplay) {
		t.Fatalf("the same Authorization at b: %v, want a replay", err)
	}
	shared.down = true
	fresh := answer(t, b.challenge(false), "1001", "demo1001")
	if _, err := b.verify("REGISTER", fresh); err != nil {
		t.Fatalf("with the store down, a fresh answer: %v", err)
	}
	if _, err := b.verify("REGISTER", fresh); !errors.Is(err, ErrNonceReplay) {
		t.Fatalf("with the store down, a replay at the same node: %v", err)
	}
}
