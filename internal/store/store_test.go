package store

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

func TestCallsAndEvents(t *testing.T) {
	s, err := New(testOptions(t), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	base := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for i, id := range []string{"a", "b", "c"} {
		s.SaveCall(CallRecord{ID: id, Caller: "555", Dialed: "100", ArrivedAt: base.Add(time.Duration(i) * time.Minute), Outcome: "in_progress"})
	}
	end := base.Add(5 * time.Minute)
	s.SaveCall(CallRecord{ID: "b", Caller: "555", Dialed: "100", ArrivedAt: base.Add(time.Minute), EndedAt: &end, Outcome: "answered", Agent: "1001", WaitSeconds: 3.5})
	s.AppendEvent(Event{At: base, Kind: "arrived", CallID: "b"})
	s.AppendEvent(Event{At: base.Add(time.Second), Kind: "queued", CallID: "b", Queue: "sales"})
	s.Flush()
	if err := s.SaveRecording(ctx, Recording{CallID: "b", Path: "/x/b.wav", Started: base, Queue: "sales"}); err != nil {
		t.Fatal(err)
	}

	calls, err := s.ListCalls(ctx, 2, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[0].ID != "c" || calls[1].ID != "b" {
		t.Fatalf("newest first, limit 2: %+v", calls)
	}
	if calls[0].Recorded || !calls[1].Recorded {
		t.Fatalf("recorded: c %v, b %v; want false, true", calls[0].Recorded, calls[1].Recorded)
	}
	since, _ := s.ListCalls(ctx, 10, base.Add(90*time.Second))
	if len(since) != 1 || since[0].ID != "c" {
		t.Fatalf("since: %+v", since)
	}
	r, evs, err := s.GetCall(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != "answered" || r.EndedAt == nil || !r.EndedAt.Equal(end) || r.WaitSeconds != 3.5 || !r.Recorded {
		t.Fatalf("record %+v", r)
	}
	if len(evs) != 2 || evs[1].Kind != "queued" {
		t.Fatalf("events %+v", evs)
	}
	if _, _, err := s.GetCall(ctx, "zzz"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing call: %v", err)
	}
	n, err := s.MarkUnfinished(ctx, end)
	if err != nil || n != 2 {
		t.Fatalf("mark unfinished: %d %v", n, err)
	}
}

func TestTokens(t *testing.T) {
	s, err := New(testOptions(t), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	tok, err := s.CreateToken(context.Background(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	if u, err := s.TokenUser(context.Background(), tok); err != nil || u != "admin" {
		t.Fatalf("token user %q %v", u, err)
	}
	if _, err := s.TokenUser(context.Background(), "sb_nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bad token: %v", err)
	}
}

// A database made by goose also says it has had every legacy migration,
// so a server of before the move to goose opens it as it is.
func TestNewDatabaseHasTheLegacyVersion(t *testing.T) {
	if onPostgres() {
		t.Skip("PRAGMA user_version is SQLite's")
	}
	s, err := New(testOptions(t), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var v int
	if err := s.db.QueryRowContext(context.Background(), `PRAGMA user_version`).Scan(&v); err != nil || v != len(migrations) {
		t.Fatalf("user_version %d (%v), want %d", v, err, len(migrations))
	}
}
