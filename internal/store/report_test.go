package store

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// A scripted set of calls gives exactly the expected sums per interval.
func TestQueueBuckets(t *testing.T) {
	st, err := Open(t.TempDir(), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	base := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	at := func(min, sec int) *time.Time {
		x := base.Add(time.Duration(min)*time.Minute + time.Duration(sec)*time.Second)
		return &x
	}
	calls := []CallRecord{
		// 09:00–09:30 sales: answered after 10 s (talk 100), answered after 30 s (talk 200), abandoned after 40 s, short-abandoned after 3 s.
		{ID: "a", Queue: "sales", ArrivedAt: *at(1, 0), QueuedAt: at(1, 0), ConnectedAt: at(1, 10), WaitSeconds: 10, TalkSeconds: 100, Outcome: "answered"},
		{ID: "b", Queue: "sales", ArrivedAt: *at(5, 0), QueuedAt: at(5, 0), ConnectedAt: at(5, 30), WaitSeconds: 30, TalkSeconds: 200, Outcome: "answered"},
		{ID: "c", Queue: "sales", ArrivedAt: *at(10, 0), QueuedAt: at(10, 0), WaitSeconds: 40, Outcome: "abandoned"},
		{ID: "d", Queue: "sales", ArrivedAt: *at(20, 0), QueuedAt: at(20, 0), WaitSeconds: 3, Outcome: "abandoned"},
		// 09:30–10:00 sales: one voicemail (offered, neither answered nor abandoned).
		{ID: "e", Queue: "sales", ArrivedAt: *at(31, 0), QueuedAt: at(31, 0), WaitSeconds: 50, Outcome: "voicemail"},
		// support, 09:00–09:30: answered after 15 s.
		{ID: "f", Queue: "support", ArrivedAt: *at(2, 0), QueuedAt: at(2, 0), ConnectedAt: at(2, 15), WaitSeconds: 15, TalkSeconds: 60, Outcome: "answered"},
		// outside the range, and a call that never queued.
		{ID: "g", Queue: "sales", ArrivedAt: *at(-5, 0), QueuedAt: at(-5, 0), WaitSeconds: 1, Outcome: "abandoned"},
		{ID: "h", ArrivedAt: *at(3, 0), Outcome: "completed"},
	}
	for _, c := range calls {
		st.SaveCall(c)
	}
	st.Flush()
	bs, err := st.QueueBuckets(context.Background(), base, base.Add(time.Hour), 30*time.Minute, map[string]float64{"sales": 20, "support": 10}, 20, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := []QueueBucket{
		{Queue: "sales", Start: base, Offered: 4, Answered: 2, Abandoned: 1, ShortAbandoned: 1, AnsweredInSL: 1, WaitAnswered: 40, Talk: 300, LongestWait: 40},
		{Queue: "sales", Start: base.Add(30 * time.Minute), Offered: 1, LongestWait: 50},
		{Queue: "support", Start: base, Offered: 1, Answered: 1, AnsweredInSL: 0, WaitAnswered: 15, Talk: 60, LongestWait: 15},
	}
	if len(bs) != len(want) {
		t.Fatalf("buckets %+v", bs)
	}
	for i := range want {
		if !bs[i].Start.Equal(want[i].Start) {
			t.Errorf("bucket %d start %s, want %s", i, bs[i].Start, want[i].Start)
		}
		bs[i].Start = want[i].Start
		if bs[i] != want[i] {
			t.Errorf("bucket %d\n got %+v\nwant %+v", i, bs[i], want[i])
		}
	}
}
