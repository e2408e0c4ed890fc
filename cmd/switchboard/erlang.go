package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/switchboard/switchboard/internal/report"
)

// trafficFlags are shared by erlang and simulate.
type trafficFlags struct {
	perHour   float64
	aht       time.Duration
	agents    int
	threshold time.Duration
	targetSL  float64
	patience  time.Duration
	json      bool
}

func (f *trafficFlags) register(fs *flag.FlagSet) {
	fs.Float64Var(&f.perHour, "arrivals-per-hour", 0, "calls arriving per hour")
	fs.DurationVar(&f.aht, "aht", 0, "mean handle time, e.g. 180s")
	fs.IntVar(&f.agents, "agents", 0, "agents staffed")
	fs.DurationVar(&f.threshold, "sl-threshold", 20*time.Second, "service-level answer threshold")
	fs.Float64Var(&f.targetSL, "target-sl", 0, "target service level (0..1), instead of --agents: solve for the fewest agents")
	fs.DurationVar(&f.patience, "patience", 0, "callers' mean patience (Erlang A); 0 means they never abandon")
	fs.BoolVar(&f.json, "json", false, "print JSON")
}

func (f *trafficFlags) traffic() (report.Traffic, error) {
	if f.perHour <= 0 {
		return report.Traffic{}, errors.New("--arrivals-per-hour: must be > 0")
	}
	if f.aht <= 0 {
		return report.Traffic{}, errors.New("--aht: must be > 0, e.g. 180s")
	}
	if f.patience < 0 || f.threshold < 0 {
		return report.Traffic{}, errors.New("--patience and --sl-threshold: must be >= 0")
	}
	if (f.agents > 0) == (f.targetSL > 0) {
		return report.Traffic{}, errors.New("give exactly one of --agents N and --target-sl X")
	}
	if f.targetSL != 0 && !(f.targetSL > 0 && f.targetSL < 1) {
		return report.Traffic{}, errors.New("--target-sl: must be between 0 and 1, e.g. 0.8")
	}
	return report.Traffic{ArrivalsPerHour: f.perHour, AHT: f.aht, Patience: f.patience, Threshold: f.threshold}, nil
}

func erlangCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("erlang", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var tf trafficFlags
	tf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, err := tf.traffic()
	if err != nil {
		return err
	}
	var r report.Result
	if tf.targetSL > 0 {
		r, err = report.AgentsFor(t, tf.targetSL)
	} else {
		r, err = report.ErlangA(t, tf.agents)
	}
	if err != nil {
		return err
	}
	if tf.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(stdout, "model            %s\n", r.Model)
	fmt.Fprintf(stdout, "traffic          %.2f Erlangs (%.0f calls/h × %s)\n", r.TrafficErlangs, t.ArrivalsPerHour, t.AHT)
	fmt.Fprintf(stdout, "agents           %d\n", r.Agents)
	fmt.Fprintf(stdout, "P(wait)          %.1f%%\n", r.PWait*100)
	fmt.Fprintf(stdout, "service level    %.1f%% answered within %s\n", r.ServiceLevel*100, t.Threshold)
	fmt.Fprintf(stdout, "ASA              %.1f s\n", r.ASASeconds)
	fmt.Fprintf(stdout, "occupancy        %.1f%%\n", r.Occupancy*100)
	if r.AbandonRate != nil {
		fmt.Fprintf(stdout, "abandonment      %.1f%% (mean patience %s)\n", *r.AbandonRate*100, t.Patience)
	}
	return nil
}
