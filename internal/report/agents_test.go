package report

import (
	"testing"
	"time"
)

func TestBuildAgentReport(t *testing.T) {
	from := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return from.Add(time.Duration(min) * time.Minute) }
	changes := []StateChange{
		{Agent: "1001", At: at(-30), State: "available"}, // available since before the range
		{Agent: "1001", At: at(10), State: "ringing"},
		{Agent: "1001", At: at(11), State: "on_call"},
		{Agent: "1001", At: at(21), State: "wrap_up"},
		{Agent: "1001", At: at(23), State: "available"},
		{Agent: "1001", At: at(50), State: "away", Reason: "training:extended"},
		{Agent: "1001", At: at(90), State: "logged_out"}, // after the range
	}
	rows := BuildAgentReport(from, at(60), []string{"1002", "1001"}, changes, map[string][2]float64{"1001": {1, 600}})
	if len(rows) != 2 || rows[0].Agent != "1001" {
		t.Fatalf("rows %+v", rows)
	}
	r := rows[0]
	want := map[string]float64{"available": 37 * 60, "ringing": 60, "on_call": 600, "wrap_up": 120, "away": 600}
	for k, v := range want {
		if r.StateSeconds[k] != v {
			t.Errorf("%s: %v s, want %v (all %v)", k, r.StateSeconds[k], v, r.StateSeconds)
		}
	}
	if r.AwaySeconds["training:extended"] != 600 {
		t.Errorf("away by reason %v", r.AwaySeconds)
	}
	if r.Answered != 1 || r.AHTSeconds != 720 || r.Occupancy == nil || *r.Occupancy != 720.0/(720+37*60) {
		t.Fatalf("row %+v occupancy %v", r, *r.Occupancy)
	}
	if idle := rows[1]; idle.StateSeconds["logged_out"] != 3600 || idle.Occupancy != nil {
		t.Fatalf("1002 %+v", idle)
	}
}
