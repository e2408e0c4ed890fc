// Package cluster_test runs a real cluster on loopback: PostgreSQL, Kamailio
// in front and two nodes (scripts/cluster-local.sh), with SIPp callers that
// talk only to Kamailio, and kills the leader with SIGKILL.
package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// need skips the test when a tool is missing, unless under CI (where the
// test command has installed them all).
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s not installed", tool)
			}
			t.Skipf("%s not installed (scripts/test.sh installs it)", tool)
		}
	}
}

func root(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "..", "..")
}

func script(t *testing.T, args ...string) { scriptEnv(t, nil, args...) }

// scriptEnv runs cluster-local.sh with env added to the environment.
func scriptEnv(t *testing.T, env []string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(root(t), "scripts", "cluster-local.sh")}, args...)...)
	cmd.Dir = root(t)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cluster-local.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

type clusterView struct {
	Leader string `json:"leader"`
	Epoch  int64  `json:"epoch"`
	Nodes  []struct {
		Name  string `json:"name"`
		Alive bool   `json:"alive"`
	} `json:"nodes"`
}

func (v clusterView) alive() []string {
	var out []string
	for _, n := range v.Nodes {
		if n.Alive {
			out = append(out, n.Name)
		}
	}
	return out
}

type callRecord struct {
	ID          string     `json:"id"`
	Node        string     `json:"node"`
	Outcome     string     `json:"outcome"`
	Queue       string     `json:"queue"`
	Dialed      string     `json:"dialed"`
	Agent       string     `json:"agent"`
	QueuedAt    *time.Time `json:"queued_at"`
	OfferedAt   *time.Time `json:"offered_at"`
	ConnectedAt *time.Time `json:"connected_at"`
	Reason      string     `json:"reason"`
	HangupBy    string     `json:"hangup_by"`
	Caller      string     `json:"caller"`
	Source      string     `json:"source"`
	EndedAt     string     `json:"ended_at"`
}

// nodeIP is node k's address (node1 on 127.0.0.2).
func nodeIP(name string) string {
	k, _ := strconv.Atoi(strings.TrimPrefix(name, "node"))
	return fmt.Sprintf("127.0.0.%d", k+1)
}

func get(t *testing.T, node, path string, out any) bool {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+nodeIP(node)+":8080"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", "demo-admin")
	c := http.Client{Timeout: 2 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	return res.StatusCode == 200 && json.NewDecoder(res.Body).Decode(out) == nil
}

func view(t *testing.T, node string) (clusterView, bool) {
	var v clusterView
	ok := get(t, node, "/api/v1/cluster", &v)
	return v, ok
}

func calls(t *testing.T, node string) []callRecord {
	t.Helper()
	var out struct {
		Calls []callRecord `json:"calls"`
	}
	if !get(t, node, "/api/v1/calls?limit=500", &out) {
		t.Fatalf("GET /api/v1/calls on %s failed", node)
	}
	return out.Calls
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond) // polling a condition with a deadline
	}
	t.Fatalf("%s: not within %s", what, d)
	return 0
}

func freePort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// sipp starts SIPp callers through Kamailio: n calls at rate per second,
// each hold ms long, with callers 5550<k> (k the SIPp call number).
func sipp(t *testing.T, dir string, n, rate int, hold time.Duration) *sippRun {
	t.Helper()
	port := freePort(t)
	work := filepath.Join(dir, fmt.Sprintf("sipp-%d", time.Now().UnixNano()))
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sipp", "-sf", filepath.Join(root(t), "test", "scenarios", "caller_proxy.xml"), "127.0.0.1:5060",
		"-s", "100", "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mp", strconv.Itoa(freePort(t)),
		"-m", strconv.Itoa(n), "-r", strconv.Itoa(rate), "-d", strconv.Itoa(int(hold.Milliseconds())),
		"-timeout", "90s", "-nostdin", "-trace_rtt", "-rtt_freq", "1", "-trace_stat")
	cmd.Dir = work
	log, err := os.Create(filepath.Join(work, "sipp.out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck // already ended in the normal case
	return &sippRun{cmd: cmd, source: "127.0.0.1:" + strconv.Itoa(port)}
}

// sippRun is a SIPp run and the address its callers signal from.
type sippRun struct {
	cmd    *exec.Cmd
	source string
}

// sippResult waits for SIPp and returns its successful and failed calls
// and the slowest INVITE → 200 (post-dial delay) it measured.
func sippResult(t *testing.T, run *sippRun) (ok, failed int, slowest time.Duration) {
	t.Helper()
	cmd := run.cmd
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }() //nolint:errcheck // SIPp exits 1 when a call failed: the counts say it
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		t.Fatal("SIPp did not finish")
	}
	out, _ := os.ReadFile(filepath.Join(cmd.Dir, "sipp.out"))
	count := func(label string) int {
		m := regexp.MustCompile(label + `\s*\|\s*\d+\s*\|\s*(\d+)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("no %q in SIPp's output:\n%s", label, out)
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	rtts, _ := filepath.Glob(filepath.Join(cmd.Dir, "*_rtt.csv"))
	for _, f := range rtts {
		b, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Split(line, ";")
			if len(fields) < 2 {
				continue
			}
			if ms, err := strconv.ParseFloat(fields[1], 64); err == nil {
				slowest = max(slowest, time.Duration(ms*float64(time.Millisecond)))
			}
		}
	}
	return count("Successful call"), count("Failed call"), slowest
}

// kill9 kills node with SIGKILL and returns when.
func kill9(t *testing.T, dir, node string) time.Time {
	t.Helper()
	pid, err := os.ReadFile(filepath.Join(dir, node+".pid"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
	if err := syscall.Kill(p, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	return time.Now()
}

// waitLeads waits (5 s at most) for survivor to lead with an epoch above
// epoch and returns how long that took.
func waitLeads(t *testing.T, survivor string, epoch int64) time.Duration {
	t.Helper()
	return waitFor(t, 5*time.Second, "the survivor leads with a higher epoch", func() bool {
		v, ok := view(t, survivor)
		return ok && v.Leader == survivor && v.Epoch > epoch
	})
}

// waitLost waits (10 s at most) until survivor shows n calls of the dead
// node closed as "node lost".
func waitLost(t *testing.T, survivor, dead string, n int) {
	t.Helper()
	waitFor(t, 10*time.Second, "the dead node's calls closed as node lost", func() bool {
		closed := 0
		for _, c := range calls(t, survivor) {
			if c.Node == dead && c.Outcome == "failed" && c.Reason == "node lost" {
				closed++
			}
		}
		return closed == n
	})
}

func TestLeaderKilledBehindKamailio(t *testing.T) {
	need(t, "kamailio", "sipp", "psql", "curl")
	dir := t.TempDir()
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range []string{"node1.log", "node2.log", "kamailio.log"} {
				b, _ := os.ReadFile(filepath.Join(dir, f))
				t.Logf("%s (end):\n%s", f, b[max(0, len(b)-3000):])
			}
		}
		script(t, "down", dir)
	})
	script(t, "up", dir, "2")

	var v clusterView
	waitFor(t, 10*time.Second, "both nodes see both, and one leader", func() bool {
		v1, ok1 := view(t, "node1")
		v2, ok2 := view(t, "node2")
		v = v1
		return ok1 && ok2 && len(v1.alive()) == 2 && len(v2.alive()) == 2 && v1.Leader != "" && v1.Leader == v2.Leader && v1.Epoch >= 1
	})
	leader, epoch := v.Leader, v.Epoch
	checkSharedSIP(t)
	survivor := "node1"
	if leader == "node1" {
		survivor = "node2"
	}

	// Eight callers through Kamailio, each staying 14 s: up on both nodes
	// when the leader is killed.
	run := sipp(t, dir, 8, 4, 14*time.Second)
	waitFor(t, 15*time.Second, "all eight calls up", func() bool {
		n := 0
		for _, c := range calls(t, survivor) {
			if c.Outcome == "in_progress" {
				n++
			}
		}
		return n == 8
	})
	byNode := map[string][]string{}
	for _, c := range calls(t, survivor) {
		byNode[c.Node] = append(byNode[c.Node], c.ID)
		if c.Source != run.source { // what Kamailio reported, not Kamailio's own address
			t.Errorf("call %s's source is %q, want the caller's %s", c.ID, c.Source, run.source)
		}
	}
	if len(byNode[leader]) == 0 || len(byNode[survivor]) == 0 {
		t.Fatalf("Kamailio sent the calls to one node only: %v", byNode)
	}
	killed := kill9(t, dir, leader)

	took := waitLeads(t, survivor, epoch)
	t.Logf("%s killed; %s leads after %s", leader, survivor, took.Round(10*time.Millisecond))

	waitLost(t, survivor, leader, len(byNode[leader]))
	t.Logf("%d calls of %s closed as node lost %s after the kill", len(byNode[leader]), leader, time.Since(killed).Round(100*time.Millisecond))

	ok, failed, _ := sippResult(t, run)
	if ok != len(byNode[survivor]) || failed != len(byNode[leader]) {
		t.Fatalf("SIPp: %d calls ended well, %d failed; want the survivor's %d and the dead node's %d", ok, failed, len(byNode[survivor]), len(byNode[leader]))
	}
	for _, c := range calls(t, survivor) {
		if c.Node == survivor && c.Outcome == "failed" {
			t.Errorf("a call of the survivor failed: %+v", c)
		}
	}

	// New calls reach the survivor, within 2.5 s of post-dial delay.
	ok, failed, slowest := sippResult(t, sipp(t, dir, 4, 4, time.Second))
	if ok != 4 || failed != 0 || slowest > 2500*time.Millisecond {
		t.Fatalf("new calls after the kill: %d ok, %d failed, slowest answer %s", ok, failed, slowest)
	}
	t.Logf("new calls after the kill answered, slowest in %s", slowest)

	// The killed node comes back as a follower; the survivor keeps leading.
	after, _ := view(t, survivor)
	script(t, "up", dir, "2")
	waitFor(t, 10*time.Second, "the restarted node rejoins as a follower", func() bool {
		v, ok := view(t, leader)
		return ok && len(v.alive()) == 2 && v.Leader == survivor && v.Epoch == after.Epoch
	})
}
