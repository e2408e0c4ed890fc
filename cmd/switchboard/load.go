package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/examples"
	"github.com/switchboard/switchboard/internal/loadgen"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/sim"
)

func loadCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	for _, a := range args {
		if a == "--callee" || a == "-callee" || a == "--callee=true" {
			return calleeCmd(ctx, args, stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "127.0.0.1:5060", "SIP server host:port")
	local := fs.String("local", "127.0.0.1", "local address (loopback only)")
	sipPort := fs.Int("sip-port", 5070, "this generator's SIP port (agents' Contact, callers' source)")
	rtp := fs.String("rtp-ports", "40000-49999", "RTP port range of the generator")
	agents := fs.Int("agents", 50, "agents to register and play; 0: no agents, the callee answers and callers hang up after the handle time (e.g. SIPp as the server)")
	firstExt := fs.Int("first-ext", 1001, "extension of the first agent")
	pwPrefix := fs.String("password-prefix", "demo", "agent password = prefix + extension")
	regExpiry := fs.Duration("register-expiry", loadgen.DefaultRegisterExpiry, "registration lifetime the agents ask for; they re-register at half of what the server grants")
	number := fs.String("number", "100", "number the callers dial")
	digits := fs.String("digits", "1", "IVR digits the callers press (RFC 4733)")
	rate := fs.Float64("rate", 5, "new calls per second (Poisson)")
	calls := fs.Int("calls", 100, "calls to place")
	ring := fs.Duration("ring-delay", 500*time.Millisecond, "agents answer after ringing this long")
	aht := fs.Duration("aht", 30*time.Second, "mean talk time before the agent hangs up")
	handleDist := fs.String("handle-dist", "exponential", "talk-time distribution: exponential, lognormal, constant")
	patience := fs.Duration("patience", 0, "callers' mean patience in queue (exponential); 0: they never abandon")
	greeting := fs.Duration("greeting", 1500*time.Millisecond, "callers listen this long before pressing the digits")
	threshold := fs.Duration("sl-threshold", 20*time.Second, "service-level threshold")
	pid := fs.Int("server-pid", 0, "PID of the server, to report its CPU and memory")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	timeout := fs.Duration("timeout", 15*time.Minute, "hard bound on the whole run")
	hold := fs.Int("hold", 0, "overload run: place this many calls first (at --hold-rate), kept up for --hold-for; once they are connected the --calls come at --rate as a surge, then --recover calls once the surge's calls have ended; 503 answers are counted, with and without Retry-After, per phase")
	holdRate := fs.Float64("hold-rate", 10, "with --hold: new calls per second of the held and the recovery calls (evenly spaced)")
	holdFor := fs.Duration("hold-for", 60*time.Second, "with --hold: talk time of the held calls; must outlast the surge and the recovery")
	recoverCalls := fs.Int("recover", 10, "with --hold: calls placed after the surge, to show new calls are taken again")
	agentsFor := fs.Duration("agents-for", 0, "with --calls 0: agents only, registered this long, answering what the server offers (an outbound campaign's calls)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rtpMin, rtpMax, err := portRange(*rtp)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(*local, "127.") && *local != "::1" {
		return errors.New("--local: load runs stay on loopback (127.0.0.0/8 or ::1)")
	}
	if *regExpiry < time.Second {
		return errors.New("--register-expiry: must be at least 1s")
	}
	if (*calls < 1 && *agentsFor <= 0) || *calls < 0 || *rate <= 0 || *agents < 0 {
		return errors.New("--calls (or, with --calls 0, --agents-for) and --rate must be positive, --agents not negative")
	}
	if *hold < 0 || *recoverCalls < 0 || (*hold > 0 && (*holdRate <= 0 || *holdFor < time.Second)) {
		return errors.New("--hold and --recover must not be negative; with --hold, --hold-rate must be positive and --hold-for at least 1s")
	}
	lib, err := media.LoadLibrary(examples.FS, "sounds")
	if err != nil {
		return err
	}
	voice, _ := lib.Get("hold-music")
	cfg := loadgen.Config{
		Target: *target, Local: *local, SIPPort: *sipPort, RTPMin: rtpMin, RTPMax: rtpMax,
		Agents: *agents, FirstExt: *firstExt, PasswordPrefix: *pwPrefix, Number: *number, Digits: *digits,
		CallsPerSecond: *rate, Calls: *calls, RingDelay: *ring, GreetingWait: *greeting, Threshold: *threshold,
		Handle: sim.Dist{Kind: *handleDist, Mean: *aht, Sigma: 0.6}, Sound: voice, Seed: uint64(time.Now().UnixNano()),
		RegisterExpiry: *regExpiry, AgentsFor: *agentsFor,
	}
	if *hold > 0 {
		cfg.Hold, cfg.HoldRate, cfg.HoldFor, cfg.Recover = *hold, *holdRate, *holdFor, *recoverCalls
	}
	if *patience > 0 {
		cfg.Patience = sim.Dist{Kind: "exponential", Mean: *patience}
	}
	if err := cfg.Handle.Validate("--handle-dist"); err != nil {
		return err
	}
	g, err := loadgen.New(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	proc := newProcWatch(*pid)
	self := newProcWatch(os.Getpid())
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() { // live progress
		defer close(stopped)
		tty := isTerminal(stderr)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		start := time.Now()
		for i := 0; ; i++ {
			select {
			case <-done:
				if tty {
					fmt.Fprintln(stderr)
				}
				return
			case <-t.C:
			}
			proc.sample()
			self.sample()
			p := g.Snapshot()
			line := fmt.Sprintf("%5.0fs placed %d/%d  active %d  talking %d  answered %d  abandoned %d  failed %d  refused %d",
				time.Since(start).Seconds(), p.Placed, *calls+cfg.Hold+cfg.Recover, p.Active, p.Connected, p.Answered, p.Abandoned, p.Failed, p.Refused)
			if tty {
				fmt.Fprintf(stderr, "\r%-100s", line)
			} else if i%5 == 4 {
				fmt.Fprintln(stderr, line)
			}
		}
	}()
	rep, err := g.Run(ctx)
	close(done)
	<-stopped // the watchers are sampled there: done with them before finish
	if err != nil {
		return err
	}
	srv, gen := proc.finish(), self.finish()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			loadgen.Report
			Server    *procReport `json:"server,omitempty"`
			Generator *procReport `json:"generator"`
			// ServerCPUPerCallSecond is the server's CPU over the run (ms)
			// divided by the call-seconds it carried (issue 15's measure).
			ServerCPUPerCallSecond float64 `json:"server_cpu_ms_per_call_second,omitempty"`
		}{rep, srv, gen, cpuPerCallSecond(srv, rep)})
	}
	fmt.Fprint(stdout, rep.String())
	if srv != nil {
		fmt.Fprintf(stdout, "server             CPU %.1f%% of one core on average, %.1f%% at peak (5 s), RSS peak %.1f MiB; %.3f ms of CPU per call-second (%.0f call-seconds)\n",
			srv.CPUPercent, srv.PeakCPUPercent, srv.PeakRSSMiB, cpuPerCallSecond(srv, rep), rep.CallSeconds)
	}
	fmt.Fprintf(stdout, "this generator     CPU %.1f%% of one core on average, %.1f%% at peak (5 s), RSS peak %.1f MiB\n",
		gen.CPUPercent, gen.PeakCPUPercent, gen.PeakRSSMiB)
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// procWatch follows a process's CPU time and memory through /proc.
type procWatch struct {
	pid     int
	start   time.Time
	ticks0  float64
	peakRSS float64
	// CPU seconds at the last samples (one a second), for the peak over 5 s.
	window   []cpuSample
	peakCPU  float64
	startRSS float64
}

type cpuSample struct {
	at  time.Time
	cpu float64
}

type procReport struct {
	CPUSeconds     float64 `json:"cpu_seconds"` // user+system over the run
	CPUPercent     float64 `json:"cpu_percent_of_one_core"`
	PeakCPUPercent float64 `json:"peak_cpu_percent_of_one_core"` // the busiest 5 s
	PeakRSSMiB     float64 `json:"peak_rss_mib"`
	StartRSSMiB    float64 `json:"start_rss_mib"` // before the run
}

func newProcWatch(pid int) *procWatch {
	w := &procWatch{pid: pid, start: time.Now()}
	if pid > 0 {
		w.ticks0 = cpuSeconds(pid)
		w.startRSS = rssMiB(pid)
	}
	return w
}

func (w *procWatch) sample() {
	if w.pid <= 0 {
		return
	}
	now := cpuSample{at: time.Now(), cpu: cpuSeconds(w.pid)}
	w.window = append(w.window, now)
	if len(w.window) > 6 {
		w.window = w.window[1:]
	}
	if first := w.window[0]; now.at.Sub(first.at) >= 4500*time.Millisecond {
		w.peakCPU = max(w.peakCPU, (now.cpu-first.cpu)/now.at.Sub(first.at).Seconds()*100)
	}
	w.peakRSS = max(w.peakRSS, rssMiB(w.pid))
}

// rssMiB is a process's resident memory.
func rssMiB(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			if f := strings.Fields(line); len(f) >= 2 {
				kib, _ := strconv.ParseFloat(f[1], 64)
				return kib / 1024
			}
		}
	}
	return 0
}

func (w *procWatch) finish() *procReport {
	if w.pid <= 0 {
		return nil
	}
	w.sample()
	used := cpuSeconds(w.pid) - w.ticks0
	return &procReport{CPUSeconds: used, CPUPercent: used / time.Since(w.start).Seconds() * 100,
		PeakCPUPercent: w.peakCPU, PeakRSSMiB: w.peakRSS, StartRSSMiB: w.startRSS}
}

// cpuSeconds is the user+system CPU time of a process (clock ticks at 100 Hz, as on Linux).
func cpuSeconds(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100
}

// cpuPerCallSecond is the server's CPU over the run, in ms, per call-second
// it carried; 0 without --server-pid or calls.
func cpuPerCallSecond(srv *procReport, rep loadgen.Report) float64 {
	if srv == nil || rep.CallSeconds <= 0 {
		return 0
	}
	return srv.CPUSeconds * 1000 / rep.CallSeconds
}

// portRange reads --rtp-ports MIN-MAX.
func portRange(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || lo >= hi {
		return 0, 0, fmt.Errorf("--rtp-ports: want MIN-MAX, got %q", s)
	}
	return lo, hi, nil
}
