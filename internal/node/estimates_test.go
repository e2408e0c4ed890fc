package node_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// A caller told a wait on joining sales and answered: the wait-estimate
// report has the call, its error and whether it was within 30 s or 20 %.
func TestWaitEstimateReport(t *testing.T) {
	n := nodetest.Start(t, nodetest.Demo(t))
	alice := n.Phone(t, "1001")
	nodetest.WaitFor(t, 5*time.Second, "1001 available", func() bool { return n.AgentState("1001") == "available" })
	from := time.Now().UTC().Add(-time.Hour)
	c := n.Dial(t, "100", nodetest.Tone(440))
	nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
	c.SendDTMF("1")
	call := alice.NextCall(t, 10*time.Second)
	select {
	case <-call.Answered():
	case <-time.After(5 * time.Second):
		t.Fatal("the phone did not answer")
	}
	c.Hangup()
	var rep struct {
		Queues []struct {
			Queue            string   `json:"queue"`
			Calls            int      `json:"calls"`
			Bias             *float64 `json:"bias_seconds"`
			Within30sOr20pct *float64 `json:"within_30s_or_20pct"`
			MedianAbsErr     *float64 `json:"median_abs_error_seconds"`
			Total            struct {
				Calls        int      `json:"calls"`
				MedianAbsErr *float64 `json:"median_abs_error_seconds"`
				WithinShare  *float64 `json:"within_share"`
				NotEstimated int      `json:"not_estimated"`
			} `json:"total"`
			Days []struct {
				Calls int `json:"calls"`
			} `json:"days"`
		} `json:"queues"`
		Definitions map[string]string `json:"definitions"`
	}
	q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {from.Add(24 * time.Hour).Format(time.RFC3339)}}
	nodetest.WaitFor(t, 5*time.Second, "the answered call in the report", func() bool {
		return n.API("GET", "/api/v1/reports/wait-estimates?"+q.Encode(), nil, &rep) == 200 && len(rep.Queues) == 1
	})
	s := rep.Queues[0]
	if s.Queue != "sales" || s.Total.Calls != 1 || s.Total.NotEstimated != 0 || s.Total.MedianAbsErr == nil || *s.Total.MedianAbsErr > 30 ||
		*s.Total.WithinShare != 1 || len(s.Days) != 1 ||
		s.Calls != 1 || s.Bias == nil || s.MedianAbsErr == nil || s.Within30sOr20pct == nil || *s.Within30sOr20pct != 1 || s.Days[0].Calls != 1 || rep.Definitions["within_share"] == "" {
		t.Fatalf("report %+v", rep)
	}
	if code := n.API("GET", "/api/v1/reports/wait-estimates?from=x", nil, nil); code != 400 {
		t.Fatalf("a bad range: %d", code)
	}
}
