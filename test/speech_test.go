package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/media"
)

// speechPCAP makes a pcap of a fixture of internal/speech/testdata with
// silence after it.
func speechPCAP(t *testing.T, file string, after time.Duration) string {
	t.Helper()
	data, err := os.ReadFile("../internal/speech/testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := media.ParseWAV(data)
	if err != nil {
		t.Fatal(err)
	}
	pcm = append(pcm, make([]int16, int(after.Seconds()*media.SampleRate))...)
	return writePCMPCAP(t, pcm, strings.TrimSuffix(file, ".wav")+".pcap")
}

// TestDesktopSpeech: a SIPp caller says "support" at the menu and reaches
// support, where the browser desktop's softphone answers; the caller says
// "I want to cancel my subscription" and the cue is on the desktop within
// 2 s of the word; after the call the transcript, its sentiment and
// summary are in the API, and the summary on the desktop for the wrap-up.
func TestDesktopSpeech(t *testing.T) {
	t.Parallel()
	s := startServer(t, speechOn, speechOn)
	waitFor(t, 60*time.Second, "the speech worker ready", func() bool {
		var st struct {
			Worker struct {
				Ready bool `json:"ready"`
			} `json:"worker"`
		}
		s.api("GET", "/api/v1/speech/live", nil, &st)
		return st.Worker.Ready
	})
	ctx := browser(t, "use-fake-ui-for-media-stream", "use-fake-device-for-media-stream",
		"use-file-for-fake-audio-capture="+toneWAV(t, 1000, 30*time.Second), "allow-loopback-in-peer-connection",
		"autoplay-policy=no-user-gesture-required")
	uiLogin(t, ctx, s.http+"/agent", "1003", "demo1003")
	// A supervisor's wallboard, in a second browser, lists the calls heard.
	board := browser(t)
	uiLogin(t, board, s.http+"/wallboard", "supervisor", "demo-supervisor")
	waitText(t, ctx, "#softphone", func(v string) bool { return v == "connected" })
	// The page notes when the cue first shows.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`new MutationObserver(() => {
		if (!window.__cueSeen && document.querySelector('#cues li[data-phrase="cancel"]')) window.__cueSeen = Date.now();
	}).observe(document.getElementById("cues"), {childList: true, subtree: true}); 1`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#btn-available`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "1003 available", func() bool { st, _ := agentState(s, "1003"); return st == "available" })

	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 800,
		Then:     []step{{Pcap: speechPCAP(t, "m04.wav", 0)}, {PauseMS: 7000}}, // "support", then time to answer
		TalkPcap: speechPCAP(t, "k00.wav", 3*time.Second), TalkMS: 7000})
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(chromedp.CSS(`#btn-answer`)), chromedp.Click(chromedp.CSS(`#btn-answer`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "1003 on the call", func() bool { st, _ := agentState(s, "1003"); return st == "on_call" })
	id := s.liveCallOf(t, "1003")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#cues li[data-phrase="cancel"]`))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "desktop-speech-cue.png")
	waitText(t, board, `#heard tr[data-call="`+id+`"] td[data-label="phrases"]`, func(v string) bool { return strings.Contains(v, "cancel") })
	screenshot(t, board, "wallboard-speech.png")
	caller.mustSucceed(t, 40*time.Second)
	rec := s.lastCallWhere(t, func(r callRecord) bool { return r.ID == id })
	if rec.Queue != "support" || rec.Digits != "2" || rec.Agent != "1003" {
		t.Fatalf("the spoken choice: record %+v", rec)
	}

	var tr struct {
		Utterances []struct {
			Channel string  `json:"channel"`
			Start   float64 `json:"start"`
			Text    string  `json:"text"`
		} `json:"utterances"`
		Summary   string `json:"summary"`
		Sentiment *struct {
			Start float64 `json:"start"`
			End   float64 `json:"end"`
		} `json:"sentiment"`
		Spotted []struct {
			Phrase string  `json:"phrase"`
			At     float64 `json:"at"`
		} `json:"spotted"`
	}
	waitFor(t, 60*time.Second, "the transcript", func() bool {
		return s.api("GET", "/api/v1/calls/"+id+"/transcript", nil, &tr) == 200
	})
	said := ""
	for _, u := range tr.Utterances {
		if u.Channel == "caller" {
			said += u.Text + " "
		}
	}
	if !strings.Contains(said, "cancel") || tr.Sentiment == nil || tr.Summary == "" || len(tr.Spotted) == 0 {
		t.Fatalf("transcript %+v", tr)
	}
	// The cue's delay: from the end of the word (the call's connection,
	// when its recording starts, plus where the word was) to the page.
	var full struct {
		ConnectedAt time.Time `json:"connected_at"`
	}
	s.api("GET", "/api/v1/calls/"+id, nil, &full)
	seen, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.__cueSeen || 0`))
	if err != nil || seen == 0 {
		t.Fatalf("cue time: %v %v", seen, err)
	}
	const wordLength = 0.68 // k00's "cancel" (spot.txt)
	wordEnd := full.ConnectedAt.Add(time.Duration((tr.Spotted[0].At + wordLength) * float64(time.Second)))
	late := time.UnixMilli(int64(seen)).Sub(wordEnd)
	t.Logf("the cue showed %v after the word's end", late.Round(10*time.Millisecond))
	if late > 2*time.Second {
		t.Errorf("the cue showed %v after the word (want 2 s at most)", late)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#summary-box`))); err != nil {
		t.Fatal(err)
	}
	summary, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('summary').value`))
	if err != nil || !strings.Contains(summary, "cancel") {
		t.Fatalf("the desktop's summary %q, %v", summary, err)
	}
	screenshot(t, ctx, "desktop-speech-summary.png")

	// The reports page, as a supervisor: the phrase in the trends and the
	// agent in the sentiment table; a search finds the call, whose
	// transcript shows beside its recording, the word lit at its time.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`api("DELETE", "/api/v1/session").then(() => 1)`)); err != nil {
		t.Fatal(err)
	}
	uiLogin(t, ctx, s.http+"/reports", "supervisor", "demo-supervisor")
	waitText(t, ctx, `#trends tr[data-phrase="cancel"]`, func(v string) bool { return strings.HasPrefix(v, "support") })
	waitText(t, ctx, `#speech-agents tr[data-name="1003"]`, func(v string) bool { return strings.HasPrefix(v, "1003") })
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#search-q`), "cancel"),
		chromedp.Click(chromedp.CSS(`#search-form button`))); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, `#search-hits tr[data-call="`+id+`"] mark`, func(v string) bool { return v == "cancel" })
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#search-hits tr[data-call="`+id+`"] button`))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#transcript .word`))); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, `#transcript-box h3`, func(v string) bool { return strings.Contains(v, "may contain errors") })
	lit, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const w = [...document.querySelectorAll('#transcript .word')].find((e) => e.textContent === 'cancel');
		if (!w) return 'no word';
		const audio = document.getElementById('audio');
		audio.currentTime = +w.dataset.start + 0.05;
		audio.dispatchEvent(new Event('timeupdate'));
		return w.classList.contains('now') ? 'lit' : 'dark';
	})()`))
	if err != nil || lit != "lit" {
		t.Fatalf("the transcript's word at its time: %q, %v", lit, err)
	}
	screenshot(t, ctx, "reports-transcript.png")
}
