package node_test

import (
	"context"
	"log/slog"
	"net/url"
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
	// and a customer waiting for its callback
	ghost.SaveCall(store.CallRecord{ID: "ghost-callback", Caller: "5551234", Dialed: "100", ArrivedAt: long, QueuedAt: &long,
		Queue: "support", Outcome: string(event.OutcomeCallbackPending)})
	if err := ghost.SaveCallback(context.Background(), store.PendingCallback{CallID: "ghost-callback", Queue: "support", Number: "5551234",
		Dialed: "100", Caller: "5551234", RequestedAt: long, QueuedAt: long, LineAt: long}); err != nil {
		t.Fatal(err)
	}
	ghost.Flush()
	var rec nodetest.CallRecord
	nodetest.WaitFor(t, 10*time.Second, "the silent node's call closed", func() bool {
		return b.API("GET", "/api/v1/calls/ghost-call", nil, &rec) == 200 && rec.Outcome == string(event.OutcomeFailed)
	})
	if rec.Reason != store.LostReason {
		t.Fatalf("silent node's call %+v, want reason %q", rec, store.LostReason)
	}
	// The leader took the callback over: it is a's now, the customer's
	// record still waiting for it.
	nodetest.WaitFor(t, 10*time.Second, "the silent node's callback taken over by the leader", func() bool {
		left, err := ghost.PendingCallbacks(context.Background())
		return err == nil && len(left) == 0
	})
	if b.API("GET", "/api/v1/calls/ghost-callback", nil, &rec) != 200 || rec.Outcome != string(event.OutcomeCallbackPending) {
		t.Fatalf("the taken-over callback's record: %+v", rec)
	}

	if err := a.Stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 10*time.Second, "b leads after a stopped", func() bool {
		return b.API("GET", "/api/v1/cluster", nil, &v) == 200 && v.Leader == "b" && v.Epoch == 2 && !v.alive("a")
	})
}

// leaderAndFollower starts node a on a fresh PostgreSQL database, waits
// for it to lead, then starts node b and waits for it to follow a.
func leaderAndFollower(t *testing.T) (a, b *nodetest.Node) {
	t.Helper()
	dsn := storetest.Postgres(t)
	a = startMember(t, dsn, "a")
	var v clusterView
	nodetest.WaitFor(t, 10*time.Second, "a leads", func() bool {
		return a.API("GET", "/api/v1/cluster", nil, &v) == 200 && v.Leader == "a"
	})
	b = startMember(t, dsn, "b")
	nodetest.WaitFor(t, 10*time.Second, "b follows a", func() bool {
		return b.API("GET", "/api/v1/cluster", nil, &v) == 200 && v.alive("b") && v.Leader == "a"
	})
	return a, b
}

func agentState(n *nodetest.Node, ext string) string {
	var a agentView
	if n.API("GET", "/api/v1/agents/"+ext, nil, &a) != 200 {
		return ""
	}
	return a.State
}

// One ACD for two nodes: an agent whose phone registered with node a is
// offered a call that arrived on node b (b rings the phone itself, found
// in the shared registrations); both nodes show the agent's state; when
// the leader stops, the other node leads, rebuilds the ACD with the call
// still on, and the agent is offered the next call once free.
func TestOneACDAcrossNodes(t *testing.T) {
	a, b := leaderAndFollower(t)
	var v clusterView
	alice := a.Phone(t, "1001") // registered with a
	nodetest.WaitFor(t, 10*time.Second, "1001 available, seen from b", func() bool { return agentState(b, "1001") == "available" })

	c := b.Dial(t, "100", nodetest.Tone(1000)) // arrives on b
	if c.Code != 200 {
		t.Fatalf("INVITE to b: %d", c.Code)
	}
	nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
	c.SendDTMF("1")
	call := alice.NextCall(t, 10*time.Second)
	select {
	case <-call.Answered():
	case <-time.After(5 * time.Second):
		t.Fatal("the phone did not answer")
	}
	nodetest.WaitFor(t, 5*time.Second, "audio both ways between the caller on b and the phone", func() bool {
		return c.RTP.ToneLevel(0) >= 0 && call.RTP.ToneLevel(1000) > 0.5 && c.RTP.Received() > 50
	})
	nodetest.WaitFor(t, 5*time.Second, "1001 on the call, seen from both", func() bool {
		return agentState(a, "1001") == "on_call" && agentState(b, "1001") == "on_call"
	})

	// The leader stops; b takes over with the call still on.
	if err := a.Stop(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 10*time.Second, "b leads", func() bool {
		return b.API("GET", "/api/v1/cluster", nil, &v) == 200 && v.Leader == "b" && v.Epoch == 2
	})
	nodetest.WaitFor(t, 10*time.Second, "1001 still on its call in b's ACD", func() bool { return agentState(b, "1001") == "on_call" })
	select {
	case <-c.Ended():
		t.Fatal("the caller's call ended with the leader")
	default:
	}
	c.Hangup()
	nodetest.WaitFor(t, 10*time.Second, "1001 free after the call", func() bool {
		s := agentState(b, "1001")
		return s == "available" || s == "wrap_up"
	})
}

// A browser agent across nodes: agent 1003's desktop connects its
// softphone with node b; a caller arrives on node a and is offered to
// 1003, whose browser rings through b (a rings it there; the audio goes
// a → b → browser); the desktop's calls to b act on the call on a (hold,
// its live state, hang up: forwarded to a), and the record is a's.
func TestBrowserAgentAcrossNodes(t *testing.T) {
	a, b := leaderAndFollower(t)
	carol := nodetest.Credential{User: "1003", Password: "demo1003"}
	phone := b.Softphone(t, carol, 1000)
	if code := b.APIAs(carol, "POST", "/api/v1/agents/1003/login", nil, nil); code != 200 {
		t.Fatalf("login: %d", code)
	}
	if code := b.APIAs(carol, "POST", "/api/v1/agents/1003/state", map[string]string{"state": "available"}, nil); code != 200 {
		t.Fatalf("available: %d", code)
	}
	nodetest.WaitFor(t, 10*time.Second, "1003 available, seen from a", func() bool { return agentState(a, "1003") == "available" })

	c := a.Dial(t, "100", nodetest.Tone(440)) // arrives on a
	if c.Code != 200 {
		t.Fatalf("INVITE to a: %d", c.Code)
	}
	nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
	c.SendDTMF("2") // support
	phone.Answer(t, b, carol, 15*time.Second)
	nodetest.WaitFor(t, 10*time.Second, "audio both ways between the caller on a and the browser on b", func() bool {
		return c.RTP.ToneLevel(1000) > 0.5 && phone.RTP.ToneLevel(440) > 0.5
	})
	var ag agentView
	if b.APIAs(carol, "GET", "/api/v1/agents/1003", nil, &ag) != 200 || ag.State != "on_call" || ag.CallID == "" || ag.CallNode != "a" {
		t.Fatalf("1003 seen from b: %+v", ag)
	}
	id := ag.CallID

	// The desktop's controls go to b; a holds the call.
	var live struct {
		Node  string `json:"node"`
		State string `json:"state"`
	}
	if code := b.APIAs(carol, "GET", "/api/v1/calls/"+id, nil, &live); code != 200 || live.Node != "a" || live.State != "connected" {
		t.Fatalf("the call seen from b: %d %+v", code, live)
	}
	if code := b.APIAs(carol, "POST", "/api/v1/calls/"+id+"/hold", map[string]bool{"on": true}, nil); code >= 300 {
		t.Fatalf("hold through b: %d", code)
	}
	nodetest.WaitFor(t, 5*time.Second, "held, seen from b", func() bool {
		return b.APIAs(carol, "GET", "/api/v1/calls/"+id, nil, &live) == 200 && live.State == "held"
	})
	if code := b.APIAs(nodetest.Supervisor, "POST", "/api/v1/calls/"+id+"/hold", map[string]bool{"on": false}, nil); code >= 300 {
		t.Fatalf("a supervisor's resume through b: %d", code)
	}
	nodetest.WaitFor(t, 5*time.Second, "connected again, with audio", func() bool {
		return b.APIAs(carol, "GET", "/api/v1/calls/"+id, nil, &live) == 200 && live.State == "connected" && c.RTP.ToneLevel(1000) > 0.5
	})
	// A supervisor whose desktop is on b monitors the call on a (a rings
	// the supervisor's softphone through b), then stops through b.
	sup := b.Softphone(t, nodetest.Supervisor, 0)
	if code := b.APIAs(nodetest.Supervisor, "POST", "/api/v1/calls/"+id+"/monitor", map[string]string{"mode": "listen"}, nil); code >= 300 {
		t.Fatalf("monitor through b: %d", code)
	}
	sup.Answer(t, b, nodetest.Supervisor, 10*time.Second)
	nodetest.WaitFor(t, 10*time.Second, "the supervisor hears the caller", func() bool { return sup.RTP.ToneLevel(440) > 0.3 })
	if code := b.APIAs(nodetest.Supervisor, "DELETE", "/api/v1/monitor", nil, nil); code >= 300 {
		t.Fatalf("stop monitoring through b: %d", code)
	}
	var timeline nodetest.CallRecord
	nodetest.WaitFor(t, 5*time.Second, "the monitor ended on a", func() bool {
		if a.API("GET", "/api/v1/calls/"+id, nil, &timeline) != 200 {
			return false
		}
		for _, k := range timeline.Kinds() {
			if k == "monitor_ended" {
				return true
			}
		}
		return false
	})
	// Another agent may not act on the call through b either.
	if code := b.APIAs(nodetest.Credential{User: "1001", Password: "demo1001"}, "POST", "/api/v1/calls/"+id+"/hangup", nil, nil); code != 403 {
		t.Fatalf("another agent's hangup through b: %d, want 403", code)
	}
	if code := b.APIAs(carol, "POST", "/api/v1/calls/"+id+"/hangup", nil, nil); code >= 300 {
		t.Fatalf("hangup through b: %d", code)
	}
	c.WaitEnded(t, 10*time.Second)
	rec := a.EndedCall(t, 10*time.Second, func(r nodetest.CallRecord) bool { return r.ID == id })
	if rec.Agent != "1003" || rec.Outcome != "answered" || rec.HangupBy != "agent" {
		t.Fatalf("record %+v, events %v", rec, rec.Kinds())
	}
	// The supervisor's resume was audited once (an agent's own actions on
	// its call are not audited), by the node that acted.
	var audit []struct {
		Actor  string `json:"actor"`
		Source string `json:"source"`
	}
	if code := a.API("GET", "/api/v1/audit?action="+url.QueryEscape("POST /api/v1/calls/{id}/hold"), nil, &audit); code != 200 {
		t.Fatalf("audit: %d", code)
	}
	if len(audit) != 1 || audit[0].Actor != "supervisor" || audit[0].Source != "127.0.0.1" {
		t.Fatalf("hold audit entries %+v, want the supervisor's one, from its address", audit)
	}
	nodetest.WaitFor(t, 10*time.Second, "1003 free after the call", func() bool {
		s := agentState(b, "1003")
		return s == "available" || s == "wrap_up"
	})

	// The desktop goes away during the next call: the call on a ends.
	if code := b.APIAs(carol, "POST", "/api/v1/agents/1003/state", map[string]string{"state": "available"}, nil); code != 200 {
		t.Fatalf("available: %d", code)
	}
	c2 := a.Dial(t, "100", nodetest.Tone(440))
	nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c2.RTP.Received() > 10 })
	c2.SendDTMF("2")
	phone.Answer(t, b, carol, 15*time.Second)
	nodetest.WaitFor(t, 10*time.Second, "audio of the second call", func() bool { return c2.RTP.ToneLevel(1000) > 0.5 })
	if code := b.APIAs(carol, "DELETE", "/api/v1/webrtc", nil, nil); code >= 300 {
		t.Fatalf("disconnect: %d", code)
	}
	c2.WaitEnded(t, 10*time.Second)
	rec = a.EndedCall(t, 10*time.Second, func(r nodetest.CallRecord) bool { return r.ID != id && r.Agent == "1003" })
	if rec.Outcome != "answered" || rec.HangupBy != "agent" {
		t.Fatalf("second record %+v, events %v", rec, rec.Kinds())
	}
}
