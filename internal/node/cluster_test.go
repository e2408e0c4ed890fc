package node_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/node/nodetest"
	"github.com/switchboard/switchboard/internal/store"
	"github.com/switchboard/switchboard/internal/store/storetest"
)

type clusterView struct {
	Leader string `json:"leader"`
	Epoch  int64  `json:"epoch"`
	Nodes  []struct {
		Name  string `json:"name"`
		Alive bool   `json:"alive"`
		Calls int    `json:"calls"`
	} `json:"nodes"`
}

func (v clusterView) alive(name string) bool {
	for _, n := range v.Nodes {
		if n.Name == name {
			return n.Alive
		}
	}
	return false
}

func startMember(t *testing.T, dsn, name string) *nodetest.Node {
	t.Helper()
	cfg, err := config.Parse("setup.yaml", []byte(nodetest.Demo(t)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = config.Store{Driver: config.DriverPostgres, DSN: dsn}
	cfg.Node.Name = name
	return nodetest.StartConfig(t, cfg)
}

// Two nodes on one PostgreSQL: both see both, one leads; when it stops
// the other leads with a higher epoch, and the calls of a node that went
// silent are closed as "node lost" by the leader.
func TestTwoNodesOneCluster(t *testing.T) {
	dsn := storetest.Postgres(t)
	a := startMember(t, dsn, "a")
	var v clusterView
	nodetest.WaitFor(t, 10*time.Second, "a leads", func() bool {
		return a.API("GET", "/api/v1/cluster", nil, &v) == 200 && v.Leader == "a" && v.Epoch == 1
	})
	b := startMember(t, dsn, "b")
	nodetest.WaitFor(t, 10*time.Second, "b sees both alive", func() bool {
		return b.API("GET", "/api/v1/cluster", nil, &v) == 200 && v.alive("a") && v.alive("b") && v.Leader == "a"
	})

	// A node that went silent with a call in progress.
	ghost, err := store.New(store.Options{Driver: store.DriverPostgres, DSN: dsn, Node: "ghost"}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer ghost.Close()
	long := time.Now().Add(-time.Minute)
	if err := ghost.Beat(context.Background(), store.NodeBeat{Name: "ghost", StartedAt: long, At: long, Calls: 1}); err != nil {
		t.Fatal(err)
	}
	ghost.SaveCall(store.CallRecord{ID: "ghost-call", ArrivedAt: long, Outcome: string(event.OutcomeInProgress)})
	ghost.Flush()
	var rec nodetest.CallRecord
	nodetest.WaitFor(t, 10*time.Second, "the silent node's call closed", func() bool {
		return b.API("GET", "/api/v1/calls/ghost-call", nil, &rec) == 200 && rec.Outcome == string(event.OutcomeFailed)
	})
	if rec.Reason != store.LostReason {
		t.Fatalf("silent node's call %+v, want reason %q", rec, store.LostReason)
	}

	if err := a.Stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 10*time.Second, "b leads after a stopped", func() bool {
		return b.API("GET", "/api/v1/cluster", nil, &v) == 200 && v.Leader == "b" && v.Epoch == 2 && !v.alive("a")
	})
}
