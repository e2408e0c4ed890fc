package sip

import (
	"errors"
	"testing"
	"time"

	"github.com/icholy/digest"
)

func newTestAuth() *authenticator {
	return newAuthenticator("switchboard", func(u string) (string, bool) {
		if u == "1001" {
			return "demo1001", true
		}
		return "", false
	})
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
