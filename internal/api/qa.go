package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/qa"
	"github.com/switchboard/switchboard/internal/store"
)

// QAStore keeps scores and lists calls to review.
type QAStore interface {
	SaveScore(ctx context.Context, q store.QAScore) error
	Scores(ctx context.Context, agent string, from, to time.Time) ([]store.QAScore, error)
	ReviewCandidates(ctx context.Context, from, to time.Time) ([]store.ReviewCandidate, error)
}

func (s *Server) scorecards(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, 200, s.config().QA.Scorecards)
}

// scoreCall scores a call on a scorecard: POST /api/v1/calls/{id}/score
// {"scorecard": "standard", "answers": {"greet": true, ...}, "comment": "..."}.
func (s *Server) scoreCall(w http.ResponseWriter, r *http.Request) {
	if s.QA == nil {
		writeError(w, 404, "quality review is not enabled")
		return
	}
	var body struct {
		Scorecard string          `json:"scorecard"`
		Answers   map[string]bool `json:"answers"`
		Comment   string          `json:"comment"`
	}
	if err := decodeBody(w, r, &body, 64<<10); err != nil {
		badBody(w, `body: want {"scorecard": "...", "answers": {"<question id>": true|false}, "comment": "..."}`, err)
		return
	}
	var card *config.Scorecard
	for i := range s.config().QA.Scorecards {
		if s.config().QA.Scorecards[i].Name == body.Scorecard {
			card = &s.config().QA.Scorecards[i]
		}
	}
	if card == nil {
		writeError(w, 400, "scorecard: no scorecard "+body.Scorecard)
		return
	}
	id := r.PathValue("id")
	rec, _, err := s.store.GetCall(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, 404, "no call "+id)
		return
	}
	if err != nil || rec.Agent == "" {
		writeError(w, 409, "only calls an agent took can be scored")
		return
	}
	res, err := qa.Score(*card, body.Answers)
	if err != nil {
		writeError(w, 400, err.Error())
		return
	}
	q := store.QAScore{CallID: id, Agent: rec.Agent, Scorecard: card.Name, Reviewer: who(r).name, Answers: body.Answers,
		Score: res.Score, AutoFailed: res.AutoFailed, Comment: body.Comment, At: time.Now()}
	if err := s.QA.SaveScore(r.Context(), q); err != nil {
		writeError(w, 500, "could not save the score")
		return
	}
	s.store.AppendEvent(store.Event{At: q.At, Kind: event.QAScored, CallID: id, Agent: rec.Agent, Queue: rec.Queue,
		Detail: "scorecard=" + card.Name + " by=" + q.Reviewer})
	writeJSON(w, 200, struct {
		store.QAScore
		Missed []string `json:"missed,omitempty"`
	}{q, res.Missed})
}

// listScores: GET /api/v1/qa/scores?from=&to=&agent=; agents see their own.
func (s *Server) listScores(w http.ResponseWriter, r *http.Request) {
	if s.QA == nil {
		writeError(w, 404, "quality review is not enabled")
		return
	}
	from, to, ok := rangeParams(w, r, 30*24*time.Hour)
	if !ok {
		return
	}
	agent := r.URL.Query().Get("agent")
	if p := who(r); p.role == config.RoleAgent {
		agent = p.name
	}
	scores, err := s.QA.Scores(r.Context(), agent, from, to)
	if err != nil {
		writeError(w, 500, "could not read scores")
		return
	}
	writeJSON(w, 200, scores)
}

// reviewQueue: GET /api/v1/qa/review?week=2026-W49 (default: this ISO
// week, UTC; with only from=, the week holding it): the week's calls to
// review, by rules and at random per agent, each pick naming its week. The
// sample is the week's, not a rolling window's, so it stays put from day to
// day and as calls in it are scored.
func (s *Server) reviewQueue(w http.ResponseWriter, r *http.Request) {
	if s.QA == nil {
		writeError(w, 404, "quality review is not enabled")
		return
	}
	week := r.URL.Query().Get("week")
	if week == "" {
		at := time.Now()
		if v := r.URL.Query().Get("from"); v != "" {
			var err error
			if at, err = time.Parse(time.RFC3339, v); err != nil {
				writeError(w, 400, "from: an RFC 3339 time")
				return
			}
		}
		week = qa.Week(at)
	}
	from, to, err := qa.WeekRange(week)
	if err != nil {
		writeError(w, 400, "week: "+err.Error())
		return
	}
	cands, err := s.QA.ReviewCandidates(r.Context(), from, to)
	if err != nil {
		writeError(w, 500, "could not read calls")
		return
	}
	cs := make([]qa.Candidate, len(cands))
	for i, c := range cands {
		cs[i] = qa.Candidate(c)
	}
	picks := qa.Sample(cs, s.config().QA, week)
	if picks == nil {
		picks = []qa.Pick{}
	}
	writeJSON(w, 200, picks)
}

// rangeParams reads from and to (RFC 3339); missing, they are the last span.
func rangeParams(w http.ResponseWriter, r *http.Request, span time.Duration) (from, to time.Time, ok bool) {
	to, from = time.Now(), time.Now().Add(-span)
	var err error
	if v := r.URL.Query().Get("from"); v != "" {
		if from, err = time.Parse(time.RFC3339, v); err != nil {
			writeError(w, 400, "from: an RFC 3339 time")
			return from, to, false
		}
	}
	if v := r.URL.Query().Get("to"); v != "" {
		if to, err = time.Parse(time.RFC3339, v); err != nil {
			writeError(w, 400, "to: an RFC 3339 time")
			return from, to, false
		}
	}
	if !to.After(from) {
		writeError(w, 400, "from must be before to")
		return from, to, false
	}
	return from, to, true
}
