package cluster_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/test/browsertest"
)

// A browser agent connected to one node takes a call that arrived on the
// other: a SIPp caller (echoing the audio it gets) calls through Kamailio
// and waits in the line queue on one node; agent 1003 opens the desktop
// of the other node in Chromium, connects the softphone, goes available
// and answers. The browser's microphone comes back to it through both
// nodes and the caller (audio both ways, one extra hop between the
// nodes); the desktop's Hold, Resume and Hang up act on the call on the
// caller's node, and its record is that node's.
func TestBrowserAgentAcrossNodes(t *testing.T) {
	need(t, "kamailio", "sipp", "psql", "curl", "chromium")
	dir := t.TempDir()
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range []string{"node1.log", "node2.log"} {
				b, _ := os.ReadFile(filepath.Join(dir, f))
				t.Logf("%s (end):\n%s", f, b[max(0, len(b)-4000):])
			}
		}
		script(t, "down", dir)
	})
	scriptEnv(t, []string{"SWITCHBOARD_SETUP=" + lineSetup(t, dir)}, "up", dir, "2")
	waitFor(t, 10*time.Second, "both nodes see both", func() bool {
		v1, ok1 := view(t, "node1")
		v2, ok2 := view(t, "node2")
		return ok1 && ok2 && len(v1.alive()) == 2 && len(v2.alive()) == 2 && v1.Leader != ""
	})

	run := sippCallers(t, dir, "200", 1, 1, "-rtp_echo")
	var waiting callRecord
	waitFor(t, 15*time.Second, "the caller waits in the line queue", func() bool {
		for _, c := range calls(t, "node1") {
			if c.Outcome == "in_progress" && c.Queue == "line" {
				waiting = c
				return true
			}
		}
		return false
	})
	desk := "node1"
	if waiting.Node == "node1" {
		desk = "node2"
	}
	t.Logf("the call is on %s, the desktop on %s", waiting.Node, desk)
	// Either node's queue view says where the waiting call is.
	var line struct {
		Calls []struct {
			ID   string `json:"id"`
			Node string `json:"node"`
		} `json:"calls"`
	}
	if !get(t, desk, "/api/v1/queues/line", &line) || len(line.Calls) != 1 || line.Calls[0].ID != waiting.ID || line.Calls[0].Node != waiting.Node {
		t.Fatalf("the line queue seen from %s: %+v", desk, line)
	}

	ctx := browsertest.Start(t, "use-fake-ui-for-media-stream", "use-fake-device-for-media-stream",
		"allow-loopback-in-peer-connection", "autoplay-policy=no-user-gesture-required")
	browsertest.Login(t, ctx, "http://"+nodeIP(desk)+":8080/agent", "1003", "demo1003")
	browsertest.WaitText(t, ctx, "#softphone", func(v string) bool { return v == "connected" })
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#btn-available`))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(chromedp.CSS(`#btn-answer`)), chromedp.Click(chromedp.CSS(`#btn-answer`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "1003 on the call, seen from the caller's node", func() bool {
		return agentStates(t, waiting.Node)["1003"] == "on_call"
	})
	// The browser hears its own microphone, echoed by the caller: across
	// the nodes and back.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`setInterval(async () => {
		for (const r of (await window.softphone.getStats()).values())
			if (r.type === "inbound-rtp" && r.kind === "audio") window.__in = {packets: r.packetsReceived, energy: r.totalAudioEnergy};
	}, 200)`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the echoed audio in the browser", func() bool {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](`window.__in || {}`))
		if err != nil {
			return false
		}
		m, _ := v.(map[string]any)
		packets, _ := m["packets"].(float64)
		energy, _ := m["energy"].(float64)
		return packets > 100 && energy > 0
	})

	// Hold and Resume on the desktop act on the call on the other node.
	var live struct {
		State string `json:"state"`
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#btn-hold`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the call held on its node", func() bool {
		return get(t, waiting.Node, "/api/v1/calls/"+waiting.ID, &live) && live.State == "held"
	})
	browsertest.WaitText(t, ctx, "#live-state", func(v string) bool { return v == "Call state: held" })
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(chromedp.CSS(`#btn-resume`)), chromedp.Click(chromedp.CSS(`#btn-resume`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the call connected again", func() bool {
		return get(t, waiting.Node, "/api/v1/calls/"+waiting.ID, &live) && live.State == "connected"
	})
	if err := chromedp.Do(ctx, chromedp.WaitEnabled(chromedp.CSS(`#btn-hangup`)), chromedp.Click(chromedp.CSS(`#btn-hangup`))); err != nil {
		t.Fatal(err)
	}
	if ok, failed, _ := sippResult(t, run); ok != 1 || failed != 0 {
		t.Fatalf("SIPp: %d calls ended well, %d failed", ok, failed)
	}
	var rec callRecord
	waitFor(t, 10*time.Second, "the call's record closed", func() bool {
		return get(t, desk, "/api/v1/calls/"+waiting.ID, &rec) && rec.EndedAt != ""
	})
	if rec.Node != waiting.Node || rec.Agent != "1003" || rec.Outcome != "answered" || rec.HangupBy != "agent" {
		t.Fatalf("record %+v", rec)
	}
}
