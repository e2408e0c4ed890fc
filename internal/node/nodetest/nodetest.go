// Package nodetest runs a whole Switchboard node inside a test process and
// drives it as its users would: agents' SIP phones (Phone), callers (Dial),
// RTP with tones and RFC 4733 digits, and the HTTP API. A node listens on
// 127.0.0.1 port 0 for SIP and HTTP, has its own data directory and RTP
// ports, and is stopped in t.Cleanup with a bounded wait. Everything waits
// with a deadline; nothing sleeps to synchronise.
package nodetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/examples"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/node"
)

// Node is a node running in the test.
type Node struct {
	*node.Node
	// URL is the HTTP API's base, http://127.0.0.1:port.
	URL string
	// DataDir is the node's data directory (under t.TempDir).
	DataDir string
	// Log is the path of the node's debug log; its tail is printed when
	// the test fails.
	Log string

	t      testing.TB
	runErr chan error
}

// Demo returns examples/demo.yaml with edits applied: pairs of old, new
// strings, each old required to be present.
func Demo(t testing.TB, edits ...string) string {
	t.Helper()
	b, err := fs.ReadFile(examples.FS, "demo.yaml")
	if err != nil {
		t.Fatalf("nodetest: demo.yaml: %v", err)
	}
	s := string(b)
	if len(edits)%2 != 0 {
		t.Fatalf("nodetest: Demo wants old, new pairs")
	}
	for i := 0; i < len(edits); i += 2 {
		if !strings.Contains(s, edits[i]) {
			t.Fatalf("nodetest: demo.yaml has no %q to edit", edits[i])
		}
		s = strings.ReplaceAll(s, edits[i], edits[i+1])
	}
	return s
}

// Start parses setup (YAML; empty runs the demo) and starts a node on it;
// see StartConfig.
func Start(t testing.TB, setup string, opts ...node.Option) *Node {
	t.Helper()
	if setup == "" {
		setup = Demo(t)
	}
	cfg, err := config.Parse("setup.yaml", []byte(setup))
	if err != nil {
		t.Fatalf("nodetest: %v", err)
	}
	return StartConfig(t, cfg, opts...)
}

// rtpBlock hands each node of this process its own RTP port range, offset
// by the process id so parallel test binaries rarely meet.
var rtpBlock atomic.Int32

// StartConfig starts a node on cfg with SIP (and SIP over TLS, when the
// setup has it) and HTTP on 127.0.0.1 port 0,
// a data directory under t.TempDir and an RTP range of its own, and waits
// until it serves. Cleanup shuts it down and fails the test if it does not
// stop within 15 s or returned an error.
func StartConfig(t testing.TB, cfg *config.Config, opts ...node.Option) *Node {
	t.Helper()
	return StartConfigIn(t, cfg, "", opts...)
}

// StartConfigIn is StartConfig with the data directory data (a new one
// when empty), so a test can start a node again on what one left.
func StartConfigIn(t testing.TB, cfg *config.Config, data string, opts ...node.Option) *Node {
	t.Helper()
	return startConfig(t, cfg, data, 1, opts...)
}

// StartWide is StartConfig with blocks blocks of 100 RTP ports (a call
// waiting in a queue takes two; one block carries 50), for tests of many
// calls at once.
func StartWide(t testing.TB, cfg *config.Config, blocks int, opts ...node.Option) *Node {
	t.Helper()
	return startConfig(t, cfg, "", blocks, opts...)
}

func startConfig(t testing.TB, cfg *config.Config, data string, blocks int, opts ...node.Option) *Node {
	t.Helper()
	dir := t.TempDir()
	cfg.Server.SIPListen = "127.0.0.1:0"
	if cfg.Server.SIPTLSListen != "" {
		cfg.Server.SIPTLSListen = "127.0.0.1:0"
	}
	cfg.Server.HTTPListen = "127.0.0.1:0"
	cfg.Server.MediaIP = "127.0.0.1"
	cfg.Server.DataDir = filepath.Join(dir, "data")
	if data != "" {
		cfg.Server.DataDir = data
	}
	// 20000–29999: below the end-to-end suite's port blocks (30000 and up)
	// and the kernel's ephemeral ports, so in-process nodes running beside
	// it never take a port a SIPp peer of the suite was given.
	block := (int(rtpBlock.Add(int32(blocks))) + os.Getpid()*7) % (101 - blocks)
	cfg.Server.RTPPortMin = 20000 + block*100
	cfg.Server.RTPPortMax = cfg.Server.RTPPortMin + 100*blocks - 1

	logPath := filepath.Join(dir, "node.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("nodetest: %v", err)
	}
	lw := &lockedWriter{w: logf}
	log := slog.New(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	nd, err := node.New(cfg, log, opts...)
	if err != nil {
		logf.Close()
		t.Fatalf("nodetest: %v", err)
	}
	n := &Node{Node: nd, URL: "http://" + nd.HTTPAddr().String(), DataDir: cfg.Server.DataDir, Log: logPath, t: t,
		runErr: make(chan error, 1)}
	go func() { n.runErr <- nd.Run(context.Background()) }()
	t.Cleanup(func() {
		defer func() {
			lw.close()
			if t.Failed() {
				t.Logf("node log (%s), last lines:\n%s", logPath, tailFile(logPath, 4000))
			}
		}()
		nd.Shutdown()
		select {
		case err := <-n.runErr:
			if err != nil {
				t.Errorf("nodetest: node stopped with %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("nodetest: node did not stop within 15s")
		}
	})
	select {
	case <-nd.Ready():
	case err := <-n.runErr:
		n.runErr <- err
		t.Fatalf("nodetest: node stopped at start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatalf("nodetest: node not ready within 10s")
	}
	return n
}

// Stop shuts the node down now and waits (up to d) for Run to return its
// result; Cleanup then has nothing left to do.
func (n *Node) Stop(d time.Duration) error {
	n.Shutdown()
	select {
	case err := <-n.runErr:
		n.runErr <- err
		return err
	case <-time.After(d):
		return fmt.Errorf("nodetest: node did not stop within %s", d)
	}
}

// Admin and the demo's other users, for API calls.
var (
	Admin      = Credential{User: "admin", Password: "demo-admin"}
	Supervisor = Credential{User: "supervisor", Password: "demo-supervisor"}
)

// Credential authenticates an API request: Basic with User and Password,
// or a bearer Token when set.
type Credential struct{ User, Password, Token string }

// API calls the HTTP API as admin, encodes body as JSON when not nil,
// decodes the answer into out when not nil, and returns the status.
func (n *Node) API(method, path string, body, out any) int {
	n.t.Helper()
	return n.APIAs(Admin, method, path, body, out)
}

// APIAs is API with another credential.
func (n *Node) APIAs(c Credential, method, path string, body, out any) int {
	n.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			n.t.Fatalf("nodetest: encode %T: %v", body, err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, n.URL+path, rd)
	if err != nil {
		n.t.Fatalf("nodetest: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case c.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.Token)
	case c.User != "":
		req.SetBasicAuth(c.User, c.Password)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("nodetest: %s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		n.t.Fatalf("nodetest: %s %s: %v", method, path, err)
	}
	if out != nil && len(data) > 0 && res.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			n.t.Fatalf("nodetest: %s %s: decode %q: %v", method, path, data, err)
		}
	}
	return res.StatusCode
}

// CallRecord is the part of GET /api/v1/calls/{id} tests look at.
type CallRecord struct {
	ID       string `json:"id"`
	Caller   string `json:"caller"`
	Dialed   string `json:"dialed"`
	Source   string `json:"source"`
	Digits   string `json:"digits"`
	Queue    string `json:"queue"`
	Agent    string `json:"agent"`
	Outcome  string `json:"outcome"`
	HangupBy string `json:"hangup_by"`
	Reason   string `json:"reason"`
	EndedAt  string `json:"ended_at"`
	RTPIn    int    `json:"rtp_packets_in"`
	RTPOut   int    `json:"rtp_packets_out"`
	Events   []struct {
		Kind   string `json:"kind"`
		Agent  string `json:"agent"`
		Queue  string `json:"queue"`
		Detail string `json:"detail"`
	} `json:"events"`
}

// Kinds lists the record's event kinds in order.
func (r CallRecord) Kinds() []string {
	k := make([]string, len(r.Events))
	for i, e := range r.Events {
		k[i] = e.Kind
	}
	return k
}

// Calls lists the newest call records (GET /api/v1/calls).
func (n *Node) Calls() []CallRecord {
	n.t.Helper()
	var list struct {
		Calls []CallRecord `json:"calls"`
	}
	if code := n.API("GET", "/api/v1/calls?limit=50", nil, &list); code != 200 {
		n.t.Fatalf("nodetest: GET /api/v1/calls: %d", code)
	}
	return list.Calls
}

// EndedCall waits up to d for the newest call record matching pick to have
// ended (its "ended" event written) and returns it with its events.
func (n *Node) EndedCall(t testing.TB, d time.Duration, pick func(CallRecord) bool) CallRecord {
	t.Helper()
	var rec CallRecord
	WaitFor(t, d, "an ended call record", func() bool {
		for _, c := range n.Calls() {
			if !pick(c) {
				continue
			}
			if c.Outcome == "in_progress" {
				return false
			}
			rec = CallRecord{}
			if n.API("GET", "/api/v1/calls/"+c.ID, nil, &rec) != 200 {
				return false
			}
			for _, k := range rec.Kinds() {
				if k == "ended" {
					return true
				}
			}
			return false
		}
		return false
	})
	return rec
}

// AgentState is the agent's state as GET /api/v1/agents/{ext} reports it.
func (n *Node) AgentState(ext string) string {
	n.t.Helper()
	var v struct {
		State string `json:"state"`
	}
	n.API("GET", "/api/v1/agents/"+ext, nil, &v)
	return v.State
}

// WaitFor polls cond every 20 ms until it holds, failing the test after d.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("nodetest: timed out after %s waiting for %s", d, what)
		}
		<-tick.C
	}
}

// lockedWriter lets the node's logger write while Cleanup closes the file.
type lockedWriter struct {
	mu     sync.Mutex
	w      *os.File
	closed bool
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return len(p), nil
	}
	return l.w.Write(p)
}

func (l *lockedWriter) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.w.Close()
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// RTPPorts hands out a block of 100 RTP ports of this process's in-process
// nodes' range, for a peer of a test (a called party) that needs its own.
func RTPPorts() (min, max int) {
	block := (int(rtpBlock.Add(1)) + os.Getpid()*7) % 100
	return 20000 + block*100, 20000 + block*100 + 99
}
