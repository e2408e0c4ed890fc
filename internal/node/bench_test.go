package node_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// benchTalk is how long each benchmarked call talks.
const benchTalk = time.Second

// BenchmarkWholeCall runs whole calls through an in-process node, one at a
// time: a caller dials a number that queues straight to sales, agent 1001's
// phone rings and answers, both send RTP for benchTalk, the caller hangs up
// and the node writes its record and events. It reports the process's CPU
// (user+system, getrusage) per call and per call-second of talk, and the
// allocations per call (-benchmem). The process includes the test's own
// caller and phone (sipgo and RTP senders), so the figures are an upper
// bound of the server's share: a guard against regressions, compared run
// to run on the same machine (BENCHMARKS.md), not an absolute cost. The
// variants price what a call can add, each against plain:
//
//   - plain: sales without recording;
//
//   - recorded: sales recording both channels (the demo's setting);
//
//   - srtp: plain, with the caller's leg SRTP (decrypted in, encrypted out).
//
//     go test -run '^$' -bench WholeCall -benchtime 20x -benchmem ./internal/node/
func BenchmarkWholeCall(b *testing.B) {
	direct := []string{`  - {number: "100", flow: main}`, `  - {number: "100", flow: main}
  - {number: "200", flow: direct}`,
		"flows:\n", "flows:\n  - name: direct\n    start: q\n    steps:\n      q: {type: queue, queue: sales}\n"}
	unrecorded := append([]string{"    record: all\n    dispositions: [sale,", "    record: none\n    dispositions: [sale,"}, direct...)
	plainDial := func(b *testing.B, n *nodetest.Node) (code int, hangup func()) {
		c := n.Dial(b, "200", nodetest.Tone(1000))
		return c.Code, c.Hangup
	}
	for _, v := range []struct {
		name  string
		edits []string
		dial  func(*testing.B, *nodetest.Node) (int, func())
	}{
		{"plain", unrecorded, plainDial},
		{"recorded", direct, plainDial},
		{"srtp", unrecorded, func(b *testing.B, n *nodetest.Node) (int, func()) {
			c := n.DialSRTP(b, "200", nodetest.Tone(1000))
			return c.Code, c.Hangup
		}},
	} {
		b.Run(v.name, func(b *testing.B) { wholeCalls(b, nodetest.Demo(b, v.edits...), v.dial) })
	}
}

func wholeCalls(b *testing.B, setup string, dial func(*testing.B, *nodetest.Node) (int, func())) {
	n := nodetest.Start(b, setup)
	agent := n.Phone(b, "1001")
	agent.SetTone(440)
	nodetest.WaitFor(b, 5*time.Second, "agent 1001 available", func() bool { return n.AgentState("1001") == "available" })

	one := func() {
		code, hangup := dial(b, n)
		if code != 200 {
			b.Fatalf("INVITE to 200: %d", code)
		}
		call := agent.NextCall(b, 10*time.Second)
		select {
		case <-call.Answered():
		case <-time.After(5 * time.Second):
			b.Fatal("the phone did not answer")
		}
		time.Sleep(benchTalk)
		hangup()
		call.WaitEnded(b, 5*time.Second)
		nodetest.WaitFor(b, 5*time.Second, "agent 1001 free again", func() bool { return n.AgentState("1001") == "available" })
	}
	one() // warm up: first-call allocations (pools, caches) are not per call
	b.ReportAllocs()
	start := cpu()
	b.ResetTimer()
	for range b.N {
		one()
	}
	b.StopTimer()
	used := cpu() - start
	b.ReportMetric(float64(used.Microseconds())/1000/float64(b.N), "cpu-ms/call")
	b.ReportMetric(float64(used.Microseconds())/1000/(float64(b.N)*benchTalk.Seconds()), "cpu-ms/call-s")
}

// cpu is the process's user and system CPU time so far.
func cpu() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
