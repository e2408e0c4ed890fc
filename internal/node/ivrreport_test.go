package node_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// Two callers in the demo's flow: one presses 1 and is queued for sales,
// the other hangs up at the menu. The IVR report has each step they
// entered, the key chosen and where each call ended.
func TestIVRReport(t *testing.T) {
	n := nodetest.Start(t, nodetest.Demo(t))
	from := time.Now().UTC().Add(-time.Minute)
	c := n.Dial(t, "100", nodetest.Tone(440))
	nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
	c.SendDTMF("1")
	nodetest.WaitFor(t, 5*time.Second, "the first caller queued", func() bool {
		var q struct {
			Waiting int `json:"waiting"`
		}
		return n.API("GET", "/api/v1/queues/sales", nil, &q) == 200 && q.Waiting == 1
	})
	c2 := n.Dial(t, "100", nodetest.Tone(440))
	nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c2.RTP.Received() > 10 })
	c2.Hangup()
	type step struct {
		Step    string             `json:"step"`
		Entered int                `json:"entered"`
		Choices map[string]float64 `json:"choices"`
		HungUp  int                `json:"hung_up"`
		Hangups int                `json:"hangups"`
		Options map[string]int     `json:"options"`
		Median  *float64           `json:"median_seconds"`
	}
	var rep struct {
		Flows []struct {
			Flow   string         `json:"flow"`
			Calls  int            `json:"calls"`
			Steps  []step         `json:"steps"`
			Funnel map[string]int `json:"funnel"`
		} `json:"flows"`
	}
	q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {from.Add(time.Hour).Format(time.RFC3339)}}
	nodetest.WaitFor(t, 5*time.Second, "both calls in the IVR report", func() bool {
		return n.API("GET", "/api/v1/reports/ivr?"+q.Encode(), nil, &rep) == 200 && len(rep.Flows) == 1 && rep.Flows[0].Calls == 2
	})
	f := rep.Flows[0]
	steps := map[string]step{}
	for _, s := range f.Steps {
		steps[s.Step] = s
	}
	menu := steps["main-menu"]
	if f.Flow != "main" || f.Funnel["queue"] != 1 || f.Funnel["hung_up"] != 1 || steps["open-check"].Entered != 2 ||
		menu.Entered != 2 || menu.Choices["1"] != 0.5 || menu.HungUp != 1 || menu.Hangups != 1 || menu.Options["1"] != 1 || menu.Median == nil {
		t.Fatalf("report %+v", rep)
	}
	c.Hangup()
}
