package security

import (
	"net/netip"
	"testing"
	"time"
)

func TestRateLimiter(t *testing.T) {
	const invite, register, none = 0, 1, 2
	rates := []Rate{{PerSecond: 10, Burst: 5}, {PerSecond: 1, Burst: 2}}
	type step struct {
		after time.Duration
		src   netip.Addr
		class int
		n     int // requests sent
		want  int // of them allowed
	}
	other := netip.MustParseAddr("198.51.100.8")
	tests := []struct {
		name  string
		steps []step
	}{
		{"a burst, then nothing until a token refills", []step{
			{0, attacker, invite, 8, 5},
			{50 * time.Millisecond, attacker, invite, 1, 0},
			{50 * time.Millisecond, attacker, invite, 2, 1},
		}},
		{"the rate holds over time", []step{
			{0, attacker, invite, 5, 5},
			{time.Second, attacker, invite, 20, 5}, // refilled to the burst, not beyond
		}},
		{"classes are apart", []step{
			{0, attacker, invite, 5, 5},
			{0, attacker, register, 3, 2},
			{0, attacker, invite, 1, 0},
		}},
		{"sources are apart", []step{
			{0, attacker, invite, 6, 5},
			{0, other, invite, 6, 5},
		}},
		{"an unlimited class is never limited", []step{
			{0, attacker, none, 1000, 1000},
		}},
		{"an IPv4-mapped address is the same source", []step{
			{0, attacker, invite, 5, 5},
			{0, netip.AddrFrom16(attacker.As16()), invite, 1, 0},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{t: time.Unix(1000, 0)}
			l := NewRateLimiter(rates, 0, clk)
			for i, s := range tc.steps {
				clk.t = clk.t.Add(s.after)
				got := 0
				for range s.n {
					if l.Allow(s.src, s.class) {
						got++
					}
				}
				if got != s.want {
					t.Fatalf("step %d: %d of %d allowed, want %d", i, got, s.n, s.want)
				}
			}
		})
	}
}

func TestRateLimiterBoundsSources(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	l := NewRateLimiter([]Rate{{PerSecond: 1, Burst: 1}}, 8, clk)
	for i := range 100 {
		l.Allow(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 0)
		if n := l.Sources(); n > 8 {
			t.Fatalf("tracking %d sources, bound 8", n)
		}
	}
	// Idle sources are forgotten once their bucket has refilled.
	clk.t = clk.t.Add(2 * time.Second)
	l.Allow(attacker, 0)
	if n := l.Sources(); n != 1 {
		t.Fatalf("tracking %d sources after all but one went idle, want 1", n)
	}
}

func TestRateLimiterAllocatesNothingForAKnownSource(t *testing.T) {
	l := NewRateLimiter([]Rate{{PerSecond: 1e9, Burst: 1 << 30}}, 0, SystemClock{})
	l.Allow(attacker, 0)
	if n := testing.AllocsPerRun(1000, func() { l.Allow(attacker, 0) }); n != 0 {
		t.Fatalf("%v allocs per Allow", n)
	}
}

func TestGuardShedIsSampled(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	var seen []Event
	g := New(Settings{BanAfter: 3, BanWindow: time.Minute, BanFor: time.Minute, ReportEvery: time.Minute}, clk,
		func(e Event) { seen = append(seen, e) })
	other := netip.MustParseAddr("198.51.100.8")
	for range 500 {
		g.Shed(Event{Kind: KindRateLimited, Source: attacker, Method: "INVITE"})
	}
	g.Shed(Event{Kind: KindMalformed, Source: attacker})
	g.Shed(Event{Kind: KindRateLimited, Source: other, Method: "INVITE"})
	if len(seen) != 3 || seen[0].Count != 1 || seen[1].Kind != KindMalformed || seen[2].Source != other {
		t.Fatalf("events %+v, want one per source and kind", seen)
	}
	clk.t = clk.t.Add(time.Minute)
	if !g.Shed(Event{Kind: KindRateLimited, Source: attacker, Method: "INVITE"}) {
		t.Fatal("no event once the interval passed")
	}
	if last := seen[len(seen)-1]; last.Count != 500 || last.Source != attacker {
		t.Fatalf("event %+v, want count 500 (499 unreported and this one)", last)
	}
	r := g.Events()
	if r.Shed[KindRateLimited] != 502 || r.Shed[KindMalformed] != 1 || r.Counts[KindRateLimited] != 3 {
		t.Fatalf("report %+v", r)
	}
	if len(g.Bans()) != 0 {
		t.Fatalf("shedding banned %+v", g.Bans())
	}
}

func TestGuardShedBoundsSources(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	g := New(Settings{MaxSources: 8}, clk, nil)
	for i := range 100 {
		g.Shed(Event{Kind: KindMalformed, Source: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})})
		if n := len(g.reports); n > 8 {
			t.Fatalf("tracking %d sources, bound 8", n)
		}
	}
}
