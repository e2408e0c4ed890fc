package store

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/event"
)

func openTestStore(t *testing.T, o Options) *Store {
	t.Helper()
	s, err := New(o, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Pending callbacks come back in the order they were waiting in line,
// with their calls' records and segments; an update keeps the original
// request order; a deleted one is gone.
func TestPendingCallbacks(t *testing.T) {
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return base.Add(time.Duration(sec) * time.Second) }
	cb := func(id string, queued, line int) PendingCallback {
		return PendingCallback{CallID: id, Queue: "support", Number: "555" + id, Dialed: "100", Caller: "555" + id,
			RequestedAt: at(line + 5), QueuedAt: at(queued), LineAt: at(line)}
	}
	tests := []struct {
		name string
		save []PendingCallback // in this order
		// then these are updated (saved again) and deleted
		update []PendingCallback
		delete []string
		want   []string // call ids, in the order returned
	}{
		{name: "none", want: nil},
		{name: "line order, not request order", save: []PendingCallback{cb("b", 20, 20), cb("a", 10, 10), cb("c", 30, 30)},
			want: []string{"a", "b", "c"}},
		{name: "same place in line: request order", save: []PendingCallback{cb("x", 10, 10), cb("y", 10, 10)},
			want: []string{"x", "y"}},
		{name: "an unanswered attempt goes to the back of the line",
			save:   []PendingCallback{cb("a", 10, 10), cb("b", 20, 20)},
			update: []PendingCallback{func() PendingCallback { c := cb("a", 10, 10); c.LineAt, c.Attempts = at(60), 1; return c }()},
			want:   []string{"b", "a"}},
		{name: "ended callbacks are deleted", save: []PendingCallback{cb("a", 10, 10), cb("b", 20, 20)}, delete: []string{"a", "nope"},
			want: []string{"b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTestStore(t, testOptions(t))
			ctx := context.Background()
			for _, c := range tc.save {
				s.SaveCall(CallRecord{ID: c.CallID, Caller: c.Caller, Dialed: c.Dialed, Queue: c.Queue, ArrivedAt: c.QueuedAt,
					QueuedAt: &c.QueuedAt, Outcome: string(event.OutcomeInProgress)})
				s.SaveSegment(QueueSegment{CallID: c.CallID, Seq: 1, Queue: c.Queue, EnteredAt: c.QueuedAt})
				if err := s.SaveCallback(ctx, c); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range tc.update {
				if err := s.SaveCallback(ctx, c); err != nil {
					t.Fatal(err)
				}
			}
			for _, id := range tc.delete {
				if err := s.DeleteCallback(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.PendingCallbacks(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, g := range got {
				ids = append(ids, g.CallID)
				// Written before the callback, with no flush of the test's own.
				if g.Record.ID != g.CallID || g.Record.Outcome != string(event.OutcomeInProgress) || len(g.Segments) != 1 {
					t.Errorf("%s: record %+v, segments %+v", g.CallID, g.Record, g.Segments)
				}
			}
			if !slices.Equal(ids, tc.want) {
				t.Fatalf("pending callbacks %v, want %v", ids, tc.want)
			}
			for _, u := range tc.update {
				i := slices.Index(ids, u.CallID)
				if g := got[i]; g.Attempts != u.Attempts || !g.LineAt.Equal(u.LineAt) || !g.QueuedAt.Equal(u.QueuedAt) || !g.RequestedAt.Equal(u.RequestedAt) {
					t.Errorf("updated %+v, want %+v", g, u)
				}
			}
		})
	}
}

// A pending callback is written through: it is in the database when
// SaveCallback returns, and survives a process that never closes its
// store (kill -9); the restart's recovery closes other unfinished calls
// but leaves the callback's record open.
func TestPendingCallbackSurvivesAKill(t *testing.T) {
	o := testOptions(t)
	killed, err := New(o, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	// Never closed: what the writer has not written by now is lost, as in a kill.
	queued := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, id := range []string{"waiting", "callback"} {
		killed.SaveCall(CallRecord{ID: id, Caller: "5551234", Dialed: "100", Queue: "support", ArrivedAt: queued, QueuedAt: &queued,
			Outcome: string(event.OutcomeInProgress)})
	}
	want := PendingCallback{CallID: "callback", Queue: "support", Number: "5550199", Priority: 2, Dialed: "100", Caller: "5551234",
		RequestedAt: queued.Add(30 * time.Second), QueuedAt: queued, LineAt: queued}
	if err := killed.SaveCallback(context.Background(), want); err != nil {
		t.Fatal(err)
	}

	s := openTestStore(t, o)
	ctx := context.Background()
	if n, err := s.MarkUnfinished(ctx, queued.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("mark unfinished: %d calls, %v; want 1 (not the callback's)", n, err)
	}
	got, err := s.PendingCallbacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("pending callbacks after the kill: %+v", got)
	}
	g := got[0]
	if g.CallID != want.CallID || g.Number != want.Number || g.Priority != want.Priority || g.Queue != want.Queue ||
		g.Dialed != want.Dialed || g.Caller != want.Caller || !g.RequestedAt.Equal(want.RequestedAt) || g.Seq == 0 {
		t.Fatalf("pending callback %+v, want %+v", g, want)
	}
	if g.Record.Outcome != string(event.OutcomeInProgress) || g.Record.EndedAt != nil {
		t.Fatalf("the callback's record was closed by the recovery: %+v", g.Record)
	}
	r, _, err := s.GetCall(ctx, "waiting")
	if err != nil || r.Outcome != string(event.OutcomeFailed) {
		t.Fatalf("the other unfinished call: %+v, %v", r, err)
	}
}

// A store closed while a callback is being saved says so instead of
// claiming the callback is kept.
func TestSaveCallbackAfterClose(t *testing.T) {
	s, err := New(testOptions(t), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.SaveCallback(context.Background(), PendingCallback{CallID: "x", Queue: "q", Number: "555"}); err == nil {
		t.Fatal("SaveCallback on a closed store: nil error")
	}
}
