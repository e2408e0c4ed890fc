package report

import (
	"math"
	"math/big"
	"testing"
	"time"
)

// erlangCOracle computes P(wait) from the textbook factorial formula in big
// floats: C = (A^N/N! · N/(N−A)) / (Σ_{k<N} A^k/k! + A^N/N! · N/(N−A)).
func erlangCOracle(n int, a float64) float64 {
	prec := uint(512)
	A := new(big.Float).SetPrec(prec).SetFloat64(a)
	term := new(big.Float).SetPrec(prec).SetFloat64(1) // A^k/k!
	sum := new(big.Float).SetPrec(prec)
	for k := 0; k < n; k++ {
		sum.Add(sum, term)
		term.Mul(term, A)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(int64(k+1)))
	}
	top := new(big.Float).SetPrec(prec).Mul(term, new(big.Float).SetPrec(prec).SetFloat64(float64(n)/(float64(n)-a)))
	den := new(big.Float).SetPrec(prec).Add(sum, top)
	c, _ := new(big.Float).SetPrec(prec).Quo(top, den).Float64()
	return c
}

func TestErlangCAgainstFactorialFormula(t *testing.T) {
	tests := []struct {
		perHour float64
		aht     time.Duration
		n       int
	}{
		{600, 180 * time.Second, 32},   // 30 Erlangs
		{100, 240 * time.Second, 8},    // 6.67 Erlangs
		{3600, 300 * time.Second, 310}, // 300 Erlangs
	}
	for _, tc := range tests {
		tr := Traffic{ArrivalsPerHour: tc.perHour, AHT: tc.aht, Threshold: 20 * time.Second}
		r, err := ErlangC(tr, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		want := erlangCOracle(tc.n, r.TrafficErlangs)
		if math.Abs(r.PWait-want) > 1e-9 {
			t.Errorf("N=%d A=%.2f: P(wait) %.12f, oracle %.12f", tc.n, r.TrafficErlangs, r.PWait, want)
		}
		h := tc.aht.Seconds()
		wantSL := 1 - want*math.Exp(-(float64(tc.n)-r.TrafficErlangs)*20/h)
		if math.Abs(r.ServiceLevel-wantSL) > 1e-9 || math.Abs(r.ASASeconds-want*h/(float64(tc.n)-r.TrafficErlangs)) > 1e-6 {
			t.Errorf("N=%d: SL %.6f (want %.6f), ASA %.3f", tc.n, r.ServiceLevel, wantSL, r.ASASeconds)
		}
	}
}

func TestErlangAApproachesCAsPatienceGrows(t *testing.T) {
	tr := Traffic{ArrivalsPerHour: 600, AHT: 180 * time.Second, Threshold: 20 * time.Second}
	c, _ := ErlangC(tr, 33)
	tr.Patience = 1e7 * time.Second
	a, err := ErlangA(tr, 33)
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]float64{"p_wait": a.PWait - c.PWait, "sl": a.ServiceLevel - c.ServiceLevel, "asa": (a.ASASeconds - c.ASASeconds) / c.ASASeconds} {
		if math.Abs(d) > 2e-3 {
			t.Errorf("%s differs by %g (A %+v, C %+v)", name, d, a, c)
		}
	}
}

func TestErlangAAbandonment(t *testing.T) {
	tr := Traffic{ArrivalsPerHour: 600, AHT: 180 * time.Second, Threshold: 20 * time.Second, Patience: 60 * time.Second}
	prevAb, prevSL := 1.0, 0.0
	for n := 25; n <= 40; n++ { // under-staffed (30 Erlangs) to comfortable
		r, err := ErlangA(tr, n)
		if err != nil {
			t.Fatal(err)
		}
		if *r.AbandonRate > prevAb+1e-12 || r.ServiceLevel < prevSL-1e-12 {
			t.Fatalf("N=%d: abandonment %.4f (was %.4f), SL %.4f (was %.4f): not monotone", n, *r.AbandonRate, prevAb, r.ServiceLevel, prevSL)
		}
		if n < 30 && *r.AbandonRate < 0.01 {
			t.Fatalf("N=%d under 30 Erlangs abandons only %.4f", n, *r.AbandonRate)
		}
		prevAb, prevSL = *r.AbandonRate, r.ServiceLevel
	}
}

func TestStableForThousandsOfAgents(t *testing.T) {
	tr := Traffic{ArrivalsPerHour: 98_000, AHT: 180 * time.Second, Threshold: 20 * time.Second} // 4,900 Erlangs
	r, err := AgentsFor(tr, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	if r.Agents < 4901 || r.Agents > 5000 || math.IsNaN(r.PWait) || r.ServiceLevel < 0.8 {
		t.Fatalf("%+v", r)
	}
	tr.Patience = 120 * time.Second
	ra, err := ErlangA(tr, 4900)
	if err != nil || math.IsNaN(ra.ServiceLevel) || *ra.AbandonRate <= 0 || *ra.AbandonRate > 0.1 {
		t.Fatalf("erlang A at 4,900 agents: %+v %v", ra, err)
	}
}

func TestAgentsForIsTheFewest(t *testing.T) {
	tr := Traffic{ArrivalsPerHour: 600, AHT: 180 * time.Second, Threshold: 20 * time.Second}
	r, err := AgentsFor(tr, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	less, _ := ErlangC(tr, r.Agents-1)
	if r.ServiceLevel < 0.8 || less.ServiceLevel >= 0.8 {
		t.Fatalf("%d agents give %.3f; %d give %.3f", r.Agents, r.ServiceLevel, r.Agents-1, less.ServiceLevel)
	}
	if _, err := ErlangC(Traffic{}, 3); err == nil {
		t.Fatal("zero traffic accepted")
	}
}
