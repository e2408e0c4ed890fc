package store

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/store/storetest"
)

// openNodes opens the same test database as each of names, on PostgreSQL.
func openNodes(t *testing.T, names ...string) []*Store {
	t.Helper()
	o := Options{Driver: DriverPostgres, DSN: storetest.Postgres(t)}
	var out []*Store
	for _, n := range names {
		o.Node = n
		st, err := New(o, slog.Default())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		out = append(out, st)
	}
	return out
}

func TestLeaseOneHolderAndRisingEpoch(t *testing.T) {
	st := openNodes(t, "a", "b")
	ctx := context.Background()
	now := time.Now()
	la, err := st[0].TryLead(ctx, "a", 5*time.Second, now)
	if err != nil || la == nil {
		t.Fatalf("a takes the free lease: %v %v", la, err)
	}
	if lb, err := st[1].TryLead(ctx, "b", 5*time.Second, now); err != nil || lb != nil {
		t.Fatalf("b takes a held lease: %v %v", lb, err)
	}
	if err := la.Check(ctx); err != nil {
		t.Fatalf("holder's check: %v", err)
	}
	la.Release()
	lb, err := st[1].TryLead(ctx, "b", 5*time.Second, now)
	if err != nil || lb == nil || lb.Epoch != la.Epoch+1 {
		t.Fatalf("b after a's release: %+v %v (a's epoch %d)", lb, err, la.Epoch)
	}
	defer lb.Release()
	if l, err := st[0].CurrentLeader(ctx); err != nil || l.Node != "b" || l.Epoch != lb.Epoch {
		t.Fatalf("leader %+v %v", l, err)
	}
}

// A holder that stops checking (frozen) loses the lease at its term: the
// server cuts its idle session.
func TestLeaseEndsWithAFrozenHolder(t *testing.T) {
	st := openNodes(t, "a", "b")
	ctx := context.Background()
	la, err := st[0].TryLead(ctx, "a", time.Second, time.Now())
	if err != nil || la == nil {
		t.Fatalf("a: %v %v", la, err)
	}
	defer la.Release()
	var lb *Lease
	for deadline := time.Now().Add(10 * time.Second); lb == nil && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond) // a is frozen: it never checks
		if lb, err = st[1].TryLead(ctx, "b", time.Second, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if lb == nil {
		t.Fatal("the lease never left the frozen holder")
	}
	defer lb.Release()
	if err := la.Check(ctx); err == nil {
		t.Fatal("the frozen holder still believes it leads")
	}
}

func TestLostNodeCallsClosed(t *testing.T) {
	st := openNodes(t, "a", "b")
	ctx := context.Background()
	t0 := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	a, b := st[0], st[1]
	if err := a.Beat(ctx, NodeBeat{Name: "a", SIP: "127.0.0.2:5060", StartedAt: t0, At: t0, Calls: 1}); err != nil {
		t.Fatal(err)
	}
	a.SaveCall(CallRecord{ID: "on-a", ArrivedAt: t0, Outcome: string(event.OutcomeInProgress)})
	b.SaveCall(CallRecord{ID: "on-b", ArrivedAt: t0, Outcome: string(event.OutcomeInProgress)})
	a.Flush()
	b.Flush()
	// a beat just now (the database's clock): not silent for 3 s yet.
	if lost, n, err := b.CloseLostNode(ctx, "a", 3*time.Second, nil); err != nil || lost || n != 0 {
		t.Fatalf("a beating: lost %v, closed %d, %v", lost, n, err)
	}
	time.Sleep(1200 * time.Millisecond)
	lost, n, err := b.CloseLostNode(ctx, "a", time.Second, nil)
	if err != nil || !lost || n != 1 {
		t.Fatalf("a silent: lost %v, closed %d of its calls, %v", lost, n, err)
	}
	if lost, n, _ := b.CloseLostNode(ctx, "a", time.Second, nil); lost || n != 0 {
		t.Fatalf("a lost twice: %v %d", lost, n)
	}
	c, evs, err := b.GetCall(ctx, "on-a")
	if err != nil || c.Outcome != string(event.OutcomeFailed) || c.Reason != LostReason || c.Node != "a" || len(evs) != 1 || evs[0].Node != "a" {
		t.Fatalf("a's call %+v %+v %v", c, evs, err)
	}
	if c, _, err := b.GetCall(ctx, "on-b"); err != nil || c.Outcome != string(event.OutcomeInProgress) || c.Node != "b" {
		t.Fatalf("b's own call touched: %+v %v", c, err)
	}
	nodes, err := b.Nodes(ctx)
	if err != nil || len(nodes) != 1 || nodes[0].LostAt == nil || nodes[0].Calls != 1 {
		t.Fatalf("nodes %+v %v", nodes, err)
	}
	// Back: its next heartbeat clears the loss.
	if err := a.Beat(ctx, NodeBeat{Name: "a", StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if nodes, _ := b.Nodes(ctx); nodes[0].LostAt != nil {
		t.Fatalf("rejoined node still lost: %+v", nodes[0])
	}
}

// On a shared database each node takes up only what is its own: its
// webhook deliveries, registrations, callbacks and expired recordings.
func TestNodesKeepToTheirOwn(t *testing.T) {
	st := openNodes(t, "a", "b")
	ctx := context.Background()
	now := time.Now()
	for i, s := range st {
		name := []string{"a", "b"}[i]
		s.AppendEventWithOutbox(Event{At: now, Kind: event.Ended, CallID: "c-" + name},
			[]OutboxEntry{{Receiver: "crm", ID: "d-" + name, Body: []byte("{}"), CreatedAt: now}})
		if err := s.SaveRegistration(ctx, Registration{User: "10" + name, Contact: "sip:x@127.0.0.1", Expires: now.Add(time.Hour), Version: 1}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveCallback(ctx, PendingCallback{CallID: "cb-" + name, Queue: "sales", Number: "555", RequestedAt: now, QueuedAt: now, LineAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveRecording(ctx, Recording{CallID: "r-" + name, Path: "/x/" + name + ".wav", Started: now.Add(-48 * time.Hour), Queue: "sales"}); err != nil {
			t.Fatal(err)
		}
		s.Flush()
	}
	for i, s := range st {
		name := []string{"a", "b"}[i]
		out, err := s.PendingOutbox(ctx)
		if err != nil || len(out) != 1 || out[0].ID != "d-"+name {
			t.Errorf("%s's deliveries: %+v %v", name, out, err)
		}
		regs, err := s.Registrations(ctx, now)
		if err != nil || len(regs) != 1 || regs[0].User != "10"+name {
			t.Errorf("%s's registrations: %+v %v", name, regs, err)
		}
		cbs, err := s.PendingCallbacks(ctx)
		if err != nil || len(cbs) != 1 || cbs[0].CallID != "cb-"+name {
			t.Errorf("%s's callbacks: %+v %v", name, cbs, err)
		}
		recs, err := s.ExpiredRecordings(ctx, "sales", now, 10)
		if err != nil || len(recs) != 1 || recs[0].CallID != "r-"+name {
			t.Errorf("%s's expired recordings: %+v %v", name, recs, err)
		}
	}
}

// A phone registered with one node is looked up by every node, with its
// Path; the newer write wins whichever node made it; an expired or
// removed binding is not found.
func TestRegistrationLookupAcrossNodes(t *testing.T) {
	st := openNodes(t, "a", "b")
	a, b := st[0], st[1]
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	path := "<sip:127.0.0.1;lr;received=sip:127.0.0.1%3A5090>"
	if err := a.SaveRegistration(ctx, Registration{User: "1001", Contact: "sip:1001@127.0.0.1:5090", Source: "127.0.0.1:5060",
		Transport: "udp", Expires: now.Add(time.Hour), Version: 10, Path: path}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := b.LookupRegistration(ctx, "1001", now)
	if err != nil || !ok || got.Path != path || got.Contact != "sip:1001@127.0.0.1:5090" || !got.Expires.Equal(now.Add(time.Hour)) {
		t.Fatalf("b finds %+v, %v, %v", got, ok, err)
	}
	if err := b.SaveRegistration(ctx, Registration{User: "1001", Contact: "sip:1001@127.0.0.1:5092", Expires: now.Add(time.Hour), Version: 11}); err != nil {
		t.Fatal(err)
	}
	if err := a.SaveRegistration(ctx, Registration{User: "1001", Contact: "sip:1001@127.0.0.1:5094", Expires: now.Add(time.Hour), Version: 9}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := a.LookupRegistration(ctx, "1001", now); got.Contact != "sip:1001@127.0.0.1:5092" || got.Path != "" {
		t.Fatalf("a finds %+v after b's newer write and a's older one", got)
	}
	if _, ok, _ := a.LookupRegistration(ctx, "1001", now.Add(2*time.Hour)); ok {
		t.Fatal("an expired binding is found")
	}
	if err := a.DeleteRegistration(ctx, "1001", 12); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := b.LookupRegistration(ctx, "1001", now); ok || err != nil {
		t.Fatalf("a removed binding is found (%v)", err)
	}
	if _, ok, err := b.LookupRegistration(ctx, "nobody", now); ok || err != nil {
		t.Fatalf("nobody is found (%v)", err)
	}
}

// The nodes sharing a database get one secret, made by the first to ask.
func TestSharedSecret(t *testing.T) {
	st := openNodes(t, "a", "b")
	ctx := context.Background()
	ka, err := st[0].SharedSecret(ctx, "sip_nonce_key", 32)
	if err != nil || len(ka) != 32 {
		t.Fatalf("a: %x, %v", ka, err)
	}
	kb, err := st[1].SharedSecret(ctx, "sip_nonce_key", 32)
	if err != nil || string(ka) != string(kb) {
		t.Fatalf("b got %x, a %x (%v)", kb, ka, err)
	}
	other, err := st[1].SharedSecret(ctx, "other", 32)
	if err != nil || string(other) == string(ka) {
		t.Fatalf("another secret: %x, %v", other, err)
	}
	if _, err := st[0].SharedSecret(ctx, "sip_nonce_key", 16); err == nil {
		t.Fatal("a secret of another size was accepted")
	}
}

// A nonce's use is one for all nodes: its count must rise whichever node
// sees it, and its uses are bounded.
func TestUseNonceAcrossNodes(t *testing.T) {
	st := openNodes(t, "a", "b")
	a, b := st[0], st[1]
	ctx := context.Background()
	now := time.Now()
	use := func(s *Store, nonce string, nc uint64) bool {
		t.Helper()
		ok, err := s.UseNonce(ctx, nonce, nc, now, 3, now.Add(-5*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !use(a, "n1", 1) {
		t.Fatal("a nonce's first use refused")
	}
	if use(b, "n1", 1) {
		t.Fatal("the same count replayed to another node accepted")
	}
	if !use(b, "n1", 2) || !use(a, "n1", 3) {
		t.Fatal("a rising count refused")
	}
	if use(a, "n1", 4) {
		t.Fatal("a fourth use accepted with at most 3")
	}
	if !use(b, "n2", 1) {
		t.Fatal("another nonce refused")
	}
}

// A lost node's pending callbacks move to the node that adopts them, once.
func TestAdoptCallbacks(t *testing.T) {
	st := openNodes(t, "a", "b")
	a, b := st[0], st[1]
	ctx := context.Background()
	now := time.Now()
	for i, id := range []string{"cb1", "cb2"} {
		if err := a.SaveCallback(ctx, PendingCallback{CallID: id, Queue: "support", Number: "555", RequestedAt: now, QueuedAt: now,
			LineAt: now.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.SaveCallback(ctx, PendingCallback{CallID: "own", Queue: "support", Number: "556", RequestedAt: now, QueuedAt: now, LineAt: now}); err != nil {
		t.Fatal(err)
	}
	got, err := b.AdoptCallbacks(ctx, "a")
	if err != nil || len(got) != 2 || got[0].CallID != "cb1" || got[1].CallID != "cb2" {
		t.Fatalf("adopted %+v, %v; want a's two, in line order, not b's own", got, err)
	}
	if again, err := b.AdoptCallbacks(ctx, "a"); err != nil || len(again) != 0 {
		t.Fatalf("adopted again: %+v, %v", again, err)
	}
	if left, _ := a.PendingCallbacks(ctx); len(left) != 0 {
		t.Fatalf("a still has %+v", left)
	}
	if mine, _ := b.PendingCallbacks(ctx); len(mine) != 3 {
		t.Fatalf("b has %d callbacks, want 3", len(mine))
	}
}
