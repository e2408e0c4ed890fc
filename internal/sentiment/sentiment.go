// Package sentiment scores what callers and agents say: VADER's lexicon
// (github.com/jonreiter/govader, rule-based, pure Go) with a call centre's
// words added, each utterance from -1 (negative) to 1, and a call's
// sentiment from its utterances: at its start, at its end, and at its
// lowest. It knows nothing of audio: its text comes from a transcript.
package sentiment

import (
	"strings"

	"github.com/jonreiter/govader"
)

// callCentre are words VADER lacks, or weighs for another context, on
// its scale (-4 to 4): what callers say when a call goes wrong or right.
var callCentre = map[string]float64{
	"refund":       -1.2,
	"refunded":     0.8,
	"chargeback":   -2.0,
	"overcharged":  -2.2,
	"overbilled":   -2.2,
	"cancellation": -1.0,
	"lawyer":       -1.5,
	"attorney":     -1.5,
	"escalate":     -1.3,
	"unacceptable": -2.5,
	"ridiculous":   -2.0,
	"waiting":      -0.6,
	"hold":         -0.3,
	"outage":       -1.8,
	"broken":       -1.8,
	"resolved":     1.8,
	"sorted":       1.2,
	"fixed":        1.4,
	"appreciate":   2.0,
	"helpful":      2.0,
	"perfect":      2.6,
	"supervisor":   -0.8,
	"manager":      -0.5,
	"disconnected": -1.4,
	"late":         -1.0,
}

// Heard are the words whose reading a transcript may get wrong in a way
// that flips a call (a misheard "cancel"): with a keyword spotter's
// confirmation at hand (Score's spotted), they count only if it heard
// them too.
var heard = map[string]bool{"cancel": true, "refund": true, "dispute": true, "lawyer": true, "attorney": true,
	"chargeback": true, "supervisor": true, "complaint": true}

// An Analyzer scores utterances. It is safe for concurrent use once made
// (it only reads its lexicon).
type Analyzer struct {
	sia *govader.SentimentIntensityAnalyzer
}

// New makes an analyzer: VADER's lexicon with the call centre's words.
func New() *Analyzer {
	sia := govader.NewSentimentIntensityAnalyzer()
	for w, v := range callCentre {
		sia.Lexicon[w] = v
	}
	return &Analyzer{sia: sia}
}

// Score is an utterance's compound sentiment, -1 to 1. spotted are the
// phrases a keyword spotter heard in the same stretch of audio; when it
// is not nil, a word of the easily misheard set (cancel, refund, lawyer,
// ...) that the spotter did not hear is left out (a transcript's guess
// does not flip a call on its own). nil: every word counts.
func (a *Analyzer) Score(text string, spotted []string) float64 {
	if spotted != nil {
		confirmed := map[string]bool{}
		for _, p := range spotted {
			for _, w := range strings.Fields(strings.ToLower(p)) {
				confirmed[w] = true
			}
		}
		words := strings.Fields(text)
		kept := words[:0]
		for _, w := range words {
			bare := strings.ToLower(strings.Trim(w, ".,!?;:\"'"))
			if heard[bare] && !confirmed[bare] {
				continue
			}
			kept = append(kept, w)
		}
		text = strings.Join(kept, " ")
	}
	return a.sia.PolarityScores(text).Compound
}

// Utterance is one scored stretch of a call: when it started (seconds
// into the call) and its score.
type Utterance struct {
	At    float64
	Score float64
}

// Call is a call's sentiment: at its start and at its end (the means of
// its first and last utterances), and its lowest (the lowest mean of two
// utterances running; of one when there is one).
type Call struct {
	Start  float64 `json:"start"`
	End    float64 `json:"end"`
	Lowest float64 `json:"lowest"`
}

// edge is how many utterances the start and the end of a call are.
const edge = 3

// OfCall is the sentiment of a call's utterances, in the order they were
// said; the zero Call when there are none.
func OfCall(us []Utterance) Call {
	if len(us) == 0 {
		return Call{}
	}
	mean := func(part []Utterance) float64 {
		var s float64
		for _, u := range part {
			s += u.Score
		}
		return s / float64(len(part))
	}
	n := min(edge, len(us))
	c := Call{Start: mean(us[:n]), End: mean(us[len(us)-n:]), Lowest: us[0].Score}
	for i := 1; i < len(us); i++ {
		m := mean(us[i-1 : i+1])
		if i == 1 || m < c.Lowest {
			c.Lowest = m
		}
	}
	return c
}

// Negative and the turn: a score under -0.05 is negative, VADER's own
// threshold.
const negative = -0.05

// Turned says whether a call that started negative ended neutral or
// positive (an agent who turned it round).
func (c Call) Turned() bool { return c.Start < negative && c.End >= negative }
