package e2e

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/webhook"
)

// killCalls is how many bridged, recorded calls are up when the server is
// killed: the 100 (200 RTP legs relayed and 100 two-channel
// recordings written by the server, 200 legs played by the generator; both
// built with the race detector, it runs in under half a minute on 2 cores).
const killCalls = 100

// killable is a switchboard process the test kills with SIGKILL and starts
// again on the same setup, data directory and ports.
type killable struct {
	t       *testing.T
	cfgPath string
	p       ports
	data    string
	cmd     *exec.Cmd
	exited  chan error
	logPath string
	runs    int
	dead    bool // killed and not started again
}

// newKillable writes examples/demo.yaml with edits (old, new: each old
// replaced once, and required) as the setup of a server on ports p with a
// data directory of its own; start runs it.
func newKillable(t *testing.T, p ports, edits [][2]string) *killable {
	t.Helper()
	demo, err := os.ReadFile("../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(demo)
	for _, e := range edits {
		if !strings.Contains(cfg, e[0]) {
			t.Fatalf("demo.yaml has no %q to edit", e[0])
		}
		cfg = strings.Replace(cfg, e[0], e[1], 1)
	}
	dir := t.TempDir()
	k := &killable{t: t, cfgPath: filepath.Join(dir, "setup.yaml"), p: p, data: filepath.Join(dir, "data")}
	if err := os.WriteFile(k.cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return k
}

// start runs the server and returns how long it took from the process
// start to its "switchboard ready" log line.
func (k *killable) start() time.Duration {
	k.t.Helper()
	k.runs++
	k.logPath = filepath.Join(outDir, fmt.Sprintf("%s.run%d.server.log", strings.ReplaceAll(k.t.Name(), "/", "_"), k.runs))
	logf, err := os.Create(k.logPath)
	if err != nil {
		k.t.Fatal(err)
	}
	k.cmd = exec.Command(serverBin, "serve", "--config", k.cfgPath, "--sip", fmt.Sprintf("127.0.0.1:%d", k.p.sip()),
		"--http", fmt.Sprintf("127.0.0.1:%d", k.p.http()), "--data", k.data, "--log-level", "debug")
	k.cmd.Stdout, k.cmd.Stderr = logf, logf
	k.dead = false
	began := time.Now()
	if err := k.cmd.Start(); err != nil {
		k.t.Fatal(err)
	}
	exited := make(chan error, 1)
	k.exited = exited
	go func() { exited <- k.cmd.Wait(); logf.Close() }()
	var ready time.Duration
	waitFor(k.t, 60*time.Second, "switchboard ready", func() bool {
		select {
		case err := <-exited:
			k.t.Fatalf("server exited at start: %v; log %s", err, k.logPath)
		default:
		}
		b, _ := os.ReadFile(k.logPath)
		if !bytes.Contains(b, []byte(`msg="switchboard ready"`)) {
			return false
		}
		ready = time.Since(began)
		return true
	})
	return ready
}

// kill sends SIGKILL and waits for the process to be gone; it returns when
// it was sent.
func (k *killable) kill() time.Time {
	k.t.Helper()
	at := time.Now()
	if err := k.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		k.t.Fatal(err)
	}
	select {
	case <-k.exited:
		k.dead = true
	case <-time.After(10 * time.Second):
		k.t.Fatal("server still running 10 s after SIGKILL")
	}
	return at
}

// stop interrupts the server and checks it stopped cleanly, raced and
// panicked in none of its runs.
func (k *killable) stop() {
	if !k.dead {
		_ = k.cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-k.exited:
			if err != nil {
				k.t.Errorf("server exited with %v; log %s", err, k.logPath)
			}
		case <-time.After(15 * time.Second):
			_ = k.cmd.Process.Kill()
			k.t.Errorf("server did not stop within 15s; log %s", k.logPath)
		}
	}
	for run := 1; run <= k.runs; run++ {
		path := filepath.Join(outDir, fmt.Sprintf("%s.run%d.server.log", strings.ReplaceAll(k.t.Name(), "/", "_"), run))
		data, _ := os.ReadFile(path)
		for _, bad := range []string{"WARNING: DATA RACE", "panic:"} {
			if bytes.Contains(data, []byte(bad)) {
				k.t.Errorf("%s in the server; log %s", bad, path)
			}
		}
	}
}

// portBlocks returns the first of n consecutive blocks of 100 free ports.
func portBlocks(t *testing.T, n int) int {
	t.Helper()
	for try := 0; try < 10; try++ {
		first := newPorts(t).base
		ok := true
		for i := 1; i < n && ok; i++ {
			ok = newPorts(t).base == first+i*100
		}
		if ok {
			return first
		}
	}
	t.Fatalf("no %d consecutive free port blocks", n)
	return 0
}

// endedHooks is a webhook receiver that keeps the ended events it gets,
// by call.
type endedHooks struct {
	mu    sync.Mutex
	ended map[string]webhook.Event
}

func (h *endedHooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var e webhook.Event
	if json.Unmarshal(body, &e) == nil && e.Kind == "ended" {
		h.mu.Lock()
		h.ended[e.CallID] = e
		h.mu.Unlock()
	}
}

func (h *endedHooks) get(id string) (webhook.Event, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.ended[id]
	return e, ok
}

// kill -9 under live bridged recorded calls, with an agent away, an hours
// override, a web session and registered phones; a restart on the same
// data directory loses none of them: every call's record is closed
// (failed, "server stopped", at the last sign of life, with its talk
// time) with its ended event delivered to the webhook, every recording
// downloads as a WAV that parses, the agents are back in their states,
// the override is in force, the session cookie works and the phones are
// rung without registering again.
func TestKillNineLosesNothing(t *testing.T) {
	hooks := &endedHooks{ended: map[string]webhook.Event{}}
	recv := httptest.NewServer(hooks)
	defer recv.Close()

	p := newPorts(t)
	// RTP: the server and the generator each have blocks for two legs a
	// call (two ports a leg) and some to spare; the server's second run
	// uses the same range as its first.
	legBlocks := (4*killCalls + 20 + 99) / 100
	rtp := portBlocks(t, 2*legBlocks)
	genRTP := rtp + legBlocks*100
	var agents strings.Builder
	genAgent := map[string]bool{} // the load generator's extensions
	for i := 0; i < killCalls; i++ {
		ext := 2001 + i
		genAgent[itoa(ext)] = true
		fmt.Fprintf(&agents, "  - {extension: \"%d\", name: Load %d, password: demo%d, queues: [sales], login_on_register: true}\n", ext, ext, ext)
	}
	k := newKillable(t, p, [][2]string{
		{"rtp_port_min: 20000", fmt.Sprintf("rtp_port_min: %d", rtp)},
		{"rtp_port_max: 29999", fmt.Sprintf("rtp_port_max: %d", genRTP-1)},
		{"\nhours:", "\n" + agents.String() + "\nhours:"},
		{"feature_codes:", fmt.Sprintf("webhooks:\n  - {url: %q, events: [ended]}\n\nfeature_codes:", recv.URL)},
	})
	first := k.start()
	t.Cleanup(k.stop)
	s := &server{t: t, sipAddr: fmt.Sprintf("127.0.0.1:%d", p.sip()), http: fmt.Sprintf("http://127.0.0.1:%d", p.http()), ports: p, data: k.data}
	t.Logf("first start: ready after %s", first.Round(time.Millisecond))

	// Agents: 1003 away for lunch, 1004 available, the generator's logged
	// in by their phones' registrations. Hours: "always" forced open. A
	// supervisor's browser session.
	for _, step := range []struct{ method, path, body string }{
		{"POST", "/api/v1/agents/1003/login", ""},
		{"POST", "/api/v1/agents/1003/state", `{"state": "away", "reason": "lunch"}`},
		{"POST", "/api/v1/agents/1004/login", ""},
		{"PUT", "/api/v1/hours/always/override", `{"state": "open"}`},
	} {
		var body any
		if step.body != "" {
			_ = json.Unmarshal([]byte(step.body), &body)
		}
		if code := s.api(step.method, step.path, body, nil); code != 200 {
			t.Fatalf("%s %s: %d", step.method, step.path, code)
		}
	}
	res, err := http.Post(s.http+"/api/v1/session", "application/json", strings.NewReader(`{"username": "supervisor", "password": "demo-supervisor"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "sb_session" {
			cookie = c
		}
	}
	if res.StatusCode != 200 || cookie == nil {
		t.Fatalf("web login: %d, cookies %v", res.StatusCode, res.Cookies())
	}

	// The generator's agents register and answer; its callers press 1
	// (sales, recorded) and talk for ten minutes.
	genSIP, _ := p.phone(5)
	genOut, err := os.Create(filepath.Join(outDir, strings.ReplaceAll(t.Name(), "/", "_")+".load.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer genOut.Close()
	gen := exec.Command(serverBin, "load", "--target", s.sipAddr, "--sip-port", itoa(genSIP),
		"--rtp-ports", itoa(genRTP)+"-"+itoa(genRTP+legBlocks*100-1), "--agents", itoa(killCalls), "--first-ext", "2001",
		"--calls", itoa(killCalls), "--rate", "10", "--aht", "10m", "--handle-dist", "constant", "--ring-delay", "200ms",
		"--greeting", "1s", "--timeout", "5m")
	gen.Stdout, gen.Stderr = genOut, genOut
	if err := gen.Start(); err != nil {
		t.Fatal(err)
	}
	genDone := make(chan struct{})
	go func() { _ = gen.Wait(); close(genDone) }()
	t.Cleanup(func() {
		_ = gen.Process.Kill()
		<-genDone
	})

	// Every call connected, and its recording past two seconds of audio.
	var live []callRecord
	waitFor(t, 60*time.Second, fmt.Sprintf("%d calls connected", killCalls), func() bool {
		select {
		case <-genDone:
			t.Fatalf("the load generator exited; log %s", genOut.Name())
		default:
		}
		var list struct{ Calls []callRecord }
		s.api("GET", "/api/v1/calls?limit=200", nil, &list)
		live = live[:0]
		for _, c := range list.Calls {
			if c.Outcome == "in_progress" && c.ConnectedAt != nil && c.Queue == "sales" && genAgent[c.Agent] {
				live = append(live, c)
			}
		}
		return len(live) == killCalls
	})
	waitFor(t, 30*time.Second, "every recording past 2 s", func() bool {
		for _, c := range live {
			m, _ := filepath.Glob(filepath.Join(k.data, "recordings", "*", "*", "*", c.ID+".wav"))
			if len(m) != 1 {
				return false
			}
			if fi, err := os.Stat(m[0]); err != nil || fi.Size() < 44+2*8000*4 {
				return false
			}
		}
		return true
	})

	killedAt := k.kill()
	// The generator's legs of the killed calls go on sending RTP to the
	// ports the first run had given them, as phones and carriers do until
	// they time out; the second run, on the same range, must not take such
	// a stream for a new call's caller (the call placed below checks it).
	restart := k.start()
	t.Logf("kill -9 under %d bridged recorded calls; restart on the same data directory: ready %s after the process started (%s after the kill)",
		killCalls, restart.Round(time.Millisecond), time.Since(killedAt).Round(time.Millisecond))

	// Every call is closed, at most a couple of seconds before the kill,
	// never before it was connected, with its talk time.
	var list struct{ Calls []callRecord }
	s.api("GET", "/api/v1/calls?limit=200", nil, &list)
	for _, c := range list.Calls {
		if c.Outcome == "in_progress" {
			t.Errorf("call %s still in progress after the restart", c.ID)
		}
	}
	lost := 0
	for _, c := range live {
		var r callRecord
		if code := s.api("GET", "/api/v1/calls/"+c.ID, nil, &r); code != 200 {
			t.Errorf("call %s: %d", c.ID, code)
			lost++
			continue
		}
		ended, connected := parseTime(t, r.EndedAt), parseTime(t, r.ConnectedAt)
		switch {
		case r.Outcome != "failed" || r.Reason != "server stopped" || r.HangupBy != "system":
			t.Errorf("call %s: %s (%s) by %s, want failed (server stopped) by system", r.ID, r.Outcome, r.Reason, r.HangupBy)
		case ended.IsZero() || ended.After(killedAt.Add(2*time.Second)) || ended.Before(killedAt.Add(-3*time.Second)) || ended.Before(connected):
			t.Errorf("call %s: ended %s, connected %s, killed %s", r.ID, ended, connected, killedAt)
		case r.TalkSeconds <= 0 || r.TalkSeconds > ended.Sub(connected).Seconds()+0.001:
			t.Errorf("call %s: talk %.3f s, ended %.3f s after it connected", r.ID, r.TalkSeconds, ended.Sub(connected).Seconds())
		case !slices.Contains(r.details("ended"), ": failed"):
			t.Errorf("call %s: no ended event: %v", r.ID, r.kinds())
		default:
			if !checkRecording(t, s, r.ID) {
				lost++
			}
			continue
		}
		lost++
	}
	waitFor(t, 30*time.Second, "every killed call's ended event at the webhook", func() bool {
		for _, c := range live {
			if e, ok := hooks.get(c.ID); !ok || e.Detail != "failed" {
				return false
			}
		}
		return true
	})

	// The agents are back in their states; the generator's, on calls when
	// the server died, are available.
	want := map[string]string{"1001": "logged_out", "1002": "logged_out", "1003": "away:lunch", "1004": "available"}
	for ext := range genAgent {
		want[ext] = "available"
	}
	var views struct {
		Agents []struct {
			ID     string `json:"id"`
			State  string `json:"state"`
			Reason string `json:"reason"`
		} `json:"agents"`
	}
	s.api("GET", "/api/v1/agents", nil, &views)
	got := map[string]string{}
	for _, v := range views.Agents {
		got[v.ID] = v.State
		if v.Reason != "" {
			got[v.ID] += ":" + v.Reason
		}
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("agent %s after the restart: %q, want %q", id, got[id], w)
			lost++
		}
	}
	var hours []struct{ Name, Override string }
	s.api("GET", "/api/v1/hours", nil, &hours)
	if len(hours) != 1 || hours[0].Override != "open" {
		t.Errorf("hours after the restart: %+v, want always forced open", hours)
		lost++
	}
	req, _ := http.NewRequest("GET", s.http+"/api/v1/me", nil)
	req.AddCookie(cookie)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var me struct{ Username string }
	_ = json.NewDecoder(res.Body).Decode(&me)
	res.Body.Close()
	if res.StatusCode != 200 || me.Username != "supervisor" {
		t.Errorf("the web session after the restart: %d %+v", res.StatusCode, me)
		lost++
	}
	var stats struct {
		Registered int `json:"registered_phones"`
	}
	if s.api("GET", "/api/v1/stats", nil, &stats); stats.Registered != killCalls {
		t.Errorf("registered phones after the restart: %d, want %d", stats.Registered, killCalls)
		lost++
	}

	// A new caller for sales reaches one of the generator's phones, which
	// have not registered again.
	caller := call(t, s, 1, "after-restart", callerSpec{Service: "100", PreMS: 1000, DigitPcap: pcapDir + "/dtmf_2833_1.pcap",
		WaitMS: 1000, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 2000})
	caller.mustSucceed(t, 40*time.Second)
	after := s.lastCallWhere(t, func(c callRecord) bool { return c.Caller == "5551234" })
	if after.Outcome != "answered" || !genAgent[after.Agent] {
		t.Errorf("the call after the restart: %s by %q, want answered by a generator's phone", after.Outcome, after.Agent)
		lost++
	}
	res, err = http.Get(s.http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if bytes.Contains(metrics, []byte(`switchboard_sip_requests_total{method="REGISTER"}`)) {
		t.Errorf("phones registered again after the restart:\n%s", grepLines(string(metrics), `method="REGISTER"`))
	}
	t.Logf("lost after kill -9: %d (of %d calls with their recordings, %d agents' states, 1 hours override, 1 web session, %d registrations)",
		lost, killCalls, len(want), killCalls)
}

// checkRecording downloads a call's recording and reports whether it is a
// complete 8 kHz two-channel WAV with audio in it.
func checkRecording(t *testing.T, s *server, id string) bool {
	t.Helper()
	var wav []byte
	if code := s.apiRaw("GET", "/api/v1/calls/"+id+"/recording", &wav); code != 200 {
		t.Errorf("recording of %s: %d %s", id, code, wav)
		return false
	}
	le := binary.LittleEndian
	if len(wav) < 44 || string(wav[0:4]) != "RIFF" || string(wav[8:12]) != "WAVE" || string(wav[36:40]) != "data" ||
		le.Uint16(wav[22:]) != 2 || le.Uint32(wav[24:]) != 8000 {
		t.Errorf("recording of %s is not an 8 kHz two-channel WAV: % x", id, wav[:min(len(wav), 44)])
		return false
	}
	riff, data := int(le.Uint32(wav[4:])), int(le.Uint32(wav[40:]))
	if riff != len(wav)-8 || data != len(wav)-44 || data%4 != 0 || data < 2*8000*4 {
		t.Errorf("recording of %s: %d bytes, RIFF size %d, data size %d", id, len(wav), riff, data)
		return false
	}
	return true
}

func parseTime(t *testing.T, s *string) time.Time {
	t.Helper()
	if s == nil {
		return time.Time{}
	}
	v, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		t.Fatalf("time %q: %v", *s, err)
	}
	return v
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
