package store

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/event"
)

// BenchmarkWriteCall is what the writer does for one inbound call answered
// by an agent: its record (in progress, then final), a dozen events and its
// queue segment (entered, then left), in one transaction as a batch of the
// writer would hold them.
//
//	go test -run '^$' -bench WriteCall -benchmem ./internal/store/
func BenchmarkWriteCall(b *testing.B) { benchmarkWriteCall(b, 0) }

// BenchmarkWriteCallOpByOp is the same call with each op in a transaction
// of its own: what the writer does at low load, when every op finds the
// queue empty behind it (BENCHMARKS.md: why it does not wait for more).
func BenchmarkWriteCallOpByOp(b *testing.B) { benchmarkWriteCall(b, 1) }

// benchmarkWriteCall writes a call's ops in transactions of per ops each
// (0: all in one).
func benchmarkWriteCall(b *testing.B, per int) {
	s, err := New(testOptions(b), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx := context.Background()
	kinds := []string{"arrived", "answered", "flow_step", "digits", "flow_step", "queued", "offered", "ringing", "connected", "agent_state", "ended", "agent_state"}
	batch := make([]op, 0, 20)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("call-%d", i)
		now := time.Now()
		left := now.Add(3 * time.Second)
		rec := CallRecord{ID: id, Caller: "+15550100", Dialed: "100", Source: "127.0.0.1", Flow: "main", Queue: "sales", Agent: "1001", ArrivedAt: now, Outcome: "in_progress"}
		final := rec
		final.EndedAt, final.Outcome, final.TalkSeconds = &left, "answered", 20
		seg := QueueSegment{CallID: id, Seq: 1, Queue: "sales", EnteredAt: now}
		segDone := seg
		segDone.LeftAt, segDone.How, segDone.Agent = &left, "answered", "1001"
		batch = append(batch[:0], op{call: &rec}, op{segment: &seg}, op{segment: &segDone}, op{call: &final})
		for _, k := range kinds {
			batch = append(batch, op{event: &Event{At: now, Kind: event.Kind(k), CallID: id, Agent: "1001", Queue: "sales", Detail: "x"}})
		}
		n := per
		if n == 0 {
			n = len(batch)
		}
		for rest := batch; len(rest) > 0; {
			k := min(n, len(rest))
			if err := s.writeBatch(ctx, rest[:k]); err != nil {
				b.Fatal(err)
			}
			rest = rest[k:]
		}
	}
}
