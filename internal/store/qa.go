package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// QAScore is a reviewer's scoring of a call.
type QAScore struct {
	CallID     string          `json:"call_id"`
	Agent      string          `json:"agent"`
	Scorecard  string          `json:"scorecard"`
	Reviewer   string          `json:"reviewer"`
	Answers    map[string]bool `json:"answers"`
	Score      float64         `json:"score"`
	AutoFailed bool            `json:"auto_failed"`
	Comment    string          `json:"comment,omitempty"`
	At         time.Time       `json:"at"`
}

// SaveScore stores (or replaces) a call's score.
func (s *Store) SaveScore(ctx context.Context, q QAScore) error {
	answers, _ := json.Marshal(q.Answers)
	af := 0
	if q.AutoFailed {
		af = 1
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO qa_scores (call_id, agent, scorecard, reviewer, answers, score, auto_failed, comment, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(call_id) DO UPDATE SET agent = excluded.agent, scorecard = excluded.scorecard,
		reviewer = excluded.reviewer, answers = excluded.answers, score = excluded.score, auto_failed = excluded.auto_failed,
		comment = excluded.comment, at = excluded.at`, q.CallID, q.Agent, q.Scorecard, q.Reviewer, string(answers), q.Score, af, q.Comment, ms(q.At))
	if err != nil {
		return fmt.Errorf("store: save score of %s: %w", q.CallID, err)
	}
	return nil
}

// Scores lists scores given in [from, to), of one agent when agent is set.
func (s *Store) Scores(ctx context.Context, agent string, from, to time.Time) ([]QAScore, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT call_id, agent, scorecard, reviewer, answers, score, auto_failed, comment, at FROM qa_scores
		WHERE at >= ? AND at < ? AND (? = '' OR agent = ?) ORDER BY at DESC LIMIT 1000`, ms(from), ms(to), agent, agent)
	if err != nil {
		return nil, fmt.Errorf("store: scores: %w", err)
	}
	defer rows.Close()
	out := []QAScore{}
	for rows.Next() {
		var (
			q       QAScore
			answers string
			af      int
			at      int64
		)
		if err := rows.Scan(&q.CallID, &q.Agent, &q.Scorecard, &q.Reviewer, &answers, &q.Score, &af, &q.Comment, &at); err != nil {
			return nil, fmt.Errorf("store: scores: %w", err)
		}
		_ = json.Unmarshal([]byte(answers), &q.Answers)
		q.AutoFailed, q.At = af == 1, time.UnixMilli(at)
		out = append(out, q)
	}
	return out, rows.Err()
}

// ReviewCandidate is an answered call with what review rules look at.
type ReviewCandidate struct {
	CallID      string
	Agent       string
	At          time.Time
	TalkSeconds float64
	Disposition string
	Transferred bool
	Scored      bool
	Outcome     string
}

// ReviewCandidates lists the calls an agent answered in [from, to).
func (s *Store) ReviewCandidates(ctx context.Context, from, to time.Time) ([]ReviewCandidate, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT c.id, c.agent, c.connected_at, c.talk_seconds, COALESCE(d.code, ''),
		EXISTS (SELECT 1 FROM events e WHERE e.call_id = c.id AND e.kind = 'transfer'),
		EXISTS (SELECT 1 FROM qa_scores q WHERE q.call_id = c.id), c.outcome
		FROM calls c LEFT JOIN dispositions d ON d.call_id = c.id
		WHERE c.connected_at >= ? AND c.connected_at < ? AND c.agent != '' LIMIT 100000`, ms(from), ms(to))
	if err != nil {
		return nil, fmt.Errorf("store: review candidates: %w", err)
	}
	defer rows.Close()
	var out []ReviewCandidate
	for rows.Next() {
		var (
			c  ReviewCandidate
			at int64
		)
		if err := rows.Scan(&c.CallID, &c.Agent, &at, &c.TalkSeconds, &c.Disposition, &c.Transferred, &c.Scored, &c.Outcome); err != nil {
			return nil, fmt.Errorf("store: review candidates: %w", err)
		}
		c.At = time.UnixMilli(at)
		out = append(out, c)
	}
	return out, rows.Err()
}
