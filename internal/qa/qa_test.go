package qa

import (
	"errors"
	"fmt"
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
	cands[3].Scored = true
	cands = append(cands, Candidate{CallID: "b1", Agent: "1002", At: at, TalkSeconds: 30})
	cfg := config.QA{SamplePerAgent: 2, LongCall: 10 * time.Minute, ReviewDispositions: []string{"not_resolved"}}
	picks := Sample(cands, cfg, "2026-W48")
	reasons := map[string]string{}
	for _, p := range picks {
		reasons[p.CallID] = p.Reason
	}
	if reasons["a00"] != "long call" || reasons["a01"] != "disposition not_resolved" || reasons["a02"] != "abandoned after transfer" || reasons["a03"] != "" {
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
