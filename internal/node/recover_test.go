package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/node"
	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// restartable is a node started on a data directory of the test's, so a
// second one can start on what the first left.
type restartable struct {
	*node.Node
	t      *testing.T
	url    string
	runErr chan error
}

func startAgainOn(t *testing.T, setup, dataDir string, rtpMin int) *restartable {
	t.Helper()
	cfg, err := config.Parse("setup.yaml", []byte(setup))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.SIPListen, cfg.Server.SIPTLSListen, cfg.Server.HTTPListen = "127.0.0.1:0", "", "127.0.0.1:0"
	cfg.Server.DataDir, cfg.Server.RTPPortMin, cfg.Server.RTPPortMax = dataDir, rtpMin, rtpMin+99
	logPath := filepath.Join(filepath.Dir(dataDir), "node.log")
	_, statErr := os.Stat(logPath)
	firstStart := statErr != nil
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		logf.Close()
		if firstStart && (t.Failed() || os.Getenv("NODE_LOG") != "") { // one log for both starts
			b, _ := os.ReadFile(logPath)
			t.Logf("node log %s:\n%s", logPath, b[max(0, len(b)-20000):])
		}
	})
	nd, err := node.New(cfg, slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	r := &restartable{Node: nd, t: t, url: "http://" + nd.HTTPAddr().String(), runErr: make(chan error, 1)}
	go func() { r.runErr <- nd.Run(context.Background()) }()
	t.Cleanup(func() { r.stop() })
	select {
	case <-nd.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("node not ready within 10s")
	}
	return r
}

// stop shuts the node down normally and waits for it.
func (r *restartable) stop() {
	r.Shutdown()
	select {
	case err := <-r.runErr:
		if err != nil {
			r.t.Errorf("node stopped with %v", err)
		}
		r.runErr <- nil
	case <-time.After(15 * time.Second):
		r.t.Error("node did not stop within 15s")
	}
}

func (r *restartable) api(method, path string, body, out any) int {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, r.url+path, rd)
	if err != nil {
		r.t.Fatal(err)
	}
	req.SetBasicAuth("admin", "demo-admin")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			r.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return res.StatusCode
}

type agentView struct {
	State    string `json:"state"`
	Reason   string `json:"reason"`
	CallID   string `json:"call_id"`
	CallNode string `json:"call_node"`
}

// After a stop, the next start on the same data directory has the phones'
// registrations (an agent's phone rings without registering again), the
// agents' states (away with the reason, available, logged out — also one
// whose restored registration logged it in) and the hours overrides of
// schedules still in the setup.
func TestRestartRestoresRegistrationsAgentsAndOverrides(t *testing.T) {
	night := "  - name: night\n    timezone: UTC\n    weekly: {mon: [\"00:00-06:00\"]}\n\nnumbers:"
	first := nodetest.Demo(t, "\nnumbers:", "\n"+night)
	dataDir := filepath.Join(t.TempDir(), "data")
	a := startAgainOn(t, first, dataDir, 21800)

	phone := nodetest.NewPhone(t, a.SIPAddr(), "1001", "demo1001") // login_on_register: available
	// 1002's phone logs it in too; it logs out and stays out.
	nodetest.NewPhone(t, a.SIPAddr(), "1002", "demo1002")
	nodetest.WaitFor(t, 5*time.Second, "1002 available", func() bool {
		var v agentView
		a.api("GET", "/api/v1/agents/1002", nil, &v)
		return v.State == "available"
	})
	for _, step := range []struct {
		path string
		body any
	}{
		{"/api/v1/agents/1002/logout", nil},
		{"/api/v1/agents/1003/login", nil},
		{"/api/v1/agents/1003/state", map[string]string{"state": "away", "reason": "lunch"}},
		{"/api/v1/agents/1004/login", nil},
		{"/api/v1/hours/always/override", map[string]string{"state": "open"}},
		{"/api/v1/hours/night/override", map[string]string{"state": "closed"}},
	} {
		method := "POST"
		if filepath.Base(step.path) == "override" {
			method = "PUT"
		}
		if code := a.api(method, step.path, step.body, nil); code != 200 {
			t.Fatalf("%s %s: %d", method, step.path, code)
		}
	}
	nodetest.WaitFor(t, 5*time.Second, "1001 available", func() bool {
		var v agentView
		a.api("GET", "/api/v1/agents/1001", nil, &v)
		return v.State == "available"
	})
	a.stop()

	// The second start's setup no longer has "night".
	b := startAgainOn(t, nodetest.Demo(t), dataDir, 21900)
	want := map[string]agentView{"1001": {State: "available"}, "1002": {State: "logged_out"}, "1003": {State: "away", Reason: "lunch"},
		"1004": {State: "available"}}
	for ext, w := range want {
		var v agentView
		if b.api("GET", "/api/v1/agents/"+ext, nil, &v); v != w {
			t.Errorf("agent %s after the restart: %+v, want %+v", ext, v, w)
		}
	}
	var hours []struct {
		Name     string `json:"name"`
		Override string `json:"override"`
	}
	b.api("GET", "/api/v1/hours", nil, &hours)
	if len(hours) != 1 || hours[0].Name != "always" || hours[0].Override != "open" {
		t.Errorf("hours after the restart: %+v, want always forced open", hours)
	}
	var stats struct {
		Registered int `json:"registered_phones"`
	}
	if b.api("GET", "/api/v1/stats", nil, &stats); stats.Registered != 2 {
		t.Errorf("registered phones after the restart: %d, want 2", stats.Registered)
	}
	// A caller for sales reaches 1001's phone, which has not registered again.
	c := nodetest.Dial(t, b.SIPAddr(), "100")
	if c.Code != 200 {
		t.Fatalf("INVITE to 100: %d", c.Code)
	}
	nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
	c.SendDTMF("1")
	call := phone.NextCall(t, 10*time.Second)
	select {
	case <-call.Answered():
	case <-time.After(5 * time.Second):
		t.Fatal("the phone did not answer")
	}
	c.Hangup()
}
