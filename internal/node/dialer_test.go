package node_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/examples"
	"github.com/switchboard/switchboard/internal/loadgen"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/node/nodetest"
	"github.com/switchboard/switchboard/internal/sim"
)

// startCallee runs the public network on a free loopback port with fixed
// behaviours per number; it returns its address.
func startCallee(t *testing.T, numbers map[string]loadgen.Behavior) (*loadgen.Callee, string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	lib, err := media.LoadLibrary(examples.FS, "sounds")
	if err != nil {
		t.Fatal(err)
	}
	hello, _ := lib.Get("callee-hello")
	greeting, _ := lib.Get("callee-voicemail")
	lo, hi := nodetest.RTPPorts()
	c, err := loadgen.NewCallee(loadgen.CalleeConfig{Listen: addr, RTPMin: lo, RTPMax: hi, Numbers: numbers, Hello: hello, Greeting: greeting,
		Ring: sim.Dist{Kind: "constant", Mean: 300 * time.Millisecond}, Talk: sim.Dist{Kind: "constant", Mean: 6 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return c, addr
}

func calleeCall(c *loadgen.Callee, number string) (loadgen.CalleeCall, bool) {
	for _, k := range c.Calls() {
		if k.Number == number {
			return k, true
		}
	}
	return loadgen.CalleeCall{}, false
}

// A progressive campaign over the trunk: a person is connected to the
// free agent, a busy and a machine are recorded as such (the machine
// hung up on), a number on the do-not-call list is never dialled and is
// counted as skipped; a power campaign with more people answering than
// agents drops the extra ones, who hear the identification message.
func TestCampaignDialsOverTheTrunk(t *testing.T) {
	callee, addr := startCallee(t, map[string]loadgen.Behavior{
		"5550001": loadgen.AnswerHuman, "5550002": loadgen.Busy, "5550003": loadgen.AnswerMachine, "5550004": loadgen.AnswerHuman,
		"5550011": loadgen.AnswerHuman, "5550012": loadgen.AnswerHuman, "5550013": loadgen.AnswerHuman,
		"5550031": loadgen.AnswerMachine,
	})
	n, _ := reloadable(t, nodetest.Demo(t, `outbound: {host: "127.0.0.1:5080", transport: udp}`, fmt.Sprintf(`outbound: {host: %q, transport: udp}`, addr)))
	sup := nodetest.Supervisor
	alice := nodetest.NewPhone(t, n.SIPAddr(), "1001", "demo1001")
	alice.SetAutoAnswer(true)
	alice.SetTone(440) // the agent talks: the person hears them
	nodetest.WaitFor(t, 5*time.Second, "agent 1001 available", func() bool { return n.AgentState("1001") == "available" })

	if code, _, out := jsonRequest(t, n, sup, "POST", "/api/v1/campaigns", `{"name": "renewals", "mode": "progressive", "queue": "sales", "caller_id": "5550100", "window": {"start": "00:00", "end": "24:00"}, "max_attempts": 1}`); code != 201 {
		t.Fatalf("create: %d %v", code, out)
	}
	if code, _, _ := jsonRequest(t, n, sup, "POST", "/api/v1/dnc", `{"number": "5550004"}`); code != 201 {
		t.Fatalf("dnc: %d", code)
	}
	if code, _, out := jsonRequest(t, n, sup, "POST", "/api/v1/campaigns/renewals/contacts", "number,name\n5550001,Ann\n5550002,Bob\n5550003,Cy\n5550004,Di\n", "Content-Type", "text/csv"); code != 200 || out["added"] != 4.0 {
		t.Fatalf("import: %d %v", code, out)
	}
	if code, _, _ := jsonRequest(t, n, sup, "POST", "/api/v1/campaigns/renewals/start", ""); code != 200 {
		t.Fatalf("start: %d", code)
	}
	var st map[string]any
	nodetest.WaitFor(t, 60*time.Second, "the campaign through its list", func() bool {
		_, _, st = jsonRequest(t, n, sup, "GET", "/api/v1/campaigns/renewals", "")
		return st["pending"] == 0.0 && st["lines"] == 0.0 && st["attempts"] == 3.0 // the connected call's attempt comes last
	})
	if st["attempts"] != 3.0 || st["connected"] != 1.0 || st["dnc_skipped"] != 1.0 || st["abandoned"] != 0.0 || st["machines"] != 1.0 {
		t.Fatalf("status: %v", st)
	}
	if _, dialled := calleeCall(callee, "5550004"); dialled {
		t.Fatal("a number on the do-not-call list was dialled")
	}
	// A call's record is final when its goroutine ends, a moment after its
	// attempt is counted.
	outcomes := map[string]string{}
	nodetest.WaitFor(t, 10*time.Second, "the campaign's call records final", func() bool {
		outcomes = map[string]string{}
		for _, c := range n.Calls() {
			if c.Source == "campaign:renewals" {
				outcomes[c.Caller] = c.Outcome
			}
		}
		return outcomes["5550003"] != "in_progress" && outcomes["5550001"] != "in_progress"
	})
	if outcomes["5550001"] != "answered" || outcomes["5550002"] != "busy" || outcomes["5550003"] != "machine" || len(outcomes) != 3 {
		t.Fatalf("records: %v", outcomes)
	}
	if c, _ := calleeCall(callee, "5550001"); !c.Answered || c.Heard < 0.5 {
		t.Fatalf("the person did not hear the agent: %+v", c)
	}
	amdOf := func(rec nodetest.CallRecord) string {
		for _, e := range rec.Events {
			if e.Kind == "amd" {
				return e.Detail
			}
		}
		return ""
	}
	rec := n.EndedCall(t, 10*time.Second, func(c nodetest.CallRecord) bool { return c.Caller == "5550003" })
	if ks := strings.Join(rec.Kinds(), " "); !strings.Contains(ks, "campaign_dial") || !strings.HasPrefix(amdOf(rec), "decision=machine") {
		t.Fatalf("the machine's events: %s; amd %q", ks, amdOf(rec))
	}
	if rec := n.EndedCall(t, 10*time.Second, func(c nodetest.CallRecord) bool { return c.Caller == "5550001" }); !strings.HasPrefix(amdOf(rec), "decision=human") {
		t.Fatalf("the person's AMD: %q", amdOf(rec))
	}

	// A callback the person asked for, scheduled for agent 1001: their
	// phone rings first, then the person (attempts used up or not).
	at := time.Now().UTC().Format(time.RFC3339)
	if code, _, out := jsonRequest(t, n, nodetest.Credential{User: "1001", Password: "demo1001"}, "POST", "/api/v1/campaigns/renewals/contacts/5550001/callback", `{"at": "`+at+`"}`); code != 200 || out["agent"] != "1001" {
		t.Fatalf("schedule a callback: %d %v", code, out)
	}
	if code, _, _ := jsonRequest(t, n, sup, "POST", "/api/v1/campaigns/renewals/contacts/5559999/callback", `{"at": "`+at+`"}`); code != 404 {
		t.Fatalf("a callback to no contact: %d", code)
	}
	nodetest.WaitFor(t, 20*time.Second, "the callback placed and ended", func() bool {
		for _, c := range n.Calls() {
			if c.Source == "campaign:renewals" && c.Caller == "5550001" && c.Agent == "1001" && c.Outcome == "answered" && c.ID != "" {
				if k, _ := calleeCall(callee, "5550001"); k.Number != "" {
					count := 0
					for _, x := range callee.Calls() {
						if x.Number == "5550001" {
							count++
						}
					}
					return count == 2
				}
			}
		}
		return false
	})

	// Power, 3 lines for the one agent: 3 people answer, one is connected,
	// the others are dropped with the identification message.
	if code, _, out := jsonRequest(t, n, sup, "POST", "/api/v1/campaigns", `{"name": "blast", "mode": "power", "ratio": 3, "queue": "sales", "caller_id": "5550100", "window": {"start": "00:00", "end": "24:00"}, "max_attempts": 1, "amd": {"off": true}}`); code != 201 {
		t.Fatalf("create power: %d %v", code, out)
	}
	nodetest.WaitFor(t, 10*time.Second, "agent 1001 free", func() bool { return n.AgentState("1001") == "available" })
	jsonRequest(t, n, sup, "POST", "/api/v1/campaigns/blast/contacts", "number\n5550011\n5550012\n5550013\n", "Content-Type", "text/csv")
	jsonRequest(t, n, sup, "POST", "/api/v1/campaigns/blast/start", "")
	nodetest.WaitFor(t, 60*time.Second, "the power campaign through its list", func() bool {
		_, _, st = jsonRequest(t, n, sup, "GET", "/api/v1/campaigns/blast", "")
		// a connected call's attempt is recorded once its disposition is
		// known, a moment after its line is free: wait for all three
		return st["pending"] == 0.0 && st["lines"] == 0.0 && st["attempts"] == 3.0
	})
	if st["attempts"] != 3.0 || st["connected"] != 1.0 || st["abandoned"] != 2.0 || st["abandon_rate"].(float64) < 0.66 {
		t.Fatalf("power status: %v", st)
	}
	for _, num := range []string{"5550011", "5550012", "5550013"} {
		c, ok := calleeCall(callee, num)
		if !ok || !c.Answered || c.Heard < 1 {
			t.Errorf("%s heard nothing (no agent, no identification): %+v", num, c)
		}
	}

	// A machine is left the campaign's message after its beep.
	if code, _, out := jsonRequest(t, n, sup, "POST", "/api/v1/campaigns", `{"name": "msg", "mode": "progressive", "queue": "sales", "caller_id": "5550100", "window": {"start": "00:00", "end": "24:00"}, "max_attempts": 1, "amd": {"machine": "message", "message": "outbound-message"}}`); code != 201 {
		t.Fatalf("create msg: %d %v", code, out)
	}
	jsonRequest(t, n, sup, "POST", "/api/v1/campaigns/msg/contacts", "number\n5550031\n", "Content-Type", "text/csv")
	jsonRequest(t, n, sup, "POST", "/api/v1/campaigns/msg/start", "")
	rec = n.EndedCall(t, 40*time.Second, func(c nodetest.CallRecord) bool { return c.Caller == "5550031" })
	if ks := strings.Join(rec.Kinds(), " "); rec.Outcome != "machine" || !strings.Contains(ks, "machine_message") {
		t.Fatalf("the machine's message: %s %s", rec.Outcome, ks)
	}
	if c, _ := calleeCall(callee, "5550031"); c.Heard < 3 {
		t.Fatalf("the machine recorded %.1f s of the message", c.Heard)
	}

	// The reports: per campaign, and the compliance report with each drop.
	span := "from=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339) + "&to=" + time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	code, _, rep := jsonRequest(t, n, sup, "GET", "/api/v1/reports/campaigns?interval=1h&"+span, "")
	totals := map[string]map[string]any{}
	for _, c := range rep["campaigns"].([]any) {
		totals[c.(map[string]any)["campaign"].(string)] = c.(map[string]any)
	}
	if r := totals["renewals"]; code != 200 || r["attempts"] != 4.0 || r["connected"] != 2.0 || r["right_party_contacts"] != 2.0 || // with the callback
		r["amd"].(map[string]any)["machine"] != 1.0 || r["busy"] != 1.0 || r["dnc_skipped"] != 1.0 || r["list_penetration"] != 0.75 {
		t.Fatalf("campaign report: %d %v", code, r)
	}
	if occ, ok := totals["renewals"]["agent_occupancy"].(float64); !ok || occ <= 0 || occ > 1 {
		t.Fatalf("the campaign's agents' occupancy: %v", totals["renewals"]["agent_occupancy"])
	}
	if r := totals["blast"]; r["dropped"] != 2.0 || r["live"] != 3.0 || r["abandon_rate_30d"].(float64) < 0.3 {
		t.Fatalf("campaign report, power: %v", r)
	}
	code, _, comp := jsonRequest(t, n, sup, "GET", "/api/v1/reports/compliance?campaign=blast&"+span, "")
	cs := comp["campaigns"].([]any)
	if code != 200 || len(cs) != 1 || cs[0].(map[string]any)["within_target"] != false || len(cs[0].(map[string]any)["drops"].([]any)) != 2 {
		t.Fatalf("compliance: %d %v", code, comp)
	}
	drop := cs[0].(map[string]any)["drops"].([]any)[0].(map[string]any)
	rec = n.EndedCall(t, 5*time.Second, func(c nodetest.CallRecord) bool { return c.ID == drop["call_id"] })
	if rec.Outcome != "dropped" || !strings.Contains(strings.Join(rec.Kinds(), " "), "campaign_drop") {
		t.Fatalf("a drop's record: %s %v", rec.Outcome, rec.Kinds())
	}
}

// A preview campaign: the agent sees the next contact, skips one with a
// reason, dials the next (their phone first, then the contact), and the
// call is the campaign's; another agent, not in the queue, may not.
func TestPreviewCampaign(t *testing.T) {
	callee, addr := startCallee(t, map[string]loadgen.Behavior{"5550021": loadgen.AnswerHuman, "5550022": loadgen.AnswerHuman,
		"5550023": loadgen.NoAnswer, "5550024": loadgen.AnswerHuman})
	n, _ := reloadable(t, nodetest.Demo(t, `outbound: {host: "127.0.0.1:5080", transport: udp}`, fmt.Sprintf(`outbound: {host: %q, transport: udp}`, addr)))
	sup, alice, carol := nodetest.Supervisor, nodetest.Credential{User: "1001", Password: "demo1001"}, nodetest.Credential{User: "1003", Password: "demo1003"}
	phone := nodetest.NewPhone(t, n.SIPAddr(), "1001", "demo1001")
	phone.SetAutoAnswer(true)
	phone.SetTone(440)
	nodetest.WaitFor(t, 5*time.Second, "agent 1001 available", func() bool { return n.AgentState("1001") == "available" })
	if code, _, out := jsonRequest(t, n, sup, "POST", "/api/v1/campaigns", `{"name": "follow-up", "mode": "preview", "queue": "sales", "caller_id": "5550100", "window": {"start": "00:00", "end": "24:00"}}`); code != 201 {
		t.Fatalf("create: %d %v", code, out)
	}
	jsonRequest(t, n, sup, "POST", "/api/v1/campaigns/follow-up/contacts", "number,name,plan\n5550021,Ann,gold\n5550022,Bob,silver\n", "Content-Type", "text/csv")
	jsonRequest(t, n, sup, "POST", "/api/v1/campaigns/follow-up/contacts", "number,name\n5550023,Cy\n5550024,Di\n", "Content-Type", "text/csv")
	if code, _, _ := jsonRequest(t, n, alice, "GET", "/api/v1/campaigns/follow-up/preview", ""); code != 409 {
		t.Fatalf("preview of a stopped campaign: %d", code)
	}
	jsonRequest(t, n, sup, "POST", "/api/v1/campaigns/follow-up/start", "")
	if code, _, _ := jsonRequest(t, n, carol, "GET", "/api/v1/campaigns/follow-up/preview", ""); code != 403 {
		t.Fatalf("an agent of another queue previews: %d", code)
	}
	code, _, out := jsonRequest(t, n, alice, "GET", "/api/v1/campaigns/follow-up/preview", "")
	first, _ := out["contact"].(map[string]any)
	if code != 200 || first == nil || first["number"] != "5550021" || first["fields"].(map[string]any)["plan"] != "gold" {
		t.Fatalf("preview: %d %v", code, out)
	}
	if _, _, again := jsonRequest(t, n, alice, "GET", "/api/v1/campaigns/follow-up/preview", ""); again["contact"].(map[string]any)["number"] != "5550021" {
		t.Fatalf("the previewed contact changed: %v", again)
	}
	if code, _, _ := jsonRequest(t, n, alice, "POST", "/api/v1/campaigns/follow-up/preview/skip", `{"reason": "customer asked for email"}`); code != 200 {
		t.Fatalf("skip: %d", code)
	}
	_, _, out = jsonRequest(t, n, alice, "GET", "/api/v1/campaigns/follow-up/preview", "")
	if out["contact"].(map[string]any)["number"] != "5550022" {
		t.Fatalf("after the skip: %v", out)
	}
	code, _, out = jsonRequest(t, n, alice, "POST", "/api/v1/campaigns/follow-up/preview/dial", "")
	if code != 202 || out["call_id"] == "" {
		t.Fatalf("dial: %d %v", code, out)
	}
	rec := n.EndedCall(t, 20*time.Second, func(c nodetest.CallRecord) bool { return c.ID == out["call_id"] })
	if rec.Source != "campaign:follow-up" || rec.Outcome != "answered" || rec.Agent != "1001" || rec.Caller != "5550022" {
		t.Fatalf("the preview call's record: %+v", rec)
	}
	if c, ok := calleeCall(callee, "5550022"); !ok || c.Heard < 0.5 {
		t.Fatalf("the contact did not hear the agent: %+v", c)
	}
	if _, dialled := calleeCall(callee, "5550021"); dialled {
		t.Fatal("the skipped contact was dialled")
	}
	nodetest.WaitFor(t, 5*time.Second, "the attempt counted", func() bool {
		_, _, st := jsonRequest(t, n, sup, "GET", "/api/v1/campaigns/follow-up", "")
		return st["attempts"] == 1.0 && st["connected"] == 1.0 && st["skipped"].(map[string]any)["agent: customer asked for email"] == 1.0
	})
	if code, _, _ := jsonRequest(t, n, alice, "POST", "/api/v1/campaigns/follow-up/preview/dial", ""); code != 409 {
		t.Fatalf("a dial with nothing previewed: %d", code)
	}
	if _, _, mine := jsonRequest(t, n, alice, "GET", "/api/v1/campaigns/mine", ""); !strings.Contains(mustJSON(t, mine), `"name":"follow-up"`) {
		t.Fatalf("the agent's campaigns: %v", mine)
	}

	// The agent gives up on a contact that rings: hung up while it rang,
	// by the agent, a no answer (tried again by its rule), not the
	// network's failure. While it rings, hanging up is what the call allows.
	nodetest.WaitFor(t, 10*time.Second, "1001 free again", func() bool { return n.AgentState("1001") == "available" })
	_, _, out = jsonRequest(t, n, alice, "GET", "/api/v1/campaigns/follow-up/preview", "")
	if out["contact"].(map[string]any)["number"] != "5550023" {
		t.Fatalf("the next contact: %v", out)
	}
	_, _, out = jsonRequest(t, n, alice, "POST", "/api/v1/campaigns/follow-up/preview/dial", "")
	id, _ := out["call_id"].(string)
	nodetest.WaitFor(t, 10*time.Second, "the contact ringing, the agent may hang up", func() bool {
		_, _, v := jsonRequest(t, n, alice, "GET", "/api/v1/calls/"+id, "")
		return v["state"] == "ringing" && mustJSON(t, v["commands"]) == `["hangup"]`
	})
	if code, _, _ := jsonRequest(t, n, alice, "POST", "/api/v1/calls/"+id+"/hangup", ""); code != 200 {
		t.Fatalf("hang up while it rings: %d", code)
	}
	rec = n.EndedCall(t, 10*time.Second, func(c nodetest.CallRecord) bool { return c.ID == id })
	if rec.Outcome != "no_answer" || rec.HangupBy != "agent" {
		t.Fatalf("given up while it rang: %+v", rec)
	}
	// An agent who goes away gives back the contact they hold; while away
	// they are given none.
	nodetest.WaitFor(t, 10*time.Second, "1001 free again", func() bool { return n.AgentState("1001") == "available" })
	_, _, out = jsonRequest(t, n, alice, "GET", "/api/v1/campaigns/follow-up/preview", "")
	if out["contact"].(map[string]any)["number"] != "5550024" {
		t.Fatalf("the next contact: %v", out)
	}
	if code := n.APIAs(alice, "POST", "/api/v1/agents/1001/state", map[string]string{"state": "away", "reason": "break"}, nil); code >= 300 {
		t.Fatalf("away: %d", code)
	}
	nodetest.WaitFor(t, 10*time.Second, "the held contact given back", func() bool {
		_, _, list := jsonRequest(t, n, sup, "GET", "/api/v1/campaigns/follow-up/contacts", "")
		for _, c := range list["contacts"].([]any) {
			if c := c.(map[string]any); c["number"] == "5550024" {
				return c["state"] == "pending"
			}
		}
		return false
	})
	if _, _, out := jsonRequest(t, n, alice, "GET", "/api/v1/campaigns/follow-up/preview", ""); out["contact"] != nil {
		t.Fatalf("a contact for an agent away: %v", out)
	}
}
