package store

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/event"
)

// A scripted set of calls gives exactly the expected sums per interval.
func TestQueueBuckets(t *testing.T) {
	st, err := New(testOptions(t), slog.Default())
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
		saveQueued(st, c)
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

// saveQueued saves a call that visited one queue, and its segment.
func saveQueued(st *Store, c CallRecord) {
	st.SaveCall(c)
	if g, ok := SingleSegment(c); ok {
		st.SaveSegment(g)
	}
}

// BenchmarkQueueReportMonth is a month's per-queue report at 30-minute
// intervals with 1,000,000 call records in the database (a year of 5
// queues): the target is well under 1 s.
func BenchmarkQueueReportMonth(b *testing.B) {
	st, err := New(testOptions(b), slog.Default())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	year := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 1_000_000
	ctx := context.Background()
	start := time.Now()
	// Rows go in 500 to a statement: one round trip each on PostgreSQL.
	const per = 500
	tx, err := st.db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO calls (id, queue, arrived_at, queued_at, connected_at, wait_seconds, talk_seconds, outcome)
		VALUES `+strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?),", per-1)+"(?, ?, ?, ?, ?, ?, ?, ?)")
	if err != nil {
		b.Fatal(err)
	}
	seg, err := tx.PrepareContext(ctx, `INSERT INTO queue_segments (call_id, seq, queue, entered_at, left_at, how, agent, wait_seconds)
		VALUES `+strings.Repeat("(?, 1, ?, ?, ?, ?, '', ?),", per-1)+"(?, 1, ?, ?, ?, ?, '', ?)")
	if err != nil {
		b.Fatal(err)
	}
	queues := []string{"sales", "support", "billing", "vip", "spanish"}
	step := 365 * 24 * time.Hour / n
	calls, segs := make([]any, 0, 8*per), make([]any, 0, 6*per)
	for i := 0; i < n; i++ {
		at := year.Add(time.Duration(i) * step)
		wait := float64(i % 90)
		var conn any
		left := ms(at.Add(time.Duration(wait) * time.Second))
		outcome, how := "abandoned", event.SegmentAbandoned
		if i%10 != 0 {
			conn, outcome, how = left, "answered", event.SegmentAnswered
		}
		id := strconv.Itoa(i)
		calls = append(calls, id, queues[i%len(queues)], ms(at), ms(at), conn, wait, float64(60+i%300), outcome)
		segs = append(segs, id, queues[i%len(queues)], ms(at), left, string(how), wait)
		if (i+1)%per != 0 {
			continue
		}
		if _, err := ins.ExecContext(ctx, calls...); err != nil {
			b.Fatal(err)
		}
		if _, err := seg.ExecContext(ctx, segs...); err != nil {
			b.Fatal(err)
		}
		calls, segs = calls[:0], segs[:0]
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if onPostgres() { // the planner's statistics, as autovacuum would gather them in time
		if _, err := st.db.ExecContext(ctx, `ANALYZE`); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("inserted %d calls and their segments in %s", n, time.Since(start).Round(time.Millisecond))
	from := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	th := map[string]float64{"sales": 20, "support": 30}
	b.ResetTimer()
	for b.Loop() {
		bs, err := st.QueueBuckets(ctx, from, from.AddDate(0, 1, 0), 30*time.Minute, th, 20, 5)
		if err != nil || len(bs) != 5*30*48 {
			b.Fatalf("%d buckets, %v", len(bs), err)
		}
	}
}

func TestDispositionsAndCallerHistory(t *testing.T) {
	st, err := New(testOptions(t), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	base := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for i, id := range []string{"old", "new", "other"} {
		caller := "5551234"
		if id == "other" {
			caller = "5559999"
		}
		st.SaveCall(CallRecord{ID: id, Caller: caller, ArrivedAt: base.Add(time.Duration(i) * time.Hour), Outcome: "answered"})
	}
	st.Flush()
	if _, err := st.GetDisposition(ctx, "old"); err != ErrNotFound {
		t.Fatalf("no disposition yet: %v", err)
	}
	d := Disposition{CallID: "old", Agent: "1003", Code: "sale", Tags: []string{"vip", "upsell"}, Notes: "wants blue", At: base}
	if err := st.SaveDisposition(ctx, d); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetDisposition(ctx, "old")
	if err != nil || got.Code != "sale" || len(got.Tags) != 2 || got.Notes != "wants blue" {
		t.Fatalf("disposition %+v %v", got, err)
	}
	hist, err := st.CallsByCaller(ctx, "5551234", 10)
	if err != nil || len(hist) != 2 || hist[0].ID != "new" || hist[1].Disposition != "sale" || hist[1].Notes != "wants blue" {
		t.Fatalf("history %+v %v", hist, err)
	}
}

// First-call resolution and transfers: a caller who calls the same queue
// again within 7 days was not resolved the first time.
func TestQueueBucketsFCRAndTransfers(t *testing.T) {
	st, err := New(testOptions(t), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	call := func(id, caller string, at time.Time) CallRecord {
		conn := at.Add(5 * time.Second)
		return CallRecord{ID: id, Caller: caller, Queue: "support", ArrivedAt: at, QueuedAt: &at, ConnectedAt: &conn, WaitSeconds: 5, Outcome: "answered"}
	}
	saveQueued(st, call("a1", "5551111", day.Add(9*time.Hour)))  // calls again at 11:00: not resolved
	saveQueued(st, call("a2", "5551111", day.Add(11*time.Hour))) // resolved
	saveQueued(st, call("b1", "5552222", day.Add(10*time.Hour))) // resolved
	st.AppendEvent(Event{At: day.Add(10 * time.Hour), Kind: "transfer", CallID: "b1"})
	st.Flush()
	bs, err := st.QueueBuckets(context.Background(), day, day.Add(24*time.Hour), 24*time.Hour, nil, 20, 5)
	if err != nil || len(bs) != 1 {
		t.Fatalf("buckets %+v %v", bs, err)
	}
	if b := bs[0]; b.Answered != 3 || b.Resolved != 2 || b.Transfers != 1 {
		t.Fatalf("bucket %+v: want 3 answered, 2 resolved, 1 transfer", b)
	}
}
