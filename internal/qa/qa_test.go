package qa

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
)

var card = config.Scorecard{Name: "standard", Sections: []config.QASection{
	{Name: "Opening", Questions: []config.QAQuestion{{ID: "greet", Weight: 10}, {ID: "verify", Weight: 20, AutoFail: true}}},
	{Name: "Resolution", Questions: []config.QAQuestion{{ID: "solved", Weight: 50}, {ID: "close", Weight: 20}}},
}}

func TestScore(t *testing.T) {
	tests := []struct {
		name    string
		answers map[string]bool
		want    Result
		err     bool
	}{
		{"all met", map[string]bool{"greet": true, "verify": true, "solved": true, "close": true}, Result{Score: 100}, false},
		{"some missed", map[string]bool{"greet": false, "verify": true, "solved": true, "close": false}, Result{Score: 70, Missed: []string{"greet", "close"}}, false},
		{"auto-fail", map[string]bool{"greet": true, "verify": false, "solved": true, "close": true}, Result{Score: 0, AutoFailed: true, Missed: []string{"verify"}}, false},
		{"unanswered", map[string]bool{"greet": true}, Result{}, true},
		{"unknown item", map[string]bool{"greet": true, "verify": true, "solved": true, "close": true, "smile": true}, Result{}, true},
	}
	for _, tt := range tests {
		got, err := Score(card, tt.answers)
		if tt.err != (err != nil) || (err != nil && !errors.Is(err, ErrAnswers)) {
			t.Errorf("%s: err %v", tt.name, err)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestSample(t *testing.T) {
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	var cands []Candidate
	for i := range 10 {
		cands = append(cands, Candidate{CallID: fmt.Sprintf("a%02d", i), Agent: "1001", At: at, TalkSeconds: 60})
	}
	cands[0].TalkSeconds = 900
	cands[1].Disposition = "not_resolved"
	cands[2].Transferred, cands[2].Outcome = true, "abandoned"
	cands[4].Transferred, cands[4].Outcome = true, "answered" // transferred and answered: no rule
	cands[3].Scored = true                                    // scored calls stay in the draw
	cands = append(cands, Candidate{CallID: "b1", Agent: "1002", At: at, TalkSeconds: 30})
	cfg := config.QA{SamplePerAgent: 2, LongCall: 10 * time.Minute, ReviewDispositions: []string{"not_resolved"}}
	picks := Sample(cands, cfg, "2026-W48")
	reasons := map[string]string{}
	for _, p := range picks {
		reasons[p.CallID] = p.Reason
	}
	if reasons["a00"] != "long call" || reasons["a01"] != "disposition not_resolved" || reasons["a02"] != "abandoned after transfer" {
		t.Fatalf("rule picks %v", reasons)
	}
	random := 0
	for _, p := range picks {
		if p.Agent == "1001" && p.Reason == "random" {
			random++
		}
	}
	if random != 2 || reasons["b1"] != "random" || len(picks) != 6 {
		t.Fatalf("picks %+v", picks)
	}
	if again := Sample(cands, cfg, "2026-W48"); fmt.Sprint(again) != fmt.Sprint(picks) {
		t.Fatal("the same week should give the same sample")
	}
}

// The random draw of a week does not move when a picked call is scored,
// nor with the day it is asked, and each week draws anew.
func TestSampleStableWithinWeek(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var cands []Candidate
	for i := range 40 {
		cands = append(cands, Candidate{CallID: fmt.Sprintf("c%02d", i), Agent: "1001", At: at, TalkSeconds: 60})
	}
	cfg := config.QA{SamplePerAgent: 3}
	ids := func(ps []Pick) string {
		var out []string
		for _, p := range ps {
			out = append(out, p.CallID)
		}
		return fmt.Sprint(out)
	}
	base := Sample(cands, cfg, "2026-W49")
	if len(base) != 3 || base[0].Week != "2026-W49" {
		t.Fatalf("picks %+v", base)
	}
	scoredAll := slices.Clone(cands)
	for i := range scoredAll {
		for _, p := range base {
			if scoredAll[i].CallID == p.CallID {
				scoredAll[i].Scored = true
			}
		}
	}
	tests := []struct {
		name  string
		cands []Candidate
		week  string
		same  bool
	}{
		{"asked again", cands, "2026-W49", true},
		{"the picks scored", scoredAll, "2026-W49", true},
		{"the same calls listed in another order", reversed(cands), "2026-W49", true},
		{"another week", cands, "2026-W50", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Sample(tc.cands, cfg, tc.week)
			if (ids(got) == ids(base)) != tc.same {
				t.Fatalf("picks %s, week's first draw %s; want same=%v", ids(got), ids(base), tc.same)
			}
		})
	}
	for _, p := range Sample(scoredAll, cfg, "2026-W49") {
		if !p.Scored {
			t.Errorf("pick %s: scored call not marked", p.CallID)
		}
	}
}

func reversed(cs []Candidate) []Candidate {
	out := slices.Clone(cs)
	slices.Reverse(out)
	return out
}

func TestWeekRange(t *testing.T) {
	tests := []struct {
		week string
		from time.Time
		err  bool
	}{
		{week: "2026-W49", from: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)},
		{week: "2026-W01", from: time.Date(2025, 12, 29, 0, 0, 0, 0, time.UTC)},
		{week: "2026-W53", from: time.Date(2026, 12, 28, 0, 0, 0, 0, time.UTC)}, // 2026 has 53 ISO weeks
		{week: "2025-W53", err: true},
		{week: "2026-W4x", err: true},
		{week: "2026-49", err: true},
		{week: "2026-W00", err: true},
	}
	for _, tc := range tests {
		t.Run(tc.week, func(t *testing.T) {
			from, to, err := WeekRange(tc.week)
			if tc.err {
				if !errors.Is(err, ErrWeek) {
					t.Fatalf("err %v, want ErrWeek", err)
				}
				return
			}
			if err != nil || !from.Equal(tc.from) || !to.Equal(tc.from.AddDate(0, 0, 7)) {
				t.Fatalf("%s – %s, %v; want from %s", from, to, err, tc.from)
			}
			for d := from; d.Before(to); d = d.Add(6 * time.Hour) {
				if Week(d) != tc.week {
					t.Fatalf("Week(%s) = %s", d, Week(d))
				}
			}
		})
	}
}
