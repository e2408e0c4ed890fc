package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/node"
	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// A caller in support asks to be called back at a number they key in; the
// node stops normally; a second node starts on the same data directory.
// The callback is still pending there (same call, record open), is offered
// to a support agent — one whose phone registers after the restart, or one
// who was on a call at the stop and whose registration and state the
// restart restored — and the customer is dialled over the trunk (a third
// node playing the public network). If the second node's setup no longer
// has the queue, the callback ends as callback_failed instead.
func TestCallbackRestoredAfterStop(t *testing.T) {
	tests := []struct {
		name string
		// busyAgent: agent 1003 is registered and on a call when the
		// callback is requested, and still registered at the restart.
		busyAgent bool
		// edits of the second node's setup, besides its trunk
		edits []string
		// dialled: the customer is called back; else the callback fails
		dialled bool
		reason  string
	}{
		{name: "agent registers after the restart", dialled: true},
		{name: "agent on a call at the stop, restored", busyAgent: true, dialled: true},
		{name: "queue gone: callback_failed", reason: `queue "support" is no longer in the setup`, edits: []string{
			"  - name: support\n    strategy", "  - name: helpdesk\n    strategy",
			"queue: support", "queue: helpdesk",
			"queues: [sales, support]", "queues: [sales, helpdesk]",
			"queues: [support]", "queues: [helpdesk]",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first := nodetest.Start(t, "")
			var carol *nodetest.Phone
			if tc.busyAgent {
				carol = first.Phone(t, "1003")
				nodetest.WaitFor(t, 5*time.Second, "agent 1003 available", func() bool { return first.AgentState("1003") == "available" })
				c := first.Dial(t, "100")
				nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
				c.SendDTMF("2")
				busy := carol.NextCall(t, 10*time.Second)
				select {
				case <-busy.Answered():
				case <-time.After(5 * time.Second):
					t.Fatal("agent 1003 did not answer the first caller")
				}
			}
			id := requestCallback(t, first, "5550199")
			if err := first.Stop(15 * time.Second); err != nil {
				t.Fatalf("stop: %v", err)
			}

			// The public network: a node that answers 5550199 with its IVR.
			pstn := nodetest.Start(t, nodetest.Demo(t, `- {number: "100", flow: main}`, `- {number: "100", flow: main}
  - {number: "5550199", flow: main}`))
			edits := append([]string{`outbound: {host: "127.0.0.1:5080", transport: udp}`,
				fmt.Sprintf(`outbound: {host: %q, transport: udp}`, pstn.SIPAddr())}, tc.edits...)
			second := startOn(t, first.DataDir, nodetest.Demo(t, edits...))

			if !tc.dialled {
				var rec restoredCall
				nodetest.WaitFor(t, 5*time.Second, "the record closed", func() bool {
					rec = second.call(t, id)
					return rec.Outcome != "in_progress" && rec.Outcome != "callback_pending"
				})
				if rec.Outcome != "callback_failed" || !strings.Contains(rec.Reason, tc.reason) || rec.EndedAt == "" {
					t.Fatalf("record after the restart %+v, want callback_failed: %s", rec, tc.reason)
				}
				return
			}
			var rec restoredCall
			nodetest.WaitFor(t, 5*time.Second, "the callback back in line", func() bool {
				rec = second.call(t, id)
				return slices.Contains(rec.Kinds(), "callback_restored")
			})
			if !(rec.Outcome == "callback_pending" && (rec.State == "callback_pending" || rec.State == "connected") || rec.Outcome == "in_progress" && rec.State == "connected") {
				t.Fatalf("record after the restart %+v, events %v; want callback_pending (or in_progress once connected), callback_restored", rec, rec.Kinds())
			}
			var q struct {
				CallbacksPending int `json:"callbacks_pending"`
			}
			// (A restored agent takes it at once.)
			if second.get(t, "/api/v1/queues/support", &q); !tc.busyAgent && q.CallbacksPending != 1 {
				t.Fatalf("support after the restart: %d callbacks pending, want 1", q.CallbacksPending)
			}

			if carol == nil {
				carol = nodetest.NewPhone(t, second.nd.SIPAddr(), "1003", "demo1003")
			}
			offer := carol.NextCall(t, 15*time.Second)
			if offer.Caller != "5550199" {
				t.Errorf("the offer shows %q, want the number to call back", offer.Caller)
			}
			var dialled nodetest.CallRecord
			nodetest.WaitFor(t, 15*time.Second, "the customer dialled over the trunk", func() bool {
				for _, c := range pstn.Calls() {
					if c.Dialed == "5550199" {
						dialled = c
						return true
					}
				}
				return false
			})
			if dialled.Caller != "100" {
				t.Errorf("the customer's call presents %q, want the number the caller had dialled (100)", dialled.Caller)
			}
			nodetest.WaitFor(t, 10*time.Second, "the callback connected", func() bool {
				return second.call(t, id).State == "connected"
			})
			if err := offer.Hangup(); err != nil {
				t.Fatalf("agent hangs up: %v", err)
			}
			nodetest.WaitFor(t, 10*time.Second, "the callback's record closed", func() bool {
				rec = second.call(t, id)
				return rec.Outcome != "in_progress" && rec.Outcome != "callback_pending" && slices.Contains(rec.Kinds(), "ended")
			})
			if rec.Outcome != "answered" || rec.Agent != "1003" || rec.Queue != "support" {
				t.Fatalf("record %+v", rec)
			}
			kinds := rec.Kinds()
			for _, want := range []string{"callback_requested", "callback_restored", "offered", "callback_attempt", "connected", "ended"} {
				if !slices.Contains(kinds, want) {
					t.Errorf("event %q missing from %v", want, kinds)
				}
			}
			if i, j := slices.Index(kinds, "callback_requested"), slices.Index(kinds, "callback_restored"); i > j {
				t.Errorf("events out of order: %v", kinds)
			}
			for _, e := range rec.Events {
				if e.Kind == "callback_attempt" && !strings.Contains(e.Detail, "attempt=1 number=5550199 result=answered") {
					t.Errorf("callback attempt %q", e.Detail)
				}
				if e.Kind == "ended" && e.Detail == "callback_failed" {
					t.Errorf("the stop ended the callback: %v", kinds)
				}
			}
		})
	}
}

// requestCallback has a caller reach support, press 1 for a callback and
// key number; it returns the call's id once the caller has heard the
// confirmation and been disconnected.
func requestCallback(t *testing.T, n *nodetest.Node, number string) string {
	t.Helper()
	c := n.Dial(t, "100")
	if c.Code != 200 {
		t.Fatalf("INVITE to 100: %d", c.Code)
	}
	nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
	c.SendDTMF("2")
	var q struct {
		Waiting int `json:"waiting"`
	}
	nodetest.WaitFor(t, 10*time.Second, "the caller waiting in support", func() bool {
		n.API("GET", "/api/v1/queues/support", nil, &q)
		return q.Waiting == 1
	})
	c.SendDTMF("1" + number + "#")
	c.WaitEnded(t, 40*time.Second)
	var id string
	for _, r := range n.Calls() { // newest first
		if r.Dialed == "100" && r.Outcome == "callback_pending" && r.Agent == "" {
			id = r.ID
			break
		}
	}
	var rec nodetest.CallRecord
	if n.API("GET", "/api/v1/calls/"+id, nil, &rec) != 200 || rec.Outcome != "callback_pending" || !slices.Contains(rec.Kinds(), "callback_requested") {
		t.Fatalf("the caller was disconnected without a callback: %+v %v", rec, rec.Kinds())
	}
	return id
}

// restarted is a node started on a data directory another node of the
// test used (nodetest gives each node a fresh one).
type restarted struct {
	nd      *node.Node
	url     string
	done    chan error
	stopped bool
}

// startOn starts a node on setup with dataDir as its data directory, SIP
// and HTTP on 127.0.0.1 port 0 and an RTP range below nodetest's; Cleanup
// stops it if the test has not.
func startOn(t *testing.T, dataDir, setup string) *restarted {
	t.Helper()
	cfg, err := config.Parse("setup.yaml", []byte(setup))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.SIPListen, cfg.Server.SIPTLSListen, cfg.Server.HTTPListen = "127.0.0.1:0", "", "127.0.0.1:0"
	cfg.Server.MediaIP, cfg.Server.DataDir = "127.0.0.1", dataDir
	cfg.Server.RTPPortMin = 10000 + os.Getpid()%100*100
	cfg.Server.RTPPortMax = cfg.Server.RTPPortMin + 99
	logPath := filepath.Join(t.TempDir(), "restarted.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	nd, err := node.New(cfg, slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		logf.Close()
		t.Fatal(err)
	}
	r := &restarted{nd: nd, url: "http://" + nd.HTTPAddr().String(), done: make(chan error, 1)}
	go func() { r.done <- nd.Run(context.Background()) }()
	t.Cleanup(func() {
		r.stop(t)
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("restarted node's log:\n%s", b[max(0, len(b)-6000):])
		}
	})
	select {
	case <-nd.Ready():
	case err := <-r.done:
		t.Fatalf("restarted node stopped at start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("restarted node not ready within 10s")
	}
	return r
}

// stop shuts the node down and waits for it, once.
func (r *restarted) stop(t *testing.T) {
	t.Helper()
	if r.stopped {
		return
	}
	r.stopped = true
	r.nd.Shutdown()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("restarted node stopped with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("restarted node did not stop within 15s")
	}
}

// api calls the HTTP API as admin, with body as JSON when not nil, and
// decodes a 200's answer into out when not nil; it returns the status.
func (r *restarted) api(t *testing.T, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, r.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(nodetest.Admin.User, nodetest.Admin.Password)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode == 200 && out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return res.StatusCode
}

// get reads an API path as admin into out; it returns the status.
func (r *restarted) get(t *testing.T, path string, out any) int {
	t.Helper()
	return r.api(t, "GET", path, nil, out)
}

// restoredCall is a call record with its live state.
type restoredCall struct {
	nodetest.CallRecord
	State string `json:"state"`
}

func (r *restarted) call(t *testing.T, id string) restoredCall {
	t.Helper()
	var c restoredCall
	if code := r.get(t, "/api/v1/calls/"+id, &c); code != 200 {
		t.Fatalf("GET call %s: %d", id, code)
	}
	return c
}

// restoredIn waits until the callback id is back in line in queue after
// a restart (restoredBefore callback_restored events earlier) and
// returns how the queue lists it.
func (r *restarted) restoredIn(t *testing.T, id, queue string, restoredBefore int) (rec restoredCall, waiting waitingCall) {
	t.Helper()
	nodetest.WaitFor(t, 5*time.Second, "the callback back in "+queue, func() bool {
		rec = r.call(t, id)
		n := 0
		for _, k := range rec.Kinds() {
			if k == "callback_restored" {
				n++
			}
		}
		var q struct{ Calls []waitingCall }
		r.get(t, "/api/v1/queues/"+queue, &q)
		for _, c := range q.Calls {
			if c.ID == id {
				waiting = c
			}
		}
		return n == restoredBefore+1 && waiting.ID == id
	})
	return rec, waiting
}

type waitingCall struct {
	ID       string `json:"id"`
	Priority int    `json:"priority"`
	Callback bool   `json:"callback"`
}

// A restored callback, which has no caller leg, can be moved to another
// queue with a new priority by a supervisor — which a further restart
// keeps — and hung up from the desktop.
func TestRestoredCallbackMovedAndHungUp(t *testing.T) {
	first := nodetest.Start(t, "")
	id := requestCallback(t, first, "5550199")
	if err := first.Stop(15 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	second := startOn(t, first.DataDir, nodetest.Demo(t))
	second.restoredIn(t, id, "support", 0)
	if code := second.api(t, "POST", "/api/v1/calls/"+id+"/queue", map[string]any{"queue": "sales", "priority": 5}, nil); code != 200 {
		t.Fatalf("move the restored callback to sales: %d", code)
	}
	// The record's queue is written by the store's writer, after the move's answer.
	nodetest.WaitFor(t, 5*time.Second, "the moved callback's record in sales", func() bool {
		rec := second.call(t, id)
		return rec.State == "callback_pending" && rec.Queue == "sales"
	})
	second.stop(t)

	third := startOn(t, first.DataDir, nodetest.Demo(t))
	rec, w := third.restoredIn(t, id, "sales", 1)
	if w.Priority != 5 || !w.Callback || rec.State != "callback_pending" {
		t.Fatalf("after the second restart: %+v in sales, state %q", w, rec.State)
	}
	if code := third.api(t, "POST", "/api/v1/calls/"+id+"/hangup", nil, nil); code != 200 {
		t.Fatalf("hang up the restored callback: %d", code)
	}
	nodetest.WaitFor(t, 5*time.Second, "the record closed", func() bool {
		rec = third.call(t, id)
		return rec.Outcome != "in_progress" && rec.Outcome != "callback_pending" && slices.Contains(rec.Kinds(), "ended")
	})
	if rec.Outcome != "callback_failed" || !strings.Contains(rec.Reason, "cancelled by admin") {
		t.Fatalf("record after the hang-up: %+v", rec)
	}
}
