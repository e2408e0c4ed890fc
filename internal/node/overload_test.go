package node_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/internal/node"
	"github.com/switchboard/switchboard/internal/node/nodetest"
	"github.com/switchboard/switchboard/internal/overload"
)

// lateClock is the lag monitor's clock, woken by the test: each wake-up
// comes as late as the test says, as on a node starved of CPU.
type lateClock struct {
	mu      sync.Mutex
	now     time.Time
	pending chan time.Time // the monitor's sleep, once it sleeps
	slept   chan struct{}  // signalled on each sleep
}

func newLateClock() *lateClock {
	return &lateClock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC), slept: make(chan struct{}, 1)}
}

func (c *lateClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After never blocks, so the node stops whether or not the test wakes it.
func (c *lateClock) After(time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.mu.Lock()
	c.pending = ch
	c.mu.Unlock()
	select {
	case c.slept <- struct{}{}:
	default:
	}
	return ch
}

// sleeping waits until the monitor sleeps and returns its sleep, taken
// from the clock when take is set.
func (c *lateClock) sleeping(t *testing.T, take bool) chan time.Time {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		c.mu.Lock()
		ch := c.pending
		if take {
			c.pending = nil
		}
		c.mu.Unlock()
		if ch != nil {
			return ch
		}
		select {
		case <-c.slept:
		case <-deadline:
			t.Fatal("the lag monitor does not sleep")
		}
	}
}

// wake ends the monitor's sleeps times times, each late by late, and
// returns once the monitor has measured the last one (it sleeps again).
func (c *lateClock) wake(t *testing.T, late time.Duration, times int) {
	t.Helper()
	for range times {
		ch := c.sleeping(t, true)
		c.mu.Lock()
		c.now = c.now.Add(overload.Period + late)
		now := c.now
		c.mu.Unlock()
		ch <- now
	}
	c.sleeping(t, false)
}

// TestLagShedsNewCallsAndKeepsCallsUp: while the node's own lag is over
// limits.max_lag a new call gets 503 with Retry-After and a rejected record
// naming the lag; a bridged call already up keeps its audio both ways;
// between half the threshold and the threshold calls are still refused
// (hysteresis); once the lag is under half, calls are taken again.
func TestLagShedsNewCallsAndKeepsCallsUp(t *testing.T) {
	clk := newLateClock()
	n := nodetest.Start(t, nodetest.Demo(t)+"\nlimits: {max_lag: 40ms}\n", node.WithLagClock(clk))
	const wait = 10 * time.Second

	alice := n.Phone(t, "1001")
	alice.SetTone(1000)
	nodetest.WaitFor(t, wait, "1001 available", func() bool { return n.AgentState("1001") == "available" })
	up := n.Dial(t, "100", nodetest.Tone(440))
	if up.Code != 200 {
		t.Fatalf("the call before any lag: %d, want 200", up.Code)
	}
	nodetest.WaitFor(t, wait, "the welcome prompt", func() bool { return up.RTP.Received() > 10 })
	up.SendDTMF("1")
	agent := alice.NextCall(t, wait)
	nodetest.WaitFor(t, wait, "the agent's tone at the caller", func() bool { return up.RTP.ToneLevel(1000) > 0.5 })
	nodetest.WaitFor(t, wait, "the caller's tone at the agent", func() bool { return agent.RTP.ToneLevel(440) > 0.5 })

	refused := func(what string) {
		t.Helper()
		c := n.Dial(t, "100")
		if c.Code != 503 || c.Response == nil || c.Response.GetHeader("Retry-After") == nil {
			t.Fatalf("a new call %s: %d %v, want 503 with Retry-After", what, c.Code, c.Response)
		}
	}
	keepsAudio := func(what string) {
		t.Helper()
		atCaller, atAgent := up.RTP.Received(), agent.RTP.Received()
		nodetest.WaitFor(t, wait, "the call up still has audio "+what, func() bool {
			return up.RTP.Received() > atCaller+25 && agent.RTP.Received() > atAgent+25 &&
				up.RTP.ToneLevel(1000) > 0.5 && agent.RTP.ToneLevel(440) > 0.5
		})
	}

	clk.wake(t, 80*time.Millisecond, 30)
	refused("while the node lags 80 ms")
	rec := n.EndedCall(t, wait, func(r nodetest.CallRecord) bool { return strings.HasPrefix(r.Reason, "503 overloaded (lag ") })
	if rec.Outcome != "rejected" || !strings.Contains(rec.Reason, "max_lag 40ms") {
		t.Errorf("the refused call's record: %+v", rec)
	}
	keepsAudio("while the node lags")

	clk.wake(t, 25*time.Millisecond, 150)
	refused("at 25 ms of lag, over half of max_lag")
	keepsAudio("at 25 ms of lag")

	clk.wake(t, 0, 150)
	again := n.Dial(t, "100")
	if again.Code != 200 {
		t.Fatalf("a new call once the lag is gone: %d, want 200", again.Code)
	}
	again.Hangup()
	keepsAudio("after the lag")

	up.Hangup()
	answered := n.EndedCall(t, wait, func(r nodetest.CallRecord) bool { return r.Agent == "1001" })
	if answered.Outcome != "answered" {
		t.Errorf("the call that was up: %+v", answered)
	}
	lagged := 0
	for _, r := range n.Calls() {
		if strings.HasPrefix(r.Reason, "503 overloaded") {
			lagged++
		}
	}
	if lagged != 2 {
		t.Errorf("%d calls refused for lag, want 2", lagged)
	}
	m := refusedMetrics(t, n)
	if m["max_lag"] != 2 || m["max_calls"] != 0 || m["max_calls_per_second"] != 0 || m["shutdown"] != 0 {
		t.Errorf("switchboard_calls_refused_total by reason: %v, want max_lag 2 and the others 0", m)
	}
}

// refusedMetrics gathers switchboard_calls_refused_total by reason.
func refusedMetrics(t *testing.T, n *nodetest.Node) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(n.AdmissionCollector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "switchboard_calls_refused_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				out[l.GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}
