package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/switchboard/switchboard/internal/outbound"
	"github.com/switchboard/switchboard/internal/sim"
)

// simulateOutboundCmd runs simulate --outbound: days of a campaign under
// each dialing mode on the same traffic.
func simulateOutboundCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate --outbound", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Bool("outbound", true, "simulate an outbound campaign")
	agents := fs.Int("agents", 20, "agents working the campaign")
	hours := fs.Float64("hours", 8, "length of the simulated day in hours")
	answer := fs.Float64("answer-rate", 0.3, "share of attempts a person answers")
	machine := fs.Float64("machine-rate", 0.1, "share of attempts an answering machine answers")
	busy := fs.Float64("busy-rate", 0.05, "share of attempts that are busy (the rest ring out)")
	answerAfter := fs.Duration("answer-after", 8*time.Second, "mean ring time before an answer (lognormal)")
	ring := fs.Duration("ring", outbound.DefaultRing, "how long an unanswered call rings (at least 15s)")
	talk := fs.Duration("talk", 2*time.Minute, "mean talk time (lognormal)")
	wrap := fs.Duration("wrap", 15*time.Second, "wrap-up after each call")
	modeFlag := fs.String("mode", "all", "predictive, power, progressive, or all (each on the same traffic)")
	ratio := fs.Float64("ratio", 0, "power mode's lines per free agent (0: 1 / answer rate, rounded to one decimal)")
	target := fs.Float64("target", outbound.DefaultAbandonTarget, "abandonment target: the share of live answers that may be dropped")
	seed := fs.Uint64("seed", 1, "random seed (the same seed gives the same days)")
	reps := fs.Int("replications", 1, "independent days per mode; totals are summed, rates taken over the sums")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *reps < 1 || *reps > 1000 {
		return errors.New("--replications: must be 1..1000")
	}
	if *target <= 0 || *target >= 1 {
		return errors.New("--target: must be between 0 and 1")
	}
	if *ratio == 0 && *answer > 0 {
		*ratio = math.Round(10/(*answer)) / 10
	}
	modes := []outbound.Mode{outbound.Predictive, outbound.Power, outbound.Progressive}
	if *modeFlag != "all" {
		m, err := outbound.ParseMode(*modeFlag)
		if err != nil {
			return fmt.Errorf("--mode: %w", err)
		}
		modes = []outbound.Mode{m}
	}
	start := time.Now()
	var out []sim.OutboundResult
	for _, m := range modes {
		var total sim.OutboundResult
		for i := range *reps {
			cfg := sim.OutboundConfig{
				Mode: m, Agents: *agents, Hours: *hours,
				AnswerRate: *answer, MachineRate: *machine, BusyRate: *busy,
				AnswerAfter: sim.Dist{Kind: "lognormal", Mean: *answerAfter, Sigma: 0.5},
				Ring:        *ring, Talk: sim.Dist{Kind: "lognormal", Mean: *talk, Sigma: 0.6}, WrapUp: *wrap,
				Seed:  *seed + uint64(i),
				Pacer: outbound.PacerConfig{Ratio: *ratio, AbandonTarget: *target, Unguarded: m == outbound.Power},
			}
			r, err := sim.RunOutbound(cfg)
			if err != nil {
				return err
			}
			total = addOutbound(total, r, i+1)
		}
		out = append(out, total)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(stdout, "%-12s %9s %7s %7s %8s %9s %8s %10s %10s\n", "mode", "attempts", "live", "dropped", "abandon", "worst hr", "occup.", "conn/ag·h", "lines/ag")
	for _, r := range out {
		fmt.Fprintf(stdout, "%-12s %9d %7d %7d %7.2f%% %8.2f%% %7.1f%% %10.2f %10.2f\n", r.Mode, r.Attempts, r.Live, r.Dropped,
			r.Abandon*100, r.WorstHourAbandon*100, r.Occupancy*100, r.ConnectsPerAgentHour, r.LinesPerAgent)
	}
	fmt.Fprintf(stdout, "answer rate %.0f%%, machines %.0f%%, busy %.0f%%; power at %.1f lines per free agent (no cap); target %.1f%% of live answers\n",
		*answer*100, *machine*100, *busy*100, *ratio, *target*100)
	fmt.Fprintf(stdout, "abandon = dropped (no agent within %s of the greeting) / live answers; occupancy = talk and wrap-up / logged-in time\n", outbound.DropAfter)
	fmt.Fprintf(stdout, "%d day(s) of %.1f h with %d agents per mode simulated in %s\n", *reps, *hours, *agents, time.Since(start).Round(time.Millisecond))
	return nil
}

// addOutbound sums the n-th replication r into t; rates are recomputed
// over the sums, occupancy and per-agent figures averaged.
func addOutbound(t, r sim.OutboundResult, n int) sim.OutboundResult {
	t.Mode, t.Agents = r.Mode, r.Agents
	t.Attempts += r.Attempts
	t.Live += r.Live
	t.Connected += r.Connected
	t.Dropped += r.Dropped
	t.Machines += r.Machines
	if t.Live > 0 {
		t.Abandon = float64(t.Dropped) / float64(t.Live)
	}
	avg := func(a, b float64) float64 { return a + (b-a)/float64(n) }
	t.Occupancy = avg(t.Occupancy, r.Occupancy)
	t.ConnectsPerAgentHour = avg(t.ConnectsPerAgentHour, r.ConnectsPerAgentHour)
	t.LinesPerAgent = avg(t.LinesPerAgent, r.LinesPerAgent)
	t.WorstHourAbandon = slices.Max([]float64{t.WorstHourAbandon, r.WorstHourAbandon})
	return t
}
