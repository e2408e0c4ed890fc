package e2e

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// listenPeak makes the page measure, every 200 ms, the loudest frequency
// (200-3400 Hz) of what the peer connection pc (a JavaScript expression)
// receives, into window.__peak and window.__peakDb.
func listenPeak(t *testing.T, ctx context.Context, pc string) {
	t.Helper()
	js(t, ctx, `(() => {
		const pc = `+pc+`;
		const track = pc.getReceivers().map((r) => r.track).find((x) => x && x.kind === "audio");
		const ac = new AudioContext();
		ac.resume();
		const an = ac.createAnalyser();
		an.fftSize = 4096;
		ac.createMediaStreamSource(new MediaStream([track])).connect(an);
		const buf = new Float32Array(an.frequencyBinCount);
		setInterval(() => {
			an.getFloatFrequencyData(buf);
			let best = -1;
			for (let i = 1; i < buf.length; i++) {
				const f = i * ac.sampleRate / an.fftSize;
				if (f >= 200 && f <= 3400 && (best < 0 || buf[i] > buf[best])) best = i;
			}
			window.__peak = best * ac.sampleRate / an.fftSize;
			window.__peakDb = buf[best];
		}, 200);
	})()`)
}

// hears waits until the page's loudest received frequency is hz.
func hears(t *testing.T, ctx context.Context, who string, hz float64) {
	t.Helper()
	var peak, db float64
	waitFor(t, 15*time.Second, fmt.Sprintf("%s hears %.0f Hz", who, hz), func() bool {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`[window.__peak || 0, window.__peakDb || -200]`))
		if err != nil || len(v) != 2 {
			return false
		}
		peak, db = v[0], v[1]
		return math.Abs(peak-hz) < 30 && db > -80
	})
}

// The web caller: Chromium tab A on /call (no login, a fake microphone
// playing 600 Hz) calls the demo's number, presses 1 on the page's keypad,
// and is answered by Chromium tab B on /agent (agent 1001 of sales, its
// microphone 1000 Hz); each hears the other's tone; A hangs up and the
// call's record is complete. A second address may not flood the page.
func TestWebCaller(t *testing.T) {
	s := startServer(t)
	agent := browser(t, "use-fake-ui-for-media-stream", "use-fake-device-for-media-stream",
		"use-file-for-fake-audio-capture="+toneWAV(t, 1000, 30*time.Second), "allow-loopback-in-peer-connection",
		"autoplay-policy=no-user-gesture-required")
	uiLogin(t, agent, s.http+"/agent", "1001", "demo1001")
	waitText(t, agent, "#softphone", func(v string) bool { return v == "connected" })
	click(t, agent, `#btn-available`)
	waitFor(t, 10*time.Second, "1001 available", func() bool { st, _ := agentState(s, "1001"); return st == "available" })

	visitor := browser(t, "use-fake-ui-for-media-stream", "use-fake-device-for-media-stream",
		"use-file-for-fake-audio-capture="+toneWAV(t, 600, 30*time.Second), "allow-loopback-in-peer-connection",
		"autoplay-policy=no-user-gesture-required")
	if err := chromedp.Do(visitor, chromedp.Navigate(s.http+"/call")); err != nil {
		t.Fatal(err)
	}
	click(t, visitor, `#btn-call`)
	waitText(t, visitor, `#state`, func(v string) bool { return v == "Connected" })
	time.Sleep(1500 * time.Millisecond) // into the menu's prompt
	click(t, visitor, `#key-1`)
	waitText(t, visitor, `#keys`, func(v string) bool { return v == "1" })
	if err := chromedp.Do(agent, chromedp.WaitEnabled(chromedp.CSS(`#btn-answer`)), chromedp.Click(chromedp.CSS(`#btn-answer`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "1001 on the call", func() bool { st, _ := agentState(s, "1001"); return st == "on_call" })
	listenPeak(t, visitor, "window.webcall.pc")
	listenPeak(t, agent, "window.softphone")
	hears(t, visitor, "the visitor", 1000)
	hears(t, agent, "the agent", 600)
	screenshot(t, visitor, "webcall.png")
	click(t, visitor, `#btn-hangup`)
	waitText(t, visitor, `#state`, func(v string) bool { return v == "Call ended" })
	rec := s.lastCall(t)
	if rec.Outcome != "answered" || rec.Agent != "1001" || rec.Queue != "sales" || rec.HangupBy != "caller" || rec.Caller != "web" {
		t.Fatalf("the web call's record %+v, events %v", rec, rec.kinds())
	}

	// One address starting calls over and over is refused after a few.
	var codes []int
	for i := 0; i < 5; i++ {
		res, err := http.Post(s.http+"/api/v1/webcall", "application/json", strings.NewReader(`{"sdp": "v=0"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		codes = append(codes, res.StatusCode)
	}
	if codes[len(codes)-1] != 429 {
		t.Fatalf("five web calls at once from one address: %v", codes)
	}
}
