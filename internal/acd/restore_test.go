package acd

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRestore(t *testing.T) {
	tests := []struct {
		name   string
		before func(t *testing.T, f *fixture) // 1001's state at start
		state  AgentState
		reason string
		want   AgentView
		err    error
		event  bool // an agent_state event marked restored
	}{
		{name: "logged out to available", state: Available, want: AgentView{State: Available}, event: true},
		{name: "logged out to away", state: Away, reason: "lunch", want: AgentView{State: Away, Reason: "lunch"}, event: true},
		{name: "logged in by its phone, to away", before: func(t *testing.T, f *fixture) { f.login(t, "1001") },
			state: Away, reason: "lunch", want: AgentView{State: Away, Reason: "lunch"}, event: true},
		{name: "logged in by its phone, to logged out", before: func(t *testing.T, f *fixture) { f.login(t, "1001") },
			state: LoggedOut, want: AgentView{State: LoggedOut}, event: true},
		{name: "away to another reason", before: func(t *testing.T, f *fixture) { f.login(t, "1001"); _ = f.acd.SetAway("1001", "break") },
			state: Away, reason: "training", want: AgentView{State: Away, Reason: "training"}, event: true},
		{name: "already so", before: func(t *testing.T, f *fixture) { f.login(t, "1001") }, state: Available, want: AgentView{State: Available}},
		{name: "on a call", before: func(t *testing.T, f *fixture) { f.login(t, "1001"); f.onCall(t, "c0", "sales", "1001") },
			state: Away, reason: "lunch", want: AgentView{State: OnCall}, err: ErrAgentBusy},
		{name: "not a state to restore", state: WrapUp, want: AgentView{State: LoggedOut}, err: errors.New("any")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.before != nil {
				tc.before(t, f)
			}
			f.events = nil
			err := f.acd.Restore("1001", tc.state, tc.reason)
			switch {
			case tc.err == nil && err != nil, tc.err != nil && err == nil:
				t.Fatalf("restore: %v, want %v", err, tc.err)
			case errors.Is(tc.err, ErrAgentBusy) && !errors.Is(err, ErrAgentBusy):
				t.Fatalf("restore: %v, want %v", err, tc.err)
			}
			if v := f.view(t, "1001"); v.State != tc.want.State || v.Reason != tc.want.Reason {
				t.Fatalf("1001 %s:%s, want %s:%s", v.State, v.Reason, tc.want.State, tc.want.Reason)
			}
			var marked []Event
			for _, e := range f.events {
				if e.Kind == EventAgentState && strings.HasSuffix(e.Detail, "("+RestoredNote+")") {
					marked = append(marked, e)
				}
			}
			if tc.event != (len(marked) == 1) || len(marked) > 1 {
				t.Fatalf("restored events %+v (all %+v)", marked, f.events)
			}
			if tc.event && (marked[0].State != tc.want.State || marked[0].Reason != tc.want.Reason) {
				t.Fatalf("event %+v, want %s:%s", marked[0], tc.want.State, tc.want.Reason)
			}
		})
	}
	if err := newFixture(t).acd.Restore("9999", Available, ""); !errors.Is(err, ErrUnknownAgent) {
		t.Errorf("unknown agent: %v", err)
	}
}

// An agent restored available takes the calls waiting for it at once.
func TestRestoredAgentIsOffered(t *testing.T) {
	f := newFixture(t)
	_ = f.acd.Enqueue("c1", "sales", 0)
	f.clk.Advance(time.Second)
	if len(f.rec.offers) != 0 {
		t.Fatalf("offers before anyone is logged in: %+v", f.rec.offers)
	}
	if err := f.acd.Restore("1001", Available, ""); err != nil {
		t.Fatal(err)
	}
	if o := f.rec.last(t); o.CallID != "c1" || o.AgentID != "1001" {
		t.Fatalf("offer %+v, want c1 to 1001", o)
	}
}

func TestRestoredCallsGoAheadOfNewOnes(t *testing.T) {
	f := newFixture(t)
	if err := f.acd.Enqueue("new", "sales", 0); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"cb1", "cb2"} {
		if err := f.acd.EnqueueRestored(id, "sales", 0, f.clk.t.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.acd.Enqueue("vip", "sales", 5); err != nil {
		t.Fatal(err)
	}
	v, _ := f.acd.Queue("sales")
	var got []string
	for _, c := range v.Calls {
		got = append(got, c.ID)
	}
	if want := []string{"vip", "cb1", "cb2", "new"}; !slices.Equal(got, want) {
		t.Fatalf("line %v, want %v (priority first, then restored calls ahead of new ones)", got, want)
	}
	if v.Calls[1].WaitSeconds < 60 {
		t.Fatalf("a restored call's wait %.0f s, want from its original place (≥ 60 s)", v.Calls[1].WaitSeconds)
	}
}
