package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A preview campaign on the browser desktop: the agent sees the next
// contact with its fields and the script filled with them, skips one with
// a reason, dials the next (the softphone rings first and the page answers
// it, since the agent asked for the call), follows the call's progress and
// talks to the called party (switchboard load --callee on the trunk); the
// contact card stays on the call. A contact skipped and a contact called
// are in the campaign's figures, and on the reports page.
func TestDesktopPreviewCampaign(t *testing.T) {
	var calleeAddr, calleeRTP string
	s := startServerWith(t, func(p ports) []string {
		sp, _ := p.phone(9)
		calleeAddr = fmt.Sprintf("127.0.0.1:%d", sp)
		calleeRTP = fmt.Sprintf("%d-%d", p.base+80, p.base+99)
		return []string{`outbound: {host: "127.0.0.1:5080", transport: udp}`, fmt.Sprintf(`outbound: {host: %q, transport: udp}`, calleeAddr)}
	})
	callee := startCallee(t, calleeAddr, calleeRTP, "--answer-rate", "1", "--machine-rate", "0", "--busy-rate", "0", "--ring", "500ms", "--talk", "60s")
	ctx := browser(t, "use-fake-ui-for-media-stream", "use-fake-device-for-media-stream",
		"use-file-for-fake-audio-capture="+toneWAV(t, 1000, 30*time.Second), "allow-loopback-in-peer-connection",
		"autoplay-policy=no-user-gesture-required")
	campaign := map[string]any{"name": "follow-up", "mode": "preview", "queue": "sales", "caller_id": "5550100",
		"window": map[string]string{"start": "00:00", "end": "24:00"}, "max_attempts": 1}
	if code := s.apiAs("supervisor", "demo-supervisor", "POST", "/api/v1/campaigns", campaign, nil); code != 201 {
		t.Fatalf("create: %d", code)
	}
	postCSV(t, s, "/api/v1/campaigns/follow-up/contacts", "number,name,plan\n5550170,Ann Lee,gold\n5550171,Bo Chan,silver\n")
	if code := s.apiAs("supervisor", "demo-supervisor", "POST", "/api/v1/campaigns/follow-up/start", nil, nil); code != 200 {
		t.Fatalf("start: %d", code)
	}
	uiLogin(t, ctx, s.http+"/agent", "1001", "demo1001")
	waitText(t, ctx, "#softphone", func(v string) bool { return v == "connected" })
	click(t, ctx, `#btn-available`)
	// The first contact, its fields and the script with its name.
	first := waitText(t, ctx, "#preview-contact", func(v string) bool { return strings.Contains(v, "555017") })
	waitText(t, ctx, "#preview-script", func(v string) bool { return strings.Contains(v, "Ann Lee") || strings.Contains(v, "Bo Chan") })
	screenshot(t, ctx, "agent-preview.png")
	click(t, ctx, `#btn-preview-skip`) // "not the right time"
	next := waitText(t, ctx, "#preview-contact", func(v string) bool { return strings.Contains(v, "555017") && v != first })
	number := "5550170"
	if strings.Contains(next, "5550171") {
		number = "5550171"
	}
	click(t, ctx, `#btn-preview-dial`)
	// The softphone rang and was answered by the page; the called party
	// answered: the agent is on the call with the contact card.
	waitText(t, ctx, "#state", func(v string) bool { return v == "on call" })
	waitText(t, ctx, "#contact", func(v string) bool { return strings.Contains(v, "plan") })
	waitText(t, ctx, "#live-state", func(v string) bool { return v == "Call state: connected" })
	screenshot(t, ctx, "agent-preview-call.png")
	click(t, ctx, `#btn-hangup`)
	rec := s.lastCallWhere(t, func(c callRecord) bool { return c.Source == "campaign:follow-up" && c.EndedAt != nil })
	if rec.Caller != number || rec.Agent != "1001" || rec.Outcome != "answered" {
		t.Fatalf("the preview call: caller %q agent %q outcome %q (dialled %s), events %v", rec.Caller, rec.Agent, rec.Outcome, number, rec.kinds())
	}
	var st campaignStatus
	waitFor(t, 10*time.Second, "the campaign's figures", func() bool {
		s.apiAs("supervisor", "demo-supervisor", "GET", "/api/v1/campaigns/follow-up", nil, &st)
		return st.Attempts == 1 && st.Connected == 1 && st.Skipped["agent: not the right time"] == 1
	})
	// The reports page has the campaign's figures.
	rep := browser(t)
	uiLogin(t, rep, s.http+"/reports", "supervisor", "demo-supervisor")
	waitText(t, rep, `#campaigns tr[data-campaign="follow-up"]`, func(v string) bool {
		f := strings.Fields(v) // campaign, attempts, connected, right party, live, dropped, ...
		return len(f) > 5 && f[1] == "1" && f[2] == "1" && f[5] == "0"
	})
	calls := callee.stop(t)
	if len(calls) != 1 || calls[0].Number != number || !calls[0].Answered {
		t.Fatalf("the called party took %+v, want one answered call to %s", calls, number)
	}
}
