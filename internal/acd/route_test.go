package acd

import (
	"testing"
	"time"
)

// newRouting makes one queue "q" with the given config and agents A, B, C in
// that list order; login order sets who is idle longest.
func newRouting(t *testing.T, qc QueueConfig, skills map[string]map[string]int) *fixture {
	t.Helper()
	f := &fixture{clk: &fakeClock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}, rec: &recorder{}}
	f.acd = New(f.clk, f.rec, func(e Event) { f.events = append(f.events, e) })
	qc.Name = "q"
	if qc.RingTimeout == 0 {
		qc.RingTimeout = 15 * time.Second
	}
	f.acd.AddQueue(qc)
	for _, id := range []string{"A", "B", "C"} {
		if err := f.acd.AddAgent(AgentConfig{ID: id, Queues: []string{"q"}, Skills: skills[id]}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// serve puts a call through: offered, answered, talk, ended; returns the agent.
func (f *fixture) serve(t *testing.T, callID string, talk time.Duration) string {
	t.Helper()
	n := len(f.rec.offers)
	if err := f.acd.Enqueue(callID, "q", 0); err != nil {
		t.Fatal(err)
	}
	if len(f.rec.offers) != n+1 {
		t.Fatalf("%s: %d offers made, want 1", callID, len(f.rec.offers)-n)
	}
	o := f.rec.last(t)
	if err := f.acd.Answered(o.ID); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(talk)
	if err := f.acd.CallEnded(o.AgentID); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Second)
	return o.AgentID
}

func TestStrategies(t *testing.T) {
	skills := map[string]map[string]int{"A": {"sales": 5}, "B": {"sales": 9}, "C": {"sales": 7}}
	tests := []struct {
		strategy Strategy
		login    []string // in this order (the first is idle longest)
		history  func(t *testing.T, f *fixture)
		want     []string // the agents the next calls go to, each served in turn
	}{
		{strategy: LongestIdle, login: []string{"B", "C", "A"}, want: []string{"B", "C", "A", "B"}},
		{strategy: Linear, login: []string{"C", "B", "A"}, want: []string{"A", "A", "A"}},
		{strategy: RoundRobin, login: []string{"C", "B", "A"}, want: []string{"A", "B", "C", "A", "B"}},
		{strategy: BestProficiency, login: []string{"A", "C", "B"}, want: []string{"B", "B"}},
		{
			strategy: FewestCalls, login: []string{"A", "B", "C"},
			history: func(t *testing.T, f *fixture) {
				// A answers one call, B two; C none.
				_ = f.acd.SetAway("C", "lunch")
				f.serve(t, "h1", time.Second)
				f.serve(t, "h2", time.Second)
				_ = f.acd.SetAway("A", "lunch")
				f.serve(t, "h3", time.Second)
				_ = f.acd.SetAvailable("A")
				_ = f.acd.SetAvailable("C")
			},
			// C has none; then A and C have one each, A idle longer; then C.
			want: []string{"C", "A", "C"},
		},
		{
			strategy: LeastTalkTime, login: []string{"A", "B", "C"},
			history: func(t *testing.T, f *fixture) {
				f.serve(t, "h1", 90*time.Second)  // A
				f.serve(t, "h2", 30*time.Second)  // B
				f.serve(t, "h3", 120*time.Second) // C
			},
			want: []string{"B", "B", "B"}, // B's 30 s, 40 s, 50 s stay under A's 90 s
		},
	}
	for _, tc := range tests {
		t.Run(string(tc.strategy), func(t *testing.T) {
			f := newRouting(t, QueueConfig{Strategy: tc.strategy, Skills: map[string]int{"sales": 1}}, skills)
			f.login(t, tc.login...)
			if tc.history != nil {
				tc.history(t, f)
			}
			for i, want := range tc.want {
				if got := f.serve(t, "c"+string(rune('1'+i)), 10*time.Second); got != want {
					t.Fatalf("call %d went to %s, want %s", i+1, got, want)
				}
			}
		})
	}
}

func TestRandomStrategySpreadsCalls(t *testing.T) {
	f := newRouting(t, QueueConfig{Strategy: Random}, nil)
	f.acd.Seed(7)
	f.login(t, "A", "B", "C")
	count := map[string]int{}
	for i := 0; i < 300; i++ {
		count[f.serve(t, "c"+time.Duration(i).String(), time.Second)]++
	}
	for _, id := range []string{"A", "B", "C"} {
		if count[id] < 70 {
			t.Fatalf("random: %v, want each agent about 100 of 300", count)
		}
	}
}

func TestRingAllFirstAnswerTakesIt(t *testing.T) {
	f := newRouting(t, QueueConfig{Strategy: RingAll}, nil)
	f.login(t, "A", "B")
	if err := f.acd.Enqueue("c1", "q", 0); err != nil {
		t.Fatal(err)
	}
	if len(f.rec.offers) != 2 {
		t.Fatalf("%d offers, want A and B rung at once", len(f.rec.offers))
	}
	// C logs in while it rings: C's phone rings too.
	f.login(t, "C")
	if len(f.rec.offers) != 3 || f.rec.last(t).AgentID != "C" {
		t.Fatalf("offers %+v, want C added", f.rec.offers)
	}
	var toB Offer
	for _, o := range f.rec.offers {
		if o.AgentID == "B" {
			toB = o
		}
	}
	if err := f.acd.Answered(toB.ID); err != nil {
		t.Fatal(err)
	}
	if len(f.rec.cancels) != 2 {
		t.Fatalf("cancels %+v, want A's and C's", f.rec.cancels)
	}
	for id, want := range map[string]AgentState{"A": Available, "B": OnCall, "C": Available} {
		if s := f.state(t, id); s != want {
			t.Fatalf("%s is %s, want %s", id, s, want)
		}
	}
	// Nobody answers the next one: all time out together, rest, and ring again.
	_ = f.acd.Enqueue("c2", "q", 0)
	f.run(16 * time.Second)
	if len(f.rec.offers) != 5 {
		t.Fatalf("%d offers after the ring timeout, want 5 (no re-ring while resting)", len(f.rec.offers))
	}
	f.run(5 * time.Second)
	if len(f.rec.offers) != 7 {
		t.Fatalf("%d offers after the rest, want A and C rung again", len(f.rec.offers))
	}
}

func TestEscalationWidensProficiency(t *testing.T) {
	skills := map[string]map[string]int{"A": {"sales": 5}, "B": {"sales": 3}}
	f := newRouting(t, QueueConfig{Skills: map[string]int{"sales": 8},
		Escalations: []Escalation{{After: 30 * time.Second, MinProficiency: 5}, {After: 60 * time.Second, MinProficiency: 1}}}, skills)
	f.login(t, "B", "A")
	_ = f.acd.Enqueue("c1", "q", 0)
	if len(f.rec.offers) != 0 {
		t.Fatalf("offered %+v before escalation: nobody has sales 8", f.rec.offers)
	}
	f.run(29 * time.Second)
	if len(f.rec.offers) != 0 {
		t.Fatal("offered before 30 s")
	}
	f.run(2 * time.Second)
	if o := f.rec.last(t); o.AgentID != "A" {
		t.Fatalf("offer to %s after 30 s, want A (sales 5)", o.AgentID)
	}
	// A goes to lunch instead; at 60 s B (sales 3) is in too.
	_ = f.acd.SetAway("A", "lunch")
	f.run(20 * time.Second)
	if len(f.rec.offers) != 1 {
		t.Fatalf("offers %+v before 60 s, want only A's", f.rec.offers)
	}
	f.run(10 * time.Second)
	if o := f.rec.last(t); o.AgentID != "B" {
		t.Fatalf("offer to %s after 60 s, want B", o.AgentID)
	}
}

func TestEscalationAddsAnotherQueuesAgents(t *testing.T) {
	f := newFixture(t) // sales: 1001, 1002; support: 1002, 1003
	f.acd.AddQueue(QueueConfig{Name: "sales", RingTimeout: 15 * time.Second,
		Escalations: []Escalation{{After: 60 * time.Second, AddQueues: []string{"support"}}}})
	f.login(t, "1003")
	_ = f.acd.Enqueue("c1", "sales", 0)
	f.run(59 * time.Second)
	if len(f.rec.offers) != 0 {
		t.Fatal("a support agent was offered a sales call before 60 s")
	}
	f.run(2 * time.Second)
	if o := f.rec.last(t); o.AgentID != "1003" || o.Queue != "sales" {
		t.Fatalf("offer %+v, want the sales call to 1003 after 60 s", o)
	}
	// An escalated call also reaches a support agent who becomes free later.
	_ = f.acd.Answered(f.rec.last(t).ID)
	_ = f.acd.Enqueue("c2", "sales", 0)
	f.run(61 * time.Second)
	n := len(f.rec.offers)
	_ = f.acd.CallEnded("1003")
	if len(f.rec.offers) != n+1 || f.rec.last(t).CallID != "c2" {
		t.Fatalf("offers %+v, want c2 to 1003 when free", f.rec.offers)
	}
}

func TestMissedOffersSetAgentAway(t *testing.T) {
	f := newRouting(t, QueueConfig{MissedToAway: 2}, nil)
	f.login(t, "A")
	_ = f.acd.Enqueue("c1", "q", 0)
	f.run(16 * time.Second) // missed once, rests 5 s
	f.run(5 * time.Second)  // offered again
	if s := f.state(t, "A"); s != Ringing {
		t.Fatalf("A is %s, want ringing again", s)
	}
	f.run(16 * time.Second) // missed twice
	v, _ := f.acd.Agent("A")
	if v.State != Away || v.Reason != ReasonMissed {
		t.Fatalf("A is %s/%s, want away/missed", v.State, v.Reason)
	}
	f.run(time.Minute)
	if len(f.rec.offers) != 2 {
		t.Fatalf("%d offers, want none while away", len(f.rec.offers))
	}
	// Back available, an answer resets the count.
	_ = f.acd.SetAvailable("A")
	_ = f.acd.Answered(f.rec.last(t).ID)
	if s := f.state(t, "A"); s != OnCall {
		t.Fatalf("A is %s, want on call", s)
	}
}

func TestAgentInSeveralQueuesServesQueuePriorityFirst(t *testing.T) {
	f := newFixture(t)
	f.acd.AddQueue(QueueConfig{Name: "support", RingTimeout: 15 * time.Second, Priority: 5})
	_ = f.acd.Enqueue("old-sales", "sales", 0)
	f.clk.Advance(time.Minute)
	_ = f.acd.Enqueue("new-support", "support", 0)
	f.login(t, "1002") // in both
	if o := f.rec.last(t); o.CallID != "new-support" {
		t.Fatalf("1002 was offered %s, want the support call (queue priority 5)", o.CallID)
	}
}

func TestWrapUpExtendHoldAndStateTime(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1003") // support: wrap-up 10 s
	_ = f.acd.Enqueue("c1", "support", 0)
	f.clk.Advance(2 * time.Second)
	_ = f.acd.Answered(f.rec.last(t).ID)
	f.clk.Advance(30 * time.Second)
	if err := f.acd.SetHold("1003", true); err != nil {
		t.Fatal(err)
	}
	if s := f.state(t, "1003"); s != OnHold {
		t.Fatalf("state %s, want on_hold", s)
	}
	f.clk.Advance(20 * time.Second)
	_ = f.acd.SetHold("1003", false)
	f.clk.Advance(10 * time.Second)
	_ = f.acd.CallEnded("1003")
	if err := f.acd.ExtendWrapUp("1003", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	f.run(15 * time.Second)
	if s := f.state(t, "1003"); s != WrapUp {
		t.Fatalf("state %s at 15 s of an extended wrap-up, want wrap_up", s)
	}
	f.run(16 * time.Second)
	if s := f.state(t, "1003"); s != Available {
		t.Fatalf("state %s after 30 s, want available", s)
	}
	if err := f.acd.ExtendWrapUp("1003", time.Second); err == nil {
		t.Fatal("extending wrap-up while available should fail")
	}
	v, _ := f.acd.Agent("1003")
	want := map[string]float64{"ringing": 2, "on_call": 40, "on_hold": 20, "wrap_up": 30}
	for st, sec := range want {
		if v.StateSeconds[st] != sec {
			t.Fatalf("state seconds %v, want %s = %v", v.StateSeconds, st, sec)
		}
	}
	if v.TalkSeconds != 60 || v.Answered != 1 {
		t.Fatalf("talk %v s, answered %d; want 60 s, 1", v.TalkSeconds, v.Answered)
	}
}

func TestParseStrategy(t *testing.T) {
	for _, s := range Strategies {
		if got, err := ParseStrategy(string(s)); err != nil || got != s {
			t.Fatalf("ParseStrategy(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := ParseStrategy("fastest"); err == nil {
		t.Fatal("unknown strategy accepted")
	}
}
