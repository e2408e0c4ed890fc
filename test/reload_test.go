package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// reloadAgents is how many generator agents answer sales in the reload
// test: one per call, and a spare.
const (
	reloadCalls  = 50
	reloadAgents = reloadCalls + 2
)

// TestReloadUnder50CallsDropsNone changes the setup three times — SIGHUP,
// POST /api/v1/config/reload and `switchboard config apply` — while 50
// bridged calls are up: sales's strategy changes, an agent is added, an
// agent on a call is removed. Every call goes on to the end its agent
// gives it; none is dropped.
func TestReloadUnder50CallsDropsNone(t *testing.T) {
	if testing.Short() {
		t.Skip("50 calls")
	}
	// The generator's agents are 1005.. (sales); 1001 stays for the demo's lines.
	var agents strings.Builder
	for i := 0; i < reloadAgents; i++ {
		ext := 1005 + i
		fmt.Fprintf(&agents, "  - {extension: \"%d\", name: Gen%d, password: demo%d, queues: [sales], login_on_register: true}\n", ext, ext, ext)
	}
	alice := `  - {extension: "1001", name: Alice, password: demo1001, queues: [sales], login_on_register: true}` + "\n"
	// 50 bridged calls use 200 of the server's RTP ports (two legs, RTP and
	// RTCP each) and as many of the generator's: ranges of their own, below
	// every other test's.
	s := startServer(t, alice, alice+agents.String(), "rtp_port_min: 20000", "rtp_port_min: 10000", "rtp_port_max: 29999", "rtp_port_max: 10499")
	setupPath := filepath.Join(filepath.Dir(s.dataDir()), "setup.yaml")
	orig, err := os.ReadFile(setupPath)
	if err != nil {
		t.Fatal(err)
	}

	sipPort, _ := s.ports.phone(5)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	load := exec.CommandContext(ctx, serverBin, "load", "--target", s.sipAddr, "--sip-port", itoa(sipPort), "--rtp-ports", "10500-10999",
		"--agents", itoa(reloadAgents), "--first-ext", "1005", "--calls", itoa(reloadCalls), "--rate", "10",
		"--aht", "40s", "--handle-dist", "constant", "--greeting", "1s", "--json", "--timeout", "150s")
	var stdout, stderr bytes.Buffer
	load.Stdout, load.Stderr = &stdout, &stderr
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	loaded := make(chan error, 1)
	go func() { loaded <- load.Wait() }()

	connected := func() int {
		var list struct{ Calls []callRecord }
		s.api("GET", "/api/v1/calls?limit=200", nil, &list)
		n := 0
		for _, c := range list.Calls {
			if c.Outcome == "in_progress" && c.ConnectedAt != nil {
				n++
			}
		}
		return n
	}
	waitFor(t, 60*time.Second, "50 bridged calls", func() bool {
		select {
		case err := <-loaded:
			t.Fatalf("the generator ended early: %v\n%s\n%s", err, stdout.String(), tail(stderr.String(), 20))
		default:
		}
		return connected() == reloadCalls
	})
	// The agent the reload removes: one on a call (two of the agents are
	// free, whichever registered last).
	victim := ""
	for i := 0; i < reloadAgents && victim == ""; i++ {
		var a struct {
			State string `json:"state"`
		}
		if ext := itoa(1005 + i); s.api("GET", "/api/v1/agents/"+ext, nil, &a) == 200 && a.State == "on_call" {
			victim = ext
		}
	}
	if victim == "" {
		t.Fatal("no generator agent on a call")
	}

	// 1. SIGHUP: sales rings round robin.
	setup := strings.Replace(string(orig), "strategy: longest_idle", "strategy: round_robin", 1)
	write := func(s string) {
		if err := os.WriteFile(setupPath, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(setup)
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	strategy := func() string {
		var q struct {
			Strategy string `json:"strategy"`
		}
		s.api("GET", "/api/v1/queues/sales", nil, &q)
		return q.Strategy
	}
	waitFor(t, 10*time.Second, "SIGHUP to apply round_robin", func() bool { return strategy() == "round_robin" })

	// 2. POST /api/v1/config/reload: 1099 joins, the victim (on a call) goes.
	gone := fmt.Sprintf("  - {extension: \"%s\", name: Gen%s, password: demo%s, queues: [sales], login_on_register: true}\n", victim, victim, victim)
	added := `  - {extension: "1099", name: Newcomer, password: demo1099, queues: [sales]}` + "\n"
	if !strings.Contains(setup, gone) {
		t.Fatalf("the setup has no agent %s line to remove", victim)
	}
	setup = strings.Replace(setup, gone, added, 1)
	write(setup)
	var res struct {
		Applied bool `json:"applied"`
		Changes struct {
			Added   []string `json:"agents_added"`
			Removed []string `json:"agents_removed"`
		} `json:"changes"`
	}
	if code := s.api("POST", "/api/v1/config/reload", nil, &res); code != 200 || !res.Applied ||
		fmt.Sprint(res.Changes.Added) != "[1099]" || fmt.Sprint(res.Changes.Removed) != "["+victim+"]" {
		t.Fatalf("reload: %d %+v", code, res)
	}
	var newcomer struct {
		State string `json:"state"`
	}
	if code := s.api("GET", "/api/v1/agents/1099", nil, &newcomer); code != 200 || newcomer.State != "logged_out" {
		t.Fatalf("the new agent: %d %+v", code, newcomer)
	}

	// An invalid file is refused with file:line and nothing changes.
	write(strings.Replace(setup, "strategy: round_robin", "strategy: fastest", 1))
	var bad struct {
		Errors []string `json:"errors"`
	}
	body := []byte{}
	if code := s.apiRaw("POST", "/api/v1/config/reload", &body); code != 422 || json.Unmarshal(body, &bad) != nil ||
		len(bad.Errors) == 0 || !strings.HasPrefix(bad.Errors[0], setupPath+":") {
		t.Fatalf("reload of an invalid setup: %d %s", code, body)
	}
	if strategy() != "round_robin" {
		t.Fatal("an invalid setup changed the strategy")
	}

	// 3. switchboard config apply: back to longest idle, from another file.
	other := filepath.Join(t.TempDir(), "next.yaml")
	if err := os.WriteFile(other, []byte(strings.Replace(setup, "strategy: round_robin", "strategy: longest_idle", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	apply := exec.Command(serverBin, "config", "apply", "-f", other, "--server", s.http, "--user", "admin")
	apply.Stdin = strings.NewReader("demo-admin\n")
	if out, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("config apply: %v\n%s", err, out)
	}
	if strategy() != "longest_idle" {
		t.Fatal("config apply did not apply the strategy")
	}
	if written, _ := os.ReadFile(setupPath); !bytes.Contains(written, []byte("1099")) || bytes.Contains(written, []byte("round_robin")) {
		t.Fatal("config apply did not write the applied setup over the server's file")
	}
	// switchboard config export gives the applied file back, byte for byte.
	export := exec.Command(serverBin, "config", "export", "--server", s.http, "--user", "admin")
	export.Stdin = strings.NewReader("demo-admin\n")
	exported, err := export.Output()
	if err != nil {
		t.Fatalf("config export: %v", err)
	}
	if want, _ := os.ReadFile(other); !bytes.Equal(exported, want) {
		t.Fatalf("config export is not the applied file:\n%s", exported)
	}
	// Each setup put in force is a version: the start's, SIGHUP's, the
	// reload's and the apply's.
	var versions struct {
		Running  int `json:"running"`
		Versions []struct {
			Actor  string `json:"by"`
			Origin string `json:"origin"`
		} `json:"versions"`
	}
	if code := s.api("GET", "/api/v1/config/versions", nil, &versions); code != 200 || versions.Running != 4 || len(versions.Versions) != 4 ||
		versions.Versions[0].Origin != "apply" || versions.Versions[0].Actor != "admin" || versions.Versions[2].Actor != "SIGHUP" {
		t.Fatalf("setup versions: %d %+v", code, versions)
	}

	if c := connected(); c != reloadCalls {
		t.Fatalf("%d calls bridged after the reloads, want %d", c, reloadCalls)
	}
	select {
	case err := <-loaded:
		if err != nil {
			t.Fatalf("load: %v\n%s\n%s", err, stdout.String(), tail(stderr.String(), 20))
		}
	case <-ctx.Done():
		t.Fatal("the generator did not finish")
	}
	var rep struct {
		Placed, Answered, Abandoned, Failed int
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if rep.Placed != reloadCalls || rep.Answered != reloadCalls || rep.Failed != 0 || rep.Abandoned != 0 {
		t.Fatalf("generator report %+v\n%s", rep, stdout.String())
	}
	// The server agrees: every call answered and hung up by its agent at the
	// end of its talk time; the victim was logged out after its call.
	var list struct{ Calls []callRecord }
	waitFor(t, 20*time.Second, "50 answered records", func() bool {
		s.api("GET", "/api/v1/calls?limit=200", nil, &list)
		n := 0
		for _, c := range list.Calls {
			if c.Outcome == "answered" && c.HangupBy == "agent" && c.TalkSeconds > 35 {
				n++
			}
		}
		return n == reloadCalls
	})
	for _, c := range list.Calls {
		if c.Outcome != "answered" {
			t.Errorf("call %s: %s (%s)", c.ID, c.Outcome, c.Reason)
		}
	}
	waitFor(t, 10*time.Second, victim+" gone after its call", func() bool { return s.api("GET", "/api/v1/agents/"+victim, nil, nil) == 404 })
}
