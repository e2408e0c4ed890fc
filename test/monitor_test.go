package e2e

import (
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/media"
)

// tones counts the captured PCMA frames in which each frequency is present.
func tones(t *testing.T, c *capture, port int, freqs ...float64) map[float64]int {
	t.Helper()
	out := map[float64]int{}
	pcm := make([]int16, 0, 240)
	for _, p := range rtpPayloads(t, c.path, port) {
		b, err := hex.DecodeString(p)
		if err != nil || len(b) < 160 {
			continue
		}
		pcm = pcm[:len(b)]
		media.Decode(media.PCMA, pcm, b)
		for _, f := range freqs {
			if goertzel(pcm, f) > 1e8 {
				out[f]++
			}
		}
	}
	return out
}

// A supervisor (1004, supervisor: true) whispers to agent 1003 from a SIP
// phone with the demo's feature code *56: the supervisor hears caller and
// agent (440 and 1000 Hz), the agent hears the supervisor's 2000 Hz as
// well as the caller, and the caller never hears the supervisor. Then 6
// barges in: the caller hears the supervisor too.
func TestSupervisorWhisperAndBarge(t *testing.T) {
	s := startServer(t)
	// The agent's phone plays its tone and does not echo (a real phone's
	// user does not repeat what they hear).
	agentSIP, agentMedia := s.ports.phone(0)
	agentUAS := runSIPp(t, "agent-1003", "-sf", toneAgent(t, writeTonePCAP(t, 1000, 12*time.Second)), "-p", fmt.Sprint(agentSIP),
		"-mp", fmt.Sprint(agentMedia), "-m", "1", "-timeout", "90s", "-s", "1003")
	register(t, s, 20, "1003", "demo1003", agentSIP, 300)
	waitFor(t, 5*time.Second, "1003 available", func() bool { st, _ := agentState(s, "1003"); return st == "available" })
	_, callerMedia := s.ports.phone(1)
	_, supMedia := s.ports.phone(2)
	capCaller, capAgent, capSup := startCapture(t, callerMedia), startCapture(t, agentMedia), startCapture(t, supMedia)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 500, TalkPcap: writeTonePCAP(t, 440, 12*time.Second), RemoteHangup: true})
	waitFor(t, 15*time.Second, "1003 on the call", func() bool { st, _ := agentState(s, "1003"); return st == "on_call" })
	// The supervisor speaks (2000 Hz) for 4 s whispering, presses 6, and
	// speaks 4 s more barging (a new pcap play cancels the running one).
	tone := writeTonePCAP(t, 2000, 4*time.Second)
	sup := call(t, s, 2, "supervisor", callerSpec{Service: "*561003", Auth: true,
		Then: []step{{Pcap: tone}, {PauseMS: 4100, Key: "6"}, {PauseMS: 300, Pcap: tone}}, TalkMS: 4200}, "-au", "1004", "-ap", "demo1004")
	sup.mustSucceed(t, 30*time.Second)
	time.Sleep(500 * time.Millisecond)
	if code := s.api("POST", "/api/v1/calls/"+s.liveCallOf(t, "1003")+"/hangup", nil, nil); code != 200 {
		t.Fatalf("hangup: %d", code)
	}
	caller.mustSucceed(t, 20*time.Second)
	agentUAS.mustSucceed(t, 10*time.Second)
	capCaller.stop()
	capAgent.stop()
	capSup.stop()
	atSup := tones(t, capSup, supMedia, 440, 1000, 2000)
	atAgent := tones(t, capAgent, agentMedia, 2000)
	atCaller := tones(t, capCaller, callerMedia, 2000)
	t.Logf("supervisor heard %v, agent heard %v, caller heard %v", atSup, atAgent, atCaller)
	if atSup[440] < 100 || atSup[1000] < 100 {
		t.Fatalf("the supervisor should hear caller and agent: %v", atSup)
	}
	if atAgent[2000] < 100 {
		t.Fatalf("the agent should hear the supervisor (whisper, then barge): %v", atAgent)
	}
	// Whispering (the first 4 s) the caller hears nothing of the supervisor;
	// barging (the last 4 s) they do: about half of the agent's count.
	if atCaller[2000] < 100 || atCaller[2000] > atAgent[2000]*3/4 {
		t.Fatalf("the caller should hear the supervisor only after the barge: caller %v, agent %v", atCaller, atAgent)
	}
	rec := s.lastCallWhere(t, func(c callRecord) bool { return c.Dialed == "100" })
	if !rec.hasEvent("monitor_started", "1003") || !rec.hasEvent("monitor_mode", "1003") || !rec.hasEvent("monitor_ended", "1003") {
		t.Fatalf("events %v", rec.kinds())
	}
}
