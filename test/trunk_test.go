package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// An outbound trunk with register: true registers with its carrier (SIPp
// as the carrier's registrar), answering the digest challenge; the API
// shows it registered.
func TestTrunkRegistersWithDigest(t *testing.T) {
	var carrier *sipp
	s := startServerWith(t, func(p ports) []string {
		sp, _ := p.phone(3)
		carrier = runSIPp(t, "carrier", "-sf", scenario("carrier_register.xml"), "-p", fmt.Sprint(sp), "-m", "1", "-timeout", "30s")
		return []string{`outbound: {host: "127.0.0.1:5080", transport: udp}`,
			fmt.Sprintf(`outbound: {host: "127.0.0.1:%d", transport: udp, register: true, username: sbtrunk, password: secret, expires: 120s}`, sp)}
	})
	carrier.mustSucceed(t, 20*time.Second)
	var trunks []struct {
		Name       string `json:"name"`
		Registered bool   `json:"registered"`
		ExpiresAt  string `json:"expires_at"`
		LastError  string `json:"last_error"`
	}
	waitFor(t, 5*time.Second, "the trunk registered", func() bool {
		s.api("GET", "/api/v1/trunks", nil, &trunks)
		return len(trunks) == 1 && trunks[0].Registered
	})
	if trunks[0].Name != "local" || trunks[0].ExpiresAt == "" {
		t.Fatalf("trunks %+v", trunks)
	}
}

// A DID straight to a queue (200 → support, priority 5), then a transfer
// through the API to an external number: Switchboard dials the carrier,
// answers its digest challenge, presents the trunk's caller ID, and
// bridges the caller there. A 403 from the carrier (bad credentials)
// would fail the SIPp scenario's caller-ID check.
func TestTransferToNumberOverAuthenticatedTrunk(t *testing.T) {
	var carrier *sipp
	s := startServerWith(t, func(p ports) []string {
		sp, mp := p.phone(3)
		carrier = runSIPp(t, "carrier", "-sf", scenario("pstn_auth.xml"), "-p", fmt.Sprint(sp), "-mp", fmt.Sprint(mp),
			"-rtp_echo", "-m", "1", "-timeout", "60s")
		return []string{
			`outbound: {host: "127.0.0.1:5080", transport: udp}`,
			fmt.Sprintf(`outbound: {host: "127.0.0.1:%d", transport: udp, username: sbtrunk, password: secret, caller_id: "5550100"}`, sp),
			`  - {number: "100", flow: main}`, "  - {number: \"100\", flow: main}\n  - {number: \"200\", queue: support, priority: 5}",
		}
	})
	agent := registerAgent(t, s, 0, "1003", "agent_answer.xml", 1)
	caller := call(t, s, 1, "caller", callerSpec{Service: "200", PreMS: 500, TalkPcap: pcapDir + "/g711a.pcap", RemoteHangup: true})
	var id string
	waitFor(t, 15*time.Second, "1003 on the call", func() bool {
		var v struct {
			State  string `json:"state"`
			CallID string `json:"call_id"`
		}
		s.api("GET", "/api/v1/agents/1003", nil, &v)
		id = v.CallID
		return v.State == "on_call"
	})
	if code := s.api("POST", "/api/v1/calls/"+id+"/transfer", map[string]string{"to": "5551234"}, nil); code != 202 {
		t.Fatalf("transfer: %d", code)
	}
	carrier.mustSucceed(t, 30*time.Second)
	agent.uas.mustSucceed(t, 10*time.Second)
	caller.mustSucceed(t, 30*time.Second)
	rec := s.lastCall(t)
	if rec.Dialed != "200" || rec.Queue != "support" || rec.Outcome != "answered" || rec.HangupBy != "agent" {
		t.Fatalf("record %+v events %v", rec, rec.kinds())
	}
	if q := rec.details("queued"); len(q) != 1 || !strings.Contains(q[0], "priority=5") {
		t.Fatalf("queued %q", q)
	}
	if out := rec.details("transferred_out"); len(out) != 1 || !strings.Contains(out[0], "to=5551234") {
		t.Fatalf("transferred_out %q, events %v", out, rec.kinds())
	}
}

// Click-to-call from a CRM: the API rings agent 1003's phone; when it
// answers, Switchboard dials the customer over the trunk and connects
// them; the customer hangs up and the record shows the whole call.
func TestClickToCall(t *testing.T) {
	var pstn *sipp
	s := startServerWith(t, func(p ports) []string {
		sp, mp := p.phone(3)
		pstn = runSIPp(t, "pstn", "-sf", scenario("agent_hangup.xml"), "-p", fmt.Sprint(sp), "-mp", fmt.Sprint(mp),
			"-rtp_echo", "-m", "1", "-timeout", "60s")
		return []string{`outbound: {host: "127.0.0.1:5080"`, fmt.Sprintf(`outbound: {host: "127.0.0.1:%d"`, sp)}
	})
	agent := registerAgent(t, s, 0, "1003", "agent_answer.xml", 1)
	var res struct {
		CallID string `json:"call_id"`
	}
	if code := s.apiAs("1004", "demo1004", "POST", "/api/v1/calls/click-to-call", map[string]string{"agent": "1003", "number": "5551234"}, nil); code != 403 {
		t.Fatalf("another agent's click-to-call: %d", code)
	}
	if code := s.apiAs("1003", "demo1003", "POST", "/api/v1/calls/click-to-call", map[string]string{"agent": "1003", "number": "12"}, nil); code != 400 {
		t.Fatalf("a bad number: %d", code)
	}
	if code := s.apiAs("1003", "demo1003", "POST", "/api/v1/calls/click-to-call", map[string]string{"agent": "1003", "number": "5551234"}, &res); code != 202 || res.CallID == "" {
		t.Fatalf("click-to-call: %d %+v", code, res)
	}
	pstn.mustSucceed(t, 30*time.Second)
	agent.uas.mustSucceed(t, 10*time.Second)
	rec := s.lastCall(t)
	if rec.ID != res.CallID || rec.Outcome != "answered" || rec.Agent != "1003" || rec.Dialed != "5551234" || rec.ConnectedAt == nil || rec.HangupBy != "caller" {
		t.Fatalf("record %+v events %v", rec, rec.kinds())
	}
	if !rec.hasEvent("click_to_call", "1003") || !rec.hasEvent("connected", "1003") {
		t.Fatalf("events %v", rec.kinds())
	}
}
