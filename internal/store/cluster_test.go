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
	now := time.Now()
	if ok, err := b.MarkLost(ctx, "a", now.Add(-3*time.Second), now); err != nil || !ok {
		t.Fatalf("mark a lost: %v %v", ok, err)
	}
	if ok, _ := b.MarkLost(ctx, "a", now.Add(-3*time.Second), now); ok {
		t.Fatal("a marked lost twice")
	}
	n, err := b.CloseLostNode(ctx, "a", now, nil)
	if err != nil || n != 1 {
		t.Fatalf("closed %d of a's calls: %v", n, err)
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
	if err := a.Beat(ctx, NodeBeat{Name: "a", StartedAt: now, At: now}); err != nil {
		t.Fatal(err)
	}
	if nodes, _ := b.Nodes(ctx); nodes[0].LostAt != nil {
		t.Fatalf("rejoined node still lost: %+v", nodes[0])
	}
}
