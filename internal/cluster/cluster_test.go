package cluster

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/store"
)

// fakeStore is the database as a list of nodes and a leader.
type fakeStore struct {
	nodes  []store.NodeRow
	now    time.Time // the database's clock
	leader store.Leader
	closed []string
}

func (f *fakeStore) Beat(context.Context, store.NodeBeat) error           { return nil }
func (f *fakeStore) NodeStopped(context.Context, string, time.Time) error { return nil }
func (f *fakeStore) Nodes(context.Context) ([]store.NodeRow, error)       { return f.nodes, nil }
func (f *fakeStore) CurrentLeader(context.Context) (store.Leader, error)  { return f.leader, nil }
func (f *fakeStore) TryLead(context.Context, string, time.Duration, time.Time) (*store.Lease, error) {
	return nil, nil
}

func (f *fakeStore) Now(context.Context) (time.Time, error) { return f.now, nil }

func (f *fakeStore) CloseLostNode(_ context.Context, node string, _ time.Duration, _ func(store.Event) []store.OutboxEntry) (bool, int64, error) {
	for i := range f.nodes {
		if f.nodes[i].Name == node && f.nodes[i].LostAt == nil {
			at := f.now
			f.nodes[i].LostAt = &at
			f.closed = append(f.closed, node)
			return true, 1, nil
		}
	}
	return false, 0, nil
}

func row(name string, beat time.Time, calls int) store.NodeRow {
	return store.NodeRow{NodeBeat: store.NodeBeat{Name: name, At: beat, Calls: calls}}
}

func TestRead(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	stopped := now.Add(-time.Minute)
	stoppedRow := row("c", now, 4)
	stoppedRow.StoppedAt = &stopped
	tests := []struct {
		name       string
		nodes      []store.NodeRow
		leader     string
		wantLeader string
		wantAlive  map[string]bool
	}{
		{"both beating", []store.NodeRow{row("a", now.Add(-time.Second), 3), row("b", now, 2)}, "a", "a", map[string]bool{"a": true, "b": true}},
		{"leader silent", []store.NodeRow{row("a", now.Add(-10*time.Second), 3), row("b", now, 2)}, "a", "", map[string]bool{"a": false, "b": true}},
		{"stopped is not alive", []store.NodeRow{stoppedRow}, "c", "", map[string]bool{"c": false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := Read(context.Background(), &fakeStore{nodes: tc.nodes, now: now, leader: store.Leader{Node: tc.leader, Epoch: 7}}, 3*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if st.Leader != tc.wantLeader || st.Epoch != 7 {
				t.Errorf("leader %q epoch %d, want %q 7", st.Leader, st.Epoch, tc.wantLeader)
			}
			for _, n := range st.Nodes {
				if n.Alive != tc.wantAlive[n.Name] || (!n.Alive && n.Calls != 0) {
					t.Errorf("node %+v, want alive %v (and no calls when not)", n, tc.wantAlive[n.Name])
				}
			}
		})
	}
}

// The leader closes a silent node's calls once, and never its own or a
// stopped node's.
func TestCloseLostOnce(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	stopped := now.Add(-time.Hour)
	gone := row("gone", now.Add(-time.Hour), 0)
	gone.StoppedAt = &stopped
	f := &fakeStore{now: now, nodes: []store.NodeRow{row("me", now.Add(-time.Hour), 1), row("silent", now.Add(-6*time.Second), 2), row("fresh", now, 1), gone}}
	m := New(f, Config{Node: "me", Log: slog.Default()})
	m.closeLost(context.Background())
	m.closeLost(context.Background())
	if len(f.closed) != 1 || f.closed[0] != "silent" {
		t.Fatalf("closed %v, want [silent]", f.closed)
	}
}
