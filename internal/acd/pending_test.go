package acd

import (
	"testing"
	"time"
)

// onCall puts one call of queue through to agent: enqueued, offered, answered.
func (f *fixture) onCall(t *testing.T, callID, queue, agent string) {
	t.Helper()
	if err := f.acd.Enqueue(callID, queue, 0); err != nil {
		t.Fatal(err)
	}
	o := f.rec.last(t)
	if o.CallID != callID || o.AgentID != agent {
		t.Fatalf("offer %+v, want %s to %s", o, callID, agent)
	}
	if err := f.acd.Answered(o.ID); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) view(t *testing.T, id string) AgentView {
	t.Helper()
	v, ok := f.acd.Agent(id)
	if !ok {
		t.Fatalf("no agent %s", id)
	}
	return v
}

func TestPendingStates(t *testing.T) {
	type step func(t *testing.T, f *fixture)
	away := func(reason string, wantPending bool) step {
		return func(t *testing.T, f *fixture) {
			t.Helper()
			p, err := f.acd.RequestAway("1003", reason)
			if err != nil || p != wantPending {
				t.Fatalf("RequestAway: pending %v err %v, want pending %v", p, err, wantPending)
			}
		}
	}
	logout := func(wantPending bool) step {
		return func(t *testing.T, f *fixture) {
			t.Helper()
			p, err := f.acd.RequestLogout("1003")
			if err != nil || p != wantPending {
				t.Fatalf("RequestLogout: pending %v err %v, want pending %v", p, err, wantPending)
			}
		}
	}
	hold := func(t *testing.T, f *fixture) { _ = f.acd.SetHold("1003", true) }
	login := func(t *testing.T, f *fixture) { _ = f.acd.Login("1003") }
	available := func(t *testing.T, f *fixture) { _ = f.acd.SetAvailable("1003") }
	end := func(t *testing.T, f *fixture) {
		f.clk.Advance(time.Minute)
		if err := f.acd.CallEnded("1003"); err != nil {
			t.Fatal(err)
		}
	}
	wrapUp := func(t *testing.T, f *fixture) { f.run(10 * time.Second) }
	tests := []struct {
		name        string
		steps       []step
		wantDuring  AgentState // state before the call ends
		wantPending AgentState
		wantAfter   AgentState // after the call and its wrap-up
		wantReason  string
	}{
		{name: "away on a call", steps: []step{away("lunch", true)}, wantDuring: OnCall, wantPending: Away, wantAfter: Away, wantReason: "lunch"},
		{name: "logout on a call", steps: []step{logout(true)}, wantDuring: OnCall, wantPending: LoggedOut, wantAfter: LoggedOut},
		{name: "away on hold", steps: []step{hold, away("lunch", true)}, wantDuring: OnHold, wantPending: Away, wantAfter: Away, wantReason: "lunch"},
		{name: "logout on hold", steps: []step{hold, logout(true)}, wantDuring: OnHold, wantPending: LoggedOut, wantAfter: LoggedOut},
		{name: "login withdraws a logout", steps: []step{hold, logout(true), login}, wantDuring: OnHold, wantAfter: Available},
		{name: "available withdraws an away", steps: []step{away("lunch", true), available}, wantDuring: OnCall, wantAfter: Available},
		{name: "the last request wins", steps: []step{away("lunch", true), logout(true)}, wantDuring: OnCall, wantPending: LoggedOut, wantAfter: LoggedOut},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.login(t, "1003")
			f.onCall(t, "c1", "support", "1003")
			for _, s := range tc.steps {
				s(t, f)
			}
			v := f.view(t, "1003")
			if v.State != tc.wantDuring || v.PendingState != tc.wantPending || v.CallID != "c1" {
				t.Fatalf("during the call: state %s pending %q call %q; want %s, %q, c1", v.State, v.PendingState, v.CallID, tc.wantDuring, tc.wantPending)
			}
			// No second call while the first is on: not even after a login.
			if err := f.acd.Enqueue("c2", "support", 0); err != nil {
				t.Fatal(err)
			}
			if len(f.rec.offers) != 1 {
				t.Fatalf("offered a second call during the first: %+v", f.rec.offers)
			}
			end(t, f)
			if v := f.view(t, "1003"); v.State != WrapUp || v.TalkSeconds != 60 {
				t.Fatalf("after CallEnded: state %s talk %vs; want wrap_up, 60s", v.State, v.TalkSeconds)
			}
			if v := f.view(t, "1003"); v.PendingState != tc.wantPending {
				t.Fatalf("pending %q during wrap-up, want %q", v.PendingState, tc.wantPending)
			}
			wrapUp(t, f)
			v = f.view(t, "1003")
			want := tc.wantAfter
			if want == Available {
				want = Ringing // available, and offered the waiting c2 at once
			}
			if v.State != want || v.Reason != tc.wantReason || v.PendingState != "" {
				t.Fatalf("after wrap-up: state %s reason %q pending %q; want %s %q", v.State, v.Reason, v.PendingState, want, tc.wantReason)
			}
			if offered := len(f.rec.offers) == 2; offered != (tc.wantAfter == Available) {
				t.Fatalf("offers after wrap-up %+v", f.rec.offers)
			}
		})
	}
}

// An agent who logs out while their call is on hold and logs back in keeps
// the held call: no second call is offered meanwhile, and the call's end
// counts its talk time and starts wrap-up (it used to be dropped: the
// logout applied on hold, the login made the agent available).
func TestLogoutOnHoldThenLoginKeepsTheCall(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1003")
	f.onCall(t, "c1", "support", "1003")
	_ = f.acd.SetHold("1003", true)
	_ = f.acd.Logout("1003")
	_ = f.acd.Login("1003")
	_ = f.acd.Enqueue("c2", "support", 0)
	if len(f.rec.offers) != 1 {
		t.Fatalf("a second call was offered while the first is held: %+v", f.rec.offers)
	}
	if s := f.state(t, "1003"); s != OnHold {
		t.Fatalf("state %s, want on_hold", s)
	}
	f.clk.Advance(90 * time.Second)
	_ = f.acd.SetHold("1003", false)
	_ = f.acd.CallEnded("1003")
	v := f.view(t, "1003")
	if v.State != WrapUp || v.TalkSeconds != 90 {
		t.Fatalf("after the call: state %s, talk %vs; want wrap_up, 90s", v.State, v.TalkSeconds)
	}
	if !hasEvent(f.events, EventCallEnded, "c1", "1003") {
		t.Fatal("no agent_call_ended event")
	}
}

func TestPendingDuringWrapUp(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1003")
	f.onCall(t, "c1", "support", "1003")
	_ = f.acd.CallEnded("1003")
	if p, err := f.acd.RequestAway("1003", "break"); err != nil || !p {
		t.Fatalf("away in wrap-up: pending %v err %v", p, err)
	}
	if s := f.state(t, "1003"); s != WrapUp {
		t.Fatalf("state %s, want wrap_up to go on", s)
	}
	f.run(10 * time.Second)
	if v := f.view(t, "1003"); v.State != Away || v.Reason != "break" {
		t.Fatalf("after wrap-up %s:%s, want away:break", v.State, v.Reason)
	}
}

func TestPendingAppliesAtRelease(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1001")
	if err := f.acd.Reserve("1001", "d1"); err != nil {
		t.Fatal(err)
	}
	_ = f.acd.SetHold("1001", true)
	if p, _ := f.acd.RequestLogout("1001"); !p {
		t.Fatal("logout during a direct call not pending")
	}
	_ = f.acd.Enqueue("c1", "sales", 0)
	_ = f.acd.Release("1001")
	if s := f.state(t, "1001"); s != LoggedOut {
		t.Fatalf("after release %s, want logged_out", s)
	}
	if len(f.rec.offers) != 0 {
		t.Fatalf("offered after a pending logout: %+v", f.rec.offers)
	}
}

func TestRequestsApplyAtOnceOffACall(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1001")
	if p, err := f.acd.RequestAway("1001", "lunch"); p || err != nil {
		t.Fatalf("away while available: pending %v err %v", p, err)
	}
	if v := f.view(t, "1001"); v.State != Away || v.Reason != "lunch" {
		t.Fatalf("state %s:%s", v.State, v.Reason)
	}
	if p, _ := f.acd.RequestLogout("1001"); p {
		t.Fatal("logout while away pending")
	}
	if _, err := f.acd.RequestAway("1001", "x"); err == nil {
		t.Fatal("away while logged out: no error")
	}
}

func TestAgentEventsAreTyped(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1003")
	f.onCall(t, "c1", "support", "1003")
	_, _ = f.acd.RequestAway("1003", "lunch")
	_ = f.acd.CallEnded("1003")
	if err := f.acd.ExtendWrapUp("1003", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	f.run(40 * time.Second)
	var states []string
	var pending, extended int
	for _, e := range f.events {
		switch e.Kind {
		case EventAgentState:
			if e.State == "" || stateText(e.State, e.Reason) != e.Detail {
				t.Errorf("agent_state event %+v: State/Reason do not match Detail", e)
			}
			states = append(states, stateText(e.State, e.Reason))
		case EventPending:
			pending++
			if e.State != Away || e.Reason != "lunch" {
				t.Errorf("pending event %+v, want away lunch", e)
			}
		case EventWrapUpExtended:
			extended++
		}
	}
	want := []string{"available", "ringing", "on_call", "wrap_up", "away:lunch"}
	if len(states) != len(want) {
		t.Fatalf("agent states %v, want %v", states, want)
	}
	for i := range want {
		if states[i] != want[i] {
			t.Fatalf("agent states %v, want %v", states, want)
		}
	}
	if pending != 1 || extended != 1 {
		t.Fatalf("%d pending and %d wrap_up_extended events, want 1 each", pending, extended)
	}
	if s := f.state(t, "1003"); s != Away {
		t.Fatalf("state %s after the extended wrap-up", s)
	}
}
