package acd

import (
	"errors"
	"testing"
	"time"
)

// An ACD that dies is rebuilt by another from the nodes' report: the
// calls waiting keep their order and queue times, the phone ringing keeps
// ringing under its offer, the agent on a call stays on it and wraps up
// after it; then the free agents take the waiting calls in order, and no
// agent is offered a second call.
func TestTakeover(t *testing.T) {
	old := newFixture(t)
	old.login(t, "1002", "1003")
	old.onCall(t, "c1", "support", "1002") // 1002 talks (from support)
	queuedC2 := old.clk.t
	if err := old.acd.Enqueue("c2", "support", 0); err != nil { // rings 1003
		t.Fatal(err)
	}
	ringing := old.rec.last(t)
	old.clk.Advance(time.Second)
	queuedC3 := old.clk.t
	if err := old.acd.Enqueue("c3", "support", 0); err != nil {
		t.Fatal(err)
	}
	old.clk.Advance(time.Second)
	queuedC4 := old.clk.t
	if err := old.acd.Enqueue("c4", "support", 0); err != nil {
		t.Fatal(err)
	}
	if ringing.CallID != "c2" || ringing.AgentID != "1003" || old.acd.Position("c3") != 2 || old.acd.Position("c4") != 3 {
		t.Fatalf("before the takeover: offer %+v, positions c3 %d c4 %d", ringing, old.acd.Position("c3"), old.acd.Position("c4"))
	}

	// The new ACD, a few seconds later, from the report.
	f := newFixture(t)
	f.clk.t = old.clk.t.Add(3 * time.Second)
	f.acd.StartOffersAt(1 << 32)
	if err := f.acd.RestoreOnCall("1002", "c1", "support", old.clk.t.Add(-10*time.Second), false); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id string
		at time.Time
	}{{"c2", queuedC2}, {"c3", queuedC3}, {"c4", queuedC4}} {
		if err := f.acd.EnqueueRestored(c.id, "support", 0, c.at); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.acd.RestoreOffer(ringing, f.clk.t.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := f.acd.RestoreOffer(Offer{ID: 99, CallID: "c3", AgentID: "1003"}, f.clk.t.Add(time.Second)); !errors.Is(err, ErrAgentBusy) {
		t.Fatalf("a second offer to the ringing agent: %v, want ErrAgentBusy", err)
	}
	for _, id := range []string{"1001", "1002", "1003"} {
		s := LoggedOut
		if id != "1001" {
			s = Available
		}
		if err := f.acd.Restore(id, s, ""); err != nil && !errors.Is(err, ErrAgentBusy) {
			t.Fatal(err)
		}
	}
	if len(f.rec.offers) != 0 {
		t.Fatalf("the takeover offered %+v; every agent is busy", f.rec.offers)
	}
	if f.state(t, "1002") != OnCall || f.state(t, "1003") != Ringing || f.acd.Position("c3") != 2 || f.acd.Position("c4") != 3 {
		t.Fatalf("after the takeover: 1002 %s, 1003 %s, c3 at %d, c4 at %d", f.state(t, "1002"), f.state(t, "1003"),
			f.acd.Position("c3"), f.acd.Position("c4"))
	}
	if w, _ := f.acd.Wait("c3"); w.Position != 2 {
		t.Fatalf("c3's wait: %+v", w)
	}

	// The restored offer is answered under its old ID; 1002's call ends
	// and wraps up (support's 10 s), then 1002 takes c3, the longest waiting.
	if err := f.acd.Answered(ringing.ID); err != nil {
		t.Fatalf("answering the restored offer: %v", err)
	}
	if err := f.acd.CallEnded("1002"); err != nil {
		t.Fatal(err)
	}
	if f.state(t, "1002") != WrapUp {
		t.Fatalf("1002 after its restored call: %s, want wrap_up", f.state(t, "1002"))
	}
	f.run(11 * time.Second)
	o := f.rec.last(t)
	if o.CallID != "c3" || o.AgentID != "1002" || o.ID <= 1<<32 {
		t.Fatalf("after wrap-up: offer %+v, want c3 to 1002 with a new ID", o)
	}
	if len(f.rec.offers) != 1 {
		t.Fatalf("offers after the takeover: %+v", f.rec.offers)
	}
}

// A direct call restored is released like a reserved one.
func TestTakeoverDirectCall(t *testing.T) {
	f := newFixture(t)
	if err := f.acd.RestoreOnCall("1001", "d1", "", time.Time{}, true); err != nil {
		t.Fatal(err)
	}
	if f.state(t, "1001") != OnHold {
		t.Fatalf("1001: %s, want on_hold", f.state(t, "1001"))
	}
	if err := f.acd.SetHold("1001", false); err != nil {
		t.Fatal(err)
	}
	if err := f.acd.Release("1001"); err != nil {
		t.Fatal(err)
	}
	if f.state(t, "1001") != Available {
		t.Fatalf("1001 after release: %s", f.state(t, "1001"))
	}
	if err := f.acd.RestoreOnCall("1001", "d2", "nowhere", time.Time{}, false); !errors.Is(err, ErrUnknownQueue) {
		t.Fatalf("unknown queue: %v", err)
	}
}
