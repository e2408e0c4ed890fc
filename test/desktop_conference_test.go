package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// callParties reads a live call's state and parties from the API (kind
// and agent of each).
func (s *server) callParties(t *testing.T, id string) (state string, parties []struct{ Kind, Agent string }) {
	t.Helper()
	var v struct {
		State   string `json:"state"`
		Parties []struct{ Kind, Agent string }
	}
	if code := s.api("GET", "/api/v1/calls/"+id, nil, &v); code != 200 {
		t.Fatalf("get call %s: %d", id, code)
	}
	return v.State, v.Parties
}

// hidden reports whether the element has the page's hidden class.
func hidden(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	h, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector(`+"`"+sel+"`"+`).classList.contains('hidden')`))
	if err != nil {
		t.Fatalf("hidden %s: %v", sel, err)
	}
	return h
}

// A three-way call from the desktop: agent 1001 (SIPp phone) takes a sales
// call, holds it (the hold timer counts, and the queue's 5 s reminder shows
// the desktop's banner), adds agent 1004 with "Add to call"
// and sees three parties, asks to go away after the call (the desktop and
// the wallboard say so), then leaves: the caller and 1004 go on talking.
func TestDesktopConference(t *testing.T) {
	s := startServer(t, "hold: {remind_every: 60s,", "hold: {remind_every: 5s,")
	ctx := browser(t)
	uiLogin(t, ctx, s.http+"/agent", "1001", "demo1001")
	first := registerAgent(t, s, 0, "1001", "agent_answer.xml", 1)
	if code := s.api("POST", "/api/v1/agents/1004/login", nil, nil); code != 200 {
		t.Fatalf("login 1004: %d", code)
	}
	if code := s.api("POST", "/api/v1/agents/1004/state", map[string]string{"state": "away", "reason": "expert"}, nil); code != 200 {
		t.Fatalf("1004 away: %d", code)
	}
	second := registerAgent2(t, s, 2, "1004", "agent_answer.xml") // away: takes no queue call, but can be added
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_1.pcap",
		TalkPcap: pcapDir + "/g711a.pcap", RemoteHangup: true})
	waitText(t, ctx, "#state", func(v string) bool { return v == "on call" })
	id := s.liveCallOf(t, "1001")

	// Hold: the timer counts up from the hold's start; Resume hides it.
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(chromedp.CSS(`#btn-hold`)), chromedp.Click(chromedp.CSS(`#btn-hold`))); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "#hold-timer", func(v string) bool { return strings.HasPrefix(v, "On hold 00:0") })
	// The queue reminds every 5 s: the desktop shows its banner (and beeps).
	waitFor(t, 15*time.Second, "the hold reminder banner", func() bool { return !hidden(t, ctx, "#hold-alert") })
	waitText(t, ctx, "#hold-alert-text", func(v string) bool { return strings.Contains(v, "on hold for 00:") })
	screenshot(t, ctx, "agent-desktop-hold-reminder.png")
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(chromedp.CSS(`#btn-resume`)), chromedp.Click(chromedp.CSS(`#btn-resume`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the hold timer and reminder hidden", func() bool {
		return hidden(t, ctx, "#hold-timer") && hidden(t, ctx, "#hold-alert")
	})

	// Add to call: 1004's phone rings and answers; three parties.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#transfer-to`), "1004"),
		chromedp.WaitEnabled(chromedp.CSS(`#btn-conference`)), chromedp.Click(chromedp.CSS(`#btn-conference`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "three parties on the desktop", func() bool {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#parties tbody tr').length`))
		return err == nil && n == 3
	})
	type row struct {
		Kind, Who string
		Remove    int
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]row](`[...document.querySelectorAll('#parties tbody tr')].map(tr =>
		({kind: tr.dataset.kind, who: tr.cells[0].textContent, remove: tr.querySelectorAll('button').length}))`))
	if err != nil {
		t.Fatal(err)
	}
	// Remove is offered for 1004 only: not for the caller, nor for 1001 themself.
	want := map[string]row{"caller": {"caller", "", 0}, "Agent 1001 (you)": {"agent", "", 0}, "Agent 1004": {"agent", "", 1}}
	for _, r := range rows {
		key := r.Who
		if r.Kind == "caller" {
			key = "caller"
		}
		w, ok := want[key]
		if !ok || w.Kind != r.Kind || w.Remove != r.Remove {
			t.Fatalf("parties on the desktop %+v", rows)
		}
		delete(want, key)
	}
	if st, parties := s.callParties(t, id); st != "conference" || len(parties) != 3 {
		t.Fatalf("call %s: state %q parties %+v", id, st, parties)
	}
	waitText(t, ctx, "#live-state", func(v string) bool { return v == "Call state: conference" })
	for sel, want := range map[string]bool{`#btn-leave`: false, `#btn-merge`: true} {
		if got := hidden(t, ctx, sel); got != want {
			t.Fatalf("%s hidden %v in a conference", sel, got)
		}
	}

	// Away during the call is pending: the desktop and the wallboard say so.
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`#away-reason`), "lunch"), chromedp.Click(chromedp.CSS(`#btn-away`))); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "#pending", func(v string) bool { return v == "Away after this call (lunch)" })
	wall := browser(t) // its own profile: the supervisor's session cookie stays out of the desktop
	uiLogin(t, wall, s.http+"/wallboard", "supervisor", "demo-supervisor")
	waitText(t, wall, `#agents tr[data-agent="1001"] td[data-label="pending"]`, func(v string) bool { return v == "Away after this call (lunch)" })
	screenshot(t, ctx, "agent-desktop-conference.png")
	screenshot(t, wall, "wallboard-pending-away.png")

	// Leave: 1001's phone is hung up; the caller and 1004 remain.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#btn-leave`))); err != nil {
		t.Fatal(err)
	}
	first.uas.mustSucceed(t, 15*time.Second)
	var parties []struct{ Kind, Agent string }
	waitFor(t, 10*time.Second, "two parties left", func() bool { _, parties = s.callParties(t, id); return len(parties) == 2 })
	kinds := parties[0].Kind + parties[0].Agent + "," + parties[1].Kind + parties[1].Agent
	if kinds != "caller,agent1004" && kinds != "agent1004,caller" {
		t.Fatalf("parties after leaving %+v", parties)
	}
	if code := s.api("POST", "/api/v1/calls/"+id+"/hangup", nil, nil); code != 200 {
		t.Fatalf("hangup: %d", code)
	}
	caller.mustSucceed(t, 20*time.Second)
	second.mustSucceed(t, 10*time.Second)
	rec := s.lastCall(t)
	if !rec.hasEvent("conference_joined", "") || !rec.hasEvent("conference_left", "1001") {
		t.Fatalf("record %+v events %v", rec, rec.kinds())
	}
	waitFor(t, 15*time.Second, "1001 away for lunch after the call", func() bool {
		st, r := agentState(s, "1001")
		return st == "away" && r == "lunch"
	})
}
