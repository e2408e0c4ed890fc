package call_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// These tests start a node in-process on port 0 and drive it with sipgo
// phones and callers (nodetest): every call-control command in every
// state, conferences, hold reminders, and the stack of a call moved 500
// times. They run in seconds, beside the SIPp/Chromium suite in test/.

const wait = 10 * time.Second

// liveCall waits for the in-progress call matching pick and returns its ID.
func liveCall(t *testing.T, n *nodetest.Node, what string, pick func(nodetest.CallRecord) bool) string {
	t.Helper()
	id := ""
	nodetest.WaitFor(t, wait, what, func() bool {
		for _, c := range n.Calls() {
			if c.Outcome == "in_progress" && pick(c) {
				id = c.ID
				return true
			}
		}
		return false
	})
	return id
}

type callView struct {
	State   string `json:"state"`
	Queue   string `json:"queue"`
	Agent   string `json:"agent"`
	Parties []struct {
		ID       string `json:"id"`
		Kind     string `json:"kind"`
		Agent    string `json:"agent"`
		Number   string `json:"number"`
		JoinedAt string `json:"joined_at"`
	} `json:"parties"`
	Events []struct {
		Kind   string `json:"kind"`
		Detail string `json:"detail"`
	} `json:"events"`
}

func getCall(t *testing.T, n *nodetest.Node, id string) callView {
	t.Helper()
	var v callView
	if code := n.API("GET", "/api/v1/calls/"+id, nil, &v); code != 200 {
		t.Fatalf("GET call %s: %d", id, code)
	}
	return v
}

func waitState(t *testing.T, n *nodetest.Node, id, state string) {
	t.Helper()
	nodetest.WaitFor(t, wait, "call state "+state, func() bool { return getCall(t, n, id).State == state })
}

func hasEvent(v callView, kind string) bool {
	for _, e := range v.Events {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

// connectedCall dials the demo's sales line and lets 1001 answer; 1002 is
// registered but away, so the test can use it as a third party.
func connectedCall(t *testing.T, n *nodetest.Node) (id string, c *nodetest.Caller, agent *nodetest.PhoneCall, alice, bob *nodetest.Phone) {
	t.Helper()
	alice = n.Phone(t, "1001")
	alice.SetTone(1000)
	bob = n.Phone(t, "1002")
	bob.SetTone(1800)
	nodetest.WaitFor(t, wait, "agents available", func() bool {
		return n.AgentState("1001") == "available" && n.AgentState("1002") == "available"
	})
	if code := n.API("POST", "/api/v1/agents/1002/state", map[string]string{"state": "away", "reason": "spare"}, nil); code >= 300 {
		t.Fatalf("1002 away: %d", code)
	}
	c = n.Dial(t, "100", nodetest.Tone(440))
	nodetest.WaitFor(t, wait, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
	c.SendDTMF("1")
	agent = alice.NextCall(t, wait)
	id = liveCall(t, n, "the connected call", func(r nodetest.CallRecord) bool { return r.Agent == "1001" })
	waitState(t, n, id, "connected")
	nodetest.WaitFor(t, wait, "the agent's tone at the caller", func() bool { return c.RTP.ToneLevel(1000) > 0.5 })
	return id, c, agent, alice, bob
}

// TestCommandsInEveryState is the table of call-control commands against
// the call's states: each is carried out or refused with 409 and a message
// naming the state.
func TestCommandsInEveryState(t *testing.T) {
	n := nodetest.Start(t, "")
	type cmd struct {
		method, path string
		body         any
	}
	hold := cmd{"POST", "/hold", map[string]bool{"on": true}}
	resume := cmd{"POST", "/hold", map[string]bool{"on": false}}
	consult := cmd{"POST", "/consult", map[string]string{"to": "1002"}}
	complete := cmd{"POST", "/consult/complete", nil}
	cancel := cmd{"POST", "/consult/cancel", nil}
	conference := cmd{"POST", "/conference", map[string]string{"to": "1002"}}
	leave := cmd{"POST", "/conference/leave", nil}
	remove := cmd{"DELETE", "/conference/1002", nil}
	move := cmd{"POST", "/queue", map[string]any{"priority": 3}}
	dtmf := cmd{"POST", "/dtmf", map[string]string{"digits": "1"}}
	transfer := cmd{"POST", "/transfer", map[string]string{"to": "support"}}
	run := func(t *testing.T, id string, c cmd) (int, string) {
		t.Helper()
		return rawAPI(t, n, c.method, "/api/v1/calls/"+id+c.path, c.body)
	}
	expect := func(t *testing.T, id string, table map[string]struct {
		c    cmd
		code int
	}) {
		t.Helper()
		for name, tc := range table {
			if code, _ := run(t, id, tc.c); code != tc.code {
				t.Errorf("%s: got %d, want %d", name, code, tc.code)
			}
		}
	}

	t.Run("queued", func(t *testing.T) {
		// Nobody staffs support: the caller waits there.
		c := n.Dial(t, "100")
		nodetest.WaitFor(t, wait, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
		// In the IVR first.
		ivr := liveCall(t, n, "the call in the IVR", func(r nodetest.CallRecord) bool { return r.Queue == "" && r.Dialed == "100" })
		waitState(t, n, ivr, "ivr")
		expect(t, ivr, map[string]struct {
			c    cmd
			code int
		}{"hold": {hold, 409}, "transfer": {transfer, 409}, "consult": {consult, 409}, "conference": {conference, 409}, "move": {move, 409}})
		c.SendDTMF("2")
		id := liveCall(t, n, "the waiting call", func(r nodetest.CallRecord) bool { return r.Queue == "support" })
		waitState(t, n, id, "queued")
		expect(t, id, map[string]struct {
			c    cmd
			code int
		}{
			"hold": {hold, 409}, "consult": {consult, 409}, "conference": {conference, 409}, "leave": {leave, 409},
			"remove": {remove, 409}, "dtmf": {dtmf, 409}, "transfer": {transfer, 409}, "complete": {complete, 409},
			"cancel": {cancel, 409}, "priority": {move, 200},
		})
		var out map[string]string
		if code := n.API("POST", "/api/v1/calls/"+id+"/hold", map[string]bool{"on": true}, &out); code != 409 {
			t.Fatalf("hold while queued: %d", code)
		}
		c.Hangup()
		rec := n.EndedCall(t, wait, func(r nodetest.CallRecord) bool { return r.ID == id })
		if rec.Outcome != "abandoned" {
			t.Errorf("outcome %q, want abandoned", rec.Outcome)
		}
	})

	t.Run("connected, held, consulting, conference", func(t *testing.T) {
		id, c, agent, _, bob := connectedCall(t, n)
		expect(t, id, map[string]struct {
			c    cmd
			code int
		}{"move": {move, 409}, "leave": {leave, 409}, "remove": {remove, 409}, "complete": {complete, 409}, "cancel": {cancel, 409}})

		if code, _ := run(t, id, hold); code != 200 {
			t.Fatalf("hold: %d", code)
		}
		waitState(t, n, id, "held")
		nodetest.WaitFor(t, wait, "the agent's tone gone while held", func() bool { return c.RTP.ToneLevel(1000) < 0.2 })
		expect(t, id, map[string]struct {
			c    cmd
			code int
		}{"dtmf": {dtmf, 409}, "move": {move, 409}, "hold again": {hold, 200}})
		if code, _ := run(t, id, resume); code != 200 {
			t.Fatalf("resume: %d", code)
		}
		waitState(t, n, id, "connected")

		// Consultation: hold and resume are refused, so the caller can
		// never be bridged back into it.
		if err := n.API("POST", "/api/v1/agents/1002/state", map[string]string{"state": "available"}, nil); err >= 300 {
			t.Fatalf("1002 available: %d", err)
		}
		if code, _ := run(t, id, consult); code != 200 {
			t.Fatalf("consult: %d", code)
		}
		waitState(t, n, id, "consulting")
		code, msg := run(t, id, hold)
		if code != 409 || !strings.Contains(msg, "hold: the call is in a consultation") {
			t.Errorf("hold while consulting: %d %q", code, msg)
		}
		expect(t, id, map[string]struct {
			c    cmd
			code int
		}{"resume": {resume, 409}, "transfer": {transfer, 409}, "consult again": {consult, 409}, "leave": {leave, 409}})
		consulted := bob.NextCall(t, wait)
		nodetest.WaitFor(t, wait, "the consultation connected", func() bool {
			for _, e := range getCall(t, n, id).Events {
				if e.Kind == "consult_connected" {
					return true
				}
			}
			return false
		})
		nodetest.WaitFor(t, wait, "the caller does not hear the consultation", func() bool {
			return c.RTP.ToneLevel(1800) < 0.2 && c.RTP.ToneLevel(1000) < 0.2
		})
		if code, _ := run(t, id, cancel); code != 200 {
			t.Fatalf("cancel consult: %d", code)
		}
		consulted.WaitEnded(t, wait)
		waitState(t, n, id, "connected")
		nodetest.WaitFor(t, wait, "1002 free again", func() bool { return n.AgentState("1002") == "available" })

		// A conference of three.
		if code, _ := run(t, id, conference); code != 202 {
			t.Fatalf("conference: %d", code)
		}
		joined := bob.NextCall(t, wait)
		waitState(t, n, id, "conference")
		expect(t, id, map[string]struct {
			c    cmd
			code int
		}{"consult": {consult, 409}, "transfer": {transfer, 409}, "move": {move, 409}, "dtmf": {dtmf, 409}})
		v := getCall(t, n, id)
		if len(v.Parties) != 3 {
			t.Fatalf("parties %+v, want 3", v.Parties)
		}
		nodetest.WaitFor(t, wait, "the caller hears both others", func() bool {
			return c.RTP.ToneLevel(1000) > 0.3 && c.RTP.ToneLevel(1800) > 0.3
		})
		nodetest.WaitFor(t, wait, "the third party hears both others", func() bool {
			return joined.RTP.ToneLevel(440) > 0.3 && joined.RTP.ToneLevel(1000) > 0.3
		})
		nodetest.WaitFor(t, wait, "the agent hears both others", func() bool {
			return agent.RTP.ToneLevel(440) > 0.3 && agent.RTP.ToneLevel(1800) > 0.3
		})
		// The agent leaves: caller and 1002 go on talking.
		if code, _ := run(t, id, leave); code != 200 {
			t.Fatalf("leave: %d", code)
		}
		agent.WaitEnded(t, wait)
		waitState(t, n, id, "connected")
		nodetest.WaitFor(t, wait, "caller and third party still hear each other", func() bool {
			return c.RTP.ToneLevel(1800) > 0.5 && joined.RTP.ToneLevel(440) > 0.5
		})
		v = getCall(t, n, id)
		if v.Agent != "1002" || len(v.Parties) != 2 {
			t.Errorf("after leave: agent %q parties %+v", v.Agent, v.Parties)
		}
		c.Hangup()
		joined.WaitEnded(t, wait)
		rec := n.EndedCall(t, wait, func(r nodetest.CallRecord) bool { return r.ID == id })
		if rec.Outcome != "answered" {
			t.Errorf("outcome %q, want answered", rec.Outcome)
		}
		for _, k := range []string{"hold", "unhold", "consult_started", "consult_cancelled", "conference_joined", "conference_left"} {
			if !hasEventKind(rec, k) {
				t.Errorf("no %s event in %v", k, rec.Kinds())
			}
		}
	})
}

// rawAPI sends a request as the demo's admin and returns the status and
// the error message of a refusal.
func rawAPI(t *testing.T, n *nodetest.Node, method, path string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, n.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("admin", "demo-admin")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var out struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out.Error
}

func hasEventKind(r nodetest.CallRecord, kind string) bool {
	for _, k := range r.Kinds() {
		if k == kind {
			return true
		}
	}
	return false
}

// TestMovesKeepTheStackFlat moves one waiting call between two queues 500
// times: the call's goroutine keeps the same stack depth, and the record
// ends in the last queue with every visit a segment.
func TestMovesKeepTheStackFlat(t *testing.T) {
	n := nodetest.Start(t, "")
	c := n.Dial(t, "100")
	nodetest.WaitFor(t, wait, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
	c.SendDTMF("2")
	id := liveCall(t, n, "the waiting call", func(r nodetest.CallRecord) bool { return r.Queue == "support" })
	waitState(t, n, id, "queued")
	queues := []string{"sales", "support"}
	depths := map[int]int{}
	for i := 0; i < 500; i++ {
		q := queues[i%2]
		if code := n.API("POST", "/api/v1/calls/"+id+"/queue", map[string]string{"queue": q}, nil); code != 200 {
			t.Fatalf("move %d to %s: %d", i, q, code)
		}
		if i == 9 || i == 499 {
			depths[i] = callStackDepth(t)
		}
	}
	if depths[9] == 0 || depths[9] != depths[499] {
		t.Errorf("stack depth after 10 moves %d, after 500 %d: want equal", depths[9], depths[499])
	}
	nodetest.WaitFor(t, wait, "the record in the last queue", func() bool {
		v := getCall(t, n, id)
		return v.Queue == "support" && v.State == "queued"
	})
	c.Hangup()
	n.EndedCall(t, wait, func(r nodetest.CallRecord) bool { return r.ID == id })
}

var frameLine = regexp.MustCompile(`(?m)^\S.*\(.*\)$`)

// callStackDepth counts the frames of the goroutine running a call, once
// it is parked in its queued step.
func callStackDepth(t *testing.T) int {
	t.Helper()
	depth := 0
	nodetest.WaitFor(t, wait, "the call's goroutine waiting", func() bool {
		buf := make([]byte, 1<<22)
		buf = buf[:runtime.Stack(buf, true)]
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "call.(*Call).run(") && strings.Contains(g, "call.(*Call).queued(") && strings.Contains(g, "[select") {
				depth = len(frameLine.FindAllString(g, -1))
				return true
			}
		}
		return false
	})
	return depth
}

// TestHoldRemindersAndMaximum: a held caller hears the reminder prompt,
// the agent's phone a beep, and past the maximum the call rings the agent
// again; answered, they talk.
func TestHoldRemindersAndMaximum(t *testing.T) {
	n := nodetest.Start(t, nodetest.Demo(t, "    hold: {remind_every: 60s, caller_prompt: still-holding, max: 5m}", "    hold: {remind_every: 5s, caller_prompt: still-holding, max: 7s}"))
	id, c, agent, alice, _ := connectedCall(t, n)
	if code := n.API("POST", "/api/v1/calls/"+id+"/hold", map[string]bool{"on": true}, nil); code != 200 {
		t.Fatalf("hold: %d", code)
	}
	nodetest.WaitFor(t, wait, "a hold reminder", func() bool { return hasEvent(getCall(t, n, id), "hold_reminder") })
	back := alice.NextCall(t, wait)
	agent.WaitEnded(t, wait)
	waitState(t, n, id, "connected")
	nodetest.WaitFor(t, wait, "the agent's tone back at the caller", func() bool { return c.RTP.ToneLevel(1000) > 0.5 })
	v := getCall(t, n, id)
	if !hasEvent(v, "hold_max_reached") {
		t.Errorf("no hold_max_reached event")
	}
	c.Hangup()
	back.WaitEnded(t, wait)
	rec := n.EndedCall(t, wait, func(r nodetest.CallRecord) bool { return r.ID == id })
	if rec.Outcome != "answered" || rec.Agent != "1001" {
		t.Errorf("record %s by %s, want answered by 1001", rec.Outcome, rec.Agent)
	}
}

// TestAwayDuringACallIsPending is the API contract: away during a call
// answers 202 and shows pending_state until the call and its wrap-up end.
func TestAwayDuringACallIsPending(t *testing.T) {
	n := nodetest.Start(t, "")
	id, c, agent, _, _ := connectedCall(t, n)
	if code := n.API("POST", "/api/v1/agents/1001/state", map[string]string{"state": "away", "reason": "lunch"}, nil); code != 202 {
		t.Fatalf("away during a call: %d, want 202", code)
	}
	var a struct {
		State        string `json:"state"`
		Reason       string `json:"reason"`
		PendingState string `json:"pending_state"`
	}
	n.API("GET", "/api/v1/agents/1001", nil, &a)
	if a.PendingState != "away" {
		t.Errorf("pending_state %q, want away", a.PendingState)
	}
	c.Hangup()
	agent.WaitEnded(t, wait)
	n.EndedCall(t, wait, func(r nodetest.CallRecord) bool { return r.ID == id })
	// Wrap-up ends early with available, which applies the pending state.
	nodetest.WaitFor(t, 30*time.Second, "away after the wrap-up", func() bool {
		n.API("GET", "/api/v1/agents/1001", nil, &a)
		return a.State == "away"
	})
	if a.Reason != "lunch" {
		t.Errorf("reason %q, want lunch", a.Reason)
	}
}

// TestConferenceUnknownTarget refuses a conference with an unknown target
// and a party removed from a call that is no conference.
func TestConferenceUnknownTarget(t *testing.T) {
	n := nodetest.Start(t, "")
	id, c, _, _, _ := connectedCall(t, n)
	var out map[string]string
	if code := n.API("POST", "/api/v1/calls/"+id+"/conference", map[string]string{"to": "no-such"}, &out); code != 400 {
		t.Errorf("conference to an unknown target: %d, want 400", code)
	}
	if code := n.API("DELETE", "/api/v1/calls/"+id+"/conference/p9", nil, nil); code != 409 {
		t.Errorf("remove from a call that is no conference: %d, want 409", code)
	}
	c.Hangup()
}

// TestConsultThenComplete hands the caller to the consulted agent: the
// first agent's phone is hung up, the caller hears the second, and the
// record names them.
func TestConsultThenComplete(t *testing.T) {
	n := nodetest.Start(t, "")
	id, c, agent, _, bob := connectedCall(t, n)
	if code := n.API("POST", "/api/v1/agents/1002/state", map[string]string{"state": "available"}, nil); code >= 300 {
		t.Fatalf("1002 available: %d", code)
	}
	if code, msg := rawAPI(t, n, "POST", "/api/v1/calls/"+id+"/consult/complete", nil); code != 409 {
		t.Errorf("complete without a consultation: %d %q, want 409", code, msg)
	}
	if code, _ := rawAPI(t, n, "POST", "/api/v1/calls/"+id+"/consult", map[string]string{"to": "1002"}); code != 200 {
		t.Fatalf("consult: %d", code)
	}
	consulted := bob.NextCall(t, wait)
	nodetest.WaitFor(t, wait, "the consultation connected", func() bool { return hasEvent(getCall(t, n, id), "consult_connected") })
	if code, msg := rawAPI(t, n, "POST", "/api/v1/calls/"+id+"/consult/complete", nil); code != 200 {
		t.Fatalf("complete: %d %q", code, msg)
	}
	agent.WaitEnded(t, wait)
	waitState(t, n, id, "connected")
	nodetest.WaitFor(t, wait, "the caller hears the consulted agent", func() bool { return c.RTP.ToneLevel(1800) > 0.5 })
	nodetest.WaitFor(t, wait, "the consulted agent hears the caller", func() bool { return consulted.RTP.ToneLevel(440) > 0.5 })
	if v := getCall(t, n, id); v.Agent != "1002" {
		t.Errorf("agent %q after the transfer, want 1002", v.Agent)
	}
	c.Hangup()
	consulted.WaitEnded(t, wait)
	rec := n.EndedCall(t, wait, func(r nodetest.CallRecord) bool { return r.ID == id })
	if rec.Outcome != "answered" || rec.Agent != "1002" {
		t.Errorf("record %s by %s, want answered by 1002", rec.Outcome, rec.Agent)
	}
	nodetest.WaitFor(t, wait, "1002 free after the call", func() bool { return n.AgentState("1002") == "available" })
}

// TestCapacitySheds: above limits.max_calls a new call gets 503 with
// Retry-After and a record, while the call already up goes on.
func TestCapacitySheds(t *testing.T) {
	n := nodetest.Start(t, nodetest.Demo(t)+"\nlimits: {max_calls: 1}\n")
	first := n.Dial(t, "100", nodetest.Tone(440))
	nodetest.WaitFor(t, wait, "the first caller in the IVR", func() bool { return first.RTP.Received() > 10 })
	second := n.Dial(t, "100")
	second.WaitEnded(t, wait)
	if second.Code != 503 || second.Response == nil || second.Response.GetHeader("Retry-After") == nil {
		t.Fatalf("second call: %d %v, want 503 with Retry-After", second.Code, second.Response)
	}
	rec := n.EndedCall(t, wait, func(r nodetest.CallRecord) bool { return strings.HasPrefix(r.Reason, "503 at capacity") })
	if rec.Outcome != "rejected" {
		t.Errorf("refused call's record: %+v", rec)
	}
	before := first.RTP.Received()
	nodetest.WaitFor(t, wait, "the first call still has audio", func() bool { return first.RTP.Received() > before+20 })
	first.Hangup()
}

// TestExpiredPhoneIsNotOffered is the defect "callers wait forever beside
// available agents": a phone whose registration expires during a call
// leaves its agent logging out after the call (pending), and the next
// caller is offered to an agent whose phone is there.
func TestExpiredPhoneIsNotOffered(t *testing.T) {
	n := nodetest.Start(t, nodetest.Demo(t, "\nserver:\n", "\nserver:\n  register_min_expires: 1s\n"))
	id, c, agent, alice, bob := connectedCall(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := alice.Register(ctx, 2*time.Second); err != nil { // and never refreshed, like a phone that lost its network
		t.Fatal(err)
	}
	var a struct {
		State        string `json:"state"`
		PendingState string `json:"pending_state"`
		Reachable    bool   `json:"reachable"`
	}
	nodetest.WaitFor(t, wait, "1001 unreachable, logging out after the call", func() bool {
		n.API("GET", "/api/v1/agents/1001", nil, &a)
		return !a.Reachable && a.PendingState == "logged_out" && a.State == "on_call"
	})
	c.Hangup()
	agent.WaitEnded(t, wait)
	n.EndedCall(t, wait, func(r nodetest.CallRecord) bool { return r.ID == id })
	nodetest.WaitFor(t, wait, "1001 logged out", func() bool { return n.AgentState("1001") == "logged_out" })
	if code := n.API("POST", "/api/v1/agents/1002/state", map[string]string{"state": "available"}, nil); code >= 300 {
		t.Fatalf("1002 available: %d", code)
	}
	next := n.Dial(t, "100")
	nodetest.WaitFor(t, wait, "the welcome prompt", func() bool { return next.RTP.Received() > 10 })
	next.SendDTMF("1")
	answered := bob.NextCall(t, wait)
	nid := liveCall(t, n, "the next call connected to 1002", func(r nodetest.CallRecord) bool { return r.Agent == "1002" })
	waitState(t, n, nid, "connected")
	next.Hangup()
	answered.WaitEnded(t, wait)
}
