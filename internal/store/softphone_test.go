package store

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// A softphone is found on the node that holds it while that node beats;
// a node's stop, another connection or the node's own clearing hide it.
func TestSoftphones(t *testing.T) {
	s, err := New(testOptions(t), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	now := time.Now()
	for _, n := range []string{"a", "b"} {
		if err := s.Beat(ctx, NodeBeat{Name: n, SIP: n + ":5060", HTTP: n + ":8080", StartedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	find := func(agent string) (Softphone, bool) {
		t.Helper()
		p, ok, err := s.LookupSoftphone(ctx, agent, 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return p, ok
	}
	if _, ok := find("1003"); ok {
		t.Fatal("a softphone before any connected")
	}
	if err := s.SaveSoftphone(ctx, "1003", "a", now); err != nil {
		t.Fatal(err)
	}
	if p, ok := find("1003"); !ok || p.Node != "a" || p.HTTP != "a:8080" {
		t.Fatalf("on a: %+v %v", p, ok)
	}
	if err := s.SaveSoftphone(ctx, "1003", "b", now); err != nil { // the desktop reconnected through b
		t.Fatal(err)
	}
	if err := s.DeleteSoftphone(ctx, "1003", "a"); err != nil { // a's late disconnect does not remove b's
		t.Fatal(err)
	}
	if p, ok := find("1003"); !ok || p.Node != "b" {
		t.Fatalf("on b: %+v %v", p, ok)
	}
	if err := s.NodeStopped(ctx, "b", now); err != nil {
		t.Fatal(err)
	}
	if _, ok := find("1003"); ok {
		t.Fatal("a softphone on a stopped node")
	}
	if err := s.SaveSoftphone(ctx, "1004", "a", now); err != nil {
		t.Fatal(err)
	}
	if err := s.ClearSoftphones(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, ok := find("1004"); ok {
		t.Fatal("a softphone after its node cleared them")
	}
}

// A call's holder is its record's node while that node is alive.
func TestCallHolder(t *testing.T) {
	s, err := New(testOptions(t), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	now := time.Now()
	if err := s.Beat(ctx, NodeBeat{Name: "test", SIP: "a:5060", HTTP: "a:8080", StartedAt: now}); err != nil {
		t.Fatal(err)
	}
	s.SaveCall(CallRecord{ID: "live", Caller: "555", Dialed: "100", ArrivedAt: now, Outcome: "in_progress"})
	s.SaveCall(CallRecord{ID: "over", Caller: "555", Dialed: "100", ArrivedAt: now, EndedAt: &now, Outcome: "answered"})
	s.Flush()
	for _, tc := range []struct {
		id           string
		found, ended bool
	}{{"live", true, false}, {"over", true, true}, {"none", false, false}} {
		h, found, err := s.LookupCallHolder(ctx, tc.id, 3*time.Second)
		if err != nil || found != tc.found || h.Ended != tc.ended || (found && (h.Node != "test" || h.HTTP != "a:8080")) {
			t.Errorf("%s: %+v found %v err %v", tc.id, h, found, err)
		}
	}
	if err := s.NodeStopped(ctx, "test", now); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.LookupCallHolder(ctx, "live", 3*time.Second); found {
		t.Error("a stopped node holds a call")
	}
}
