// Package qa is quality review: scoring a call on a scorecard, and drawing
// the week's calls to review per agent, by rules and at random. It is pure:
// the store gives it calls, the API takes its results.
package qa

import (
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/switchboard/switchboard/internal/config"
)

// ErrAnswers reports answers that do not fit the scorecard.
var ErrAnswers = errors.New("qa: answers do not fit the scorecard")

// ErrWeek reports a week that is not an ISO week ("2026-W49").
var ErrWeek = errors.New("qa: not an ISO week")

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
	// Week is the ISO week whose sample this is ("2026-W49").
	Week string `json:"week"`
	// Scored: the call has been scored (it stays in the week's sample).
	Scored bool `json:"scored"`
}

// Sample chooses an ISO week's review queue from the calls answered in
// that week: every call a rule picks (long, a review disposition, abandoned
// after a transfer), then perAgent more per agent at random. Calls already
// scored stay in it, marked, so scoring a call does not redraw the sample.
// The random draw ranks each call by a hash of week, agent and call id and
// takes the lowest: the same week gives the same queue whenever it is
// asked, and a call answered later in the week enters it only by
// out-ranking a pick (so a review queue read mid-week changes by at most
// the calls taken since).
func Sample(cands []Candidate, cfg config.QA, week string) []Pick {
	byAgent := map[string][]Candidate{}
	for _, c := range cands {
		byAgent[c.Agent] = append(byAgent[c.Agent], c)
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
		pick := func(c Candidate, reason string) {
			out = append(out, Pick{CallID: c.CallID, Agent: a, At: c.At, Reason: reason, Week: week, Scored: c.Scored})
		}
		var rest []Candidate
		for _, c := range calls {
			switch {
			case cfg.LongCall > 0 && c.TalkSeconds > cfg.LongCall.Seconds():
				pick(c, "long call")
			case c.Disposition != "" && slices.Contains(cfg.ReviewDispositions, c.Disposition):
				pick(c, "disposition "+c.Disposition)
			case c.Transferred && c.Outcome == "abandoned":
				pick(c, "abandoned after transfer")
			default:
				rest = append(rest, c)
			}
		}
		rank := make(map[string]uint64, len(rest))
		for _, c := range rest {
			h := fnv.New64a()
			h.Write([]byte(week + "/" + a + "/" + c.CallID))
			rank[c.CallID] = h.Sum64()
		}
		sort.SliceStable(rest, func(i, j int) bool { return rank[rest[i].CallID] < rank[rest[j].CallID] })
		for _, c := range rest[:min(cfg.SamplePerAgent, len(rest))] {
			pick(c, "random")
		}
	}
	return out
}

// Week is the ISO week of t in UTC, as "2026-W49".
func Week(t time.Time) string {
	y, w := t.UTC().ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// WeekRange parses an ISO week ("2026-W49") into [its Monday 00:00 UTC,
// the next Monday).
func WeekRange(week string) (from, to time.Time, err error) {
	bad := fmt.Errorf("%w: %q (want e.g. 2026-W49)", ErrWeek, week)
	if len(week) != 8 || week[4:6] != "-W" {
		return from, to, bad
	}
	y, err1 := strconv.ParseUint(week[:4], 10, 16)
	w, err2 := strconv.ParseUint(week[6:], 10, 8)
	if err1 != nil || err2 != nil || w < 1 || w > 53 {
		return from, to, bad
	}
	// January 4th is always in week 1; step back to its Monday.
	jan4 := time.Date(int(y), 1, 4, 0, 0, 0, 0, time.UTC)
	from = jan4.AddDate(0, 0, -((int(jan4.Weekday())+6)%7)+7*(int(w)-1))
	if Week(from) != week { // week 53 of a year with 52
		return time.Time{}, time.Time{}, fmt.Errorf("%w: %q has no such week", ErrWeek, week)
	}
	return from, from.AddDate(0, 0, 7), nil
}
