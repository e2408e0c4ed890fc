package node_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// flowCalls is how many callers are in the menu while its flow is
// published anew.
const flowCalls = 50

// Publishing a flow under 50 live calls drops none: the 50 callers in the
// demo's menu when a new main flow (whose 1 is support) is published
// finish on the flow they entered (their 1 is sales), and the next caller
// gets the new one.
func TestPublishFlowUnder50CallsDropsNone(t *testing.T) {
	if testing.Short() {
		t.Skip("50 calls")
	}
	n, _ := reloadableWide(t, nodetest.Demo(t), 2) // 51 callers: 102 RTP ports
	callers := make([]*nodetest.Caller, flowCalls)
	for i := range callers {
		callers[i] = n.Dial(t, "100", nodetest.From(fmt.Sprintf("555%04d", i), ""))
	}
	nodetest.WaitFor(t, 10*time.Second, "every caller hearing the menu", func() bool {
		for _, c := range callers {
			if c.RTP.Received() < 5 {
				return false
			}
		}
		return true
	})
	var flow map[string]any
	if code := n.API("GET", "/api/v1/config/flows/main", nil, &flow); code != 200 {
		t.Fatalf("GET the flow: %d", code)
	}
	steps := flow["steps"].(map[string]any)
	steps["main-menu"].(map[string]any)["options"].(map[string]any)["1"] = "support"
	if code, _, out := jsonRequest(t, n, nodetest.Admin, "PUT", "/api/v1/config/flows/main", mustJSON(t, flow)); code != 200 {
		t.Fatalf("publish: %d %v", code, out)
	}
	for _, c := range callers {
		c.SendDTMF("1")
	}
	next := n.Dial(t, "100", nodetest.From("5559999", ""))
	nodetest.WaitFor(t, 5*time.Second, "the next caller hearing the menu", func() bool { return next.RTP.Received() > 5 })
	next.SendDTMF("1")
	type rec struct {
		Caller, Queue, Outcome, HangupBy string
	}
	records := func() map[string]rec {
		var list struct {
			Calls []struct {
				Caller   string `json:"caller"`
				Queue    string `json:"queue"`
				Outcome  string `json:"outcome"`
				HangupBy string `json:"hangup_by"`
			} `json:"calls"`
		}
		n.API("GET", "/api/v1/calls?limit=200", nil, &list)
		out := map[string]rec{}
		for _, c := range list.Calls {
			out[c.Caller] = rec{c.Caller, c.Queue, c.Outcome, c.HangupBy}
		}
		return out
	}
	nodetest.WaitFor(t, 15*time.Second, "every caller queued", func() bool {
		r := records()
		for i := 0; i < flowCalls; i++ {
			if r[fmt.Sprintf("555%04d", i)].Queue == "" {
				return false
			}
		}
		return r["5559999"].Queue != ""
	})
	for _, c := range append(callers, next) {
		c.Hangup()
	}
	nodetest.WaitFor(t, 15*time.Second, "every call ended", func() bool {
		for _, r := range records() {
			if r.Outcome == "in_progress" {
				return false
			}
		}
		return true
	})
	r := records()
	for i := 0; i < flowCalls; i++ {
		c := r[fmt.Sprintf("555%04d", i)]
		if c.Queue != "sales" || c.HangupBy != "caller" {
			t.Errorf("a caller in the old flow: %+v, want queue sales, hung up by the caller", c)
		}
	}
	if c := r["5559999"]; c.Queue != "support" {
		t.Errorf("the next caller: %+v, want the new flow's support", c)
	}
}
