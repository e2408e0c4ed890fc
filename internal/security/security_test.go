package security

import (
	"net/netip"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

var (
	attacker = netip.MustParseAddr("198.51.100.7")
	trunk    = netip.MustParseAddr("192.0.2.10")
)

func newTestGuard() (*Guard, *fakeClock, *[]Event) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	var seen []Event
	g := New(Settings{BanAfter: 3, BanWindow: time.Minute, BanFor: 10 * time.Minute,
		Exempt: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, Recent: 4}, clk, func(e Event) { seen = append(seen, e) })
	return g, clk, &seen
}

func TestGuardBans(t *testing.T) {
	// Each step: advance the clock, then either fail from src or look.
	type step struct {
		after      time.Duration
		fail       netip.Addr
		kind       EventKind
		lift       bool
		wantBanned bool // of the source after the step
	}
	tests := []struct {
		name  string
		src   netip.Addr
		steps []step
	}{
		{"banned on the Nth failure in the window", attacker, []step{
			{0, attacker, KindAuthFailure, false, false},
			{time.Second, attacker, KindAuthFailure, false, false},
			{time.Second, attacker, KindNonceReplay, false, true},
		}},
		{"failures spread past the window do not ban", attacker, []step{
			{0, attacker, KindAuthFailure, false, false},
			{40 * time.Second, attacker, KindAuthFailure, false, false},
			{40 * time.Second, attacker, KindAuthFailure, false, false}, // the first left the window
			{time.Second, attacker, KindAuthFailure, false, true},
		}},
		{"a ban expires", attacker, []step{
			{0, attacker, KindAuthFailure, false, false},
			{0, attacker, KindAuthFailure, false, false},
			{0, attacker, KindAuthFailure, false, true},
			{10*time.Minute - time.Second, netip.Addr{}, "", false, true},
			{time.Second, netip.Addr{}, "", false, false},
		}},
		{"a lifted ban starts the count again", attacker, []step{
			{0, attacker, KindAuthFailure, false, false},
			{0, attacker, KindAuthFailure, false, false},
			{0, attacker, KindAuthFailure, false, true},
			{0, netip.Addr{}, "", true, false},
			{0, attacker, KindAuthFailure, false, false},
		}},
		{"an exempt source is never banned", trunk, []step{
			{0, trunk, KindAuthFailure, false, false},
			{0, trunk, KindAuthFailure, false, false},
			{0, trunk, KindAuthFailure, false, false},
			{0, trunk, KindAuthFailure, false, false},
		}},
		{"events that are not failures do not count", attacker, []step{
			{0, attacker, KindLift, false, false},
			{0, attacker, KindLift, false, false},
			{0, attacker, KindLift, false, false},
		}},
		{"an IPv4-mapped address is the same source", attacker, []step{
			{0, attacker, KindAuthFailure, false, false},
			{0, netip.AddrFrom16(attacker.As16()), KindAuthFailure, false, false},
			{0, attacker, KindAuthFailure, false, true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, clk, _ := newTestGuard()
			for i, s := range tc.steps {
				clk.t = clk.t.Add(s.after)
				if s.fail.IsValid() {
					g.Fail(Event{Kind: s.kind, Source: s.fail})
				}
				if s.lift && !g.Lift(tc.src) {
					t.Fatalf("step %d: Lift found no ban", i)
				}
				if got := g.Banned(tc.src); got != s.wantBanned {
					t.Fatalf("step %d: banned %v, want %v", i, got, s.wantBanned)
				}
				listed := len(g.Bans()) == 1
				if listed != s.wantBanned {
					t.Fatalf("step %d: bans %+v", i, g.Bans())
				}
			}
		})
	}
}

func TestGuardBanListAndEvents(t *testing.T) {
	g, clk, seen := newTestGuard()
	for range 3 {
		g.Fail(Event{Kind: KindAuthFailure, Source: attacker, User: "1001", Method: "REGISTER"})
	}
	bans := g.Bans()
	if len(bans) != 1 || bans[0].Source != attacker || !bans[0].Until.Equal(clk.t.Add(10*time.Minute)) || bans[0].Failures != 3 {
		t.Fatalf("bans %+v", bans)
	}
	g.Banned(attacker)
	g.Banned(attacker)
	if !g.Lift(attacker) || g.Lift(attacker) {
		t.Fatal("Lift: want true once, then false")
	}
	r := g.Events()
	if r.Counts[KindAuthFailure] != 3 || r.Counts[KindBan] != 1 || r.Counts[KindLift] != 1 || r.Dropped != 2 {
		t.Fatalf("counts %+v dropped %d", r.Counts, r.Dropped)
	}
	// The ring keeps the last 4 of 5 events, oldest first.
	want := []EventKind{KindAuthFailure, KindAuthFailure, KindBan, KindLift}
	if len(r.Recent) != len(want) {
		t.Fatalf("recent %+v", r.Recent)
	}
	for i, k := range want {
		if r.Recent[i].Kind != k {
			t.Fatalf("recent[%d] %s, want %s", i, r.Recent[i].Kind, k)
		}
	}
	if len(*seen) != 5 || (*seen)[3].Kind != KindBan || (*seen)[3].Until.IsZero() {
		t.Fatalf("notified %+v", *seen)
	}
}

func TestGuardBoundsSources(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	g := New(Settings{BanAfter: 2, BanWindow: time.Minute, BanFor: time.Minute, MaxSources: 8}, clk, nil)
	for i := range 100 {
		g.Fail(Event{Kind: KindAuthFailure, Source: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})})
		if n := len(g.fails); n > 8 {
			t.Fatalf("tracking %d sources, bound 8", n)
		}
	}
}

func TestEventLogAttrs(t *testing.T) {
	e := Event{Kind: KindAuthFailure, Source: attacker, User: "1001"}
	a := e.LogAttrs()
	if a[0] != "kind" || a[1] != "auth_failure" || a[2] != "source" || a[3] != "198.51.100.7" {
		t.Fatalf("attrs %v", a)
	}
}
