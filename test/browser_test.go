package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/test/browsertest"
)

// browser starts headless Chromium (Debian's) for one test; the test is
// skipped when Chromium is missing, unless CI is set.
func browser(t *testing.T, flags ...string) context.Context {
	t.Helper()
	return browsertest.Start(t, flags...)
}

// screenshot writes the page to test/out for a person to look at.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(outDir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// uiLogin fills the page's login form (fields labelled Username and Password).
func uiLogin(t *testing.T, ctx context.Context, url, user, pass string) {
	t.Helper()
	browsertest.Login(t, ctx, url, user, pass)
}

// waitText waits until the element's text satisfies ok.
func waitText(t *testing.T, ctx context.Context, sel string, ok func(string) bool) string {
	t.Helper()
	return browsertest.WaitText(t, ctx, sel, ok)
}

func agentState(s *server, ext string) (state, reason string) {
	var v struct{ State, Reason string }
	s.api("GET", "/api/v1/agents/"+ext, nil, &v)
	return v.State, v.Reason
}

// The agent desktop: login with the demo credentials, the state control
// (Available, Away with a reason), the buttons the contract names, and,
// with a call on the agent's SIP phone, the screen pop (caller, queue, IVR
// path and keys) and Hold, Resume and Hang up acting on the call.
func TestAgentDesktop(t *testing.T) {
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("phone") != "5551234" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"name": "Ann Example", "account": {"tier": "gold", "open_tickets": 2}}`))
	}))
	defer crm.Close()
	s := startServer(t, "feature_codes:", fmt.Sprintf("crm: {url: %q, link: %q}\n\nfeature_codes:",
		crm.URL+"/lookup?phone={number}", crm.URL+"/contacts/{number}"))
	ctx := browser(t)
	uiLogin(t, ctx, s.http+"/agent", "1003", "demo1003")
	waitText(t, ctx, "#state", func(v string) bool { return v == "logged out" })
	names, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('button')].map(b => b.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Answer", "Hang up", "Hold", "Resume", "Transfer", "Available", "Away"} {
		if !strings.Contains(strings.Join(names, "|"), want) {
			t.Fatalf("no %q button among %q", want, names)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#btn-available`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "1003 available", func() bool { st, _ := agentState(s, "1003"); return st == "available" })
	waitText(t, ctx, "#state", func(v string) bool { return v == "available" })
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`#away-reason`), "lunch"), chromedp.Click(chromedp.CSS(`#btn-away`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "1003 away for lunch", func() bool { st, r := agentState(s, "1003"); return st == "away" && r == "lunch" })
	waitText(t, ctx, "#state", func(v string) bool { return v == "away" })

	phone := registerAgent(t, s, 0, "1003", "agent_answer.xml", 1) // logs in, available
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#btn-available`))); err != nil {
		t.Fatal(err)
	}
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		TalkPcap: pcapDir + "/g711a.pcap", RemoteHangup: true})
	waitText(t, ctx, "#state", func(v string) bool { return v == "on call" })
	waitText(t, ctx, "#c-queue", func(v string) bool { return v == "support" })
	waitText(t, ctx, "#c-digits", func(v string) bool { return v == "2" })
	waitText(t, ctx, "#c-caller", func(v string) bool { return strings.Contains(v, "5551234") })
	// The CRM's record of the caller, and the keypad.
	waitText(t, ctx, "#crm", func(v string) bool { return strings.Contains(v, "Ann Example") && strings.Contains(v, "account.tier") })
	if href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('crm-link').href`)); err != nil || href != crm.URL+"/contacts/5551234" {
		t.Fatalf("CRM link %q %v", href, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#keypad button[data-key="5"]`))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#btn-rec-pause`))); err != nil { // card numbers are read out
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "recording paused", func() bool {
		var rec callRecord
		s.api("GET", "/api/v1/calls/"+s.liveCallOf(t, "1003"), nil, &rec)
		return rec.hasEvent("recording_paused", "")
	})
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#btn-rec-resume`))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "agent-desktop.png")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#btn-hold`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "1003 on hold", func() bool { st, _ := agentState(s, "1003"); return st == "on_hold" })
	waitText(t, ctx, "#state", func(v string) bool { return v == "on hold" })
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(chromedp.CSS(`#btn-resume`)), chromedp.Click(chromedp.CSS(`#btn-resume`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "1003 back on the call", func() bool { st, _ := agentState(s, "1003"); return st == "on_call" })
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(chromedp.CSS(`#btn-hangup`)), chromedp.Click(chromedp.CSS(`#btn-hangup`))); err != nil {
		t.Fatal(err)
	}
	caller.mustSucceed(t, 20*time.Second)
	phone.uas.mustSucceed(t, 10*time.Second)
	rec := s.lastCall(t)
	if rec.Outcome != "answered" || rec.HangupBy != "agent" || !rec.hasEvent("hold", "1003") || !rec.hasEvent("unhold", "1003") ||
		!rec.hasEvent("hangup_requested", "") || !rec.hasEvent("dtmf_sent", "") || !rec.hasEvent("recording_resumed", "") {
		t.Fatalf("record %+v events %v", rec, rec.kinds())
	}
	// After the call: the script was shown, and the disposition is saved
	// with tags and notes into the call record.
	waitText(t, ctx, "#script", func(v string) bool { return strings.Contains(v, "Greet Caller 1 (5551234)") })
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`#disposition`), "escalated"),
		chromedp.SendKeys(chromedp.CSS(`#tags`), "vip, billing"), chromedp.SendKeys(chromedp.CSS(`#notes`), "needs a refund"),
		chromedp.Click(chromedp.CSS(`#btn-dispose`))); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "#dispose-status", func(v string) bool { return v == "saved: escalated" })
	screenshot(t, ctx, "agent-desktop-after-call.png")
	var withDisp struct {
		Disposition struct {
			Code  string   `json:"code"`
			Tags  []string `json:"tags"`
			Notes string   `json:"notes"`
		} `json:"disposition"`
		Events []struct{ Kind string } `json:"events"`
	}
	s.api("GET", "/api/v1/calls/"+rec.ID, nil, &withDisp)
	if d := withDisp.Disposition; d.Code != "escalated" || strings.Join(d.Tags, ",") != "vip,billing" || d.Notes != "needs a refund" {
		t.Fatalf("disposition %+v", d)
	}
	if code := s.apiAs("1004", "demo1004", "POST", "/api/v1/calls/"+rec.ID+"/disposition", map[string]string{"code": "resolved"}, nil); code != 403 {
		t.Fatalf("another agent's disposition: %d", code)
	}
	if code := s.apiAs("1003", "demo1003", "POST", "/api/v1/calls/"+rec.ID+"/disposition", map[string]string{"code": "whatever"}, nil); code != 400 {
		t.Fatalf("a code support does not have: %d", code)
	}
	// Quality review: the escalated call is in the week's review queue; a
	// supervisor scores it; the agent sees their score.
	var picks []struct {
		CallID string `json:"call_id"`
		Reason string `json:"reason"`
	}
	s.apiAs("supervisor", "demo-supervisor", "GET", "/api/v1/qa/review", nil, &picks)
	if len(picks) != 1 || picks[0].CallID != rec.ID || picks[0].Reason != "disposition escalated" {
		t.Fatalf("review queue %+v", picks)
	}
	var scored struct {
		Score      float64  `json:"score"`
		AutoFailed bool     `json:"auto_failed"`
		Missed     []string `json:"missed"`
	}
	answers := map[string]bool{"greeting": true, "verification": true, "resolution": false, "closing": true}
	if code := s.apiAs("supervisor", "demo-supervisor", "POST", "/api/v1/calls/"+rec.ID+"/score",
		map[string]any{"scorecard": "standard", "answers": answers, "comment": "no resolution"}, &scored); code != 200 ||
		scored.Score != 50 || scored.AutoFailed || len(scored.Missed) != 1 {
		t.Fatalf("score %d %+v", code, scored)
	}
	var mine, theirs []struct {
		Score float64 `json:"score"`
	}
	s.apiAs("1003", "demo1003", "GET", "/api/v1/qa/scores", nil, &mine)
	s.apiAs("1004", "demo1004", "GET", "/api/v1/qa/scores", nil, &theirs)
	if len(mine) != 1 || mine[0].Score != 50 || len(theirs) != 0 {
		t.Fatalf("1003 sees %+v, 1004 sees %+v", mine, theirs)
	}
	if code := s.apiAs("1003", "demo1003", "POST", "/api/v1/calls/"+rec.ID+"/score", map[string]any{"scorecard": "standard", "answers": answers}, nil); code != 403 {
		t.Fatalf("an agent scoring: %d", code)
	}
}

// The wallboard: the supervisor logs in; a caller waiting in support and
// the agents' states show as the API reports them, updated live.
func TestWallboardMatchesAPI(t *testing.T) {
	s := startServer(t)
	if code := s.api("POST", "/api/v1/agents/1003/login", nil, nil); code != 200 {
		t.Fatalf("login: %d", code)
	}
	if code := s.api("POST", "/api/v1/agents/1003/state", map[string]string{"state": "away", "reason": "training"}, nil); code != 200 {
		t.Fatalf("away: %d", code)
	}
	ctx := browser(t)
	uiLogin(t, ctx, s.http+"/wallboard", "supervisor", "demo-supervisor")
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap", WaitMS: 6000})
	waitText(t, ctx, `tr[data-queue="support"] td[data-label="waiting"]`, func(v string) bool { return v == "1" })
	var q queueState
	s.api("GET", "/api/v1/queues/support", nil, &q)
	if q.Waiting != 1 {
		t.Fatalf("API: support %+v", q)
	}
	waitText(t, ctx, `tr[data-queue="support"] td[data-label="away"]`, func(v string) bool { return v == "1" })
	waitText(t, ctx, `tr[data-agent="1003"] td[data-label="state"]`, func(v string) bool { return v == "away" })
	screenshot(t, ctx, "wallboard.png")
	caller.mustSucceed(t, 20*time.Second)
	// The day's charts draw the abandoned call once the report has it.
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#app`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "a bar in the calls chart", func() bool {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`[...document.querySelectorAll('#chart-calls rect')].filter(r => +r.getAttribute('height') > 0).length`))
		return err == nil && n >= 1
	})
	screenshot(t, ctx, "wallboard-charts.png")
	waitText(t, ctx, `tr[data-queue="support"] td[data-label="waiting"]`, func(v string) bool { return v == "0" })
}

// A supervisor moves a waiting call from support to sales with a higher
// priority, and sets an agent away, from the wallboard.
func TestWallboardSupervisorActions(t *testing.T) {
	s := startServer(t)
	if code := s.api("POST", "/api/v1/agents/1003/login", nil, nil); code != 200 {
		t.Fatalf("login: %d", code)
	}
	if code := s.api("POST", "/api/v1/agents/1003/state", map[string]string{"state": "away", "reason": "meeting"}, nil); code != 200 {
		t.Fatalf("away: %d", code)
	}
	ctx := browser(t)
	uiLogin(t, ctx, s.http+"/wallboard", "supervisor", "demo-supervisor")
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap", WaitMS: 12000})
	waitText(t, ctx, `#waiting td[data-label="queue"]`, func(v string) bool { return v == "support" })
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#waiting select`), "sales"),
		chromedp.SetValue(chromedp.CSS(`#waiting input[type=number]`), "7"),
		chromedp.Click(chromedp.CSS(`#waiting button`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the call waiting in sales with priority 7", func() bool {
		var q struct {
			Calls []struct {
				Priority int `json:"priority"`
			} `json:"calls"`
		}
		s.api("GET", "/api/v1/queues/sales", nil, &q)
		return len(q.Calls) == 1 && q.Calls[0].Priority == 7
	})
	waitText(t, ctx, `#waiting td[data-label="queue"]`, func(v string) bool { return v == "sales" })
	screenshot(t, ctx, "wallboard-actions.png")
	// The supervisor logs 1003 out from the wallboard.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`tr[data-agent="1003"] button:nth-of-type(3)`))); err != nil { // "Log out"
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "1003 logged out", func() bool { st, _ := agentState(s, "1003"); return st == "logged_out" })
	// 1001 (sales) registers, is logged in, and takes the moved call at once.
	sp, mp := s.ports.phone(0)
	uas := runSIPp(t, "agent-1001", "-sf", scenario("agent_answer.xml"), "-p", fmt.Sprint(sp), "-mp", fmt.Sprint(mp),
		"-rtp_echo", "-m", "1", "-timeout", "60s", "-s", "1001")
	register(t, s, 20, "1001", "demo1001", sp, 300)
	uas.mustSucceed(t, 30*time.Second)
	caller.mustSucceed(t, 30*time.Second)
	rec := s.lastCall(t)
	if rec.Agent != "1001" || rec.Queue != "sales" || !rec.hasEvent("priority_changed", "") || !rec.hasEvent("moved", "") {
		t.Fatalf("record %+v events %v", rec, rec.kinds())
	}
}

// An attended transfer from the desktop: agent 1003 consults 1004 (the
// caller on hold), talks to them, then completes the transfer; the caller
// ends up with 1004 and the record shows both agents.
func TestDesktopAttendedTransfer(t *testing.T) {
	s := startServer(t)
	ctx := browser(t)
	uiLogin(t, ctx, s.http+"/agent", "1003", "demo1003")
	first := registerAgent(t, s, 0, "1003", "agent_answer.xml", 1)
	if code := s.api("POST", "/api/v1/agents/1004/login", nil, nil); code != 200 {
		t.Fatalf("login 1004: %d", code)
	}
	if code := s.api("POST", "/api/v1/agents/1004/state", map[string]string{"state": "away", "reason": "expert"}, nil); code != 200 {
		t.Fatalf("1004 away: %d", code)
	}
	second := registerAgent2(t, s, 2, "1004", "agent_answer.xml") // away: takes no queue call, but can be consulted
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		TalkPcap: pcapDir + "/g711a.pcap", RemoteHangup: true})
	waitText(t, ctx, "#state", func(v string) bool { return v == "on call" })
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#transfer-to`), "1004"), chromedp.Click(chromedp.CSS(`#btn-consult`))); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "#consult", func(v string) bool { return strings.HasPrefix(v, "talking to 1004") })
	screenshot(t, ctx, "agent-desktop-consult.png")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#btn-complete`))); err != nil {
		t.Fatal(err)
	}
	first.uas.mustSucceed(t, 15*time.Second) // 1003's phone is hung up
	waitFor(t, 10*time.Second, "1004 on the call", func() bool { st, _ := agentState(s, "1004"); return st == "on_call" })
	id := s.liveCallOf(t, "1004")
	if code := s.api("POST", "/api/v1/calls/"+id+"/hangup", nil, nil); code != 200 {
		t.Fatalf("hangup: %d", code)
	}
	caller.mustSucceed(t, 20*time.Second)
	second.mustSucceed(t, 10*time.Second)
	rec := s.lastCall(t)
	tr := rec.details("transfer")
	if rec.Agent != "1004" || len(tr) != 1 || !strings.Contains(tr[0], "kind=attended to=1004") || !rec.hasEvent("consult_connected", "") {
		t.Fatalf("record %+v transfer %q events %v", rec, tr, rec.kinds())
	}
}

// registerAgent2 starts an agent's phone and registers it without waiting
// for the agent to be available (it may be away).
func registerAgent2(t *testing.T, s *server, n int, ext, scenarioFile string) *sipp {
	t.Helper()
	sp, mp := s.ports.phone(n)
	uas := runSIPp(t, "agent-"+ext, "-sf", scenario(scenarioFile), "-p", fmt.Sprint(sp), "-mp", fmt.Sprint(mp),
		"-rtp_echo", "-m", "1", "-timeout", "90s", "-s", ext)
	register(t, s, n+20, ext, "demo"+ext, sp, 300)
	return uas
}

// The reports page: after a recorded call, the supervisor sees the queue
// totals the API gives, the charts and heatmap, the agents, and plays the
// call's recording with its waveform and timeline.
func TestReportsPage(t *testing.T) {
	s := startServer(t)
	agent := tonePhone(t, s, 0, "1003", 1000, 4*time.Second)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 500, TalkPcap: writeTonePCAP(t, 440, 4*time.Second), TalkMS: 4500})
	caller.mustSucceed(t, 30*time.Second)
	agent.uas.mustSucceed(t, 10*time.Second)
	rec := s.lastCall(t)
	ctx := browser(t, "autoplay-policy=no-user-gesture-required")
	uiLogin(t, ctx, s.http+"/reports", "supervisor", "demo-supervisor")
	waitText(t, ctx, `#totals tr[data-queue="support"]`, func(v string) bool {
		return strings.HasPrefix(strings.Join(strings.Fields(v), " "), "support 1 1 0 100%") // offered, answered, abandoned, SL: as the API
	})
	waitText(t, ctx, `#agents tr[data-agent="1003"] td:nth-child(2)`, func(v string) bool { return v == "1" })
	cells, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`[...document.querySelectorAll('#heatmap td')].filter(td => td.textContent !== '').length`))
	if err != nil || cells != 1 {
		t.Fatalf("heatmap cells with calls: %v %v", cells, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#calls tr[data-call="`+rec.ID+`"] button`))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		drawn, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('waveform').dataset.drawn || ''`))
		items, _ := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelectorAll('#timeline li').length`))
		if drawn != "" && items > 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("recording not shown: waveform %q, %v timeline items", drawn, items)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The IVR's figures and the wait estimates have the call.
	waitText(t, ctx, `#ivr tr[data-step="main-menu"]`, func(v string) bool {
		f := strings.Fields(v)
		return len(f) > 4 && f[0] == "main" && f[3] == "1" && f[4] == "2:"
	})
	waitText(t, ctx, `#estimates tr[data-queue="support"][data-day="total"] td:nth-child(3)`, func(v string) bool { return v == "1" })
	// Scoring beside the player: greeting, verification and resolution met
	// (10 + 20 + 50 of 100), with a comment.
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#q-greeting`)),
		chromedp.Click(chromedp.CSS(`#q-greeting`)), chromedp.Click(chromedp.CSS(`#q-verification`)), chromedp.Click(chromedp.CSS(`#q-resolution`)),
		chromedp.SendKeys(chromedp.CSS(`#score-comment`), "Good call"), chromedp.Click(chromedp.CSS(`#btn-score`))); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, `#score-result`, func(v string) bool { return v == "saved: 80" })
	screenshot(t, ctx, "reports.png")
	// The agent sees the score and the comment on the desktop.
	desk := browser(t)
	uiLogin(t, desk, s.http+"/agent", "1003", "demo1003")
	waitText(t, desk, `#scores tr[data-call="`+rec.ID+`"]`, func(v string) bool {
		return strings.Contains(v, "standard") && strings.Contains(v, "80") && strings.Contains(v, "Good call")
	})
	var again callRecord
	s.api("GET", "/api/v1/calls/"+rec.ID, nil, &again)
	if !again.hasEvent("recording_downloaded", "") {
		t.Fatalf("the playback is not in the audit log: %v", again.kinds())
	}
}
