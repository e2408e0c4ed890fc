package e2e

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/media"
)

// toneWAV writes an 8 kHz 16-bit mono WAV of a sine at freq (Chromium's
// fake microphone).
func toneWAV(t *testing.T, freq float64, d time.Duration) string {
	t.Helper()
	n := int(d.Seconds() * media.SampleRate)
	b := media.WAVHeader(1, uint32(2*n))
	for i := 0; i < n; i++ {
		b = binary.LittleEndian.AppendUint16(b, uint16(int16(8000*math.Sin(2*math.Pi*freq*float64(i)/media.SampleRate))))
	}
	path := filepath.Join(t.TempDir(), "mic.wav")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The browser softphone: agent 1003 logs in on the desktop (no SIP phone),
// the softphone connects over WebRTC, a SIPp caller is offered to the
// desktop, the test clicks Answer, and audio flows both ways: the caller's
// 440 Hz tone reaches the page's WebRTC receiver, the browser's 1000 Hz
// microphone reaches the caller's RTP. Closing the tab mid-call ends the
// call with a complete record.
func TestBrowserSoftphone(t *testing.T) {
	s := startServer(t)
	ctx := browser(t, "use-fake-ui-for-media-stream", "use-fake-device-for-media-stream",
		"use-file-for-fake-audio-capture="+toneWAV(t, 1000, 10*time.Second), "allow-loopback-in-peer-connection",
		"autoplay-policy=no-user-gesture-required")
	uiLogin(t, ctx, s.http+"/agent", "1003", "demo1003")
	softphoneAnswers(t, s, ctx, "agent-softphone.png")
}

// softphoneAnswers is the call of the browser softphone tests: agent 1003,
// logged in on the desktop open in ctx, connects its softphone and goes
// available; a SIPp caller is offered to it, the test clicks Answer, and
// audio flows both ways (the caller's 440 Hz tone in the page's WebRTC
// receiver, the browser's 1000 Hz microphone in the caller's RTP). Closing
// the tab mid-call ends the call with a complete record. shot names the
// screenshot taken during the call.
func softphoneAnswers(t *testing.T, s *server, ctx context.Context, shot string) {
	t.Helper()
	waitText(t, ctx, "#softphone", func(v string) bool { return v == "connected" })
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#btn-available`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "1003 available", func() bool { st, _ := agentState(s, "1003"); return st == "available" })
	_, callerMedia := s.ports.phone(1)
	heard := startCapture(t, callerMedia)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 1500, TalkPcap: writeTonePCAP(t, 440, 8*time.Second), RemoteHangup: true})
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(chromedp.CSS(`#btn-answer`)), chromedp.Click(chromedp.CSS(`#btn-answer`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "1003 on the call", func() bool { st, _ := agentState(s, "1003"); return st == "on_call" })
	// The page's receiver: packets and energy from the caller.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`setInterval(async () => {
		for (const r of (await window.softphone.getStats()).values())
			if (r.type === "inbound-rtp" && r.kind === "audio") window.__in = {packets: r.packetsReceived, energy: r.totalAudioEnergy};
	}, 200)`)); err != nil {
		t.Fatal(err)
	}
	var in struct {
		Packets float64 `json:"packets"`
		Energy  float64 `json:"energy"`
	}
	waitFor(t, 15*time.Second, "the caller's audio in the browser", func() bool {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](`window.__in || {}`))
		if err != nil {
			return false
		}
		m, _ := v.(map[string]any)
		in.Packets, _ = m["packets"].(float64)
		in.Energy, _ = m["energy"].(float64)
		return in.Packets > 100 && in.Energy > 0
	})
	screenshot(t, ctx, shot)
	time.Sleep(2 * time.Second) // a little more of the browser's voice for the caller's capture
	// The tab goes away mid-call: the softphone's connection closes, the
	// call ends as the agent's hangup, and its record is complete.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	caller.mustSucceed(t, 20*time.Second)
	heard.stop()
	rec := s.lastCall(t)
	if rec.Outcome != "answered" || rec.Agent != "1003" || rec.HangupBy != "agent" {
		t.Fatalf("record %+v events %v", rec, rec.kinds())
	}
	// The caller heard the browser's 1000 Hz tone (PCMA frames, transcoded from the browser's PCMU).
	tone := 0
	for _, p := range rtpPayloads(t, heard.path, callerMedia) {
		b, err := hex.DecodeString(p)
		if err != nil || len(b) < 160 {
			continue
		}
		pcm := make([]int16, len(b))
		media.Decode(media.PCMA, pcm, b)
		if goertzel(pcm, 1000) > 1e8 && goertzel(pcm, 1000) > 20*goertzel(pcm, 440) {
			tone++
		}
	}
	if tone < 50 {
		t.Fatalf("the caller heard %d frames of the browser's tone (browser received %+v)", tone, in)
	}
	if !strings.Contains(strings.Join(rec.kinds(), ","), "connected") {
		t.Fatalf("events %v", rec.kinds())
	}
}

// A supervisor whispers from the wallboard: the wallboard's softphone is
// rung for the monitor and answers itself; it hears the call (WebRTC
// receiver stats), the agent hears the supervisor's 2000 Hz microphone,
// the caller does not; Stop monitoring ends it.
func TestWallboardWhisperFromBrowser(t *testing.T) {
	s := startServer(t)
	agentSIP, agentMedia := s.ports.phone(0)
	agentUAS := runSIPp(t, "agent-1003", "-sf", toneAgent(t, writeTonePCAP(t, 1000, 15*time.Second)), "-p", fmt.Sprint(agentSIP),
		"-mp", fmt.Sprint(agentMedia), "-m", "1", "-timeout", "90s", "-s", "1003")
	register(t, s, 20, "1003", "demo1003", agentSIP, 300)
	waitFor(t, 5*time.Second, "1003 available", func() bool { st, _ := agentState(s, "1003"); return st == "available" })
	ctx := browser(t, "use-fake-ui-for-media-stream", "use-fake-device-for-media-stream",
		"use-file-for-fake-audio-capture="+toneWAV(t, 2000, 10*time.Second), "allow-loopback-in-peer-connection",
		"autoplay-policy=no-user-gesture-required")
	uiLogin(t, ctx, s.http+"/wallboard", "supervisor", "demo-supervisor")
	waitText(t, ctx, "#softphone", func(v string) bool { return v == "connected" })
	_, callerMedia := s.ports.phone(1)
	capCaller, capAgent := startCapture(t, callerMedia), startCapture(t, agentMedia)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 500, TalkPcap: writeTonePCAP(t, 440, 15*time.Second), RemoteHangup: true})
	waitFor(t, 15*time.Second, "1003 on the call", func() bool { st, _ := agentState(s, "1003"); return st == "on_call" })
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`tr[data-agent="1003"] td:last-child button:nth-of-type(2)`)),
		chromedp.Click(chromedp.CSS(`tr[data-agent="1003"] td:last-child button:nth-of-type(2)`))); err != nil { // Whisper
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`setInterval(async () => {
		for (const r of (await window.softphone.getStats()).values())
			if (r.type === "inbound-rtp" && r.kind === "audio") window.__in = {packets: r.packetsReceived, energy: r.totalAudioEnergy};
	}, 200)`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the call's audio in the supervisor's browser", func() bool {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](`window.__in || {}`))
		m, _ := v.(map[string]any)
		p, _ := m["packets"].(float64)
		e, _ := m["energy"].(float64)
		return err == nil && p > 100 && e > 0
	})
	time.Sleep(2 * time.Second)
	screenshot(t, ctx, "wallboard-whisper.png")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#btn-stop-monitor`))); err != nil {
		t.Fatal(err)
	}
	id := s.liveCallOf(t, "1003")
	waitFor(t, 10*time.Second, "monitor_ended", func() bool {
		var rec callRecord
		s.api("GET", "/api/v1/calls/"+id, nil, &rec)
		return rec.hasEvent("monitor_ended", "1003")
	})
	if code := s.api("POST", "/api/v1/calls/"+id+"/hangup", nil, nil); code != 200 {
		t.Fatalf("hangup: %d", code)
	}
	caller.mustSucceed(t, 20*time.Second)
	agentUAS.mustSucceed(t, 10*time.Second)
	capCaller.stop()
	capAgent.stop()
	atAgent, atCaller := tones(t, capAgent, agentMedia, 2000), tones(t, capCaller, callerMedia, 2000)
	t.Logf("agent heard %v, caller heard %v", atAgent, atCaller)
	if atAgent[2000] < 50 || atCaller[2000] > 20 { // a few frames of the prompts before the call have some 2000 Hz
		t.Fatalf("whisper: the agent should hear the supervisor (%v), the caller not (%v)", atAgent, atCaller)
	}
}

// On the softphone: Hold (the caller hears music), Resume, then a blind
// Transfer from the desktop to a SIP agent (1004), who takes the call; with
// a wrap-up, the desktop counts it down.
func TestSoftphoneHoldAndTransfer(t *testing.T) {
	s := startServer(t, "    callback: {attempts: 3, retry_after: 2m, ring_timeout: 30s}\n",
		"    callback: {attempts: 3, retry_after: 2m, ring_timeout: 30s}\n    wrap_up: 30s\n")
	ctx := browser(t, "use-fake-ui-for-media-stream", "use-fake-device-for-media-stream",
		"use-file-for-fake-audio-capture="+toneWAV(t, 1000, 10*time.Second), "allow-loopback-in-peer-connection",
		"autoplay-policy=no-user-gesture-required")
	uiLogin(t, ctx, s.http+"/agent", "1003", "demo1003")
	waitText(t, ctx, "#softphone", func(v string) bool { return v == "connected" })
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#btn-available`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "1003 available", func() bool { st, _ := agentState(s, "1003"); return st == "available" })
	if code := s.api("POST", "/api/v1/agents/1004/login", nil, nil); code != 200 {
		t.Fatalf("login 1004: %d", code)
	}
	if code := s.api("POST", "/api/v1/agents/1004/state", map[string]string{"state": "away", "reason": "expert"}, nil); code != 200 {
		t.Fatalf("1004 away: %d", code)
	}
	expert := registerAgent2(t, s, 2, "1004", "agent_answer.xml")
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		TalkPcap: pcapDir + "/g711a.pcap", RemoteHangup: true})
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(chromedp.CSS(`#btn-answer`)), chromedp.Click(chromedp.CSS(`#btn-answer`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "1003 on the call", func() bool { st, _ := agentState(s, "1003"); return st == "on_call" })
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(chromedp.CSS(`#btn-hold`)), chromedp.Click(chromedp.CSS(`#btn-hold`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "1003 on hold", func() bool { st, _ := agentState(s, "1003"); return st == "on_hold" })
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(chromedp.CSS(`#btn-resume`)), chromedp.Click(chromedp.CSS(`#btn-resume`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "1003 back on the call", func() bool { st, _ := agentState(s, "1003"); return st == "on_call" })
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#transfer-to`), "1004"), chromedp.Click(chromedp.CSS(`#btn-transfer`))); err != nil {
		t.Fatal(err)
	}
	id := ""
	waitFor(t, 15*time.Second, "1004 connected to the caller", func() bool {
		var v struct {
			CallID string `json:"call_id"`
		}
		s.api("GET", "/api/v1/agents/1004", nil, &v)
		var rec callRecord
		if v.CallID == "" || s.api("GET", "/api/v1/calls/"+v.CallID, nil, &rec) != 200 {
			return false
		}
		id = v.CallID
		return rec.hasEvent("connected", "1004")
	})
	waitText(t, ctx, "#since", func(v string) bool { return strings.HasPrefix(v, "ends in ") }) // 1003's wrap-up
	if code := s.api("POST", "/api/v1/calls/"+id+"/hangup", nil, nil); code != 200 {
		t.Fatalf("hangup: %d", code)
	}
	caller.mustSucceed(t, 20*time.Second)
	expert.mustSucceed(t, 10*time.Second)
	rec := s.lastCall(t)
	if rec.Agent != "1004" || !rec.hasEvent("hold", "1003") || !rec.hasEvent("unhold", "1003") || len(rec.details("transfer")) != 1 {
		t.Fatalf("record %+v events %v", rec, rec.kinds())
	}
}
