package acd

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestWaitEstimate(t *testing.T) {
	f := newRouting(t, QueueConfig{WrapUp: 30 * time.Second}, nil)
	if _, err := f.acd.Wait("nope"); !errors.Is(err, ErrUnknownCall) {
		t.Fatalf("unknown call: %v", err)
	}
	// No agent staffed: no estimate.
	if err := f.acd.Enqueue("c0", "q", 0); err != nil {
		t.Fatal(err)
	}
	if w, _ := f.acd.Wait("c0"); w.Known || w.Position != 1 {
		t.Fatalf("unstaffed: %+v", w)
	}
	if err := f.acd.Abandon("c0", "test"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"A", "B"} {
		if err := f.acd.Login(id); err != nil {
			t.Fatal(err)
		}
	}
	// Two calls handled: 90 s and 150 s of talk, plus 30 s wrap-up each → 150 s mean.
	for _, talk := range []time.Duration{90 * time.Second, 150 * time.Second} {
		ag := f.serve(t, "h"+talk.String(), talk)
		f.clk.Advance(30 * time.Second) // wrap-up runs out
		f.acd.Tick()
		_ = ag
	}
	q, _ := f.acd.Queue("q")
	if q.HandleTimeSeconds != 150 || !q.EstimatedWaitKnown || q.EstimatedWaitSeconds != 0 {
		t.Fatalf("queue view %+v: want handle 150 s, a free agent so no wait", q)
	}
	// Both agents busy; three calls wait. Position p waits p × 150 s / 2 agents.
	for _, id := range []string{"x1", "x2"} {
		if err := f.acd.Enqueue(id, "q", 0); err != nil {
			t.Fatal(err)
		}
		if err := f.acd.Answered(f.rec.last(t).ID); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range []string{"w1", "w2", "w3"} {
		if err := f.acd.Enqueue(id, "q", 0); err != nil {
			t.Fatal(err)
		}
		w, err := f.acd.Wait(id)
		if err != nil {
			t.Fatal(err)
		}
		want := time.Duration(i+1) * 75 * time.Second
		if w.Position != i+1 || !w.Known || w.Estimate != want {
			t.Fatalf("%s: %+v, want position %d estimate %s", id, w, i+1, want)
		}
	}
	if err := f.acd.SetCallback("w2", true); err != nil {
		t.Fatal(err)
	}
	q, _ = f.acd.Queue("q")
	if q.Waiting != 3 || q.CallbacksPending != 1 || q.EstimatedWaitSeconds != 300 || q.AgentsStaffed != 2 {
		t.Fatalf("queue view %+v", q)
	}
}

func TestMoveKeepsPriorityAndRestartsWait(t *testing.T) {
	f := &fixture{clk: &fakeClock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}, rec: &recorder{}}
	f.acd = New(f.clk, f.rec, func(e Event) { f.events = append(f.events, e) })
	f.acd.AddQueue(QueueConfig{Name: "sales", RingTimeout: 10 * time.Second})
	f.acd.AddQueue(QueueConfig{Name: "support", RingTimeout: 10 * time.Second})
	for _, a := range []AgentConfig{{ID: "S", Queues: []string{"sales"}}, {ID: "T", Queues: []string{"support"}}} {
		if err := f.acd.AddAgent(a); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.acd.Login("S"); err != nil {
		t.Fatal(err)
	}
	if err := f.acd.Enqueue("c1", "sales", 5); err != nil {
		t.Fatal(err)
	}
	ringing := f.rec.last(t) // S rings
	f.clk.Advance(5 * time.Second)
	if err := f.acd.Move("c1", "nowhere", "test"); !errors.Is(err, ErrUnknownQueue) {
		t.Fatalf("move to unknown queue: %v", err)
	}
	if err := f.acd.Move("c1", "support", "max_wait"); err != nil {
		t.Fatal(err)
	}
	if len(f.rec.cancels) != 1 || f.rec.cancels[0].ID != ringing.ID {
		t.Fatalf("the ringing offer should be withdrawn: %+v", f.rec.cancels)
	}
	if a, _ := f.acd.Agent("S"); a.State != Available {
		t.Fatalf("S is %s after the move", a.State)
	}
	if err := f.acd.Answered(ringing.ID); !errors.Is(err, ErrStaleOffer) {
		t.Fatalf("answering the withdrawn offer: %v", err)
	}
	if err := f.acd.Enqueue("c2", "support", 0); err != nil {
		t.Fatal(err)
	}
	if err := f.acd.Login("T"); err != nil {
		t.Fatal(err)
	}
	o := f.rec.last(t)
	if o.CallID != "c1" || o.Queue != "support" || o.AgentID != "T" {
		t.Fatalf("offer %+v: the moved call keeps its priority 5 and goes first", o)
	}
	q, _ := f.acd.Queue("support")
	if q.LongestWaitSeconds != 0 {
		t.Fatalf("wait in support restarts at the move: %+v", q)
	}
	if !hasEvent(f.events, EventMoved, "c1", "") {
		t.Fatalf("no moved event: %+v", f.events)
	}
}

// BenchmarkWait is one position-and-estimate lookup in a queue of 200
// waiting calls with 100 busy agents (what each announcement costs).
func BenchmarkWait(b *testing.B) {
	clk := &fakeClock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	a := New(clk, &recorder{}, nil)
	a.AddQueue(QueueConfig{Name: "q", RingTimeout: 15 * time.Second})
	for i := range 100 {
		id := fmt.Sprintf("a%d", i)
		if err := a.AddAgent(AgentConfig{ID: id, Queues: []string{"q"}}); err != nil {
			b.Fatal(err)
		}
		if err := a.Login(id); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 300 {
		if err := a.Enqueue(fmt.Sprintf("c%d", i), "q", 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := a.Wait(fmt.Sprintf("c%d", 100+i%200)); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSetPriorityReorders(t *testing.T) {
	f := newRouting(t, QueueConfig{}, nil)
	for _, id := range []string{"c1", "c2", "c3"} {
		if err := f.acd.Enqueue(id, "q", 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.acd.SetPriority("c3", 9); err != nil {
		t.Fatal(err)
	}
	if err := f.acd.SetPriority("nope", 1); !errors.Is(err, ErrUnknownCall) {
		t.Fatalf("unknown call: %v", err)
	}
	q, _ := f.acd.Queue("q")
	var order []string
	for _, c := range q.Calls {
		order = append(order, c.ID)
	}
	if fmt.Sprint(order) != "[c3 c1 c2]" || q.Calls[0].Priority != 9 || q.Calls[0].Position != 1 {
		t.Fatalf("order %v calls %+v", order, q.Calls)
	}
}
