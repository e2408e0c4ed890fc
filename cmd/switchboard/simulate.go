package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/sim"
)

func simulateCmd(args []string, stdout, stderr io.Writer) error {
	for _, a := range args {
		if a == "--outbound" || a == "-outbound" || a == "--outbound=true" {
			return simulateOutboundCmd(args, stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var tf trafficFlags
	tf.register(fs)
	shortAb := fs.Duration("short-abandon", 5*time.Second, "abandons sooner than this leave the service level (0s to compare with Erlang A)")
	hours := fs.Float64("hours", 8, "length of the simulated day in hours")
	seed := fs.Uint64("seed", 1, "random seed (the same seed gives the same day)")
	reps := fs.Int("replications", 1, "independent days to simulate; totals are averaged")
	interval := fs.Duration("interval", 30*time.Minute, "report interval")
	profileFlag := fs.String("profile", "", "relative arrival rate per interval, comma separated (e.g. 0.5,1,2,1.5), repeated over the day")
	handleDist := fs.String("handle-dist", "exponential", "handle-time distribution: exponential, lognormal or constant")
	patienceDist := fs.String("patience-dist", "exponential", "patience distribution: exponential, lognormal or constant")
	sigma := fs.Float64("lognormal-sigma", 0.6, "sigma of the underlying normal for lognormal distributions")
	strategy := fs.String("strategy", "longest_idle", "routing strategy: "+strings.Join(strategyNames(), ", "))
	groupsFlag := fs.String("groups", "", "agents per skill: name:agents:share,... (e.g. spanish:10:0.3,english:26:0.7); each skill is a queue with its share of the calls")
	overflow := fs.Duration("overflow-after", 0, "with --groups: a call waiting this long may go to the other groups' agents (0: never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	strat, err := acd.ParseStrategy(*strategy)
	if err != nil {
		return fmt.Errorf("--strategy: %w", err)
	}
	groups, err := parseGroups(*groupsFlag)
	if err != nil {
		return err
	}
	if len(groups) > 0 {
		sum := 0
		for _, g := range groups {
			sum += g.Agents
		}
		if tf.agents != 0 && tf.agents != sum {
			return fmt.Errorf("--agents %d differs from the %d agents of --groups (give one)", tf.agents, sum)
		}
		tf.agents = sum
	}
	if tf.targetSL > 0 {
		return errors.New("simulate needs --agents (use erlang --target-sl to size)")
	}
	if _, err := tf.traffic(); err != nil {
		return err
	}
	if *reps < 1 || *reps > 10000 {
		return errors.New("--replications: must be 1..10000")
	}
	var profile []float64
	if *profileFlag != "" {
		for _, p := range strings.Split(*profileFlag, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil || v < 0 {
				return fmt.Errorf("--profile: %q is not a non-negative number", p)
			}
			profile = append(profile, v)
		}
	}
	cfg := sim.Config{
		ArrivalsPerHour: tf.perHour, Profile: profile, Interval: *interval, Hours: *hours, Agents: tf.agents,
		Handle:    sim.Dist{Kind: *handleDist, Mean: tf.aht, Sigma: *sigma},
		Threshold: tf.threshold, ShortAbandon: *shortAb, Strategy: strat, Groups: groups, OverflowAfter: *overflow,
	}
	if tf.patience > 0 {
		cfg.Patience = sim.Dist{Kind: *patienceDist, Mean: tf.patience, Sigma: *sigma}
	}
	start := time.Now()
	var runs []sim.Result
	for i := 0; i < *reps; i++ {
		cfg.Seed = *seed + uint64(i)
		r, err := sim.Run(cfg)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	out := average(runs)
	elapsed := time.Since(start)
	if tf.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(stdout, "%-6s %8s %8s %9s %8s %8s %8s %8s %9s\n", "start", "offered", "answered", "abandoned", "SL", "ASA s", "AHT s", "occup.", "abandon%")
	row := func(name string, r sim.Row) {
		ab := 0.0
		if r.AbandonRate != nil {
			ab = *r.AbandonRate * 100
		}
		fmt.Fprintf(stdout, "%-6s %8d %8d %9d %7.1f%% %8.1f %8.1f %7.1f%% %8.1f%%\n", name, r.Offered, r.Answered, r.Abandoned,
			r.ServiceLevel*100, r.ASASeconds, r.AHTSeconds, r.Occupancy*100, ab)
	}
	for _, r := range out.Intervals {
		row(r.Start, r)
	}
	row("total", out.Total)
	for _, g := range out.Groups {
		row(g.Name, g.Row)
	}
	fmt.Fprintf(stdout, "strategy %s: calls per agent from %d to %d\n", out.Strategy, out.AgentCallsMin, out.AgentCallsMax)
	fmt.Fprintf(stdout, "service level = answered within %s / (offered − abandoned within %s); abandonment = abandoned after %s / offered\n",
		tf.threshold, *shortAb, *shortAb)
	fmt.Fprintf(stdout, "%d day(s) of %.1f h with %d agents simulated in %s\n", *reps, *hours, tf.agents, elapsed.Round(time.Millisecond))
	return nil
}

// simOutput is the JSON of simulate: the erlang fields for the whole run,
// plus AHT and per-interval rows.
type simOutput struct {
	Agents       int       `json:"agents"`
	PWait        float64   `json:"p_wait"`
	ServiceLevel float64   `json:"service_level"`
	ASASeconds   float64   `json:"asa_seconds"`
	Occupancy    float64   `json:"occupancy"`
	AbandonRate  *float64  `json:"abandon_rate,omitempty"`
	AHTSeconds   float64   `json:"aht_seconds"`
	Replications int       `json:"replications"`
	Total        sim.Row   `json:"total"`
	Intervals    []sim.Row `json:"intervals"`
	// Groups (with --groups) and the spread of calls per agent (first replication).
	Strategy      string         `json:"strategy"`
	Groups        []sim.GroupRow `json:"groups,omitempty"`
	AgentCallsMin int            `json:"agent_calls_min"`
	AgentCallsMax int            `json:"agent_calls_max"`
}

func strategyNames() []string {
	var out []string
	for _, s := range acd.Strategies {
		out = append(out, string(s))
	}
	return out
}

// parseGroups reads name:agents:share,...
func parseGroups(s string) ([]sim.Group, error) {
	if s == "" {
		return nil, nil
	}
	var out []sim.Group
	for _, part := range strings.Split(s, ",") {
		f := strings.Split(strings.TrimSpace(part), ":")
		if len(f) != 3 {
			return nil, fmt.Errorf("--groups: %q is not name:agents:share", part)
		}
		n, err1 := strconv.Atoi(f[1])
		share, err2 := strconv.ParseFloat(f[2], 64)
		if f[0] == "" || err1 != nil || err2 != nil || n < 1 || share <= 0 {
			return nil, fmt.Errorf("--groups: %q needs a name, agents ≥ 1 and a share > 0", part)
		}
		out = append(out, sim.Group{Name: f[0], Agents: n, Share: share})
	}
	return out, nil
}

// average merges replications: counts are summed per interval and rates averaged.
func average(runs []sim.Result) simOutput {
	n := float64(len(runs))
	o := simOutput{Agents: runs[0].Agents, Replications: len(runs), Intervals: make([]sim.Row, len(runs[0].Intervals))}
	mean := func(get func(sim.Row) float64, rows func(sim.Result) sim.Row) float64 {
		s := 0.0
		for _, r := range runs {
			s += get(rows(r))
		}
		return s / n
	}
	avgRow := func(rows func(sim.Result) sim.Row) sim.Row {
		first := rows(runs[0])
		r := sim.Row{Start: first.Start}
		for _, x := range runs {
			y := rows(x)
			r.Offered += y.Offered
			r.Answered += y.Answered
			r.Abandoned += y.Abandoned
			r.ShortAbandoned += y.ShortAbandoned
		}
		r.ServiceLevel = mean(func(x sim.Row) float64 { return x.ServiceLevel }, rows)
		r.PWait = mean(func(x sim.Row) float64 { return x.PWait }, rows)
		r.ASASeconds = mean(func(x sim.Row) float64 { return x.ASASeconds }, rows)
		r.AHTSeconds = mean(func(x sim.Row) float64 { return x.AHTSeconds }, rows)
		r.Occupancy = mean(func(x sim.Row) float64 { return x.Occupancy }, rows)
		if first.AbandonRate != nil {
			ab := mean(func(x sim.Row) float64 { return *x.AbandonRate }, rows)
			r.AbandonRate = &ab
		}
		return r
	}
	o.Total = avgRow(func(r sim.Result) sim.Row { return r.Total })
	for i := range o.Intervals {
		o.Intervals[i] = avgRow(func(r sim.Result) sim.Row { return r.Intervals[i] })
	}
	o.PWait, o.ServiceLevel, o.ASASeconds, o.Occupancy = o.Total.PWait, o.Total.ServiceLevel, o.Total.ASASeconds, o.Total.Occupancy
	o.AbandonRate, o.AHTSeconds = o.Total.AbandonRate, o.Total.AHTSeconds
	o.Strategy, o.AgentCallsMin, o.AgentCallsMax = runs[0].Strategy, runs[0].AgentCallsMin, runs[0].AgentCallsMax
	for i, g := range runs[0].Groups {
		o.Groups = append(o.Groups, sim.GroupRow{Name: g.Name, Row: avgRow(func(r sim.Result) sim.Row { return r.Groups[i].Row })})
	}
	return o
}
