package acd

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// reconfigure applies the fixture's setup changed by edit.
func (f *fixture) reconfigure(t *testing.T, queues []QueueConfig, agents []AgentConfig) []string {
	t.Helper()
	removed, err := f.acd.Reconfigure(queues, agents)
	if err != nil {
		t.Fatal(err)
	}
	return removed
}

var (
	salesQ   = QueueConfig{Name: "sales", RingTimeout: 15 * time.Second}
	supportQ = QueueConfig{Name: "support", RingTimeout: 15 * time.Second, WrapUp: 10 * time.Second}
)

func TestReconfigureChangesStrategyOfLiveQueue(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1001", "1002")
	sales := salesQ
	sales.Strategy = RingAll
	f.reconfigure(t, []QueueConfig{sales, supportQ}, []AgentConfig{
		{ID: "1001", Queues: []string{"sales"}}, {ID: "1002", Queues: []string{"sales", "support"}}, {ID: "1003", Queues: []string{"support"}}})
	if err := f.acd.Enqueue("c1", "sales", 0); err != nil {
		t.Fatal(err)
	}
	if len(f.rec.offers) != 2 {
		t.Fatalf("ring-all after the reload rang %d phones, want 2", len(f.rec.offers))
	}
	if f.state(t, "1001") != Ringing && f.state(t, "1002") != Ringing {
		t.Fatal("states lost")
	}
}

func TestReconfigureAddsAgentLoggedOut(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1001")
	f.reconfigure(t, []QueueConfig{salesQ, supportQ}, []AgentConfig{
		{ID: "1001", Queues: []string{"sales"}}, {ID: "1002", Queues: []string{"sales", "support"}}, {ID: "1003", Queues: []string{"support"}},
		{ID: "1004", Queues: []string{"sales"}}})
	if f.state(t, "1004") != LoggedOut || f.state(t, "1001") != Available {
		t.Fatalf("1004 %s, 1001 %s", f.state(t, "1004"), f.state(t, "1001"))
	}
	f.login(t, "1004")
	v, _ := f.acd.Queue("sales")
	if v.AgentsLoggedIn != 2 {
		t.Fatalf("sales has %d logged in, want 2", v.AgentsLoggedIn)
	}
}

func TestReconfigureRemovesAgentAfterCall(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1001", "1002")
	if err := f.acd.Enqueue("c1", "sales", 0); err != nil {
		t.Fatal(err)
	}
	o := f.rec.last(t)
	if err := f.acd.Answered(o.ID); err != nil {
		t.Fatal(err)
	}
	onCall := o.AgentID
	other := map[string]string{"1001": "1002", "1002": "1001"}[onCall]
	keep := []AgentConfig{{ID: other, Queues: []string{"sales"}}, {ID: "1003", Queues: []string{"support"}}}
	removed := f.reconfigure(t, []QueueConfig{salesQ, supportQ}, keep)
	if !slices.Contains(removed, onCall) {
		t.Fatalf("removed %v, want %s among them", removed, onCall)
	}
	if f.state(t, onCall) != OnCall {
		t.Fatalf("the removed agent's call: %s, want on_call until it ends", f.state(t, onCall))
	}
	// No new offer reaches it.
	if err := f.acd.Enqueue("c2", "sales", 0); err != nil {
		t.Fatal(err)
	}
	if got := f.rec.last(t).AgentID; got != other {
		t.Fatalf("c2 offered to %s, want %s", got, other)
	}
	// Asking for another state does not keep it.
	if err := f.acd.Login(onCall); err != nil {
		t.Fatal(err)
	}
	if err := f.acd.CallEnded(onCall); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.acd.Agent(onCall); ok {
		t.Fatal("the removed agent is still there after its call")
	}
	if err := f.acd.Login(onCall); !errors.Is(err, ErrUnknownAgent) {
		t.Fatalf("login of a removed agent: %v", err)
	}
}

func TestReconfigureRemovesFreeAgentAtOnce(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1001", "1003")
	f.reconfigure(t, []QueueConfig{salesQ, supportQ}, []AgentConfig{{ID: "1001", Queues: []string{"sales"}}, {ID: "1002", Queues: []string{"sales", "support"}}})
	if _, ok := f.acd.Agent("1003"); ok {
		t.Fatal("a free removed agent is still there")
	}
	last := f.events[len(f.events)-1]
	if last.Kind != EventAgentState || last.AgentID != "1003" || last.State != LoggedOut || last.Reason != ReasonRemoved {
		t.Fatalf("last event %+v, want 1003 logged out (%s)", last, ReasonRemoved)
	}
}

func TestReconfigureRetiredQueueKeepsItsCalls(t *testing.T) {
	f := newFixture(t)
	if err := f.acd.Enqueue("c1", "support", 0); err != nil {
		t.Fatal(err)
	}
	// support goes; 1003 stays with no queue, 1002 in sales only.
	f.reconfigure(t, []QueueConfig{salesQ}, []AgentConfig{{ID: "1001", Queues: []string{"sales"}}, {ID: "1002", Queues: []string{"sales"}}, {ID: "1003"}})
	if _, ok := f.acd.Queue("support"); !ok {
		t.Fatal("the retired queue went while a call waits in it")
	}
	f.login(t, "1003")
	o := f.rec.last(t)
	if o.CallID != "c1" || o.AgentID != "1003" {
		t.Fatalf("offer %+v, want c1 to 1003 (a member of the retired queue)", o)
	}
	if err := f.acd.Answered(o.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.acd.Queue("support"); ok {
		t.Fatal("the retired queue is still there after its last call left")
	}
	if err := f.acd.Enqueue("c2", "support", 0); !errors.Is(err, ErrUnknownQueue) {
		t.Fatalf("enqueue in a removed queue: %v", err)
	}
	if err := f.acd.CallEnded("1003"); err != nil {
		t.Fatal(err)
	}
}

func TestReconfigureRefusesUnknownQueue(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1001")
	_, err := f.acd.Reconfigure([]QueueConfig{salesQ}, []AgentConfig{{ID: "1001", Queues: []string{"nope"}}})
	if !errors.Is(err, ErrUnknownQueue) {
		t.Fatalf("err %v", err)
	}
	if _, ok := f.acd.Queue("support"); !ok || f.state(t, "1001") != Available {
		t.Fatal("a refused setup changed something")
	}
}

func TestReconfigurePutsBackARemovedAgentOnItsCall(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1001")
	if err := f.acd.Enqueue("c1", "sales", 0); err != nil {
		t.Fatal(err)
	}
	if err := f.acd.Answered(f.rec.last(t).ID); err != nil {
		t.Fatal(err)
	}
	all := []AgentConfig{{ID: "1001", Queues: []string{"sales"}}, {ID: "1002", Queues: []string{"sales", "support"}}, {ID: "1003", Queues: []string{"support"}}}
	f.reconfigure(t, []QueueConfig{salesQ, supportQ}, all[1:])
	f.reconfigure(t, []QueueConfig{salesQ, supportQ}, all)
	if err := f.acd.CallEnded("1001"); err != nil {
		t.Fatal(err)
	}
	if st := f.state(t, "1001"); st != Available {
		t.Fatalf("1001 after its call: %s, want available (put back in the setup during it)", st)
	}
	if err := f.acd.Enqueue("c2", "sales", 0); err != nil {
		t.Fatal(err)
	}
	if o := f.rec.last(t); o.CallID != "c2" || o.AgentID != "1001" {
		t.Fatalf("offer %+v, want c2 to 1001", o)
	}
}

func TestKeepRetiredTakesACallOnItsWay(t *testing.T) {
	f := newFixture(t)
	f.login(t, "1003")
	// support goes while nobody waits in it: it is gone at once.
	f.reconfigure(t, []QueueConfig{salesQ}, []AgentConfig{{ID: "1001", Queues: []string{"sales"}}, {ID: "1002", Queues: []string{"sales"}}, {ID: "1003"}})
	if _, ok := f.acd.Queue("support"); ok {
		t.Fatal("an empty removed queue is still there")
	}
	// A caller whose flow (of the setup it arrived with) leads there.
	f.acd.KeepRetired(supportQ, []string{"1002", "1003", "9999"})
	if err := f.acd.Enqueue("c1", "support", 0); err != nil {
		t.Fatal(err)
	}
	if o := f.rec.last(t); o.CallID != "c1" || o.AgentID != "1003" {
		t.Fatalf("offer %+v, want c1 to 1003, a member of support in the old setup", o)
	}
	if err := f.acd.Answered(f.rec.last(t).ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.acd.Queue("support"); ok {
		t.Fatal("the kept queue is still there after its call left")
	}
	if err := f.acd.CallEnded("1003"); err != nil {
		t.Fatal(err)
	}
}
