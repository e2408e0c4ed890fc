package e2e

import (
	"encoding/hex"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/media"
)

// party is one person on a live call, as GET /api/v1/calls/{id} lists them.
type party struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"`
	Agent    string    `json:"agent"`
	Number   string    `json:"number"`
	JoinedAt time.Time `json:"joined_at"`
}

// liveCall is GET /api/v1/calls/{id} of a call still going on: its record
// and events, and the live state and parties.
type liveCall struct {
	callRecord
	State   string  `json:"state"`
	Parties []party `json:"parties"`
}

func (s *server) liveCall(t *testing.T, id string) liveCall {
	t.Helper()
	var c liveCall
	if code := s.api("GET", "/api/v1/calls/"+id, nil, &c); code != 200 {
		t.Fatalf("GET call %s: %d", id, code)
	}
	return c
}

// waitCallState waits until the live call is in state with n parties (n < 0: any).
func (s *server) waitCallState(t *testing.T, id, state string, n int) liveCall {
	t.Helper()
	var c liveCall
	waitFor(t, 20*time.Second, fmt.Sprintf("call %s %s with %d parties", id, state, n), func() bool {
		c = s.liveCall(t, id)
		return c.State == state && (n < 0 || len(c.Parties) == n)
	})
	return c
}

// answeredBy waits until ext is on a call and that call is connected to
// them, and returns its ID. (The agent shows on_call a moment before the
// call names them its agent; acting as the agent in between is refused.)
func (s *server) answeredBy(t *testing.T, ext string) string {
	t.Helper()
	waitFor(t, 15*time.Second, ext+" on a call", func() bool { st, _ := agentState(s, ext); return st == "on_call" })
	id := s.liveCallOf(t, ext)
	waitFor(t, 5*time.Second, "call "+id+" connected to "+ext, func() bool {
		c := s.liveCall(t, id)
		return c.State == "connected" && c.Agent == ext
	})
	return id
}

// tonePhone is an agent's (or an outside party's) phone that answers and
// plays a tone at freq for d, without echoing: its user does not repeat
// what they hear, so what each party receives shows whom they hear. ext ""
// registers nothing (a number on the trunk).
func tonePhone(t *testing.T, s *server, n int, ext string, freq float64, d time.Duration) *agentPhone {
	t.Helper()
	sp, mp := s.ports.phone(n)
	a := &agentPhone{ext: ext, sipPort: sp, mediaPort: mp}
	args := []string{"-sf", toneAgent(t, writeTonePCAP(t, freq, d)), "-p", strconv.Itoa(sp), "-mp", strconv.Itoa(mp),
		"-m", "1", "-timeout", "90s"}
	if ext == "" {
		a.uas = runSIPp(t, "pstn", args...)
		return a
	}
	a.uas = runSIPp(t, "agent-"+ext, append(args, "-s", ext)...)
	register(t, s, n+20, ext, "demo"+ext, sp, 300)
	waitFor(t, 5*time.Second, "agent "+ext+" available", func() bool { st, _ := agentState(s, ext); return st == "available" })
	return a
}

// tonesBetween is tones over the frames captured in [from, to) only.
func tonesBetween(t *testing.T, c *capture, port int, from, to time.Time, freqs ...float64) map[float64]int {
	t.Helper()
	out, err := exec.Command("tshark", "-r", c.path, "-d", fmt.Sprintf("udp.port==%d,rtp", port), "-Y", "rtp",
		"-T", "fields", "-e", "frame.time_epoch", "-e", "rtp.payload").Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", c.path, err)
	}
	counts := map[float64]int{}
	pcm := make([]int16, 0, 240)
	power := make([]float64, len(freqs))
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		sec, err := strconv.ParseFloat(f[0], 64)
		at := time.Unix(0, int64(sec*1e9))
		if err != nil || at.Before(from) || !at.Before(to) {
			continue
		}
		b, err := hex.DecodeString(strings.ReplaceAll(f[1], ":", ""))
		if err != nil || len(b) < 160 {
			continue
		}
		pcm = pcm[:len(b)]
		media.Decode(media.PCMA, pcm, b)
		// A tone counts when it is loud and not just the leakage of a
		// louder one (a 20 ms frame's bins leak about -30 dB 500 Hz away).
		strongest := 0.0
		for i, fr := range freqs {
			power[i] = goertzel(pcm, fr)
			strongest = max(strongest, power[i])
		}
		for i, fr := range freqs {
			if power[i] > 1e8 && power[i] > strongest/50 {
				counts[fr]++
			}
		}
	}
	return counts
}

// hearsOthers fails unless who heard each of want in at least min frames
// and its own tone in under a tenth of that.
func hearsOthers(t *testing.T, who string, got map[float64]int, own float64, min int, want ...float64) {
	t.Helper()
	t.Logf("%s heard %v (frames per tone)", who, got)
	for _, f := range want {
		if got[f] < min {
			t.Errorf("%s heard %.0f Hz in %d frames, want at least %d (all: %v)", who, f, got[f], min, got)
		}
	}
	if got[own] > min/10 {
		t.Errorf("%s heard its own %.0f Hz in %d frames: the conference sends a party its own voice (all: %v)", who, own, got[own], got)
	}
}

// A three-way conference through the API: the caller (440 Hz) talks to
// support agent 1003 (1000 Hz), who adds 1004 (2000 Hz). Everyone hears
// the other two and not themselves; the call shows state conference and
// three parties. Then 1003 leaves: caller and 1004 still hear each other,
// the call is connected again with 1004 as its agent, the record has the
// conference events, and the queue report counts the call once.
func TestConferenceThreeWayHeardByAll(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	from := time.Now().UTC().Truncate(time.Hour)
	agent := tonePhone(t, s, 0, "1003", 1000, 30*time.Second)
	third := tonePhone(t, s, 2, "1004", 2000, 30*time.Second)
	_, callerMedia := s.ports.phone(1)
	capCaller, capAgent, capThird := startCapture(t, callerMedia), startCapture(t, agent.mediaPort), startCapture(t, third.mediaPort)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 500, TalkPcap: writeTonePCAP(t, 440, 30*time.Second), RemoteHangup: true})
	id := s.answeredBy(t, "1003")

	var res map[string]string
	if code := s.apiAs("1003", "demo1003", "POST", "/api/v1/calls/"+id+"/conference", map[string]string{"to": "1004"}, &res); code != 202 {
		t.Fatalf("conference: %d %v", code, res)
	}
	c := s.waitCallState(t, id, "conference", 3)
	kinds := map[string]party{}
	for _, p := range c.Parties {
		if p.JoinedAt.IsZero() {
			t.Errorf("party %+v has no joined_at", p)
		}
		kinds[p.Kind+":"+p.ID] = p
	}
	if _, ok := kinds["caller:caller"]; !ok || kinds["agent:1003"].Agent != "1003" || kinds["agent:1004"].Agent != "1004" {
		t.Fatalf("parties %+v", c.Parties)
	}
	confFrom := time.Now().Add(500 * time.Millisecond)
	time.Sleep(4 * time.Second) // everyone talks
	confTo := time.Now()

	if code := s.apiAs("1003", "demo1003", "POST", "/api/v1/calls/"+id+"/conference/leave", nil, &res); code != 200 {
		t.Fatalf("leave: %d %v", code, res)
	}
	c = s.waitCallState(t, id, "connected", -1)
	agent.uas.mustSucceed(t, 10*time.Second) // 1003's phone got its BYE
	if len(c.Parties) != 2 || c.Parties[1].Agent != "1004" {
		t.Fatalf("after the leave: parties %+v", c.Parties)
	}
	// The record's agent is the stored record's, written a moment after the
	// live state changes.
	waitFor(t, 2*time.Second, "1004 the call's agent", func() bool { c = s.liveCall(t, id); return c.Agent == "1004" })
	if got := s.liveCallOf(t, "1004"); got != id {
		t.Fatalf("1004 is on call %s, want %s", got, id)
	}
	pairFrom := time.Now().Add(500 * time.Millisecond)
	time.Sleep(3500 * time.Millisecond) // caller and 1004 go on talking
	pairTo := time.Now()
	if code := s.api("POST", "/api/v1/calls/"+id+"/hangup", nil, nil); code != 200 {
		t.Fatalf("hangup: %d", code)
	}
	caller.mustSucceed(t, 20*time.Second)
	third.uas.mustSucceed(t, 10*time.Second)
	capCaller.stop()
	capAgent.stop()
	capThird.stop()

	// 4 s of conference is 200 frames; ask for half of them.
	hearsOthers(t, "the caller", tonesBetween(t, capCaller, callerMedia, confFrom, confTo, 440, 1000, 2000), 440, 100, 1000, 2000)
	hearsOthers(t, "agent 1003", tonesBetween(t, capAgent, agent.mediaPort, confFrom, confTo, 440, 1000, 2000), 1000, 100, 440, 2000)
	hearsOthers(t, "agent 1004", tonesBetween(t, capThird, third.mediaPort, confFrom, confTo, 440, 1000, 2000), 2000, 100, 440, 1000)
	// After the leave: 3 s, two parties, and 1003 gone from what they hear.
	atCaller := tonesBetween(t, capCaller, callerMedia, pairFrom, pairTo, 1000, 2000)
	atThird := tonesBetween(t, capThird, third.mediaPort, pairFrom, pairTo, 440, 1000)
	if atCaller[2000] < 75 || atCaller[1000] > 7 || atThird[440] < 75 || atThird[1000] > 7 {
		t.Errorf("after 1003 left: the caller heard %v, 1004 heard %v; want each other only", atCaller, atThird)
	}

	rec := s.lastCallWhere(t, func(c callRecord) bool { return c.ID == id })
	if rec.Outcome != "answered" || rec.Agent != "1004" || rec.Queue != "support" {
		t.Errorf("record %+v", rec)
	}
	if !rec.hasEvent("conference_joined", "1004") || !rec.hasEvent("conference_left", "1003") {
		t.Errorf("events %v\njoined %q\nleft %q", rec.kinds(), rec.details("conference_joined"), rec.details("conference_left"))
	}
	tot := queueTotals(t, s, from)
	if sup := tot["support"]; sup.Offered != 1 || sup.Answered != 1 || sup.OverflowedOut != 0 {
		t.Errorf("support in the queue report: %+v, want the call counted once", sup)
	}
}

// The conference feature code from the agent's phone: while 1003 talks to
// the caller, the same phone dials *3 and a number; that short call hears
// a beep and is hung up, and the number (a phone on the trunk) is rung into
// the call and hears caller and agent. Removing that party through the API
// leaves caller and agent connected. The phone is on 127.0.0.2, outside the
// trunk's addresses (see TestConferenceCodeFromTrunkAddress).
func TestConferenceFromPhoneCode(t *testing.T) {
	t.Parallel()
	pstnSIP := 0
	s := startServerWith(t, func(p ports) []string {
		pstnSIP, _ = p.phone(3)
		return []string{`outbound: {host: "127.0.0.1:5080"`, fmt.Sprintf(`outbound: {host: "127.0.0.1:%d"`, pstnSIP),
			`inbound_sources: [127.0.0.0/8, "::1"]`, `inbound_sources: [127.0.0.1/32, "::1"]`}
	})
	agent := tonePhone(t, s, 0, "1003", 1000, 30*time.Second)
	pstn := tonePhone(t, s, 3, "", 2000, 30*time.Second)
	_, callerMedia := s.ports.phone(1)
	capCaller, capPSTN := startCapture(t, callerMedia), startCapture(t, pstn.mediaPort)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 500, TalkPcap: writeTonePCAP(t, 440, 30*time.Second), RemoteHangup: true})
	id := s.answeredBy(t, "1003")

	code := call(t, s, 4, "conference-code", callerSpec{Service: "*35550100", Auth: true, RemoteHangup: true},
		"-au", "1003", "-ap", "demo1003", "-i", "127.0.0.2", "-mi", "127.0.0.2")
	code.mustSucceed(t, 20*time.Second) // answered, beep, hung up by Switchboard
	c := s.waitCallState(t, id, "conference", 3)
	ext := ""
	for _, p := range c.Parties {
		if p.Kind == "external" && p.Number == "5550100" {
			ext = p.ID
		}
	}
	if ext == "" {
		t.Fatalf("no external party 5550100 among %+v", c.Parties)
	}
	confFrom := time.Now().Add(500 * time.Millisecond)
	time.Sleep(3 * time.Second)
	confTo := time.Now()
	if st := s.api("DELETE", "/api/v1/calls/"+id+"/conference/"+ext, nil, nil); st != 200 {
		t.Fatalf("remove %s: %d", ext, st)
	}
	pstn.uas.mustSucceed(t, 10*time.Second) // the removed party got its BYE
	c = s.waitCallState(t, id, "connected", 2)
	if c.Agent != "1003" {
		t.Fatalf("after removing %s the call's agent is %q", ext, c.Agent)
	}
	if st := s.api("POST", "/api/v1/calls/"+id+"/hangup", nil, nil); st != 200 {
		t.Fatalf("hangup: %d", st)
	}
	caller.mustSucceed(t, 20*time.Second)
	agent.uas.mustSucceed(t, 10*time.Second)
	capCaller.stop()
	capPSTN.stop()

	hearsOthers(t, "the number", tonesBetween(t, capPSTN, pstn.mediaPort, confFrom, confTo, 440, 1000, 2000), 2000, 75, 440, 1000)
	if got := tonesBetween(t, capCaller, callerMedia, confFrom, confTo, 2000); got[2000] < 75 {
		t.Errorf("the caller heard the number's 2000 Hz in %d frames", got[2000])
	}
	rec := s.lastCallWhere(t, func(c callRecord) bool { return c.ID == id })
	if rec.Agent != "1003" || !rec.hasEvent("conference_joined", "") || !rec.hasEvent("conference_left", "") {
		t.Errorf("record %+v events %v", rec, rec.kinds())
	}
	short := s.lastCallWhere(t, func(c callRecord) bool { return c.Dialed == "*35550100" })
	if short.Outcome != "completed" || !strings.Contains(short.Reason, id) {
		t.Errorf("the *3 call's record %+v", short)
	}
}

// The demo's agent phones share the trunk's trusted addresses (127.0.0.0/8):
// feature codes and extensions are challenged there all the same, so *3
// from such a phone must be too.
func TestConferenceCodeFromTrunkAddress(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	agent := registerAgent(t, s, 0, "1003", "agent_answer.xml", 1)
	third := registerAgent(t, s, 2, "1004", "agent_answer.xml", 1)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 500, RemoteHangup: true})
	id := s.answeredBy(t, "1003")
	code := call(t, s, 3, "conference-code", callerSpec{Service: "*31004", Auth: true, RemoteHangup: true}, "-au", "1003", "-ap", "demo1003")
	code.mustSucceed(t, 20*time.Second)
	s.waitCallState(t, id, "conference", 3)
	if st := s.api("POST", "/api/v1/calls/"+id+"/hangup", nil, nil); st != 200 {
		t.Fatalf("hangup: %d", st)
	}
	caller.mustSucceed(t, 20*time.Second)
	agent.uas.mustSucceed(t, 10*time.Second)
	third.uas.mustSucceed(t, 10*time.Second)
}
