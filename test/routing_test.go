package e2e

import (
	"strings"
	"testing"
	"time"
)

const salesQueue = "  - name: sales\n    strategy: longest_idle\n    ring_timeout: 15s\n"

// Ring-all: both agents' phones ring at once; the one who answers takes the
// call and the other phone gets CANCEL.
func TestRingAllRingsEveryAgent(t *testing.T) {
	s := startServer(t, salesQueue, "  - name: sales\n    strategy: ring_all\n    ring_timeout: 15s\n")
	slow := registerAgent(t, s, 0, "1001", "agent_noanswer.xml", 1) // never answers: must be cancelled
	quick := registerAgent(t, s, 2, "1002", "agent_answer.xml", 1)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_1.pcap",
		WaitMS: 2000, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 1000})
	caller.mustSucceed(t, 30*time.Second)
	quick.uas.mustSucceed(t, 10*time.Second)
	slow.uas.mustSucceed(t, 10*time.Second) // it received CANCEL and answered 487
	rec := s.lastCall(t)
	if rec.Outcome != "answered" || rec.Agent != "1002" {
		t.Fatalf("record %+v", rec)
	}
	if !rec.hasEvent("offered", "1001") || !rec.hasEvent("offered", "1002") || !rec.hasEvent("offer_cancelled", "1001") {
		t.Fatalf("events %v: want both offered, 1001 cancelled", rec.Events)
	}
	if rec.WaitSeconds > 3 {
		t.Fatalf("wait %.1f s: ring-all should not wait for the first phone's ring timeout", rec.WaitSeconds)
	}
}

// Skills: sales needs Spanish at 5 or better. 1001 (Spanish 3) has been
// idle longest but is skipped for 1002 (Spanish 8); the agents' skills show
// in the API.
func TestSkillsPickTheProficientAgent(t *testing.T) {
	s := startServer(t,
		salesQueue, "  - name: sales\n    strategy: longest_idle\n    ring_timeout: 15s\n    skills: {spanish: 5}\n",
		"queues: [sales], login_on_register", "queues: [sales], skills: {spanish: 3}, login_on_register",
		"queues: [sales, support], login_on_register", "queues: [sales, support], skills: {spanish: 8}, login_on_register")
	unskilled := registerAgent(t, s, 0, "1001", "agent_answer.xml", 1)
	time.Sleep(50 * time.Millisecond)
	skilled := registerAgent(t, s, 2, "1002", "agent_answer.xml", 1)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_1.pcap",
		WaitMS: 2000, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 1000})
	caller.mustSucceed(t, 30*time.Second)
	skilled.uas.mustSucceed(t, 10*time.Second)
	rec := s.lastCall(t)
	if rec.Outcome != "answered" || rec.Agent != "1002" || rec.hasEvent("offered", "1001") {
		t.Fatalf("record %+v events %v: want 1002 only", rec, rec.Events)
	}
	var v struct {
		Skills map[string]int `json:"skills"`
	}
	s.api("GET", "/api/v1/agents/1001", nil, &v)
	if v.Skills["spanish"] != 3 {
		t.Fatalf("agent 1001 skills %v", v.Skills)
	}
	_ = unskilled
}

// Ring-no-answer: with missed_to_away 1, an agent whose phone rings out is
// set away with reason "missed" and offered nothing more; the caller goes
// on to the next agent.
func TestMissedOfferSetsAgentAway(t *testing.T) {
	s := startServer(t, salesQueue, "  - name: sales\n    strategy: longest_idle\n    ring_timeout: 3s\n    missed_to_away: 1\n")
	slow := registerAgent(t, s, 0, "1001", "agent_noanswer.xml", 1)
	time.Sleep(50 * time.Millisecond)
	quick := registerAgent(t, s, 2, "1002", "agent_answer.xml", 1)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_1.pcap",
		WaitMS: 6000, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 1000})
	caller.mustSucceed(t, 40*time.Second)
	slow.uas.mustSucceed(t, 10*time.Second)
	quick.uas.mustSucceed(t, 10*time.Second)
	rec := s.lastCall(t)
	if rec.Outcome != "answered" || rec.Agent != "1002" || !rec.hasEvent("offer_timeout", "1001") {
		t.Fatalf("record %+v events %v", rec, rec.Events)
	}
	var v struct {
		State        string             `json:"state"`
		Reason       string             `json:"reason"`
		StateSeconds map[string]float64 `json:"state_seconds_today"`
	}
	s.api("GET", "/api/v1/agents/1001", nil, &v)
	if v.State != "away" || v.Reason != "missed" {
		t.Fatalf("agent 1001 is %s/%s, want away/missed", v.State, v.Reason)
	}
	if v.StateSeconds["ringing"] < 2.5 {
		t.Fatalf("state seconds %v: want the 3 s of ringing counted", v.StateSeconds)
	}
	// The agent comes back through the API.
	var back struct{ State string }
	if code := s.apiAs("1001", "demo1001", "POST", "/api/v1/agents/1001/state", map[string]string{"state": "available"}, &back); code != 200 || back.State != "available" {
		t.Fatalf("set available: %d %+v", code, back)
	}
}

// A supervisor closes the business now through the API: a caller hears the
// closed message and is hung up on; reopening restores the menu.
func TestClosedNowOverride(t *testing.T) {
	s := startServer(t, "weekly: {mon:", "holidays: [\"2001-01-01\"]\n    weekly: {mon:")
	var st struct {
		Name     string
		Open     bool
		Override string
	}
	if code := s.apiAs("supervisor", "demo-supervisor", "PUT", "/api/v1/hours/always/override", map[string]string{"state": "closed"}, &st); code != 200 || st.Open || st.Override != "closed" {
		t.Fatalf("override: %d %+v", code, st)
	}
	if code := s.apiAs("1001", "demo1001", "PUT", "/api/v1/hours/always/override", map[string]string{"state": "open"}, nil); code != 403 {
		t.Fatalf("an agent changed the hours: %d", code)
	}
	if code := s.api("PUT", "/api/v1/hours/always/override", map[string]string{"state": "maybe"}, nil); code != 400 {
		t.Fatalf("bad state: %d", code)
	}
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", RemoteHangup: true})
	caller.mustSucceed(t, 30*time.Second)
	rec := s.lastCall(t)
	if rec.Queue != "" || !strings.Contains(rec.IVRPath, "closed") {
		t.Fatalf("record %+v: want the closed branch", rec)
	}
	var cleared struct {
		Open     bool
		Override string
	}
	if code := s.api("DELETE", "/api/v1/hours/always/override", nil, &cleared); code != 200 || !cleared.Open || cleared.Override != "" {
		t.Fatalf("clear override: %d %+v", code, cleared)
	}
}
