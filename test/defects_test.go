package e2e

import (
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// queueTotal is one queue's total in GET /api/v1/reports/queues.
type queueTotal struct {
	Queue         string `json:"queue"`
	Offered       int    `json:"offered"`
	Answered      int    `json:"answered"`
	Abandoned     int    `json:"abandoned"`
	OverflowedOut int    `json:"overflowed_out"`
	Transfers     int    `json:"transfers"`
}

// queueTotals reads the queue report's totals from from to two hours later.
func queueTotals(t *testing.T, s *server, from time.Time) map[string]queueTotal {
	t.Helper()
	q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {from.Add(2 * time.Hour).Format(time.RFC3339)}, "interval": {"30m"}}
	var rep struct {
		Totals []queueTotal `json:"totals"`
	}
	if code := s.api("GET", "/api/v1/reports/queues?"+q.Encode(), nil, &rep); code != 200 {
		t.Fatalf("queue report: %d", code)
	}
	out := map[string]queueTotal{}
	for _, r := range rep.Totals {
		out[r.Queue] = r
	}
	return out
}

// waitingCall returns the ID of the one call in progress, once it waits in queue.
func waitingCall(t *testing.T, s *server, queue string) string {
	t.Helper()
	waitFor(t, 15*time.Second, "a caller waiting in "+queue, func() bool {
		var q queueState
		s.api("GET", "/api/v1/queues/"+queue, nil, &q)
		return q.Waiting == 1
	})
	var list struct{ Calls []callRecord }
	s.api("GET", "/api/v1/calls?limit=10", nil, &list)
	for _, c := range list.Calls {
		if c.Outcome == "in_progress" {
			return c.ID
		}
	}
	t.Fatal("no call in progress")
	return ""
}

// An agent calling another agent's extension from their phone hears that
// phone ring: the caller's scenario requires the 180 before the 200.
func TestDefectExtensionCallRings(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	callee := registerAgent(t, s, 0, "1004", "agent_answer.xml", 1)
	path := writeCaller(t, "direct", callerSpec{Service: "1004", Auth: true, TalkMS: 1000})
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const optional = `<recv response="180" optional="true"/>`
	if !strings.Contains(string(b), optional) {
		t.Fatalf("the caller scenario has no optional 180 to require")
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), optional, `<recv response="180"/>`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	sp, mp := s.ports.phone(1)
	direct := runSIPp(t, "direct", s.sipAddr, "-sf", path, "-p", itoa(sp), "-mp", itoa(mp), "-m", "1", "-s", "1004",
		"-timeout", "30s", "-au", "1003", "-ap", "demo1003")
	direct.mustSucceed(t, 30*time.Second)
	callee.uas.mustSucceed(t, 10*time.Second)
	rec := s.lastCallWhere(t, func(c callRecord) bool { return c.Dialed == "1004" })
	if rec.Agent != "1004" || rec.ConnectedAt == nil {
		t.Fatalf("record %+v events %v", rec, rec.kinds())
	}
}

// Away asked for during a call is pending: 202, pending_state away while
// the call and its wrap-up last, then away with the reason given.
func TestDefectAwayDuringCallIsPending(t *testing.T) {
	t.Parallel()
	s := startServer(t, "  - name: support\n    strategy: longest_idle\n", "  - name: support\n    strategy: longest_idle\n    wrap_up: 2s\n")
	agent := registerAgent(t, s, 0, "1003", "agent_answer.xml", 1)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 500, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 3000})
	waitFor(t, 15*time.Second, "1003 on the call", func() bool { st, _ := agentState(s, "1003"); return st == "on_call" })
	type view struct {
		State         string `json:"state"`
		Reason        string `json:"reason"`
		PendingState  string `json:"pending_state"`
		PendingReason string `json:"pending_reason"`
	}
	v := view{}
	if code := s.apiAs("1003", "demo1003", "POST", "/api/v1/agents/1003/state", map[string]string{"state": "away", "reason": "lunch"}, &v); code != 202 {
		t.Fatalf("away during the call: %d %+v, want 202", code, v)
	}
	v = view{}
	s.api("GET", "/api/v1/agents/1003", nil, &v)
	if v.State != "on_call" || v.PendingState != "away" {
		t.Fatalf("during the call: %+v, want on_call with pending_state away", v)
	}
	// Until away applies, every look shows it pending; wrap-up is seen on the way.
	seen := map[string]bool{}
	waitFor(t, 20*time.Second, "1003 away", func() bool {
		v = view{} // pending_state is left out once empty
		s.api("GET", "/api/v1/agents/1003", nil, &v)
		seen[v.State] = true
		if v.State != "away" && v.PendingState != "away" {
			t.Fatalf("1003 is %s with pending_state %q before going away", v.State, v.PendingState)
		}
		return v.State == "away"
	})
	caller.mustSucceed(t, 30*time.Second)
	agent.uas.mustSucceed(t, 10*time.Second)
	if v.Reason != "lunch" || v.PendingState != "" || !seen["wrap_up"] {
		t.Fatalf("after the call: %+v (states seen %v), want away for lunch after wrap-up", v, seen)
	}
}

// A call waiting in a queue cannot be held: 409 with an error naming why.
func TestDefectHoldQueuedCallRefused(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap", WaitMS: 5000})
	id := waitingCall(t, s, "support")
	var res struct {
		Error string `json:"error"`
	}
	if code := s.api("POST", "/api/v1/calls/"+id+"/hold", map[string]bool{"on": true}, &res); code != 409 || res.Error == "" {
		t.Fatalf("hold of a queued call: %d %+v, want 409 with an error", code, res)
	}
	if !strings.Contains(res.Error, "queue") {
		t.Errorf("the 409 does not name the call's state: %q", res.Error)
	}
	caller.mustSucceed(t, 20*time.Second)
	if rec := s.lastCall(t); rec.Outcome != "abandoned" || rec.hasEvent("hold", "") {
		t.Fatalf("record %+v events %v", rec, rec.kinds())
	}
}

// A call that overflows from sales to support is offered in both queues
// and counted as overflowed out of sales in the queue report.
func TestDefectOverflowInQueueReport(t *testing.T) {
	t.Parallel()
	s := startServer(t, "max_wait: {after: 60s", "max_wait: {after: 3s")
	from := time.Now().UTC().Truncate(time.Hour)
	agent := registerAgent(t, s, 0, "1003", "agent_answer.xml", 1) // support only
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_1.pcap",
		WaitMS: 6000, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 1000})
	caller.mustSucceed(t, 30*time.Second)
	agent.uas.mustSucceed(t, 10*time.Second)
	if rec := s.lastCall(t); rec.Queue != "support" || !rec.hasEvent("overflow", "") {
		t.Fatalf("record %+v events %v", rec, rec.kinds())
	}
	tot := queueTotals(t, s, from)
	sales, sup := tot["sales"], tot["support"]
	if sales.Offered != 1 || sales.OverflowedOut != 1 || sales.Answered != 0 || sales.Abandoned != 0 ||
		sup.Offered != 1 || sup.Answered != 1 || sup.OverflowedOut != 0 {
		t.Fatalf("queue report: sales %+v, support %+v; want offered 1 in both, overflowed_out 1 for sales", sales, sup)
	}
}
