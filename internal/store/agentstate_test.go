package store

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/event"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	st, err := New(testOptions(t), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Agent state changes are read from the typed columns, or from an old
// row's detail; an away whose reason says ":extended" is a state change,
// a wrap-up extension is not.
func TestAgentStateChanges(t *testing.T) {
	base := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		ev     Event
		state  string
		reason string
		change bool
	}{
		{"typed", Event{Kind: event.AgentState, State: "away", Reason: "lunch", Detail: "whatever"}, "away", "lunch", true},
		{"typed reason with :extended", Event{Kind: event.AgentState, State: "away", Reason: "training:extended"}, "away", "training:extended", true},
		{"old row", Event{Kind: event.AgentState, Detail: "away:lunch"}, "away", "lunch", true},
		{"old row, reason with :extended", Event{Kind: event.AgentState, Detail: "away:training:extended"}, "away", "training:extended", true},
		{"old row, no reason", Event{Kind: event.AgentState, Detail: "available"}, "available", "", true},
		{"old wrap-up extension", Event{Kind: event.AgentState, Detail: "wrap_up:extended 30s"}, "", "", false},
		{"wrap-up extension kind", Event{Kind: event.WrapUpExtended, Agent: "1001", Detail: "30s"}, "", "", false},
	}
	st := openTest(t)
	for i, tc := range tests {
		e := tc.ev
		e.At, e.Agent = base.Add(time.Duration(i)*time.Minute), "1001"
		st.AppendEvent(e)
	}
	st.Flush()
	got, err := st.AgentStateChanges(context.Background(), base, base.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	byMinute := map[int]StateChange{}
	for _, c := range got {
		byMinute[int(c.At.Sub(base)/time.Minute)] = c
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := byMinute[i]
			if ok != tc.change || c.State != tc.state || c.Reason != tc.reason {
				t.Fatalf("change %v %+v, want %v %q %q", ok, c, tc.change, tc.state, tc.reason)
			}
		})
	}
}

// Agents a stopped server left logged in are logged out at the time it
// was last seen alive: its last heartbeat, or its last event when later.
func TestReconcileAgentStates(t *testing.T) {
	base := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	minute := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	state := func(agent string, m int, s, reason string) Event {
		return Event{At: minute(m), Kind: event.AgentState, Agent: agent, State: s, Reason: reason}
	}
	now := minute(600)
	tests := []struct {
		name      string
		events    []Event
		heartbeat *time.Time
		want      map[string]time.Time // agent → logged out at
	}{
		{name: "empty store"},
		{
			name:   "last event is the last sign of life",
			events: []Event{state("1001", 0, "available", ""), state("1002", 5, "away", "lunch"), state("1003", 1, "available", ""), state("1003", 7, "logged_out", ""), {At: minute(20), Kind: event.Ended, CallID: "c"}},
			want:   map[string]time.Time{"1001": minute(20), "1002": minute(20)},
		},
		{
			name:      "a later heartbeat",
			events:    []Event{state("1001", 0, "on_call", ""), {At: minute(3), Kind: event.Connected, CallID: "c", Agent: "1001"}},
			heartbeat: ptr(minute(30)),
			want:      map[string]time.Time{"1001": minute(30)},
		},
		{
			name:   "an old row's detail",
			events: []Event{{At: minute(0), Kind: event.AgentState, Agent: "1001", Detail: "away:lunch"}, {At: minute(1), Kind: event.AgentState, Agent: "1002", Detail: "logged_out"}},
			want:   map[string]time.Time{"1001": minute(1)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := openTest(t)
			for _, e := range tc.events {
				st.AppendEvent(e)
			}
			if tc.heartbeat != nil {
				st.Heartbeat(*tc.heartbeat)
			}
			ctx := context.Background()
			n, err := st.ReconcileAgentStates(ctx, now)
			if err != nil || n != len(tc.want) {
				t.Fatalf("reconciled %d, %v; want %d", n, err, len(tc.want))
			}
			changes, err := st.AgentStateChanges(ctx, base, now, 0)
			if err != nil {
				t.Fatal(err)
			}
			last := map[string]StateChange{}
			for _, c := range changes {
				last[c.Agent] = c
			}
			for agent, at := range tc.want {
				if c := last[agent]; c.State != "logged_out" || c.Reason != StoppedReason || !c.At.Equal(at) {
					t.Errorf("agent %s ends %+v, want logged_out (%s) at %s", agent, c, StoppedReason, at)
				}
			}
			if n, err := st.ReconcileAgentStates(ctx, now); n != 0 || err != nil {
				t.Errorf("second run logged out %d (%v), want none", n, err)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
