package cluster

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/store"
)

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// phones is a node's manager as the ACD sees it: the offers it was told of.
type phones struct {
	mu      sync.Mutex
	offers  []acd.Offer
	cancels []acd.Offer
}

func (p *phones) Offer(o acd.Offer) { p.mu.Lock(); p.offers = append(p.offers, o); p.mu.Unlock() }
func (p *phones) CancelOffer(o acd.Offer) {
	p.mu.Lock()
	p.cancels = append(p.cancels, o)
	p.mu.Unlock()
}

func (p *phones) last() (acd.Offer, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.offers) == 0 {
		return acd.Offer{}, 0
	}
	return p.offers[len(p.offers)-1], len(p.offers)
}

// testNode is a node of a test cluster: its client, served over HTTP.
type testNode struct {
	name   string
	c      *Client
	phones *phones
	srv    *httptest.Server
}

type testCluster struct {
	mu     sync.Mutex
	nodes  map[string]*testNode
	states []store.AgentLastState
}

func (tc *testCluster) peers(context.Context) (map[string]string, error) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	out := map[string]string{}
	for name, n := range tc.nodes {
		out[name] = strings.TrimPrefix(n.srv.URL, "http://")
	}
	return out, nil
}

func (tc *testCluster) add(t *testing.T, name string) *testNode {
	t.Helper()
	n := &testNode{name: name, phones: &phones{}}
	n.c = NewClient(ClientConfig{
		Node: name, Key: "secret", Local: n.phones,
		Engine: func(o acd.Offerer, sink func(acd.Event)) (*acd.ACD, error) {
			e := acd.New(realClock{}, o, sink)
			e.AddQueue(acd.QueueConfig{Name: "q", RingTimeout: time.Minute})
			for _, a := range []string{"a1", "a2"} {
				if err := e.AddAgent(acd.AgentConfig{ID: a, Queues: []string{"q"}}); err != nil {
					return nil, err
				}
			}
			return e, nil
		},
		Sink:        func(acd.Event) {},
		AgentStates: func(context.Context) ([]store.AgentLastState, error) { return tc.states, nil },
		Peers:       tc.peers,
		Wait:        2 * time.Second,
		Log:         slog.Default(),
	})
	n.srv = httptest.NewServer(n.c.Handler())
	t.Cleanup(n.srv.Close)
	tc.mu.Lock()
	tc.nodes[name] = n
	tc.mu.Unlock()
	n.c.Start()
	return n
}

func (n *testNode) addr() string { return strings.TrimPrefix(n.srv.URL, "http://") }

// lead makes n the leader with epoch and tells the others.
func (tc *testCluster) lead(t *testing.T, n *testNode, epoch int64) {
	t.Helper()
	n.c.Leading(epoch)
	waitUntil(t, "leader ready", func() bool {
		n.c.mu.Lock()
		l := n.c.lead
		n.c.mu.Unlock()
		if l == nil {
			return false
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.ready
	})
	tc.mu.Lock()
	defer tc.mu.Unlock()
	for _, o := range tc.nodes {
		if o != n {
			o.c.SetLeader(n.name, n.addr(), epoch)
		}
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func state(t *testing.T, n *testNode, agent string) acd.AgentState {
	t.Helper()
	v, ok := n.c.Agent(agent)
	if !ok {
		t.Fatalf("no agent %s seen from %s", agent, n.name)
	}
	return v.State
}

// Two nodes, one ACD: a follower's call is offered through the leader and
// rung by the follower; when the follower takes over, it rebuilds the
// ACD from both ledgers — the agent still on the call, the waiting calls
// in their first order — and a stale leader's message is refused.
func TestClusterACD(t *testing.T) {
	tc := &testCluster{nodes: map[string]*testNode{}}
	a, b := tc.add(t, "a"), tc.add(t, "b")
	tc.lead(t, a, 1)

	// a1's phone is reached from b, a2's from a (a new leader starts with
	// no device reachable but those its nodes report or registered).
	if err := b.c.SetReachable("a1", true); err != nil {
		t.Fatal(err)
	}
	if err := a.c.SetReachable("a2", true); err != nil {
		t.Fatal(err)
	}
	if err := b.c.Login("a1"); err != nil {
		t.Fatal(err)
	}
	if err := b.c.Enqueue("c1", "q", 0); err != nil {
		t.Fatal(err)
	}
	var o acd.Offer
	waitUntil(t, "b told to ring a1 for its call", func() bool { o, _ = b.phones.last(); return o.CallID == "c1" })
	if o.AgentID != "a1" || o.ID <= offerBase(1) {
		t.Fatalf("offer %+v", o)
	}
	if err := b.c.Answered(o.ID); err != nil {
		t.Fatal(err)
	}
	if s := state(t, a, "a1"); s != acd.OnCall {
		t.Fatalf("a1 seen from a: %s", s)
	}
	// Calls waiting on both nodes (a2 logged out): c2 on a first, c3 on b.
	if err := a.c.Enqueue("c2", "q", 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	if err := b.c.Enqueue("c3", "q", 0); err != nil {
		t.Fatal(err)
	}
	if p := b.c.Position("c3"); p != 2 {
		t.Fatalf("c3 at %d, want 2", p)
	}
	if _, err := b.c.Wait("nobody"); !errors.Is(err, acd.ErrUnknownCall) {
		t.Fatalf("an unknown call's wait: %v, want acd.ErrUnknownCall through the wire", err)
	}

	// a stops leading; b takes over with epoch 2.
	a.c.NotLeading()
	tc.states = []store.AgentLastState{{Agent: "a1", State: "on_call"}, {Agent: "a2", State: "logged_out"}}
	tc.lead(t, b, 2)
	if s := state(t, a, "a1"); s != acd.OnCall {
		t.Fatalf("a1 after the takeover: %s, want on_call (from b's ledger)", s)
	}
	if p := a.c.Position("c2"); p != 1 {
		t.Fatalf("c2 at %d after the takeover, want 1", p)
	}
	if p := a.c.Position("c3"); p != 2 {
		t.Fatalf("c3 at %d after the takeover, want 2", p)
	}
	// The old leader's word is refused by a node that heard of the new one.
	err := b.c.peer.post(context.Background(), a.addr(), pathOffer, offerMessage{Epoch: 1, Offer: acd.Offer{ID: 7, CallID: "c2", AgentID: "a2"}}, nil)
	if !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("a message of epoch 1 after epoch 2: %v, want ErrStaleEpoch", err)
	}
	// a2 logs in: the longest waiting (c2, on a) is offered, by the new leader, to a.
	if err := a.c.Login("a2"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a told to ring a2 for c2", func() bool { o, _ = a.phones.last(); return o.CallID == "c2" })
	if o.AgentID != "a2" || o.ID <= offerBase(2) {
		t.Fatalf("offer after the takeover: %+v", o)
	}
	// a1's call ends: a1 takes c3.
	if err := b.c.CallEnded("a1"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "b told to ring a1 for c3", func() bool { o, _ = b.phones.last(); return o.CallID == "c3" })

	// a dies: its call leaves the ACD, and its ringing offer with it.
	b.c.NodeLost("a")
	if _, err := b.c.Wait("c2"); !errors.Is(err, acd.ErrUnknownCall) {
		t.Fatalf("the lost node's call is still queued: %v", err)
	}
}

// A device state is the word of every node: one that cannot find the
// phone does not make unreachable an agent another node reaches.
func TestClusterReachableFromAnyNode(t *testing.T) {
	tc := &testCluster{nodes: map[string]*testNode{}}
	a, b := tc.add(t, "a"), tc.add(t, "b")
	tc.lead(t, a, 1)
	if err := a.c.SetReachable("a1", true); err != nil {
		t.Fatal(err)
	}
	if err := b.c.SetReachable("a1", false); err != nil {
		t.Fatal(err)
	}
	v, _ := b.c.Agent("a1")
	if !v.Reachable {
		t.Fatal("a1 unreachable after b could not reach it, while a can")
	}
	b.c.NodeLost("a") // (not the leader's own name: a leads) — nothing changes for a1
	a.c.NodeLost("a")
	v, _ = b.c.Agent("a1")
	if v.Reachable {
		t.Fatal("a1 still reachable after the only node that reached it was lost")
	}
}

// Calls before the node started: agents' states are dropped (the leader
// has its own), a call's queue work waits for the start.
func TestClusterClientBeforeStart(t *testing.T) {
	c := NewClient(ClientConfig{Node: "x", Key: "k", Log: slog.Default(), Wait: 100 * time.Millisecond})
	if err := c.Login("a1"); err != nil {
		t.Fatalf("a login before start: %v, want it dropped", err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Enqueue("c1", "q", 0) }()
	select {
	case err := <-done:
		t.Fatalf("an enqueue before start returned %v at once", err)
	case <-time.After(50 * time.Millisecond):
	}
	c.Start()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNoLeader) {
			t.Fatalf("after start with no leader: %v, want ErrNoLeader", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the enqueue did not return after start")
	}
}

// The endpoints want the cluster's key.
func TestClusterEndpointsWantTheKey(t *testing.T) {
	tc := &testCluster{nodes: map[string]*testNode{}}
	a := tc.add(t, "a")
	p := newPeer("wrong")
	err := p.post(context.Background(), a.addr(), pathReport, reportRequest{Epoch: 9}, nil)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a report asked with the wrong key: %v, want 401", err)
	}
}

// A node the leader has no report from (it joined after the takeover, or
// its report could not be had) is asked for it first; a node that
// restarted is another run: its earlier calls leave the ACD.
func TestClusterLateReportAndRestart(t *testing.T) {
	tc := &testCluster{nodes: map[string]*testNode{}}
	a := tc.add(t, "a")
	tc.lead(t, a, 1)
	c := tc.add(t, "c")
	c.c.SetLeader("a", a.addr(), 1)
	if err := c.c.Enqueue("c1", "q", 0); err != nil { // no agent: it waits
		t.Fatalf("a node the leader had no report from: %v", err)
	}
	if p := a.c.Position("c1"); p != 1 {
		t.Fatalf("c1 at %d, want 1", p)
	}
	// c restarts under the same name: a new client, a new run.
	c2 := tc.add(t, "c")
	c2.c.SetLeader("a", a.addr(), 1)
	if err := c2.c.Enqueue("c2", "q", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := a.c.Wait("c1"); !errors.Is(err, acd.ErrUnknownCall) {
		t.Fatalf("the previous run's call is still queued: %v", err)
	}
	if p := a.c.Position("c2"); p != 1 {
		t.Fatalf("c2 at %d, want 1", p)
	}
}

// A leader that heard of a newer one decides nothing for its own node.
func TestClusterStaleLeaderDeliversNothing(t *testing.T) {
	tc := &testCluster{nodes: map[string]*testNode{}}
	a := tc.add(t, "a")
	tc.lead(t, a, 1)
	if err := a.c.SetReachable("a1", true); err != nil {
		t.Fatal(err)
	}
	if !a.c.fresh(2) { // a newer leader's message reached a
		t.Fatal("epoch 2 not fresh")
	}
	a.c.mu.Lock()
	l := a.c.lead
	a.c.mu.Unlock()
	if _, err := l.serve("login", acdRequest{Node: "a", AgentID: "a1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.serve("enqueue", acdRequest{Node: "a", CallID: "x", Queue: "q", Epoch: 1}); err != nil {
		t.Fatal(err)
	}
	if _, n := a.phones.last(); n != 0 {
		t.Fatalf("the stale leader rang its own node's phone %d times", n)
	}
}
