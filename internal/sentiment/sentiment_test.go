package sentiment

import (
	"math"
	"testing"
)

func TestScore(t *testing.T) {
	a := New()
	for _, tc := range []struct {
		text     string
		spotted  []string
		min, max float64
	}{
		{"thank you so much, that was really helpful", nil, 0.5, 1},
		{"this is unacceptable, I was overcharged again", nil, -1, -0.5},
		{"I want a refund", nil, -1, -0.05},
		{"okay", nil, 0, 0.5},
		// a misheard "cancel" does not count unless the spotter heard it
		{"I want to cancel", []string{}, -0.05, 0.5}, // not negative
		{"I want to cancel", []string{"cancel"}, -1, -0.05},
		{"I'll talk to my lawyer about the refund", []string{"refund"}, -1, -0.05},
		{"great, it's resolved", []string{"cancel"}, 0.5, 1},
	} {
		if got := a.Score(tc.text, tc.spotted); got < tc.min || got > tc.max || math.IsNaN(got) {
			t.Errorf("Score(%q, %v) = %.3f, want %.2f..%.2f", tc.text, tc.spotted, got, tc.min, tc.max)
		}
	}
}

func TestOfCall(t *testing.T) {
	u := func(scores ...float64) []Utterance {
		out := make([]Utterance, len(scores))
		for i, s := range scores {
			out[i] = Utterance{At: float64(i) * 5, Score: s}
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		us     []Utterance
		want   Call
		turned bool
	}{
		{"none", nil, Call{}, false},
		{"one", u(-0.6), Call{Start: -0.6, End: -0.6, Lowest: -0.6}, false},
		{"turned round", u(-0.6, -0.3, -0.9, 0, 0.4, 0.5, 0.6), Call{Start: -0.6, End: 0.5, Lowest: -0.6}, true},
		{"went wrong", u(0.3, 0.3, 0.3, -0.8, -0.8), Call{Start: 0.3, End: -1.3 / 3, Lowest: -0.8}, false},
	} {
		got := OfCall(tc.us)
		if math.Abs(got.Start-tc.want.Start) > 1e-9 || math.Abs(got.End-tc.want.End) > 1e-9 || math.Abs(got.Lowest-tc.want.Lowest) > 1e-9 {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
		if got.Turned() != tc.turned {
			t.Errorf("%s: turned %v", tc.name, got.Turned())
		}
	}
}

func BenchmarkScore(b *testing.B) {
	a := New()
	b.ReportAllocs()
	for b.Loop() {
		a.Score("I have been waiting for an hour and I want to cancel my subscription", []string{"cancel"})
	}
}
