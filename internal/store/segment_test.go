package store

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/event"
)

// A call that visits several queues is offered to each, with each queue's
// own wait; the queue it left counts it as overflowed out.
func TestQueueBucketsSegments(t *testing.T) {
	base := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	at := func(sec int) *time.Time { x := base.Add(time.Duration(sec) * time.Second); return &x }
	seg := func(id string, seq int, queue string, in, out int, how event.SegmentEnd) QueueSegment {
		g := QueueSegment{CallID: id, Seq: seq, Queue: queue, EnteredAt: *at(in), How: how, WaitSeconds: float64(out - in)}
		if how != "" {
			g.LeftAt = at(out)
		}
		return g
	}
	tests := []struct {
		name string
		call CallRecord
		segs []QueueSegment
		want map[string]QueueBucket // by queue; Queue and Start filled in
	}{
		{
			name: "overflow from sales to support, answered there",
			call: CallRecord{ID: "o", Queue: "support", ArrivedAt: *at(0), QueuedAt: at(0), ConnectedAt: at(70), WaitSeconds: 70, TalkSeconds: 100, Outcome: "answered"},
			segs: []QueueSegment{seg("o", 1, "sales", 0, 60, event.SegmentOverflowed), seg("o", 2, "support", 60, 70, event.SegmentAnswered)},
			want: map[string]QueueBucket{
				"sales":   {Offered: 1, OverflowedOut: 1, LongestWait: 60},
				"support": {Offered: 1, Answered: 1, AnsweredInSL: 1, WaitAnswered: 10, Talk: 100, LongestWait: 10},
			},
		},
		{
			name: "moved by a supervisor, abandoned in the second queue",
			call: CallRecord{ID: "m", Queue: "support", ArrivedAt: *at(0), QueuedAt: at(0), WaitSeconds: 50, Outcome: "abandoned"},
			segs: []QueueSegment{seg("m", 1, "sales", 0, 20, event.SegmentMoved), seg("m", 2, "support", 20, 50, event.SegmentAbandoned)},
			want: map[string]QueueBucket{
				"sales":   {Offered: 1, OverflowedOut: 1, LongestWait: 20},
				"support": {Offered: 1, Abandoned: 1, LongestWait: 30},
			},
		},
		{
			name: "answered, transferred to a queue, answered again: talk charged once",
			call: CallRecord{ID: "t", Queue: "support", ArrivedAt: *at(0), QueuedAt: at(0), ConnectedAt: at(5), WaitSeconds: 5, TalkSeconds: 300, Outcome: "answered"},
			segs: []QueueSegment{seg("t", 1, "sales", 0, 5, event.SegmentAnswered), seg("t", 2, "support", 100, 130, event.SegmentAnswered)},
			want: map[string]QueueBucket{
				"sales":   {Offered: 1, Answered: 1, AnsweredInSL: 1, WaitAnswered: 5, LongestWait: 5},
				"support": {Offered: 1, Answered: 1, WaitAnswered: 30, Talk: 300, LongestWait: 30},
			},
		},
		{
			name: "still waiting after a short-abandon elsewhere",
			call: CallRecord{ID: "w", Queue: "support", ArrivedAt: *at(0), QueuedAt: at(0), Outcome: "in_progress"},
			segs: []QueueSegment{seg("w", 1, "sales", 0, 3, event.SegmentTransferred), seg("w", 2, "support", 3, 3, "")},
			want: map[string]QueueBucket{
				"sales":   {Offered: 1, OverflowedOut: 1, LongestWait: 3},
				"support": {Offered: 1},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := New(testOptions(t), slog.Default())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			st.SaveCall(tc.call)
			for _, g := range tc.segs {
				st.SaveSegment(QueueSegment{CallID: g.CallID, Seq: g.Seq, Queue: g.Queue, EnteredAt: g.EnteredAt}) // at entry
				st.SaveSegment(g)                                                                                  // at leave
			}
			st.Flush()
			bs, err := st.QueueBuckets(context.Background(), base, base.Add(time.Hour), time.Hour, map[string]float64{"sales": 20, "support": 20}, 20, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(bs) != len(tc.want) {
				t.Fatalf("buckets %+v, want %d", bs, len(tc.want))
			}
			for _, b := range bs {
				w := tc.want[b.Queue]
				w.Queue, w.Start = b.Queue, base
				if b != w {
					t.Errorf("%s\n got %+v\nwant %+v", b.Queue, b, w)
				}
			}
			got, err := st.Segments(context.Background(), tc.call.ID)
			if err != nil || len(got) != len(tc.segs) || got[len(got)-1].How != tc.segs[len(tc.segs)-1].How {
				t.Fatalf("segments %+v %v", got, err)
			}
		})
	}
}

// A database from before segments gets one per queued call, and its
// events a state column, when opened.
func TestMigrationBackfillsSegments(t *testing.T) {
	if onPostgres() {
		t.Skip("a SQLite database of the first schema")
	}
	dir := t.TempDir()
	old, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "switchboard.db"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile("testdata/first-schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(string(first)); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC).UnixMilli()
	for _, q := range []string{
		`INSERT INTO calls (id, queue, agent, arrived_at, queued_at, connected_at, wait_seconds, outcome) VALUES ('a', 'sales', '1001', ?, ?, ? + 12000, 12, 'answered')`,
		`INSERT INTO calls (id, queue, arrived_at, queued_at, wait_seconds, outcome) VALUES ('b', 'sales', ?, ?, 30 + 0 * ?, 'abandoned')`,
		`INSERT INTO calls (id, queue, arrived_at, queued_at, wait_seconds, outcome) VALUES ('c', 'support', ?, ?, 40 + 0 * ?, 'voicemail')`,
		`INSERT INTO calls (id, arrived_at, outcome) VALUES ('d', ?, 'completed') -- ? ?`,
		`INSERT INTO events (at, kind, agent, detail) VALUES (?, 'agent_state', '1001', 'away:lunch') -- ? ?`,
	} {
		if _, err := old.Exec(q, base, base, base); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old.Close()

	st, err := Open(dir, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	tests := []struct {
		call string
		want []QueueSegment
	}{
		{"a", []QueueSegment{{CallID: "a", Seq: 1, Queue: "sales", How: event.SegmentAnswered, Agent: "1001", WaitSeconds: 12}}},
		{"b", []QueueSegment{{CallID: "b", Seq: 1, Queue: "sales", How: event.SegmentAbandoned, WaitSeconds: 30}}},
		{"c", []QueueSegment{{CallID: "c", Seq: 1, Queue: "support", How: event.SegmentWithdrawn, WaitSeconds: 40}}},
		{"d", nil},
	}
	for _, tc := range tests {
		t.Run(tc.call, func(t *testing.T) {
			got, err := st.Segments(ctx, tc.call)
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("segments %+v %v, want %+v", got, err, tc.want)
			}
			for i, g := range got {
				w := tc.want[i]
				if g.CallID != w.CallID || g.Seq != w.Seq || g.Queue != w.Queue || g.How != w.How || g.Agent != w.Agent ||
					g.WaitSeconds != w.WaitSeconds || g.EnteredAt.UnixMilli() != base || g.LeftAt == nil ||
					g.LeftAt.Sub(g.EnteredAt).Seconds() != w.WaitSeconds {
					t.Errorf("segment %+v, want %+v entered at the queued time and left after the wait", g, w)
				}
			}
		})
	}
	changes, err := st.AgentStateChanges(ctx, time.UnixMilli(base), time.UnixMilli(base).Add(time.Hour), 0)
	if err != nil || len(changes) != 1 || changes[0].State != "away" || changes[0].Reason != "lunch" {
		t.Fatalf("old agent_state row: %+v %v", changes, err)
	}
	st.Close()
	if again, err := Open(dir, slog.Default()); err != nil {
		t.Fatalf("reopen after migration: %v", err)
	} else {
		again.Close()
	}
}
