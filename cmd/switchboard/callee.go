package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/switchboard/switchboard/examples"
	"github.com/switchboard/switchboard/internal/loadgen"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/sim"
)

// calleeCmd runs switchboard load --callee: the public network a
// campaign dials, answering on the trunk's address with a mix of people,
// machines, busies and no answers, until --duration or Ctrl-C; then it
// prints what it saw.
func calleeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load --callee", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Bool("callee", true, "be the called party")
	listen := fs.String("listen", "127.0.0.1:5080", "address to take calls on (the demo trunk's)")
	rtp := fs.String("rtp-ports", "50000-59999", "RTP port range of the called party")
	answer := fs.Float64("answer-rate", 0.3, "share of calls a person answers")
	machine := fs.Float64("machine-rate", 0.1, "share of calls an answering machine answers (greeting, beep)")
	busy := fs.Float64("busy-rate", 0.05, "share of calls that are busy (the rest ring unanswered)")
	ring := fs.Duration("ring", 4*time.Second, "mean ring time before an answer or a busy (lognormal)")
	talk := fs.Duration("talk", 60*time.Second, "mean time a person stays on the line (lognormal)")
	numbers := fs.String("numbers", "", "fixed behaviours: NUMBER=human|machine|busy|no_answer|fail,...")
	duration := fs.Duration("duration", 0, "stop after this long (0: at Ctrl-C)")
	list := fs.Bool("list", false, "with --json: list every call")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !strings.HasPrefix(*listen, "127.") && !strings.HasPrefix(*listen, "[::1]") {
		return errors.New("--listen: load runs stay on loopback (127.0.0.0/8 or ::1)")
	}
	rtpMin, rtpMax, err := portRange(*rtp)
	if err != nil {
		return err
	}
	fixed := map[string]loadgen.Behavior{}
	if *numbers != "" {
		for _, pair := range strings.Split(*numbers, ",") {
			n, b, ok := strings.Cut(strings.TrimSpace(pair), "=")
			beh, err := loadgen.ParseBehavior(b)
			if !ok || n == "" || err != nil {
				return fmt.Errorf("--numbers: %q is not NUMBER=behaviour (%v)", pair, err)
			}
			fixed[n] = beh
		}
	}
	lib, err := media.LoadLibrary(examples.FS, "sounds")
	if err != nil {
		return err
	}
	hello, _ := lib.Get("callee-hello")
	greeting, _ := lib.Get("callee-voicemail")
	c, err := loadgen.NewCallee(loadgen.CalleeConfig{Listen: *listen, RTPMin: rtpMin, RTPMax: rtpMax,
		AnswerRate: *answer, MachineRate: *machine, BusyRate: *busy,
		Ring: sim.Dist{Kind: "lognormal", Mean: *ring, Sigma: 0.5}, Talk: sim.Dist{Kind: "lognormal", Mean: *talk, Sigma: 0.6},
		Numbers: fixed, Hello: hello, Greeting: greeting, Seed: *seed})
	if err != nil {
		return err
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	fmt.Fprintf(stderr, "called party on %s: %.0f%% people, %.0f%% machines, %.0f%% busy, the rest unanswered\n", *listen, *answer*100, *machine*100, *busy*100)
	if err := c.Run(ctx); err != nil {
		return err
	}
	rep := c.Report(*list)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(stdout, "calls %d, at most %d at once\n", rep.Calls, rep.Concurrent)
	for _, b := range []loadgen.Behavior{loadgen.AnswerHuman, loadgen.AnswerMachine, loadgen.Busy, loadgen.NoAnswer, loadgen.Fail} {
		fmt.Fprintf(stdout, "  %-10s %d\n", b, rep.ByBehavior[b])
	}
	return nil
}
