// Package qa is quality review: scoring a call on a scorecard, and drawing
// the week's calls to review per agent, by rules and at random. It is pure:
// the store gives it calls, the API takes its results.
package qa

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/switchboard/switchboard/internal/config"
)

// ErrAnswers reports answers that do not fit the scorecard.
var ErrAnswers = errors.New("qa: answers do not fit the scorecard")

// Result is a scored call.
type Result struct {
	// Score is the weighted share of items met, 0–100; 0 when an auto-fail
	// item was not met.
	Score      float64  `json:"score"`
	AutoFailed bool     `json:"auto_failed"`
	Missed     []string `json:"missed,omitempty"` // items not met
}

// Score scores answers (question id → met) on a scorecard; every question
// must be answered, and nothing else.
func Score(card config.Scorecard, answers map[string]bool) (Result, error) {
	var r Result
	total, got := 0, 0
	seen := 0
	for _, sec := range card.Sections {
		for _, q := range sec.Questions {
			met, ok := answers[q.ID]
			if !ok {
				return Result{}, fmt.Errorf("%w: question %q unanswered", ErrAnswers, q.ID)
			}
			seen++
			total += q.Weight
			if met {
				got += q.Weight
				continue
			}
			r.Missed = append(r.Missed, q.ID)
			if q.AutoFail {
				r.AutoFailed = true
			}
		}
	}
	if seen != len(answers) {
		return Result{}, fmt.Errorf("%w: %d answers for %d questions", ErrAnswers, len(answers), seen)
	}
	if total > 0 && !r.AutoFailed {
		r.Score = float64(got) * 100 / float64(total)
	}
	return r, nil
}

// Candidate is an answered call that may be reviewed.
type Candidate struct {
	CallID      string
	Agent       string
	At          time.Time
	TalkSeconds float64
	Disposition string
	Transferred bool
	Scored      bool
	// Outcome is the call's final outcome (answered, abandoned, ...).
	Outcome string
}

// Pick is a call chosen for review and why.
type Pick struct {
	CallID string    `json:"call_id"`
	Agent  string    `json:"agent"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"` // long call, disposition, transferred, random
}

// Sample chooses the week's review queue: every call a rule picks (long,
// a review disposition, abandoned after a transfer), then perAgent more per agent at
// random, skipping calls already scored. The draw is seeded by seed (the
// week), so the same week gives the same queue.
func Sample(cands []Candidate, cfg config.QA, seed string) []Pick {
	byAgent := map[string][]Candidate{}
	for _, c := range cands {
		if !c.Scored {
			byAgent[c.Agent] = append(byAgent[c.Agent], c)
		}
	}
	agents := make([]string, 0, len(byAgent))
	for a := range byAgent {
		agents = append(agents, a)
	}
	sort.Strings(agents)
	var out []Pick
	for _, a := range agents {
		calls := byAgent[a]
		sort.Slice(calls, func(i, j int) bool { return calls[i].CallID < calls[j].CallID })
		var rest []Candidate
		for _, c := range calls {
			switch {
			case cfg.LongCall > 0 && c.TalkSeconds > cfg.LongCall.Seconds():
				out = append(out, Pick{c.CallID, a, c.At, "long call"})
			case c.Disposition != "" && slices.Contains(cfg.ReviewDispositions, c.Disposition):
				out = append(out, Pick{c.CallID, a, c.At, "disposition " + c.Disposition})
			case c.Transferred && c.Outcome == "abandoned":
				out = append(out, Pick{c.CallID, a, c.At, "abandoned after transfer"})
			default:
				rest = append(rest, c)
			}
		}
		h := fnv.New64a()
		h.Write([]byte(seed + "/" + a))
		rng := rand.New(rand.NewPCG(h.Sum64(), 7))
		rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
		for _, c := range rest[:min(cfg.SamplePerAgent, len(rest))] {
			out = append(out, Pick{c.CallID, a, c.At, "random"})
		}
	}
	return out
}
