package cluster_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// lineSetup is the demo setup with one more queue, "line", that all four
// agents work, reached straight from number 200.
func lineSetup(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), "examples", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, e := range [][2]string{
		{"\nqueues:\n", "\nqueues:\n  - {name: line, strategy: longest_idle, ring_timeout: 15s}\n"},
		{"\nnumbers:\n", "\nnumbers:\n  - {number: \"200\", flow: line}\n"},
		{"\nflows:\n", "\nflows:\n  - name: line\n    start: wait\n    steps:\n      wait: {type: queue, queue: line}\n"},
	} {
		if !strings.Contains(s, e[0]) {
			t.Fatalf("demo.yaml has no %q", e[0])
		}
		s = strings.Replace(s, e[0], e[1], 1)
	}
	s = strings.ReplaceAll(s, ", queues: [", ", queues: [line, ") // every agent works the line too
	path := filepath.Join(dir, "setup.yaml")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sippAgent starts agent ext's phone: a SIPp UAS answering through
// Kamailio, talking talk per call, and registers it through Kamailio.
func sippAgent(t *testing.T, dir, ext string, talk time.Duration) {
	t.Helper()
	work := filepath.Join(dir, "agent-"+ext)
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	port, mport := freePort(t), freePort(t)
	uas := exec.Command("sipp", "-sf", filepath.Join(root(t), "test", "scenarios", "agent_proxy.xml"),
		"-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", strconv.Itoa(port), "-mp", strconv.Itoa(mport), "-rtp_echo",
		"-s", ext, "-d", strconv.Itoa(int(talk.Milliseconds())), "-m", "200", "-timeout", "400s", "-nostdin", "-trace_err")
	uas.Dir = work
	log, err := os.Create(filepath.Join(work, "uas.out"))
	if err != nil {
		t.Fatal(err)
	}
	uas.Stdout, uas.Stderr = log, log
	if err := uas.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { uas.Process.Kill(); uas.Wait() }) //nolint:errcheck // killed on purpose
	reg := exec.Command("sipp", "-sf", filepath.Join(root(t), "test", "scenarios", "register.xml"), "127.0.0.1:5060",
		"-i", "127.0.0.1", "-p", strconv.Itoa(freePort(t)), "-s", ext, "-au", ext, "-ap", "demo"+ext,
		"-key", "contact_port", strconv.Itoa(port), "-key", "expires", "600", "-m", "1", "-timeout", "15s", "-nostdin")
	reg.Dir = work
	if out, err := reg.CombinedOutput(); err != nil {
		t.Fatalf("agent %s did not register through Kamailio: %v\n%s", ext, err, out)
	}
}

// sippCallers starts n callers to number at rate per second through
// Kamailio, each staying until the agent hangs up; extra are more SIPp
// arguments.
func sippCallers(t *testing.T, dir, number string, n, rate int, extra ...string) *sippRun {
	t.Helper()
	work := filepath.Join(dir, fmt.Sprintf("callers-%d", time.Now().UnixNano()))
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	args := []string{"-sf", filepath.Join(root(t), "test", "scenarios", "caller_waits.xml"), "127.0.0.1:5060",
		"-s", number, "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-mp", strconv.Itoa(freePort(t)),
		"-m", strconv.Itoa(n), "-l", strconv.Itoa(n), "-r", strconv.Itoa(rate), "-timeout", "300s", "-nostdin", "-trace_rtt", "-rtt_freq", "1", "-trace_stat"}
	cmd := exec.Command("sipp", append(args, extra...)...)
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

type agentsView struct {
	Agents []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"agents"`
}

func agentStates(t *testing.T, node string) map[string]string {
	var v agentsView
	if !get(t, node, "/api/v1/agents", &v) {
		return nil
	}
	out := map[string]string{}
	for _, a := range v.Agents {
		out[a.ID] = a.State
	}
	return out
}

// acdEvent is an event of the ACD as psql returns it.
type acdEvent struct {
	seq                     int
	kind, call, agent, node string
	state, detail           string
}

func acdEvents(t *testing.T) []acdEvent {
	t.Helper()
	var out []acdEvent
	for _, row := range psqlRows(t, `SELECT seq, kind, call_id, agent, node, state, detail FROM events
 WHERE kind IN ('queued','offered','offer_declined','offer_timeout','offer_cancelled','answered','agent_call_ended','agent_state','left_queue','abandoned')
 ORDER BY seq`) {
		f := strings.Split(row, "|")
		if len(f) < 7 {
			continue
		}
		seq, _ := strconv.Atoi(f[0])
		out = append(out, acdEvent{seq: seq, kind: f[1], call: f[2], agent: f[3], node: f[4], state: f[5], detail: f[6]})
	}
	return out
}

// checkOneCallPerAgent fails if the ACD offered an agent a call while the
// agent was ringing for another or on one. Each term of a leader (its
// events) is checked from its start: a killed leader's last events may
// be lost, and the new leader's restore says where each agent stood.
func checkOneCallPerAgent(t *testing.T, events []acdEvent) {
	t.Helper()
	busy := map[string]string{} // agent → the call it rings for or is on
	term := ""
	for _, e := range events {
		if e.agent == "" || (e.kind != "agent_state" && e.kind != "offered" && e.kind != "answered" &&
			e.kind != "agent_call_ended" && !strings.HasPrefix(e.kind, "offer_")) {
			continue
		}
		if e.node != term {
			term, busy = e.node, map[string]string{}
		}
		switch e.kind {
		case "offered":
			if c, ok := busy[e.agent]; ok {
				t.Errorf("event %d: %s offered %s while busy with %s", e.seq, e.agent, e.call, c)
			}
			busy[e.agent] = e.call
		case "offer_declined", "offer_timeout", "offer_cancelled", "agent_call_ended":
			delete(busy, e.agent)
		case "agent_state":
			switch {
			case e.state == "available" || e.state == "logged_out" || e.state == "away":
				delete(busy, e.agent)
			case strings.Contains(e.detail, "restored"): // a new leader put the agent back on a call or ringing
				busy[e.agent] = "(restored)"
			}
		}
	}
}

// checkServiceOrder fails if a call was offered to an agent before a call
// of the same queue that had been waiting longer (by more than slack, the
// skew between two nodes' queue times), whichever node held each.
func checkServiceOrder(t *testing.T, recs []callRecord, slack time.Duration) {
	t.Helper()
	var offered []callRecord
	for _, c := range recs {
		if c.Queue == "line" && c.QueuedAt != nil && c.OfferedAt != nil {
			offered = append(offered, c)
		}
	}
	slices.SortFunc(offered, func(a, b callRecord) int { return a.QueuedAt.Compare(*b.QueuedAt) })
	for i, a := range offered {
		for _, b := range offered[i+1:] {
			if b.QueuedAt.Sub(*a.QueuedAt) > slack && b.OfferedAt.Before(*a.OfferedAt) {
				t.Errorf("call %s (%s, queued %s) was offered at %s, before call %s (%s, queued %s earlier) at %s",
					b.ID, b.Node, b.QueuedAt.Format("15:04:05.000"), b.OfferedAt.Format("15:04:05.000"),
					a.ID, a.Node, a.QueuedAt.Format("15:04:05.000"), a.OfferedAt.Format("15:04:05.000"))
			}
		}
	}
}

// One queue across two nodes behind Kamailio: four SIPp agents register
// through Kamailio, 40 callers at 2/s through Kamailio wait in one queue
// and each talks 12 s; both nodes show all four agents; calls are offered
// in queue order whichever node holds them, and no agent is offered two
// calls (from the event log). At 30 s the leader is killed: the survivor
// leads within a second with a higher epoch, its callers on calls reach
// their own BYE, its waiting callers are answered in order; the dead
// node's calls, and only those, are closed as "node lost"; no agent
// registers again.
func TestOneQueueAcrossNodes(t *testing.T) {
	need(t, "kamailio", "sipp", "psql", "curl")
	dir := t.TempDir()
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range []string{"node1.log", "node2.log", "kamailio.log"} {
				b, _ := os.ReadFile(filepath.Join(dir, f))
				t.Logf("%s (end):\n%s", f, b[max(0, len(b)-4000):])
			}
		}
		script(t, "down", dir)
	})
	setup := lineSetup(t, dir)
	scriptEnv(t, []string{"SWITCHBOARD_SETUP=" + setup}, "up", dir, "2")
	var v clusterView
	waitFor(t, 10*time.Second, "both nodes alive, one leader", func() bool {
		v1, ok1 := view(t, "node1")
		v2, ok2 := view(t, "node2")
		v = v1
		return ok1 && ok2 && len(v1.alive()) == 2 && v1.Leader != "" && v1.Leader == v2.Leader
	})

	for _, ext := range []string{"1001", "1002", "1003", "1004"} {
		sippAgent(t, dir, ext, 12*time.Second)
	}
	waitFor(t, 10*time.Second, "both nodes see the four agents available", func() bool {
		for _, node := range []string{"node1", "node2"} {
			s := agentStates(t, node)
			for _, ext := range []string{"1001", "1002", "1003", "1004"} {
				if s[ext] != "available" {
					return false
				}
			}
		}
		return true
	})

	callers := sippCallers(t, dir, "200", 40, 2)
	time.Sleep(30 * time.Second)
	v, _ = view(t, "node1")
	leader, epoch := v.Leader, v.Epoch
	survivor := map[string]string{"node1": "node2", "node2": "node1"}[leader]
	byNode := map[string][]string{}
	for _, c := range calls(t, survivor) {
		if c.Outcome == "in_progress" {
			byNode[c.Node] = append(byNode[c.Node], c.ID)
		}
	}
	if len(byNode[leader]) == 0 || len(byNode[survivor]) == 0 {
		t.Fatalf("at 30 s, calls up on one node only: %v", byNode)
	}
	killed := kill9(t, dir, leader)
	took := waitLeads(t, survivor, epoch)
	if took > time.Second {
		t.Errorf("the survivor took %s to lead, want within 1 s", took)
	}
	t.Logf("%s killed with %d calls up; %s (%d calls up) leads after %s", leader, len(byNode[leader]), survivor, len(byNode[survivor]),
		took.Round(10*time.Millisecond))
	waitLost(t, survivor, leader, len(byNode[leader]))
	t.Logf("the dead node's calls closed as node lost %s after the kill", time.Since(killed).Round(100*time.Millisecond))
	if ok, failed, slowest := sippResult(t, sipp(t, dir, 4, 4, time.Second)); ok != 4 || failed != 0 || slowest > 2500*time.Millisecond {
		t.Errorf("new calls after the kill: %d ok, %d failed, slowest answer %s", ok, failed, slowest)
	}

	ok, failed, _ := sippResult(t, callers)
	recs := calls(t, survivor)
	lost := 0
	for _, c := range recs {
		switch {
		case c.Dialed != "200": // the calls to the IVR after the kill
		case c.Node == leader && c.Outcome == "failed" && c.Reason == "node lost":
			lost++
		case c.Outcome == "in_progress":
			t.Errorf("call %s of %s still in progress after the callers ended", c.ID, c.Node)
		case c.Node == survivor && (c.Outcome != "answered" || c.ConnectedAt == nil):
			t.Errorf("a call of the survivor was not answered by an agent: %+v", c)
		}
	}
	if ok+failed != 40 || failed != lost {
		t.Errorf("SIPp: %d calls ended well and %d failed; %d were closed as node lost", ok, failed, lost)
	}
	t.Logf("%d calls answered and ended well, %d lost with %s", ok, lost, leader)
	checkServiceOrder(t, recs, 100*time.Millisecond)
	checkOneCallPerAgent(t, acdEvents(t))
	if rows := psqlRows(t, "SELECT COUNT(*) FROM registrations WHERE contact <> '' AND username IN ('1001','1002','1003','1004')"); len(rows) != 1 || rows[0] != "4" {
		t.Errorf("registrations after the run: %v, want the four agents' (none had to register again)", rows)
	}
}
