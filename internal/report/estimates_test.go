package report

import (
	"testing"
	"time"
)

func TestParseWaitSample(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		detail    string
		ok, known bool
		wait, est float64
	}{
		{"agent leg sb-1 wait=42.5s estimated=60s known=true", true, true, 42.5, 60},
		{"agent leg sb-1 wait=3.0s estimated=0s known=false", true, false, 3, 0},
		{"agent leg sb-1", false, false, 0, 0},
		{"wait=abc estimated=1s known=true", false, false, 0, 0},
	} {
		s, ok := ParseWaitSample("sales", at, tc.detail)
		if ok != tc.ok || s.Known != tc.known || s.Wait != tc.wait || s.Estimate != tc.est {
			t.Errorf("%q: %+v %v", tc.detail, s, ok)
		}
	}
	if _, ok := ParseWaitSample("", at, "wait=1.0s estimated=1s known=true"); ok {
		t.Error("a sample without a queue")
	}
}

func TestWaitEstimates(t *testing.T) {
	from := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return from.Add(time.Duration(h) * time.Hour) }
	samples := []WaitSample{
		{Queue: "sales", At: at(1), Wait: 100, Estimate: 120, Known: true}, // +20: within 30 s
		{Queue: "sales", At: at(2), Wait: 300, Estimate: 200, Known: true}, // −100: outside 30 s and 20 % (60 s)
		{Queue: "sales", At: at(3), Wait: 400, Estimate: 460, Known: true}, // +60: within 20 % (80 s)
		{Queue: "sales", At: at(4), Wait: 5, Known: false},                 // not estimated
		{Queue: "sales", At: at(30), Wait: 60, Estimate: 30, Known: true},  // day 2: −30
		{Queue: "support", At: at(47), Wait: 10, Estimate: 10, Known: true},
		{Queue: "support", At: at(48), Wait: 10, Estimate: 10, Known: true}, // at to: left out
	}
	got := WaitEstimates(samples, from, at(48))
	if len(got) != 2 || got[0].Queue != "sales" || got[1].Queue != "support" || len(got[0].Days) != 2 {
		t.Fatalf("%+v", got)
	}
	d1 := got[0].Days[0]
	if d1.Calls != 3 || d1.NotEstimated != 1 || *d1.MedianAbsErrorSeconds != 60 || *d1.BiasSeconds != -20.0/3*1 || *d1.WithinShare != 2.0/3 {
		t.Fatalf("sales day 1: %+v bias %v within %v", d1, *d1.BiasSeconds, *d1.WithinShare)
	}
	tot := got[0].Total
	if tot.Calls != 4 || *tot.MedianAbsErrorSeconds != 45 || *tot.WithinShare != 0.75 {
		t.Fatalf("sales total: %+v median %v", tot, *tot.MedianAbsErrorSeconds)
	}
	if s := got[1]; s.Total.Calls != 1 || s.Days[0].Calls != 0 || s.Days[0].MedianAbsErrorSeconds != nil || s.Days[1].Calls != 1 {
		t.Fatalf("support: %+v", s)
	}
}
