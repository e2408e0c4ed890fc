package acd

import (
	"testing"
	"time"
)

func TestUnreachableAgentIsNotOffered(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1001", "1002") // 1001 idle longer
	if err := f.acd.SetReachable("1001", false); err != nil {
		t.Fatal(err)
	}
	v := f.view(t, "1001")
	if v.Reachable || !v.Unreachable || v.State != Available {
		t.Fatalf("view %+v: want available, reachable false, unreachable true", v)
	}
	_ = f.acd.Enqueue("c1", "sales", 0)
	_ = f.acd.Enqueue("c2", "sales", 0)
	if len(f.rec.offers) != 1 || f.rec.last(t).AgentID != "1002" {
		t.Fatalf("offers %+v, want only c1 to 1002", f.rec.offers)
	}
	if _, staffed, free, _ := f.acd.Staffing("sales"); staffed != 1 || free != 0 {
		t.Fatalf("staffed %d free %d, want 1 and 0", staffed, free)
	}
	_ = f.acd.SetReachable("1001", true)
	if o := f.rec.last(t); o.AgentID != "1001" || o.CallID != "c2" {
		t.Fatalf("reachable again: offer %+v, want c2 to 1001", o)
	}
	var device []string
	for _, e := range f.events {
		if e.Kind == EventDevice {
			device = append(device, e.Detail)
		}
	}
	if len(device) != 2 || device[0] != "unreachable" || device[1] != "reachable" {
		t.Fatalf("device_state events %v", device)
	}
}

func TestUnreachableWhileRingingMovesTheCall(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1001", "1002")
	_ = f.acd.Enqueue("c1", "sales", 0)
	first := f.rec.last(t)
	_ = f.acd.SetReachable(first.AgentID, false)
	if len(f.rec.cancels) != 1 || f.rec.cancels[0].ID != first.ID {
		t.Fatalf("cancels %+v, want the ringing offer withdrawn", f.rec.cancels)
	}
	if o := f.rec.last(t); o.CallID != "c1" || o.AgentID == first.AgentID {
		t.Fatalf("offer %+v, want c1 to the other agent", o)
	}
	if s := f.state(t, first.AgentID); s != Available {
		t.Fatalf("unreachable agent %s, want available (and not offered)", s)
	}
}

func TestLogoutAll(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1001", "1002", "1003")
	f.onCall(t, "c1", "support", "1002") // 1002 idle longest of support's
	f.clk.Advance(30 * time.Second)
	_ = f.acd.Enqueue("c2", "sales", 0) // rings 1001
	f.acd.LogoutAll("shutdown")
	for _, id := range []string{"1001", "1002", "1003"} {
		v := f.view(t, id)
		if v.State != LoggedOut || v.Reason != "shutdown" || v.CallID != "" {
			t.Fatalf("%s: %s:%s call %q, want logged_out:shutdown", id, v.State, v.Reason, v.CallID)
		}
	}
	if v := f.view(t, "1002"); v.TalkSeconds != 30 {
		t.Fatalf("talk %vs, want 30", v.TalkSeconds)
	}
	if len(f.rec.cancels) != 1 || f.rec.cancels[0].CallID != "c2" {
		t.Fatalf("cancels %+v, want c2's offer", f.rec.cancels)
	}
	n := 0
	for _, e := range f.events {
		if e.Kind == EventAgentState && e.State == LoggedOut && e.Reason == "shutdown" {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d logged_out:shutdown events, want 3", n)
	}
	if len(f.rec.offers) != 2 {
		t.Fatalf("offers after LogoutAll: %+v", f.rec.offers)
	}
}

// A failed offer (the phone not registered, busy) never leaves its call
// unofferable: it goes to another free agent at once, and when every agent
// has failed it is offered again as soon as the retry pause ends.
func TestFailedOffersAreOfferedAgain(t *testing.T) {
	tests := []struct {
		name     string
		bad      map[string]bool // agents whose phones fail every offer
		strategy Strategy
		want     string // who answers
	}{
		{name: "first two fail", bad: map[string]bool{"A": true, "B": true}, want: "C"},
		{name: "linear, first fails", bad: map[string]bool{"A": true}, strategy: Linear, want: "B"},
		{name: "round robin, two fail", bad: map[string]bool{"A": true, "C": true}, strategy: RoundRobin, want: "B"},
		{name: "all fail, then one comes back", bad: map[string]bool{"A": true, "B": true, "C": true}, want: "A"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newRouting(t, QueueConfig{Strategy: tc.strategy, RetryPause: 5 * time.Second}, nil)
			f.login(t, "A", "B", "C")
			_ = f.acd.Enqueue("c1", "q", 0)
			// The phones answer in turn: a bad one fails at once.
			for seen := 0; seen < len(f.rec.offers); seen++ {
				o := f.rec.offers[seen]
				if tc.bad[o.AgentID] {
					if err := f.acd.Declined(o.ID, "480 not registered"); err != nil {
						t.Fatal(err)
					}
				}
			}
			if o := f.rec.last(t); !tc.bad[o.AgentID] {
				if o.AgentID != tc.want {
					t.Fatalf("c1 offered to %s, want %s", o.AgentID, tc.want)
				}
				return
			}
			// Everybody failed: nothing rings, but a deadline is due at the end of the pause.
			n := len(f.rec.offers)
			if n != 3 {
				t.Fatalf("offers %+v, want one to each agent", f.rec.offers)
			}
			next, ok := f.acd.NextDeadline()
			if !ok || next.After(f.clk.t.Add(5*time.Second)) {
				t.Fatalf("next deadline %v (%v), want within the 5 s pause", next, ok)
			}
			f.run(5 * time.Second)
			if len(f.rec.offers) != n+1 || f.rec.last(t).CallID != "c1" || f.rec.last(t).AgentID != tc.want {
				t.Fatalf("after the pause: offers %+v, want c1 again to %s", f.rec.offers[n:], tc.want)
			}
			// Away and back, during the pause, does not lose the call either.
			_ = f.acd.Declined(f.rec.last(t).ID, "480 not registered")
			_ = f.acd.SetAway(tc.want, "x")
			_ = f.acd.SetAvailable(tc.want)
			f.run(5 * time.Second)
			if len(f.rec.offers) < n+2 {
				t.Fatalf("after away and back: no new offer of c1: %+v", f.rec.offers[n:])
			}
		})
	}
}
