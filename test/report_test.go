package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// The queue report over real calls: one answered in support, one abandoned
// there after more than the short-abandon window.
func TestQueueReportOverRealCalls(t *testing.T) {
	s := startServer(t)
	from := time.Now().UTC().Truncate(time.Hour)
	answered := registerAgent(t, s, 0, "1003", "agent_answer.xml", 1)
	first := call(t, s, 1, "answered", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 1000, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 2000})
	first.mustSucceed(t, 30*time.Second)
	answered.uas.mustSucceed(t, 10*time.Second)
	waitFor(t, 10*time.Second, "1003 free", func() bool {
		var v struct{ State string }
		s.api("GET", "/api/v1/agents/1003", nil, &v)
		return v.State == "available"
	})
	if code := s.api("POST", "/api/v1/agents/1003/logout", nil, nil); code != 200 {
		t.Fatalf("logout: %d", code)
	}
	second := call(t, s, 2, "abandons", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap", WaitMS: 7000})
	second.mustSucceed(t, 30*time.Second)
	s.lastCall(t)
	q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {from.Add(2 * time.Hour).Format(time.RFC3339)}, "interval": {"30m"}}
	var rep struct {
		Rows []struct {
			Queue   string `json:"queue"`
			Offered int    `json:"offered"`
		} `json:"rows"`
		Totals []struct {
			Queue              string   `json:"queue"`
			Offered            int      `json:"offered"`
			Answered           int      `json:"answered"`
			Abandoned          int      `json:"abandoned"`
			ServiceLevel       *float64 `json:"service_level"`
			ASASeconds         float64  `json:"asa_seconds"`
			AHTSeconds         float64  `json:"aht_seconds"`
			LongestWaitSeconds float64  `json:"longest_wait_seconds"`
		} `json:"totals"`
	}
	if code := s.api("GET", "/api/v1/reports/queues?"+q.Encode(), nil, &rep); code != 200 {
		t.Fatalf("report: %d", code)
	}
	if len(rep.Rows) != 2*4 || len(rep.Totals) != 2 {
		t.Fatalf("%d rows, %d totals: want 4 intervals × 2 queues", len(rep.Rows), len(rep.Totals))
	}
	sup := rep.Totals[1]
	if sup.Queue != "support" || sup.Offered != 2 || sup.Answered != 1 || sup.Abandoned != 1 || sup.ServiceLevel == nil ||
		*sup.ServiceLevel != 0.5 || sup.ASASeconds > 2 || sup.AHTSeconds < 1 || sup.LongestWaitSeconds < 5 {
		t.Fatalf("support total %+v", sup)
	}
	// The same as CSV.
	var csv []byte
	if code := s.apiRaw("GET", "/api/v1/reports/queues?format=csv&"+q.Encode(), &csv); code != 200 ||
		!strings.HasPrefix(string(csv), "queue,interval_start,offered,answered,abandoned") || !strings.Contains(string(csv), "support,total,2,1,1,0,0,0.5000,0.5000,") {
		t.Fatalf("csv %d:\n%s", code, csv)
	}
	// The agent report: 1003 answered one call, spent time on it and available.
	var agents struct {
		Rows []struct {
			Agent        string             `json:"agent"`
			Answered     int                `json:"answered"`
			StateSeconds map[string]float64 `json:"state_seconds"`
			Occupancy    *float64           `json:"occupancy"`
		} `json:"rows"`
	}
	if code := s.api("GET", "/api/v1/reports/agents?"+url.Values{"from": q["from"], "to": {time.Now().UTC().Add(time.Minute).Format(time.RFC3339)}}.Encode(), nil, &agents); code != 200 {
		t.Fatalf("agent report: %d", code)
	}
	var a1003 = agents.Rows[2]
	if a1003.Agent != "1003" || a1003.Answered != 1 || a1003.StateSeconds["on_call"] < 1 || a1003.StateSeconds["available"] <= 0 || a1003.Occupancy == nil {
		t.Fatalf("agent report %+v", agents.Rows)
	}
	if code := s.apiAs("1003", "demo1003", "GET", "/api/v1/reports/queues?"+q.Encode(), nil, nil); code != 403 {
		t.Fatalf("an agent reading reports: %d", code)
	}
}
