package node_test

import (
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// TestPasswordGuesserIsBanned: ten REGISTERs with wrong passwords from one
// address (the demo's rule) ban it — even the right password then gets no
// answer, while another address registers as usual; the ban is listed by
// the API, logged for fail2ban, and lifting it lets the right password in.
func TestPasswordGuesserIsBanned(t *testing.T) {
	n := nodetest.Start(t, "")
	guesser := nodetest.NewRegistrant(t, n.SIPAddr(), netip.MustParseAddr("127.0.0.9"), "1001")
	for i := range 10 {
		code, err := guesser.Register("wrong", 5*time.Second)
		if err != nil || code != 401 {
			t.Fatalf("guess %d: %d %v, want 401 with a fresh challenge", i+1, code, err)
		}
	}
	if code, err := guesser.Register("demo1001", time.Second); err != nil || code != 0 {
		t.Fatalf("right password from the banned address: %d %v, want no answer", code, err)
	}
	// Nothing else it sends is answered either: requests in a made-up
	// dialog, other methods.
	raw := nodetest.NewRaw(t, n.SIPAddr(), "127.0.0.9")
	for _, m := range []string{"BYE", "MESSAGE", "SUBSCRIBE"} {
		if code := raw.RequestWithin(t, m, nodetest.DialogTags{CallID: "made-up", Local: "a", Remote: "b"}, "", nil, time.Second); code != 0 {
			t.Fatalf("%s from the banned address: %d, want no answer", m, code)
		}
	}
	neighbour := nodetest.NewRegistrant(t, n.SIPAddr(), netip.MustParseAddr("127.0.0.10"), "1002")
	if code, err := neighbour.Register("demo1002", 5*time.Second); err != nil || code != 200 {
		t.Fatalf("another address: %d %v, want 200", code, err)
	}

	var bans []struct {
		Source string    `json:"source"`
		Until  time.Time `json:"until"`
	}
	if code := n.API("GET", "/api/v1/security/bans", nil, &bans); code != 200 {
		t.Fatalf("GET bans: %d", code)
	}
	if len(bans) != 1 || bans[0].Source != "127.0.0.9" {
		t.Fatalf("bans %+v, want 127.0.0.9", bans)
	}
	if left := time.Until(bans[0].Until); left < 9*time.Minute || left > 10*time.Minute {
		t.Fatalf("ban ends in %s, want about 10 min", left)
	}
	var events struct {
		Counts  map[string]int `json:"counts"`
		Dropped int            `json:"dropped"`
	}
	if code := n.API("GET", "/api/v1/security/events", nil, &events); code != 200 {
		t.Fatalf("GET events: %d", code)
	}
	if events.Counts["auth_failure"] != 10 || events.Counts["ban"] != 1 || events.Dropped == 0 {
		t.Fatalf("events %+v", events)
	}
	log, err := os.ReadFile(n.Log)
	if err != nil {
		t.Fatal(err)
	}
	// The line a fail2ban filter matches (failregex with <HOST> for the address).
	fail2ban := regexp.MustCompile(`msg="security event" kind=(auth_failure|nonce_replay|uri_mismatch) source=127\.0\.0\.9 `)
	if got := len(fail2ban.FindAll(log, -1)); got != 10 {
		t.Fatalf("%d log lines a fail2ban filter matches, want 10", got)
	}

	if code := n.API("DELETE", "/api/v1/security/bans/127.0.0.9", nil, nil); code != 200 {
		t.Fatalf("DELETE ban: %d", code)
	}
	if code, err := guesser.Register("demo1001", 5*time.Second); err != nil || code != 200 {
		t.Fatalf("right password once the ban is lifted: %d %v, want 200", code, err)
	}
}

// TestFailedInviteIsASecurityEventNotACall: an INVITE whose credentials are
// wrong is answered 403 and counted as a security event with its fail2ban
// line, but leaves no call record; an authenticated agent's call that is
// then refused (an unknown number, 404) does leave one.
func TestFailedInviteIsASecurityEventNotACall(t *testing.T) {
	n := nodetest.Start(t, "")
	before := len(n.Calls())
	// From a trusted source an extension still needs credentials.
	for i := range 3 {
		if c := n.Dial(t, "1002", nodetest.Auth("1001", "wrong")); c.Code != 403 {
			t.Fatalf("INVITE %d with a wrong password: %d, want 403", i+1, c.Code)
		}
	}
	if c := n.Dial(t, "1002", nodetest.Auth("9999", "guess")); c.Code != 403 {
		t.Fatalf("INVITE as an unknown user: %d, want 403", c.Code)
	}
	var events struct {
		Counts map[string]int `json:"counts"`
		Recent []struct {
			Kind   string `json:"kind"`
			Source string `json:"source"`
			Method string `json:"method"`
		} `json:"recent"`
	}
	if code := n.API("GET", "/api/v1/security/events", nil, &events); code != 200 {
		t.Fatalf("GET events: %d", code)
	}
	if events.Counts["auth_failure"] != 4 {
		t.Fatalf("events %+v, want 4 auth_failure", events)
	}
	for _, e := range events.Recent {
		if e.Kind != "auth_failure" || e.Source != "127.0.0.1" || e.Method != "INVITE" {
			t.Fatalf("event %+v, want an INVITE's auth_failure from 127.0.0.1", e)
		}
	}
	if got := len(n.Calls()); got != before {
		t.Fatalf("%d call records after 4 failed INVITEs, want %d: a guess is not a call", got, before)
	}
	log, err := os.ReadFile(n.Log)
	if err != nil {
		t.Fatal(err)
	}
	fail2ban := regexp.MustCompile(`msg="security event" kind=(auth_failure|nonce_replay|uri_mismatch) source=127\.0\.0\.1 `)
	if got := len(fail2ban.FindAll(log, -1)); got != 4 {
		t.Fatalf("%d log lines a fail2ban filter matches, want 4", got)
	}

	if c := n.Dial(t, "999", nodetest.Auth("1001", "demo1001")); c.Code != 404 {
		t.Fatalf("an agent dialing an unknown number: %d, want 404", c.Code)
	}
	rec := n.EndedCall(t, 5*time.Second, func(r nodetest.CallRecord) bool { return r.Dialed == "999" })
	if rec.Outcome != "rejected" || !strings.HasPrefix(rec.Reason, "404") {
		t.Fatalf("record of the refused authenticated call %+v", rec)
	}
}
