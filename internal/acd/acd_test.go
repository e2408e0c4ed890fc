package acd

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

type recorder struct {
	offers  []Offer
	cancels []Offer
}

func (r *recorder) Offer(o Offer)       { r.offers = append(r.offers, o) }
func (r *recorder) CancelOffer(o Offer) { r.cancels = append(r.cancels, o) }

func (r *recorder) last(t *testing.T) Offer {
	t.Helper()
	if len(r.offers) == 0 {
		t.Fatal("no offer made")
	}
	return r.offers[len(r.offers)-1]
}

type fixture struct {
	clk    *fakeClock
	rec    *recorder
	acd    *ACD
	events []Event
}

// newFixture makes queues sales (ring 15s) and support (ring 15s, wrap-up 10s);
// agents 1001 in sales, 1002 in both, 1003 in support.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{clk: &fakeClock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}, rec: &recorder{}}
	f.acd = New(f.clk, f.rec, func(e Event) { f.events = append(f.events, e) })
	f.acd.AddQueue(QueueConfig{Name: "sales", RingTimeout: 15 * time.Second})
	f.acd.AddQueue(QueueConfig{Name: "support", RingTimeout: 15 * time.Second, WrapUp: 10 * time.Second})
	for _, a := range []AgentConfig{{ID: "1001", Queues: []string{"sales"}}, {ID: "1002", Queues: []string{"sales", "support"}}, {ID: "1003", Queues: []string{"support"}}} {
		if err := f.acd.AddAgent(a); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) login(t *testing.T, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := f.acd.Login(id); err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(time.Second)
	}
}

func (f *fixture) state(t *testing.T, id string) AgentState {
	t.Helper()
	v, ok := f.acd.Agent(id)
	if !ok {
		t.Fatalf("no agent %s", id)
	}
	return v.State
}

// run advances the clock to each deadline until d has passed.
func (f *fixture) run(d time.Duration) {
	end := f.clk.t.Add(d)
	for i := 0; i < 1000; i++ {
		next, ok := f.acd.NextDeadline()
		if !ok || next.After(end) {
			break
		}
		f.clk.t = next
		f.acd.Tick()
	}
	f.clk.t = end
}

func TestLongestIdleAgentIsOffered(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1002", "1001") // 1002 idle longer
	if err := f.acd.Enqueue("c1", "sales", 0); err != nil {
		t.Fatal(err)
	}
	if o := f.rec.last(t); o.AgentID != "1002" || o.CallID != "c1" || o.Timeout != 15*time.Second {
		t.Fatalf("offer %+v, want c1 to 1002 for 15s", o)
	}
	if s := f.state(t, "1002"); s != Ringing {
		t.Fatalf("1002 is %s, want ringing", s)
	}
	// A second call goes to the other agent; an agent who rings is not offered another.
	if err := f.acd.Enqueue("c2", "sales", 0); err != nil {
		t.Fatal(err)
	}
	if o := f.rec.last(t); o.AgentID != "1001" || o.CallID != "c2" {
		t.Fatalf("offer %+v, want c2 to 1001", o)
	}
	if err := f.acd.Enqueue("c3", "sales", 0); err != nil {
		t.Fatal(err)
	}
	if len(f.rec.offers) != 2 {
		t.Fatalf("offers %d, want 2: no free agent for c3", len(f.rec.offers))
	}
	if p := f.acd.Position("c3"); p != 3 {
		t.Fatalf("position of c3 = %d, want 3", p)
	}
}

func TestAgentOnCallIsNotOffered(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1001")
	_ = f.acd.Enqueue("c1", "sales", 0)
	if err := f.acd.Answered(f.rec.last(t).ID); err != nil {
		t.Fatal(err)
	}
	_ = f.acd.Enqueue("c2", "sales", 0)
	if len(f.rec.offers) != 1 {
		t.Fatalf("agent on a call was offered another: %+v", f.rec.offers)
	}
	if err := f.acd.CallEnded("1001"); err != nil {
		t.Fatal(err)
	}
	if o := f.rec.last(t); o.CallID != "c2" || o.AgentID != "1001" {
		t.Fatalf("after the call ended, offer %+v; want c2 to 1001", o)
	}
}

func TestPriorityThenArrival(t *testing.T) {
	f := newFixture(t)
	_ = f.acd.Enqueue("low-early", "sales", 0)
	f.clk.Advance(time.Second)
	_ = f.acd.Enqueue("high-late", "sales", 5)
	f.clk.Advance(time.Second)
	_ = f.acd.Enqueue("low-late", "sales", 0)
	f.login(t, "1001")
	if o := f.rec.last(t); o.CallID != "high-late" {
		t.Fatalf("first offer to %s, want high-late", o.CallID)
	}
	_ = f.acd.Answered(f.rec.last(t).ID)
	_ = f.acd.CallEnded("1001")
	if o := f.rec.last(t); o.CallID != "low-early" {
		t.Fatalf("second offer to %s, want low-early", o.CallID)
	}
}

func TestRingTimeoutMovesToNextAgent(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1001", "1002")
	_ = f.acd.Enqueue("c1", "sales", 0)
	first := f.rec.last(t)
	if first.AgentID != "1001" {
		t.Fatalf("first offer to %s", first.AgentID)
	}
	f.run(14 * time.Second)
	if len(f.rec.offers) != 1 {
		t.Fatal("moved on before the ring timeout")
	}
	f.run(time.Second)
	if len(f.rec.cancels) != 1 || f.rec.cancels[0].ID != first.ID {
		t.Fatalf("cancels %+v, want the first offer cancelled", f.rec.cancels)
	}
	if o := f.rec.last(t); o.AgentID != "1002" {
		t.Fatalf("second offer to %s, want 1002", o.AgentID)
	}
	if err := f.acd.Answered(first.ID); !errors.Is(err, ErrStaleOffer) {
		t.Fatalf("answering a timed-out offer: %v, want ErrStaleOffer", err)
	}
	if !hasEvent(f.events, EventNoAnswer, "c1", "1001") {
		t.Fatal("no offer_timeout event")
	}
}

func TestDeclineRestsAgentThenRetries(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1001")
	_ = f.acd.Enqueue("c1", "sales", 0)
	if err := f.acd.Declined(f.rec.last(t).ID, "486 Busy Here"); err != nil {
		t.Fatal(err)
	}
	if len(f.rec.offers) != 1 {
		t.Fatal("re-offered at once to the agent who declined")
	}
	f.run(DefaultRetryPause)
	if len(f.rec.offers) != 2 || f.rec.last(t).AgentID != "1001" {
		t.Fatalf("after the pause: offers %+v, want a retry to 1001", f.rec.offers)
	}
}

func TestAbandonWhileRingingCancels(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1001")
	_ = f.acd.Enqueue("c1", "sales", 0)
	o := f.rec.last(t)
	if err := f.acd.Abandon("c1", "caller hung up"); err != nil {
		t.Fatal(err)
	}
	if len(f.rec.cancels) != 1 || f.rec.cancels[0].ID != o.ID {
		t.Fatalf("cancels %+v", f.rec.cancels)
	}
	if s := f.state(t, "1001"); s != Available {
		t.Fatalf("agent %s, want available", s)
	}
	if err := f.acd.Answered(o.ID); !errors.Is(err, ErrStaleOffer) {
		t.Fatalf("answer after abandon: %v", err)
	}
	if q, _ := f.acd.Queue("sales"); q.Waiting != 0 {
		t.Fatalf("waiting %d after abandon", q.Waiting)
	}
}

func TestAbandonWhileWaiting(t *testing.T) {
	f := newFixture(t)
	_ = f.acd.Enqueue("c1", "sales", 0)
	f.clk.Advance(30 * time.Second)
	if q, _ := f.acd.Queue("sales"); q.Waiting != 1 || q.LongestWaitSeconds != 30 {
		t.Fatalf("queue %+v", q)
	}
	_ = f.acd.Abandon("c1", "caller hung up")
	f.login(t, "1001")
	if len(f.rec.offers) != 0 || len(f.rec.cancels) != 0 {
		t.Fatalf("offers %v cancels %v after abandon in queue", f.rec.offers, f.rec.cancels)
	}
}

func TestWrapUpThenAvailable(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1003")
	_ = f.acd.Enqueue("c1", "support", 0)
	_ = f.acd.Answered(f.rec.last(t).ID)
	_ = f.acd.CallEnded("1003")
	if s := f.state(t, "1003"); s != WrapUp {
		t.Fatalf("state %s, want wrap_up", s)
	}
	_ = f.acd.Enqueue("c2", "support", 0)
	if len(f.rec.offers) != 1 {
		t.Fatal("offered during wrap-up")
	}
	f.run(10 * time.Second)
	if o := f.rec.last(t); o.CallID != "c2" {
		t.Fatalf("after wrap-up offer %+v", o)
	}
}

func TestLogoutWithdrawsOfferToNextAgent(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1001", "1002")
	_ = f.acd.Enqueue("c1", "sales", 0)
	_ = f.acd.Logout("1001")
	if len(f.rec.cancels) != 1 || f.rec.last(t).AgentID != "1002" {
		t.Fatalf("cancels %v offers %v", f.rec.cancels, f.rec.offers)
	}
	if s := f.state(t, "1001"); s != LoggedOut {
		t.Fatalf("1001 %s", s)
	}
}

func TestAgentInTwoQueuesTakesLongestWaiting(t *testing.T) {
	f := newFixture(t)
	_ = f.acd.Enqueue("support-first", "support", 0)
	f.clk.Advance(time.Second)
	_ = f.acd.Enqueue("sales-second", "sales", 0)
	f.login(t, "1002")
	if o := f.rec.last(t); o.CallID != "support-first" {
		t.Fatalf("offer %s, want support-first", o.CallID)
	}
}

func TestToggleAndAway(t *testing.T) {
	f := newFixture(t)
	if st, _ := f.acd.Toggle("1001"); st != Available {
		t.Fatalf("toggle in: %s", st)
	}
	if err := f.acd.SetAway("1001", "lunch"); err != nil {
		t.Fatal(err)
	}
	_ = f.acd.Enqueue("c1", "sales", 0)
	if len(f.rec.offers) != 0 {
		t.Fatal("away agent offered")
	}
	_ = f.acd.SetAvailable("1001")
	if len(f.rec.offers) != 1 {
		t.Fatal("available agent not offered the waiting call")
	}
	if st, _ := f.acd.Toggle("1001"); st != LoggedOut {
		t.Fatalf("toggle out: %s", st)
	}
	if err := f.acd.SetAway("nobody", "x"); !errors.Is(err, ErrUnknownAgent) {
		t.Fatalf("unknown agent: %v", err)
	}
	if err := f.acd.Enqueue("c9", "nowhere", 0); !errors.Is(err, ErrUnknownQueue) {
		t.Fatalf("unknown queue: %v", err)
	}
}

func TestReserveDirectCall(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1001")
	if err := f.acd.Reserve("1001", "d1"); err != nil {
		t.Fatal(err)
	}
	_ = f.acd.Enqueue("c1", "sales", 0)
	if len(f.rec.offers) != 0 {
		t.Fatal("reserved agent offered a queue call")
	}
	if err := f.acd.Reserve("1001", "d2"); !errors.Is(err, ErrAgentBusy) {
		t.Fatalf("second reserve: %v", err)
	}
	_ = f.acd.Release("1001")
	if len(f.rec.offers) != 1 {
		t.Fatal("released agent not offered the waiting call")
	}
}

func hasEvent(evs []Event, k EventKind, call, agent string) bool {
	for _, e := range evs {
		if e.Kind == k && e.CallID == call && e.AgentID == agent {
			return true
		}
	}
	return false
}

type lastOfferer struct{ last Offer }

func (l *lastOfferer) Offer(o Offer)     { l.last = o }
func (l *lastOfferer) CancelOffer(Offer) {}

// BenchmarkRoutingDecision measures one call arriving, being offered to the
// longest-idle agent, answered and ended, in a centre of 1,000 agents over
// 100 queues (each agent in 10 queues).
func BenchmarkRoutingDecision(b *testing.B) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	off := &lastOfferer{}
	a := New(clk, off, nil)
	for q := 0; q < 100; q++ {
		a.AddQueue(QueueConfig{Name: fmt.Sprintf("q%d", q), RingTimeout: 15 * time.Second})
	}
	for i := 0; i < 1000; i++ {
		qs := make([]string, 10)
		for j := range qs {
			qs[j] = fmt.Sprintf("q%d", (i+j*10)%100)
		}
		id := fmt.Sprintf("a%d", i)
		if err := a.AddAgent(AgentConfig{ID: id, Queues: qs}); err != nil {
			b.Fatal(err)
		}
		_ = a.Login(id)
		clk.Advance(time.Millisecond)
	}
	ids := make([]string, b.N)
	qs := make([]string, 100)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%d", i)
	}
	for i := range qs {
		qs[i] = fmt.Sprintf("q%d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clk.Advance(time.Millisecond)
		if err := a.Enqueue(ids[i], qs[i%100], 0); err != nil {
			b.Fatal(err)
		}
		o := off.last
		if err := a.Answered(o.ID); err != nil {
			b.Fatal(err)
		}
		_ = a.CallEnded(o.AgentID)
	}
}
