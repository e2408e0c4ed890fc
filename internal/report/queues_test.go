package report

import (
	"encoding/json"
	"testing"
	"time"
)

func TestBuildQueueReport(t *testing.T) {
	from := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	buckets := []Bucket{
		{Queue: "sales", Start: from, Offered: 4, Answered: 2, Abandoned: 1, ShortAbandoned: 1, AnsweredInSL: 1, WaitAnswered: 40, Talk: 300, LongestWait: 40},
		{Queue: "sales", Start: from.Add(60 * time.Minute), Offered: 1, OverflowedOut: 1, LongestWait: 50},
	}
	params := map[string]QueueParams{"sales": {ServiceLevel: 20 * time.Second, WrapUp: 10 * time.Second}}
	rep := BuildQueueReport(from, from.Add(90*time.Minute), 30*time.Minute, []string{"sales", "support"}, params, 5*time.Second, buckets)
	if len(rep.Rows) != 6 || len(rep.Totals) != 2 {
		t.Fatalf("%d rows, %d totals: want 3 intervals × 2 queues, 2 totals", len(rep.Rows), len(rep.Totals))
	}
	r := rep.Rows[0]
	// SL = 1 in threshold / (4 − 1 short) ; abandonment 1/4; ASA 40/2; AHT (300 + 2×10)/2.
	if r.ServiceLevel == nil || *r.ServiceLevel != 1.0/3 || *r.AbandonmentRate != 0.25 || r.ASASeconds != 20 || r.AHTSeconds != 160 || r.LongestWaitSeconds != 40 {
		t.Fatalf("row %+v sl %v", r, r.ServiceLevel)
	}
	if empty := rep.Rows[1]; empty.Offered != 0 || empty.ServiceLevel != nil || empty.ASASeconds != 0 || !empty.IntervalStart.Equal(from.Add(30*time.Minute)) {
		t.Fatalf("empty interval %+v", empty)
	}
	tot := rep.Totals[0]
	if tot.Offered != 5 || tot.OverflowedOut != 1 || tot.Answered != 2 || *tot.ServiceLevel != 0.25 || tot.ASASeconds != 20 || tot.AHTSeconds != 160 || tot.LongestWaitSeconds != 50 {
		t.Fatalf("total %+v", tot)
	}
	if sup := rep.Totals[1]; sup.Queue != "support" || sup.Offered != 0 || sup.ServiceLevel != nil {
		t.Fatalf("support total %+v", sup)
	}
}

// Every figure of a row is defined, overflowed_out included.
func TestDefinitionsCoverRow(t *testing.T) {
	b, err := json.Marshal(QueueRow{})
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"overflowed_out", "offered", "asa_seconds"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("row has no field %q", f)
		}
	}
	for f := range fields {
		if f == "queue" || f == "interval_start" {
			continue
		}
		if Definitions[f] == "" {
			t.Errorf("%s: no definition", f)
		}
	}
}
