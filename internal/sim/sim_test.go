package sim

import (
	"math"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/report"
)

func within(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s: simulated %.4f, model %.4f (tolerance %.4f)", name, got, want, tol)
	}
}

// 300 simulated hours (~180,000 calls): the standard errors of the
// figures below are a few tenths of a percent, so these tolerances are
// several standard errors wide.
func TestAgreesWithErlangC(t *testing.T) {
	for _, agents := range []int{33, 35, 38} {
		res, err := Run(Config{ArrivalsPerHour: 600, Hours: 300, Agents: agents, Threshold: 20 * time.Second,
			Handle: Dist{Kind: "exponential", Mean: 180 * time.Second}, Seed: uint64(agents)})
		if err != nil {
			t.Fatal(err)
		}
		c, _ := report.ErlangC(report.Traffic{ArrivalsPerHour: 600, AHT: 180 * time.Second, Threshold: 20 * time.Second}, agents)
		within(t, "service level", res.Total.ServiceLevel, c.ServiceLevel, 0.02)
		within(t, "p_wait", res.Total.PWait, c.PWait, 0.02)
		within(t, "occupancy", res.Total.Occupancy, c.Occupancy, 0.01)
		within(t, "asa (relative)", res.Total.ASASeconds/c.ASASeconds, 1, 0.15)
		within(t, "aht", res.Total.AHTSeconds, 180, 3)
	}
}

func TestAgreesWithErlangA(t *testing.T) {
	for _, agents := range []int{28, 31, 34} {
		res, err := Run(Config{ArrivalsPerHour: 600, Hours: 300, Agents: agents, Threshold: 20 * time.Second,
			Handle: Dist{Kind: "exponential", Mean: 180 * time.Second}, Patience: Dist{Kind: "exponential", Mean: 120 * time.Second},
			ShortAbandon: 0, Seed: 7 + uint64(agents)})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := report.ErlangA(report.Traffic{ArrivalsPerHour: 600, AHT: 180 * time.Second, Threshold: 20 * time.Second, Patience: 120 * time.Second}, agents)
		within(t, "abandon rate", *res.Total.AbandonRate, *a.AbandonRate, 0.01)
		within(t, "service level", res.Total.ServiceLevel, a.ServiceLevel, 0.02)
		within(t, "p_wait", res.Total.PWait, a.PWait, 0.02)
		within(t, "occupancy", res.Total.Occupancy, a.Occupancy, 0.01)
	}
}

func TestShortAbandonsLeaveServiceLevel(t *testing.T) {
	cfg := Config{ArrivalsPerHour: 600, Hours: 50, Agents: 29, Threshold: 20 * time.Second,
		Handle: Dist{Kind: "constant", Mean: 180 * time.Second}, Patience: Dist{Kind: "exponential", Mean: 30 * time.Second}, Seed: 3}
	noShort, _ := Run(cfg)
	cfg.ShortAbandon = 5 * time.Second
	short, _ := Run(cfg)
	if short.Total.ShortAbandoned == 0 || noShort.Total.ShortAbandoned != 0 {
		t.Fatalf("short abandons: %d with a 5 s window, %d without", short.Total.ShortAbandoned, noShort.Total.ShortAbandoned)
	}
	if short.Total.ServiceLevel <= noShort.Total.ServiceLevel || *short.Total.AbandonRate >= *noShort.Total.AbandonRate {
		t.Fatalf("excluding short abandons should raise SL and lower abandonment: %+v vs %+v", short.Total, noShort.Total)
	}
}

func TestProfileShapesTheDay(t *testing.T) {
	res, err := Run(Config{ArrivalsPerHour: 600, Hours: 8, Agents: 35, Threshold: 20 * time.Second, Interval: time.Hour,
		Handle: Dist{Kind: "lognormal", Mean: 180 * time.Second, Sigma: 0.5}, Profile: []float64{1, 3, 1, 1, 1, 1, 1, 1}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Intervals) != 8 || res.Intervals[1].Offered < 2*res.Intervals[0].Offered {
		t.Fatalf("peak hour not busier: %+v", res.Intervals[:2])
	}
	if res.Intervals[1].ServiceLevel >= res.Intervals[0].ServiceLevel {
		t.Fatalf("peak hour SL %.2f should be below the hour before it (%.2f)", res.Intervals[1].ServiceLevel, res.Intervals[0].ServiceLevel)
	}
}

func TestBadConfig(t *testing.T) {
	for _, c := range []Config{
		{ArrivalsPerHour: 0, Hours: 1, Agents: 1, Handle: Dist{Mean: time.Second}},
		{ArrivalsPerHour: 1, Hours: 1, Agents: 1, Handle: Dist{Kind: "weibull", Mean: time.Second}},
		{ArrivalsPerHour: 1, Hours: 1, Agents: 1, Handle: Dist{Kind: "lognormal", Mean: time.Second}},
	} {
		if _, err := Run(c); err == nil {
			t.Errorf("accepted %+v", c)
		}
	}
}

// BenchmarkWorkingDay simulates 8 hours at 600 calls/hour with 50 agents.
func BenchmarkWorkingDay(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Run(Config{ArrivalsPerHour: 600, Hours: 8, Agents: 50, Threshold: 20 * time.Second,
			Handle: Dist{Kind: "exponential", Mean: 180 * time.Second}, Patience: Dist{Kind: "exponential", Mean: 120 * time.Second},
			ShortAbandon: 5 * time.Second, Seed: uint64(i)}); err != nil {
			b.Fatal(err)
		}
	}
}

// With identical agents the strategy does not change the queue (M/M/c):
// every strategy keeps the service level of longest idle; it changes who
// works: linear piles calls on the first agents, the balancing strategies
// spread them.
func TestStrategiesChangeWhoWorksNotTheQueue(t *testing.T) {
	base := Config{ArrivalsPerHour: 600, Hours: 40, Agents: 36, Threshold: 20 * time.Second,
		Handle: Dist{Kind: "exponential", Mean: 180 * time.Second}, Seed: 11}
	results := map[acd.Strategy]Result{}
	for _, s := range acd.Strategies {
		cfg := base
		cfg.Strategy = s
		res, err := Run(cfg)
		if err != nil {
			t.Fatal(err)
		}
		results[s] = res
	}
	ref := results[acd.LongestIdle]
	for s, res := range results {
		within(t, string(s)+" service level", res.Total.ServiceLevel, ref.Total.ServiceLevel, 0.03)
		within(t, string(s)+" occupancy", res.Total.Occupancy, ref.Total.Occupancy, 0.02)
	}
	spread := func(s acd.Strategy) int { return results[s].AgentCallsMax - results[s].AgentCallsMin }
	for _, s := range []acd.Strategy{acd.LongestIdle, acd.RoundRobin, acd.FewestCalls, acd.LeastTalkTime} {
		if spread(s)*3 > spread(acd.Linear) {
			t.Errorf("%s spreads calls %d apart, linear %d: want balancing strategies far more even", s, spread(s), spread(acd.Linear))
		}
	}
}

// Two skill groups, one overloaded: letting its calls overflow to the other
// group after 30 s lifts its service level and the day's, and puts the
// idle group to work.
func TestOverflowLiftsTheOverloadedGroup(t *testing.T) {
	cfg := Config{ArrivalsPerHour: 600, Hours: 40, Threshold: 60 * time.Second,
		Handle: Dist{Kind: "exponential", Mean: 180 * time.Second}, Seed: 5,
		Groups: []Group{{Name: "spanish", Agents: 10, Share: 0.3}, {Name: "english", Agents: 26, Share: 0.7}}}
	// spanish: 180 calls/h × 3 min = 9 Erlangs on 10 agents; english: 21 on 26.
	without, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.OverflowAfter = 30 * time.Second
	with, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(with.Groups) != 2 || with.Groups[0].Name != "spanish" {
		t.Fatalf("groups %+v", with.Groups)
	}
	sw, sp := without.Groups[0], with.Groups[0]
	if sp.ServiceLevel < sw.ServiceLevel+0.1 {
		t.Errorf("spanish service level %.3f with overflow, %.3f without: want a clear rise", sp.ServiceLevel, sw.ServiceLevel)
	}
	if with.Total.ServiceLevel <= without.Total.ServiceLevel {
		t.Errorf("day's service level %.3f with overflow, %.3f without", with.Total.ServiceLevel, without.Total.ServiceLevel)
	}
	if with.Groups[1].Occupancy <= without.Groups[1].Occupancy {
		t.Errorf("english occupancy %.3f with overflow, %.3f without: want it to take spanish calls", with.Groups[1].Occupancy, without.Groups[1].Occupancy)
	}
}
