// Package e2e holds end-to-end tests: the real switchboard binary driven by
// real SIP peers (SIPp) over loopback, checked through the REST API and
// captured RTP.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var (
	serverBin string // built once in TestMain
	outDir    string // test/out: logs a person can read after a run
	portSeq   atomic.Int32
)

func TestMain(m *testing.M) {
	code := func() int {
		for _, tool := range []string{"sipp", "dumpcap", "tshark"} {
			if _, err := exec.LookPath(tool); err != nil {
				if os.Getenv("CI") != "" {
					fmt.Fprintf(os.Stderr, "e2e: %s not installed (the README's test command installs it)\n", tool)
					return 1
				}
				fmt.Fprintf(os.Stderr, "e2e: skipping: %s not installed\n", tool)
				return 0
			}
		}
		dir, err := os.MkdirTemp("", "switchboard-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		serverBin = filepath.Join(dir, "switchboard")
		build := exec.Command("go", "build", "-race", "-o", serverBin, "../cmd/switchboard")
		if os.Getenv("E2E_NO_RACE") != "" {
			build = exec.Command("go", "build", "-o", serverBin, "../cmd/switchboard")
		}
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: build:", err)
			return 1
		}
		// The speech worker beside the server, where the server looks for
		// it (cgo: libpocketsphinx; no race detector in its C code).
		worker := exec.Command("go", "build", "-o", filepath.Join(dir, "switchboard-speech"), "../cmd/switchboard-speech")
		worker.Stdout, worker.Stderr = os.Stdout, os.Stderr
		if err := worker.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: build the speech worker (apt-get install libpocketsphinx-dev pocketsphinx-en-us):", err)
			return 1
		}
		outDir, _ = filepath.Abs("out")
		_ = os.MkdirAll(outDir, 0o755)
		return m.Run()
	}()
	os.Exit(code)
}

// ports hands each test its own block of 100 ports on loopback.
type ports struct{ base int }

func newPorts(t *testing.T) ports {
	t.Helper()
	for i := 0; i < 50; i++ {
		// Blocks between 10000 and 32199: under Linux's ephemeral range
		// (32768-60999), where Chromium's WebRTC and every client socket
		// bind at random and once took a SIPp phone's RTP port.
		base := 10000 + (int(portSeq.Add(1))*100+(os.Getpid()%20)*1100)%22200
		if portFree(base) && portFree(base+1) {
			return ports{base: base}
		}
	}
	t.Fatal("no free port block")
	return ports{}
}

func portFree(p int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		return false
	}
	l.Close()
	u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		return false
	}
	u.Close()
	return true
}

func (p ports) sip() int  { return p.base }
func (p ports) http() int { return p.base + 1 }

// phone returns the SIP and media ports of the n-th SIPp instance of a test.
func (p ports) phone(n int) (sipPort, mediaPort int) { return p.base + 10 + n*2, p.base + 40 + n*4 }

// server is a running switchboard.
type server struct {
	t       *testing.T
	cmd     *exec.Cmd
	sipAddr string
	http    string
	logPath string
	ports   ports
	data    string
	// client makes the test's requests to the server (health, API); nil is
	// http.DefaultClient. A server on HTTPS is given one trusting its
	// certificate.
	client *http.Client
}

func (s *server) httpClient() *http.Client {
	if s.client != nil {
		return s.client
	}
	return http.DefaultClient
}

func (s *server) dataDir() string { return s.data }

// speechOn is the demo's speech line; a test that wants speech analytics
// passes it, unchanged, among its edits (speechOn, speechOn).
const speechOn = "speech: {engine: worker, live_calls: 2}"

// startServer runs the binary on the demo setup with edits applied (old → new
// replacements of demo.yaml), its own ports and data directory.
func startServer(t *testing.T, edits ...string) *server {
	t.Helper()
	return startServerWith(t, func(ports) []string { return edits })
}

// startServerWith is startServer with edits that depend on the test's ports;
// each of adjust changes the server before it starts (its API base URL
// and client, for one on HTTPS).
func startServerWith(t *testing.T, editsFor func(p ports) []string, adjust ...func(*server)) *server {
	t.Helper()
	p := newPorts(t)
	edits := editsFor(p)
	demo, err := os.ReadFile("../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(demo)
	if !slices.Contains(edits, "rtp_port_min: 20000") { // a test with many calls gives its own range
		edits = append(edits,
			"rtp_port_min: 20000", fmt.Sprintf("rtp_port_min: %d", p.base+60),
			"rtp_port_max: 29999", fmt.Sprintf("rtp_port_max: %d", p.base+99),
		)
	}
	if !slices.Contains(edits, speechOn) {
		// Speech analytics only where a test asks for it (withSpeech): the
		// others' recorded calls would all be transcribed, for nothing.
		edits = append(edits, speechOn, "speech: {engine: off}")
	}
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(cfg, edits[i]) {
			t.Fatalf("demo.yaml has no %q to edit", edits[i])
		}
		cfg = strings.ReplaceAll(cfg, edits[i], edits[i+1])
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "setup.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, sipAddr: fmt.Sprintf("127.0.0.1:%d", p.sip()), http: fmt.Sprintf("http://127.0.0.1:%d", p.http()), ports: p,
		logPath: filepath.Join(outDir, strings.ReplaceAll(t.Name(), "/", "_")+".server.log"), data: filepath.Join(dir, "data")}
	for _, f := range adjust {
		f(s)
	}
	logf, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(serverBin, "serve", "--config", cfgPath, "--sip", s.sipAddr, "--http", fmt.Sprintf("127.0.0.1:%d", p.http()),
		"--data", filepath.Join(dir, "data"), "--log-level", "debug")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("server exited with %v; log %s", err, s.logPath)
			}
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			t.Errorf("server did not stop within 15s; log %s", s.logPath)
		}
		if data, err := os.ReadFile(s.logPath); err == nil && bytes.Contains(data, []byte("WARNING: DATA RACE")) {
			t.Errorf("data race in the server; log %s", s.logPath)
		}
		if data, err := os.ReadFile(s.logPath); err == nil && bytes.Contains(data, []byte("panic:")) {
			t.Errorf("server panicked; log %s", s.logPath)
		}
	})
	waitFor(t, 20*time.Second, "server healthy", func() bool {
		select {
		case err := <-exited:
			t.Fatalf("server exited at start: %v; log %s", err, s.logPath)
		default:
		}
		res, err := s.httpClient().Get(s.http + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	return s
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// api calls the REST API as admin and decodes JSON into out; it returns the status.
func (s *server) api(method, path string, body any, out any) int {
	return s.apiAs("admin", "demo-admin", method, path, body, out)
}

func (s *server) apiAs(user, pass, method, path string, body any, out any) int {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.http+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if strings.HasPrefix(user, "Bearer ") {
		req.Header.Set("Authorization", user)
	} else if user != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := s.httpClient().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			s.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return res.StatusCode
}

// apiRaw calls the REST API as admin and returns the body as is.
func (s *server) apiRaw(method, path string, body *[]byte) int {
	s.t.Helper()
	req, err := http.NewRequest(method, s.http+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.SetBasicAuth("admin", "demo-admin")
	res, err := s.httpClient().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	*body, _ = io.ReadAll(res.Body)
	return res.StatusCode
}

// sipp is one SIPp process.
type sipp struct {
	name string
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{} // closed when the process has exited; err is then set
	err  error
}

// runSIPp starts SIPp with the given arguments (the caller adds scenario and
// ports); bounded by -timeout. Cleanup kills it if still running.
func runSIPp(t *testing.T, name string, args ...string) *sipp {
	t.Helper()
	dir := filepath.Join(outDir, strings.ReplaceAll(t.Name(), "/", "_"))
	_ = os.MkdirAll(dir, 0o755)
	base := []string{"-i", "127.0.0.1", "-mi", "127.0.0.1", "-nostdin", "-trace_err", "-trace_screen", "-buff_size", "1048576"}
	p := &sipp{name: name, done: make(chan struct{})}
	p.cmd = exec.Command("sipp", append(base, args...)...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start sipp %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for SIPp to exit and returns its error (nil: every call succeeded).
func (p *sipp) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		t.Fatalf("sipp %s still running after %s", p.name, d)
	}
	return nil
}

func (p *sipp) mustSucceed(t *testing.T, d time.Duration) {
	t.Helper()
	if err := p.wait(t, d); err != nil {
		t.Fatalf("sipp %s failed: %v\n%s", p.name, err, tail(p.out.String(), 3000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func scenario(name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	p, _ := filepath.Abs(filepath.Join("scenarios", name))
	return p
}
