package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// holdPolicy gives the demo's support queue hold reminders every 5 s and
// a maximum hold of 8 s (the demo's are a minute and 5 minutes).
var holdPolicy = []string{
	"ring_timeout: 30s}\n    hold: {remind_every: 60s, caller_prompt: still-holding, max: 5m}\n",
	"ring_timeout: 30s}\n    hold: {remind_every: 5s, caller_prompt: still-holding, max: 8s}\n",
}

// waitEvent waits until the live call's record has an event of kind and
// returns the call as then seen.
func (s *server) waitEvent(t *testing.T, id, kind string, d time.Duration) liveCall {
	t.Helper()
	var c liveCall
	waitFor(t, d, "event "+kind+" on "+id, func() bool {
		c = s.liveCall(t, id)
		return slices.Contains(c.kinds(), kind)
	})
	return c
}

// after reports whether kinds has later after the first earlier.
func after(kinds []string, earlier, later string) bool {
	i := slices.Index(kinds, earlier)
	return i >= 0 && slices.Contains(kinds[i+1:], later)
}

// Support holds with reminders: held through the API, the caller hears
// the music and, after 5 s, "still holding" between it; at 8 s the agent's
// phone is rung again (a second INVITE), answers, and the caller and agent
// talk again.
func TestHoldRemindsAndRingsAgentBack(t *testing.T) {
	t.Parallel()
	s := startServer(t, holdPolicy...)
	agent := registerAgent(t, s, 0, "1003", "agent_answer.xml", 2) // the call, then the recall
	_, callerMedia := s.ports.phone(1)
	heardByCaller := startCapture(t, callerMedia)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 500, TalkPcap: writeTonePCAP(t, 440, 30*time.Second), RemoteHangup: true})
	id := s.answeredBy(t, "1003")
	if code := s.apiAs("1003", "demo1003", "POST", "/api/v1/calls/"+id+"/hold", map[string]bool{"on": true}, nil); code != 200 {
		t.Fatalf("hold: %d", code)
	}
	held := time.Now()
	if c := s.waitCallState(t, id, "held", -1); c.State != "held" {
		t.Fatalf("state %q", c.State)
	}
	s.waitEvent(t, id, "hold_reminder", 8*time.Second)
	if d := time.Since(held); d < 4*time.Second {
		t.Errorf("the first reminder came %s after the hold, want about 5 s", d)
	}
	s.waitEvent(t, id, "hold_max_reached", 8*time.Second)
	if d := time.Since(held); d < 7*time.Second {
		t.Errorf("the maximum hold was reached %s after the hold, want about 8 s", d)
	}
	c := s.waitEvent(t, id, "unhold", 15*time.Second)
	c = s.waitCallState(t, id, "connected", -1)
	if c.Agent != "1003" {
		t.Fatalf("after the recall the call's agent is %q", c.Agent)
	}
	back := time.Now().Add(300 * time.Millisecond)
	time.Sleep(2500 * time.Millisecond) // talk again
	backTo := time.Now()
	if code := s.api("POST", "/api/v1/calls/"+id+"/hangup", nil, nil); code != 200 {
		t.Fatalf("hangup: %d", code)
	}
	caller.mustSucceed(t, 20*time.Second)
	agent.uas.mustSucceed(t, 10*time.Second) // two INVITEs answered
	heardByCaller.stop()

	got := heard(t, heardByCaller, callerMedia, "hold-music", "still-holding")
	t.Logf("on hold the caller heard %v frames", got)
	if got["hold-music"] < 150 || got["still-holding"] < 50 {
		t.Errorf("on hold the caller heard %v frames; want music and the still-holding prompt", got)
	}
	// The recalled agent's phone echoes the caller: the caller hears its tone.
	if echo := tonesBetween(t, heardByCaller, callerMedia, back, backTo, 440); echo[440] < 60 {
		t.Errorf("after the recall the caller heard its own tone back in %d frames", echo[440])
	}
	rec := s.lastCallWhere(t, func(c callRecord) bool { return c.ID == id })
	k := rec.kinds()
	if rec.Outcome != "answered" || rec.Agent != "1003" || !after(k, "hold", "hold_reminder") ||
		!after(k, "hold_reminder", "hold_max_reached") || !after(k, "hold_max_reached", "unhold") {
		t.Fatalf("record %+v events %v", rec, k)
	}
}

// A recall nobody answers: the agent's phone took the call, the caller was
// held past the maximum, the phone rings again (3 s ring timeout) and is
// not answered; the call goes back to the support queue.
func TestHoldRecallUnansweredRequeues(t *testing.T) {
	t.Parallel()
	edits := append([]string{
		"  - name: support\n    strategy: longest_idle\n    ring_timeout: 15s\n",
		"  - name: support\n    strategy: longest_idle\n    ring_timeout: 3s\n"}, holdPolicy...)
	s := startServer(t, edits...)
	once, _ := filepath.Abs(filepath.Join("testdata", "agent_answer_once.xml"))
	registerAgent(t, s, 0, "1003", once, 4)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 500, TalkMS: 20000})
	id := s.answeredBy(t, "1003")
	if code := s.api("POST", "/api/v1/calls/"+id+"/hold", map[string]bool{"on": true}, nil); code != 200 {
		t.Fatalf("hold: %d", code)
	}
	s.waitEvent(t, id, "hold_max_reached", 12*time.Second)
	var c liveCall
	waitFor(t, 10*time.Second, "the call queued again", func() bool {
		c = s.liveCall(t, id)
		return after(c.kinds(), "hold_max_reached", "queued")
	})
	if c.hasEvent("unhold", "") {
		t.Fatalf("the unanswered recall counted as taken back: %v", c.kinds())
	}
	recall := false
	for _, d := range c.details("transfer") {
		recall = recall || strings.Contains(d, "kind=recall")
	}
	if !recall {
		t.Errorf("no recall transfer event: %q", c.details("transfer"))
	}
	var q queueState
	s.api("GET", "/api/v1/queues/support", nil, &q)
	if c.State != "queued" && c.State != "ringing" {
		t.Errorf("after the unanswered recall the call is %q (support waiting %d), want back in the queue", c.State, q.Waiting)
	}
	caller.mustSucceed(t, 30*time.Second)
	rec := s.lastCallWhere(t, func(c callRecord) bool { return c.ID == id })
	if rec.Queue != "support" || rec.HangupBy != "caller" {
		t.Errorf("record %+v events %v", rec, rec.kinds())
	}
}
