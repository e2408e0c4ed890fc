package sim

import (
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/outbound"
)

// Over simulated days, the predictive pacer keeps the drops under the
// target at every answer rate, keeps agents busier than progressive
// dialing, and drops less than a fixed-ratio power dialer.
func TestOutboundModes(t *testing.T) {
	for _, rate := range []float64{0.1, 0.3, 0.6} {
		run := func(m outbound.Mode, seed uint64) OutboundResult {
			t.Helper()
			r, err := RunOutbound(OutboundConfig{
				Mode: m, Agents: 20, Hours: 8, AnswerRate: rate, MachineRate: 0.1, BusyRate: 0.05,
				AnswerAfter: Dist{Kind: "lognormal", Mean: 8 * time.Second, Sigma: 0.5},
				Talk:        Dist{Kind: "lognormal", Mean: 2 * time.Minute, Sigma: 0.6}, WrapUp: 15 * time.Second,
				Seed: seed, Pacer: outbound.PacerConfig{Ratio: 1 / rate, Unguarded: m == outbound.Power},
			})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		for seed := range uint64(2) {
			pred, power, prog := run(outbound.Predictive, seed), run(outbound.Power, seed), run(outbound.Progressive, seed)
			if pred.Abandon >= outbound.DefaultAbandonTarget || pred.Live < 1000 {
				t.Errorf("answer rate %v seed %d: predictive dropped %.2f%% of %d live answers", rate, seed, pred.Abandon*100, pred.Live)
			}
			if prog.Dropped != 0 {
				t.Errorf("answer rate %v: progressive dropped %d", rate, prog.Dropped)
			}
			if pred.Occupancy <= prog.Occupancy || pred.Abandon >= power.Abandon {
				t.Errorf("answer rate %v: occupancy predictive %.2f progressive %.2f; drops predictive %.3f power %.3f",
					rate, pred.Occupancy, prog.Occupancy, pred.Abandon, power.Abandon)
			}
		}
	}
}

// At 100 agents, in a campaign's first minutes and over an hour, the
// drops stay under the target. (Before the answer rate was measured on
// whole cohorts of dials, the first three minutes dropped 11 % and an
// hour 3.5 %: the quick outcomes counted first made the rate read low.)
func TestOutboundManyAgents(t *testing.T) {
	for _, tc := range []struct {
		rate, hours float64
	}{{0.1, 0.05}, {0.3, 0.05}, {0.3, 1}, {0.6, 0.05}} {
		var live, dropped int
		for seed := range uint64(4) {
			r, err := RunOutbound(OutboundConfig{
				Mode: outbound.Predictive, Agents: 100, Hours: tc.hours, AnswerRate: tc.rate, MachineRate: 0.15, BusyRate: 0.1,
				AnswerAfter: Dist{Kind: "lognormal", Mean: 6 * time.Second, Sigma: 0.5},
				Talk:        Dist{Kind: "lognormal", Mean: time.Minute, Sigma: 0.6}, Seed: seed,
			})
			if err != nil {
				t.Fatal(err)
			}
			live, dropped = live+r.Live, dropped+r.Dropped
		}
		if rate := float64(dropped) / float64(live); rate >= outbound.DefaultAbandonTarget || live < 500 {
			t.Errorf("answer rate %v over %v h: %d of %d live answers dropped (%.2f%%)", tc.rate, tc.hours, dropped, live, 100*rate)
		}
	}
}

func TestOutboundRefuses(t *testing.T) {
	good := OutboundConfig{Mode: outbound.Predictive, Agents: 2, Hours: 1, AnswerRate: 0.3,
		AnswerAfter: Dist{Mean: time.Second}, Talk: Dist{Mean: time.Second}}
	for name, mod := range map[string]func(*OutboundConfig){
		"no agents":         func(c *OutboundConfig) { c.Agents = 0 },
		"rates over 1":      func(c *OutboundConfig) { c.MachineRate = 0.8 },
		"preview":           func(c *OutboundConfig) { c.Mode = outbound.Preview },
		"ringing too short": func(c *OutboundConfig) { c.Ring = 10 * time.Second },
		"no talk time":      func(c *OutboundConfig) { c.Talk = Dist{} },
	} {
		c := good
		mod(&c)
		if _, err := RunOutbound(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := RunOutbound(good); err != nil {
		t.Fatal(err)
	}
}
