package store

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/event"
)

// The calls a killed server left in progress are closed at the time it
// was last seen alive (never before a call's own times), with their talk
// or wait so far, an open queue segment closed, and an ended event with
// its webhook deliveries.
func TestMarkUnfinishedClosesAtLastAlive(t *testing.T) {
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	at := func(s int) *time.Time { v := base.Add(time.Duration(s) * time.Second); return &v }
	alive := base.Add(100 * time.Second)
	restart := base.Add(time.Hour)
	tests := []struct {
		name          string
		rec           CallRecord
		segment       bool // a queue segment still open
		end           time.Time
		talk, wait    float64
		segmentLeftAt time.Time
	}{
		{name: "connected", rec: CallRecord{ArrivedAt: base, QueuedAt: at(5), ConnectedAt: at(20), WaitSeconds: 15, Agent: "1001", Queue: "sales"},
			end: alive, talk: 80, wait: 15},
		{name: "waiting in a queue", rec: CallRecord{ArrivedAt: base, QueuedAt: at(10), Queue: "support"}, segment: true,
			end: alive, wait: 90, segmentLeftAt: alive},
		{name: "in the IVR", rec: CallRecord{ArrivedAt: base, AnsweredAt: at(1)}, end: alive},
		{name: "connected after the last heartbeat", rec: CallRecord{ArrivedAt: *at(99), QueuedAt: at(100), ConnectedAt: at(102), Queue: "sales"},
			end: *at(102), talk: 0},
	}
	o := testOptions(t)
	killed, err := New(o, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		r := tc.rec
		r.ID, r.Caller, r.Outcome = fmt.Sprintf("call%d", i), "5551234", string(event.OutcomeInProgress)
		killed.SaveCall(r)
		if tc.segment {
			killed.SaveSegment(QueueSegment{CallID: r.ID, Seq: 1, Queue: r.Queue, EnteredAt: *r.QueuedAt})
		}
	}
	done := base
	killed.SaveCall(CallRecord{ID: "finished", ArrivedAt: base, EndedAt: &done, Outcome: string(event.OutcomeAnswered)})
	killed.Heartbeat(alive)
	killed.Flush() // and never closed, as in a kill

	s := openTestStore(t, o)
	ctx := context.Background()
	var delivered []Event
	n, err := s.MarkUnfinishedWithOutbox(ctx, restart, func(e Event) []OutboxEntry {
		delivered = append(delivered, e)
		return []OutboxEntry{{Receiver: "http://hook", ID: "d-" + e.CallID, Body: []byte(`{}`), CreatedAt: restart}}
	})
	if err != nil || n != int64(len(tests)) {
		t.Fatalf("closed %d, %v; want %d", n, err, len(tests))
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("call%d", i)
			r, evs, err := s.GetCall(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if r.Outcome != string(event.OutcomeFailed) || r.Reason != StoppedReason || r.HangupBy != string(event.BySystem) ||
				r.EndedAt == nil || !r.EndedAt.Equal(tc.end) || r.TalkSeconds != tc.talk || r.WaitSeconds != tc.wait {
				t.Fatalf("record %+v; want failed (%s) at %s, talk %v, wait %v", r, StoppedReason, tc.end, tc.talk, tc.wait)
			}
			if len(evs) != 1 || evs[0].Kind != event.Ended || evs[0].Detail != string(event.OutcomeFailed) || !evs[0].At.Equal(tc.end) {
				t.Fatalf("events %+v; want one ended at %s", evs, tc.end)
			}
			if tc.segment {
				segs, err := s.Segments(ctx, id)
				if err != nil || len(segs) != 1 || segs[0].LeftAt == nil || !segs[0].LeftAt.Equal(tc.segmentLeftAt) ||
					segs[0].How != event.SegmentWithdrawn || segs[0].WaitSeconds != tc.wait {
					t.Fatalf("segments %+v, %v", segs, err)
				}
			}
		})
	}
	if r, _, _ := s.GetCall(ctx, "finished"); r.Outcome != string(event.OutcomeAnswered) {
		t.Errorf("a finished call was changed: %+v", r)
	}
	pending, err := s.PendingOutbox(ctx)
	if err != nil || len(pending) != len(tests) || len(delivered) != len(tests) {
		t.Fatalf("outbox %d entries (%v), deliveries asked %d; want %d", len(pending), err, len(delivered), len(tests))
	}
	if n, err := s.MarkUnfinished(ctx, restart); n != 0 || err != nil {
		t.Errorf("second run closed %d (%v), want none", n, err)
	}
}

// The state an agent is restored to is the one before the stop's logout:
// available, away with its reason, logged out; after a call, what was
// asked for during it, else available.
func TestAgentStatesAtStop(t *testing.T) {
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var seq int
	ev := func(kind event.Kind, state, reason string) Event {
		seq++
		return Event{At: base.Add(time.Duration(seq) * time.Second), Kind: kind, State: state, Reason: reason}
	}
	st := func(state, reason string) Event { return ev(event.AgentState, state, reason) }
	pend := func(state, reason string) Event { return ev(event.AgentPending, state, reason) }
	stopped := func() Event { return st(loggedOut, StoppedReason) }
	tests := []struct {
		name   string
		events []Event
		want   *AgentStateAtStop // nil: none
	}{
		{"available", []Event{st(available, ""), stopped()}, &AgentStateAtStop{State: available}},
		{"away with its reason", []Event{st(available, ""), st(away, "lunch"), stopped()}, &AgentStateAtStop{State: away, Reason: "lunch"}},
		{"logged out before the stop", []Event{st(available, ""), st(loggedOut, "")}, &AgentStateAtStop{State: loggedOut}},
		{"two stops in a row", []Event{st(away, "training"), stopped(), stopped()}, &AgentStateAtStop{State: away, Reason: "training"}},
		{"on a call", []Event{st(available, ""), st(ringing, ""), st(onCall, ""), stopped()}, &AgentStateAtStop{State: available}},
		{"away asked for during the call", []Event{st(available, ""), st(onCall, ""), pend(away, "break"), st(onHold, ""), st(onCall, ""), st(wrapUp, ""), stopped()},
			&AgentStateAtStop{State: away, Reason: "break"}},
		{"logout asked for during the call", []Event{st(onCall, ""), pend(loggedOut, ""), stopped()}, &AgentStateAtStop{State: loggedOut}},
		{"a request withdrawn", []Event{st(available, ""), st(onCall, ""), pend(away, "lunch"), pend(available, ""), stopped()},
			&AgentStateAtStop{State: available}},
		{"a request of an earlier call", []Event{st(onCall, ""), pend(away, "lunch"), st(away, "lunch"), st(available, ""), st(onCall, ""), stopped()},
			&AgentStateAtStop{State: available}},
		{"restored, then killed", []Event{st(away, "lunch"), stopped(), st(away, "lunch"), stopped()}, &AgentStateAtStop{State: away, Reason: "lunch"}},
		{"an old row's detail", []Event{{At: base, Kind: event.AgentState, Detail: "away:meeting"}, stopped()}, &AgentStateAtStop{State: away, Reason: "meeting"}},
		{"only logouts of stops", []Event{stopped()}, nil},
	}
	s := openTest(t)
	for i, tc := range tests {
		for _, e := range tc.events {
			e.Agent = fmt.Sprintf("a%02d", i)
			s.AppendEvent(e)
		}
	}
	got, err := s.AgentStatesAtStop(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byAgent := map[string]AgentStateAtStop{}
	for _, g := range got {
		byAgent[g.Agent] = g
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			agent := fmt.Sprintf("a%02d", i)
			g, ok := byAgent[agent]
			if tc.want == nil {
				if ok {
					t.Fatalf("state %+v, want none", g)
				}
				return
			}
			want := *tc.want
			want.Agent = agent
			if !ok || g != want {
				t.Fatalf("state %+v (%v), want %+v", g, ok, want)
			}
		})
	}
}

// A binding is kept with its version: an older write never replaces a
// newer one, a deletion stays until the next load prunes it, and expired
// bindings are not loaded.
func TestRegistrations(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	reg := func(user string, version int64, expires time.Duration) Registration {
		return Registration{User: user, Contact: "sip:" + user + "@127.0.0.1:5070", Source: "127.0.0.1:5070", Transport: "udp",
			Expires: now.Add(expires), Version: version}
	}
	tests := []struct {
		name   string
		writes func(ctx context.Context, s *Store) error
		want   []Registration
	}{
		{"saved", func(ctx context.Context, s *Store) error { return s.SaveRegistration(ctx, reg("1001", 1, time.Hour)) },
			[]Registration{reg("1001", 1, time.Hour)}},
		{"refreshed", func(ctx context.Context, s *Store) error {
			if err := s.SaveRegistration(ctx, reg("1001", 1, time.Hour)); err != nil {
				return err
			}
			return s.SaveRegistration(ctx, reg("1001", 2, 2*time.Hour))
		}, []Registration{reg("1001", 2, 2*time.Hour)}},
		{"an older write after a newer one", func(ctx context.Context, s *Store) error {
			if err := s.SaveRegistration(ctx, reg("1001", 5, 2*time.Hour)); err != nil {
				return err
			}
			return s.SaveRegistration(ctx, reg("1001", 4, time.Hour))
		}, []Registration{reg("1001", 5, 2*time.Hour)}},
		{"deleted", func(ctx context.Context, s *Store) error {
			if err := s.SaveRegistration(ctx, reg("1001", 1, time.Hour)); err != nil {
				return err
			}
			return s.DeleteRegistration(ctx, "1001", 2)
		}, nil},
		{"an older write after the deletion", func(ctx context.Context, s *Store) error {
			if err := s.DeleteRegistration(ctx, "1001", 3); err != nil {
				return err
			}
			return s.SaveRegistration(ctx, reg("1001", 2, time.Hour))
		}, nil},
		{"expired", func(ctx context.Context, s *Store) error {
			if err := s.SaveRegistration(ctx, reg("1001", 1, -time.Second)); err != nil {
				return err
			}
			return s.SaveRegistration(ctx, reg("1002", 1, time.Minute))
		}, []Registration{reg("1002", 1, time.Minute)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t)
			ctx := context.Background()
			if err := tc.writes(ctx, s); err != nil {
				t.Fatal(err)
			}
			got, err := s.Registrations(ctx, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("registrations %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("registration %+v, want %+v", got[i], tc.want[i])
				}
			}
		})
	}
}

func TestHoursOverrides(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	open, closed := true, false
	tests := []struct {
		name string
		sets []*bool // on schedule "main", in order
		want []HoursOverride
	}{
		{"closed", []*bool{&closed}, []HoursOverride{{Name: "main", Open: false, SetAt: at}}},
		{"open after closed", []*bool{&closed, &open}, []HoursOverride{{Name: "main", Open: true, SetAt: at}}},
		{"cleared", []*bool{&closed, nil}, nil},
		{"cleared when none", []*bool{nil}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t)
			ctx := context.Background()
			for _, o := range tc.sets {
				if err := s.SaveHoursOverride(ctx, "main", o, at); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.HoursOverrides(ctx)
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("overrides %+v (%v), want %+v", got, err, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("override %+v, want %+v", got[i], tc.want[i])
				}
			}
		})
	}
}
