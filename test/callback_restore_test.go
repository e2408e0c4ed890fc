package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// Three callers in support ask to be called back, each at a number they
// key in (5550101, 5550102, 5550103, in the order they joined the queue);
// the server is killed with SIGKILL right after the last has heard the
// confirmation and started again on the same data directory. The three
// callbacks are still pending (same calls, records open), and once an
// agent registers they are dialled over the trunk in their original
// order, each answered by the customer: the trunk peer's INVITEs and the
// call records say so.
func TestCallbacksSurviveKillNine(t *testing.T) {
	p := newPorts(t)
	pstnSIP, pstnMedia := p.phone(4)
	k := newKillable(t, p, [][2]string{
		{"rtp_port_min: 20000", fmt.Sprintf("rtp_port_min: %d", p.base+60)},
		{"rtp_port_max: 29999", fmt.Sprintf("rtp_port_max: %d", p.base+99)},
		{`outbound: {host: "127.0.0.1:5080"`, fmt.Sprintf(`outbound: {host: "127.0.0.1:%d"`, pstnSIP)},
	})
	k.start()
	t.Cleanup(k.stop)
	s := &server{t: t, sipAddr: fmt.Sprintf("127.0.0.1:%d", p.sip()), http: fmt.Sprintf("http://127.0.0.1:%d", p.http()), ports: p, data: k.data}

	// No agent is logged in: each caller joins support (2), presses 1 for a
	// callback and keys their number; each joins after the one before.
	numbers := []string{"5550101", "5550102", "5550103"}
	var callers []*sipp
	for i, number := range numbers {
		keys := []step{{Key: "1"}, {PauseMS: 2500, Key: number[:1]}}
		for _, d := range number[1:] {
			keys = append(keys, step{PauseMS: 400, Key: string(d)})
		}
		keys = append(keys, step{PauseMS: 400, Key: "pound"})
		callers = append(callers, call(t, s, i+1, fmt.Sprintf("caller%d", i+1), callerSpec{Service: "100", PreMS: 500,
			DigitPcap: pcapDir + "/dtmf_2833_2.pcap", WaitMS: 2500, Then: keys, RemoteHangup: true}))
		waitFor(t, 15*time.Second, fmt.Sprintf("caller %d waiting in support", i+1), func() bool {
			var q queueState
			s.api("GET", "/api/v1/queues/support", nil, &q)
			return q.Waiting == i+1
		})
	}
	for _, c := range callers {
		c.mustSucceed(t, 60*time.Second) // disconnected by the server after the confirmation
	}
	ids := pendingCallbacks(t, s, numbers)

	k.kill()
	k.start()

	waitFor(t, 10*time.Second, "the callbacks back in support", func() bool {
		var q queueState
		s.api("GET", "/api/v1/queues/support", nil, &q)
		return q.Waiting == 3 && q.CallbacksPending == 3
	})
	for _, id := range ids {
		var r callRecord
		// The event is written by the store's writer, after the call is back in line.
		waitFor(t, 10*time.Second, "call "+id+" restored", func() bool {
			return s.api("GET", "/api/v1/calls/"+id, nil, &r) == 200 && r.hasEvent("callback_restored", "")
		})
		if r.Outcome != "callback_pending" {
			t.Fatalf("call %s after the restart: %+v %v", id, r, r.kinds())
		}
	}
	// The contract: after a kill and a restart no record is left in progress
	// (a pending callback's caller is gone: callback_pending).
	var all struct{ Calls []callRecord }
	s.api("GET", "/api/v1/calls?limit=50", nil, &all)
	for _, c := range all.Calls {
		if c.Outcome == "in_progress" {
			t.Fatalf("call %s in progress after the restart: %+v", c.ID, c)
		}
	}

	// The public network answers each callback, talks 2 s and hangs up;
	// agent 1003 takes the three callbacks one after the other.
	pstn := runSIPp(t, "pstn", "-sf", scenario("agent_hangup.xml"), "-p", fmt.Sprint(pstnSIP), "-mp", fmt.Sprint(pstnMedia),
		"-rtp_echo", "-m", "3", "-timeout", "120s", "-trace_msg", "-message_file", "pstn_messages.log")
	// (Not registerAgent: the agent is offered a callback the moment the
	// phone registers, so it is never seen available.)
	agentSIP, agentMedia := p.phone(0)
	agent := runSIPp(t, "agent-1003", "-sf", scenario("agent_answer.xml"), "-p", fmt.Sprint(agentSIP), "-mp", fmt.Sprint(agentMedia),
		"-rtp_echo", "-m", "3", "-timeout", "120s", "-s", "1003")
	register(t, s, 20, "1003", "demo1003", agentSIP, 300)
	pstn.mustSucceed(t, 120*time.Second)
	agent.mustSucceed(t, 30*time.Second)

	msgs, err := os.ReadFile(filepath.Join(outDir, strings.ReplaceAll(t.Name(), "/", "_"), "pstn_messages.log"))
	if err != nil {
		t.Fatal(err)
	}
	var dialled []string
	for _, m := range regexp.MustCompile(`(?m)^INVITE sip:(\d+)@`).FindAllSubmatch(msgs, -1) {
		dialled = append(dialled, string(m[1]))
	}
	if !slices.Equal(dialled, numbers) {
		t.Errorf("the trunk was sent INVITEs for %v, want %v (the order the callers joined)", dialled, numbers)
	}
	var connected []time.Time
	for i, id := range ids {
		rec := s.findCall(t, func(c callRecord) bool { return c.ID == id })
		if rec.Outcome != "answered" || rec.Agent != "1003" || rec.ConnectedAt == nil {
			t.Fatalf("callback %d (%s): %+v %v", i+1, id, rec, rec.kinds())
		}
		var attempts []string
		for _, e := range rec.Events {
			if e.Kind == "callback_attempt" {
				attempts = append(attempts, e.Detail)
			}
		}
		if want := "attempt=1 number=" + numbers[i] + " result=answered"; len(attempts) != 1 || attempts[0] != want {
			t.Errorf("callback %d attempts %q, want [%q]", i+1, attempts, want)
		}
		connected = append(connected, parseTime(t, rec.ConnectedAt))
	}
	if !slices.IsSortedFunc(connected, func(a, b time.Time) int { return a.Compare(b) }) {
		t.Errorf("callbacks connected at %v: not in their original order", connected)
	}
}

// pendingCallbacks returns the ids of the pending callbacks to numbers,
// in the order they joined their queue, checking there is one each.
func pendingCallbacks(t *testing.T, s *server, numbers []string) []string {
	t.Helper()
	var q queueState
	if s.api("GET", "/api/v1/queues/support", nil, &q); q.Waiting != len(numbers) || q.CallbacksPending != len(numbers) {
		t.Fatalf("support with the callbacks pending: %+v", q)
	}
	var list struct{ Calls []callRecord }
	s.api("GET", "/api/v1/calls?limit=50", nil, &list)
	var pending []callRecord
	for _, c := range list.Calls {
		if c.Dialed == "100" && c.Outcome == "callback_pending" && c.QueuedAt != nil {
			pending = append(pending, c)
		}
	}
	sort.Slice(pending, func(i, j int) bool {
		return parseTime(t, pending[i].QueuedAt).Before(parseTime(t, pending[j].QueuedAt))
	})
	if len(pending) != len(numbers) {
		t.Fatalf("%d calls waiting, want %d", len(pending), len(numbers))
	}
	ids := make([]string, len(pending))
	for i, c := range pending {
		var r callRecord
		s.api("GET", "/api/v1/calls/"+c.ID, nil, &r)
		var requested []string
		for _, e := range r.Events {
			if e.Kind == "callback_requested" {
				requested = append(requested, e.Detail)
			}
		}
		if len(requested) != 1 || !strings.HasPrefix(requested[0], "number="+numbers[i]+" ") {
			t.Fatalf("call %d in line (%s): callback requests %q, want number=%s", i+1, c.ID, requested, numbers[i])
		}
		ids[i] = c.ID
	}
	return ids
}
