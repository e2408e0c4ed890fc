package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// visibleControls lists the call controls the desktop shows (ids, and
// "keypad" when its keys show).
func visibleControls(t *testing.T, ctx context.Context) []string {
	t.Helper()
	ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const out = [...document.querySelectorAll('#call-box button[id]')].filter((b) => b.offsetParent !== null).map((b) => b.id);
		if (document.querySelector('#keypad button').offsetParent !== null) out.push("keypad");
		return out.sort();
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// waitControls waits until the desktop is in call state state and shows
// exactly the controls want (sorted).
func waitControls(t *testing.T, ctx context.Context, state string, want ...string) {
	t.Helper()
	slices.Sort(want)
	var got []string
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('call-box').dataset.callState`))
		got = visibleControls(t, ctx)
		if st == state && slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("call state %q with controls %q; want %q with %q", st, got, state, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// noSidewaysScroll fails the test when the page is wider than the screen.
func noSidewaysScroll(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	w, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`[document.documentElement.scrollWidth, window.innerWidth]`))
	if err != nil || len(w) != 2 || w[0] > w[1] {
		t.Fatalf("%s: the page is %v px wide on a %v px screen (%v)", what, w[0], w[1], err)
	}
}

// The desktop built around the call's state, on a phone's screen
// (390×844): idle it offers no call controls; a call ringing on its
// softphone shows the incoming card (Answer, Reject) and rings; answered
// it shows what a connected call allows (the call core's commands), on
// hold Resume instead of Hold; Alt+O holds and resumes, Alt+H hangs up.
// The page is never wider than the screen. The wallboard is screenshotted
// at 390×844 (no sideways scrolling) and at 1920×1080 (big figures).
func TestDesktopLayout(t *testing.T) {
	s := startServer(t)
	ctx := browser(t, "use-fake-ui-for-media-stream", "use-fake-device-for-media-stream",
		"use-file-for-fake-audio-capture="+toneWAV(t, 1000, 30*time.Second), "allow-loopback-in-peer-connection",
		"autoplay-policy=no-user-gesture-required")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	uiLogin(t, ctx, s.http+"/agent", "1003", "demo1003")
	waitText(t, ctx, "#softphone", func(v string) bool { return v == "connected" })
	click(t, ctx, `#btn-available`)
	waitFor(t, 10*time.Second, "1003 available", func() bool { st, _ := agentState(s, "1003"); return st == "available" })
	waitControls(t, ctx, "idle", "btn-call")
	noSidewaysScroll(t, ctx, "the idle desktop")
	screenshot(t, ctx, "desktop-390-idle.png")

	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 1500, TalkPcap: writeTonePCAP(t, 440, 20*time.Second), RemoteHangup: true})
	waitControls(t, ctx, "ringing", "btn-answer", "btn-reject")
	if on, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.ringer.on`)); err != nil || !on {
		t.Fatalf("no ring tone while ringing: %v %v", on, err)
	}
	noSidewaysScroll(t, ctx, "the ringing desktop")
	screenshot(t, ctx, "desktop-390-ringing.png")
	click(t, ctx, `#btn-answer`)
	connected := []string{"btn-hangup", "btn-hold", "btn-mute", "btn-transfer", "btn-consult", "btn-conference", "btn-rec-pause", "keypad"}
	waitControls(t, ctx, "connected", connected...)
	if on, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.ringer.on`)); on {
		t.Fatal("the ring tone goes on after the answer")
	}
	noSidewaysScroll(t, ctx, "the desktop on a call")
	screenshot(t, ctx, "desktop-390-call.png")

	altKey := func(k string) {
		js(t, ctx, `document.dispatchEvent(new KeyboardEvent('keydown', {key: '`+k+`', altKey: true, bubbles: true}))`)
	}
	altKey("o")
	waitControls(t, ctx, "held", "btn-hangup", "btn-resume", "btn-mute", "btn-transfer", "btn-consult", "btn-conference", "btn-rec-pause")
	waitText(t, ctx, "#hold-timer", func(v string) bool { return strings.Contains(v, "0:0") })
	screenshot(t, ctx, "desktop-390-held.png")
	altKey("o")
	waitControls(t, ctx, "connected", connected...)
	time.Sleep(2 * time.Second) // the caller's scenario past its pause, talking
	altKey("h")
	caller.mustSucceed(t, 20*time.Second)
	waitControls(t, ctx, "idle", "btn-call")
	rec := s.lastCall(t)
	if rec.Outcome != "answered" || rec.HangupBy != "agent" || !rec.hasEvent("hold", "1003") || !rec.hasEvent("unhold", "1003") {
		t.Fatalf("record %+v events %v", rec, rec.kinds())
	}

	// The wallboard on a phone and on a big screen.
	wall := browser(t)
	if err := chromedp.Do(wall, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	uiLogin(t, wall, s.http+"/wallboard", "supervisor", "demo-supervisor")
	waitText(t, wall, `#queues tbody`, func(v string) bool { return strings.Contains(v, "support") })
	noSidewaysScroll(t, wall, "the wallboard on a phone")
	screenshot(t, wall, "wallboard-390.png")
	if err := chromedp.Do(wall, chromedp.EmulateViewport(1920, 1080)); err != nil {
		t.Fatal(err)
	}
	size, err := chromedp.Run(wall, chromedp.Evaluate[float64](`parseFloat(getComputedStyle(document.querySelector('#queues tbody td:nth-child(2)')).fontSize)`))
	if err != nil || size < 48 {
		t.Fatalf("the wallboard's figures on a big screen are %v px (%v), want 48 px or more", size, err)
	}
	noSidewaysScroll(t, wall, "the wallboard on a big screen")
	screenshot(t, wall, "wallboard-1920.png")
}
