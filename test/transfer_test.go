package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// referKeys writes a SIPp injection file for agent_refer.xml: the target,
// and the Replaces part of the Refer-To URI.
func referKeys(t *testing.T, target, replaces string) string {
	t.Helper()
	if replaces != "" {
		replaces = "?Replaces=" + replaces + "%3Bto-tag%3Dx%3Bfrom-tag%3Dy"
	}
	path := filepath.Join(t.TempDir(), "refer.csv")
	if err := os.WriteFile(path, []byte(fmt.Sprintf("SEQUENTIAL\n%s;%s;\n", target, replaces)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func (c callRecord) details(kind string) []string {
	var out []string
	for _, e := range c.Events {
		if e.Kind == kind {
			out = append(out, e.Agent+": "+e.Detail)
		}
	}
	return out
}

// Blind transfer from the agent's phone: 1003 answers, then sends REFER to
// 1004; Switchboard accepts (202), reports progress by NOTIFY, rings 1004
// and connects the caller there. The call record shows both hops.
func TestBlindTransferFromPhone(t *testing.T) {
	s := startServer(t)
	first := registerAgent(t, s, 0, "1003", "agent_refer.xml", 1, "-inf", referKeys(t, "1004", ""), "-d", "2000")
	time.Sleep(50 * time.Millisecond)
	second := registerAgent(t, s, 2, "1004", "agent_answer.xml", 1)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 1000, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 9000})
	caller.mustSucceed(t, 40*time.Second)
	first.uas.mustSucceed(t, 10*time.Second)
	second.uas.mustSucceed(t, 10*time.Second)
	rec := s.lastCall(t)
	if rec.Outcome != "answered" || rec.Agent != "1004" || rec.HangupBy != "caller" {
		t.Fatalf("record %+v events %v", rec, rec.kinds())
	}
	tr := rec.details("transfer")
	conn := rec.details("connected")
	if len(tr) != 1 || !strings.Contains(tr[0], "kind=blind to=1004 by=agent 1003") || len(conn) != 2 ||
		!strings.HasPrefix(conn[0], "1003") || !strings.HasPrefix(conn[1], "1004") {
		t.Fatalf("transfer %q connected %q", tr, conn)
	}
}

// Transfer through the API to a queue: the sales agent's caller goes to
// support, keeps the priority, and a support agent takes it.
func TestTransferThroughAPIToQueue(t *testing.T) {
	s := startServer(t)
	sales := registerAgent(t, s, 0, "1001", "agent_answer.xml", 1)
	support := registerAgent(t, s, 2, "1003", "agent_answer.xml", 1)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_1.pcap",
		WaitMS: 1000, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 9000})
	var id string
	waitFor(t, 15*time.Second, "1001 on the call", func() bool {
		var v struct {
			State  string `json:"state"`
			CallID string `json:"call_id"`
		}
		s.api("GET", "/api/v1/agents/1001", nil, &v)
		id = v.CallID
		return v.State == "on_call"
	})
	var res map[string]string
	if code := s.apiAs("1003", "demo1003", "POST", "/api/v1/calls/"+id+"/transfer", map[string]string{"to": "support"}, &res); code != 403 {
		t.Fatalf("another agent's transfer: %d %v", code, res)
	}
	if code := s.apiAs("1001", "demo1001", "POST", "/api/v1/calls/"+id+"/transfer", map[string]string{"to": "nowhere"}, &res); code != 400 {
		t.Fatalf("transfer to nowhere: %d %v", code, res)
	}
	if code := s.apiAs("1001", "demo1001", "POST", "/api/v1/calls/"+id+"/transfer", map[string]string{"to": "support"}, &res); code != 202 {
		t.Fatalf("transfer: %d %v", code, res)
	}
	caller.mustSucceed(t, 40*time.Second)
	sales.uas.mustSucceed(t, 10*time.Second)
	support.uas.mustSucceed(t, 10*time.Second)
	rec := s.lastCall(t)
	if rec.Outcome != "answered" || rec.Agent != "1003" || rec.Queue != "support" {
		t.Fatalf("record %+v events %v", rec, rec.kinds())
	}
	if tr := rec.details("transfer"); len(tr) != 1 || !strings.Contains(tr[0], "to=support by=api 1001") {
		t.Fatalf("transfer events %q", tr)
	}
}

// Attended transfer: 1003 talks to the caller, calls 1004 from the same
// phone (consultation), then sends REFER with Replaces naming that call;
// the caller ends up with 1004 and the consultation call is closed.
func TestAttendedTransferFromPhone(t *testing.T) {
	s := startServer(t)
	consultID := fmt.Sprintf("consult-%d@127.0.0.1", time.Now().UnixNano())
	first := registerAgent(t, s, 0, "1003", "agent_refer.xml", 1, "-inf", referKeys(t, "1004", consultID), "-d", "6000")
	time.Sleep(50 * time.Millisecond)
	second := registerAgent(t, s, 2, "1004", "agent_answer.xml", 1)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 1000, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 14000})
	waitFor(t, 15*time.Second, "1003 on the call", func() bool {
		var v struct{ State string }
		s.api("GET", "/api/v1/agents/1003", nil, &v)
		return v.State == "on_call"
	})
	// The consultation: 1003's phone calls 1004 (authenticated as 1003).
	consult := call(t, s, 3, "consult", callerSpec{Service: "1004", Auth: true, RemoteHangup: true},
		"-au", "1003", "-ap", "demo1003", "-cid_str", consultID)
	consult.mustSucceed(t, 30*time.Second) // hung up by Switchboard once replaced
	caller.mustSucceed(t, 40*time.Second)
	first.uas.mustSucceed(t, 10*time.Second)
	second.uas.mustSucceed(t, 10*time.Second)
	rec := s.findCall(t, func(c callRecord) bool { return c.Dialed == "100" })
	if rec.Outcome != "answered" || rec.Agent != "1004" {
		t.Fatalf("record %+v events %v", rec, rec.kinds())
	}
	if tr := rec.details("transfer"); len(tr) != 1 || !strings.Contains(tr[0], "kind=attended to=1004 by=agent 1003") {
		t.Fatalf("transfer events %q", tr)
	}
	cons := s.findCall(t, func(c callRecord) bool { return c.Dialed == "1004" })
	if cons.Outcome != "completed" || !strings.Contains(cons.Reason, "attended transfer") {
		t.Fatalf("consultation record %+v", cons)
	}
}
