package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Transcript is a call's transcript as the store keeps it: Body is the
// whole of it (JSON, speech.Transcript), Words its text for search.
type Transcript struct {
	CallID         string
	Body           []byte
	Words          string
	Summary        string
	Queue, Agent   string
	SentimentStart float64
	SentimentEnd   float64
	Turned         bool
	CallStarted    time.Time
	CreatedAt      time.Time
}

// Spot is a phrase heard on a call, for the trends report.
type Spot struct {
	CallID      string    `json:"call_id"`
	Phrase      string    `json:"phrase"`
	Channel     string    `json:"channel"`
	At          float64   `json:"at"`
	Queue       string    `json:"queue"`
	Agent       string    `json:"agent"`
	CallStarted time.Time `json:"call_started"`
}

// SaveTranscript stores (or replaces) a call's transcript and its spotted
// phrases.
func (s *Store) SaveTranscript(ctx context.Context, t Transcript, spots []Spot) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: save transcript of %s: %w", t.CallID, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	turned := 0
	if t.Turned {
		turned = 1
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO transcripts (call_id, body, words, summary, queue, agent, sentiment_start, sentiment_end, turned, call_started, created_at, node)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (call_id) DO UPDATE SET body = excluded.body, words = excluded.words, summary = excluded.summary,
		queue = excluded.queue, agent = excluded.agent, sentiment_start = excluded.sentiment_start, sentiment_end = excluded.sentiment_end,
		turned = excluded.turned, created_at = excluded.created_at`,
		t.CallID, string(t.Body), t.Words, t.Summary, t.Queue, t.Agent, t.SentimentStart, t.SentimentEnd, turned, ms(t.CallStarted), ms(t.CreatedAt), s.node); err != nil {
		return fmt.Errorf("store: save transcript of %s: %w", t.CallID, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM spots WHERE call_id = ?`, t.CallID); err != nil {
		return fmt.Errorf("store: spots of %s: %w", t.CallID, err)
	}
	for _, sp := range spots {
		if _, err := tx.ExecContext(ctx, `INSERT INTO spots (call_id, phrase, channel, at, queue, agent, call_started) VALUES (?,?,?,?,?,?,?)
			ON CONFLICT (call_id, phrase, at) DO NOTHING`, t.CallID, sp.Phrase, sp.Channel, sp.At, t.Queue, t.Agent, ms(t.CallStarted)); err != nil {
			return fmt.Errorf("store: spots of %s: %w", t.CallID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: save transcript of %s: %w", t.CallID, err)
	}
	return nil
}

// UpdateSummary replaces a transcript's summary (the agent's edit).
func (s *Store) UpdateSummary(ctx context.Context, callID, summary string, body []byte) error {
	res, err := s.db.ExecContext(ctx, `UPDATE transcripts SET summary = ?, body = ? WHERE call_id = ?`, summary, string(body), callID)
	if err != nil {
		return fmt.Errorf("store: summary of %s: %w", callID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// GetTranscript returns a call's transcript.
func (s *Store) GetTranscript(ctx context.Context, callID string) (Transcript, error) {
	var (
		t                Transcript
		body             string
		turned           int
		started, created int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT call_id, body, words, summary, queue, agent, sentiment_start, sentiment_end, turned, call_started, created_at
		FROM transcripts WHERE call_id = ?`, callID).Scan(&t.CallID, &body, &t.Words, &t.Summary, &t.Queue, &t.Agent, &t.SentimentStart, &t.SentimentEnd,
		&turned, &started, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("store: transcript of %s: %w", callID, err)
	}
	t.Body, t.Turned = []byte(body), turned != 0
	t.CallStarted, t.CreatedAt = time.UnixMilli(started), time.UnixMilli(created)
	return t, nil
}

// TranscriptHit is a transcript that matched a search.
type TranscriptHit struct {
	CallID         string    `json:"call_id"`
	Snippet        string    `json:"snippet"`
	Queue          string    `json:"queue"`
	Agent          string    `json:"agent"`
	SentimentStart float64   `json:"sentiment_start"`
	SentimentEnd   float64   `json:"sentiment_end"`
	CallStarted    time.Time `json:"call_started"`
}

// SearchTranscripts finds transcripts having every word of query (FTS5 on
// SQLite, the english text search on PostgreSQL), best first; the snippet
// shows the words found in [brackets].
func (s *Store) SearchTranscripts(ctx context.Context, query string, limit int) ([]TranscriptHit, error) {
	words := strings.FieldsFunc(strings.ToLower(query), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '\'')
	})
	if len(words) == 0 {
		return []TranscriptHit{}, nil
	}
	var (
		rows *sql.Rows
		err  error
	)
	if s.db.pg {
		rows, err = s.db.QueryContext(ctx, `SELECT call_id, ts_headline('english', words, q, 'StartSel=[,StopSel=],MaxWords=20,MinWords=8'),
			queue, agent, sentiment_start, sentiment_end, call_started
			FROM transcripts, plainto_tsquery('english', ?) q WHERE tsv @@ q ORDER BY ts_rank(tsv, q) DESC, call_started DESC LIMIT ?`,
			strings.Join(words, " "), limit)
	} else {
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = `"` + strings.ReplaceAll(w, `"`, "") + `"`
		}
		rows, err = s.db.QueryContext(ctx, `SELECT t.call_id, snippet(transcripts_fts, 0, '[', ']', '…', 16), t.queue, t.agent,
			t.sentiment_start, t.sentiment_end, t.call_started
			FROM transcripts_fts JOIN transcripts t ON t.id = transcripts_fts.rowid
			WHERE transcripts_fts MATCH ? ORDER BY rank, t.call_started DESC LIMIT ?`, strings.Join(quoted, " "), limit)
	}
	if err != nil {
		return nil, fmt.Errorf("store: search transcripts: %w", err)
	}
	defer rows.Close()
	out := []TranscriptHit{}
	for rows.Next() {
		var (
			h       TranscriptHit
			started int64
		)
		if err := rows.Scan(&h.CallID, &h.Snippet, &h.Queue, &h.Agent, &h.SentimentStart, &h.SentimentEnd, &started); err != nil {
			return nil, fmt.Errorf("store: search transcripts: %w", err)
		}
		h.CallStarted = time.UnixMilli(started)
		out = append(out, h)
	}
	return out, rows.Err()
}

// TranscriptRow is a transcript's figures for the reports.
type TranscriptRow struct {
	CallID         string
	Queue, Agent   string
	SentimentStart float64
	SentimentEnd   float64
	Turned         bool
	CallStarted    time.Time
}

// TranscriptRows lists the transcripts of calls started in [from, to).
func (s *Store) TranscriptRows(ctx context.Context, from, to time.Time) ([]TranscriptRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT call_id, queue, agent, sentiment_start, sentiment_end, turned, call_started FROM transcripts
		WHERE call_started >= ? AND call_started < ? ORDER BY call_started LIMIT 100000`, ms(from), ms(to))
	if err != nil {
		return nil, fmt.Errorf("store: transcripts: %w", err)
	}
	defer rows.Close()
	var out []TranscriptRow
	for rows.Next() {
		var (
			r       TranscriptRow
			turned  int
			started int64
		)
		if err := rows.Scan(&r.CallID, &r.Queue, &r.Agent, &r.SentimentStart, &r.SentimentEnd, &turned, &started); err != nil {
			return nil, fmt.Errorf("store: transcripts: %w", err)
		}
		r.Turned, r.CallStarted = turned != 0, time.UnixMilli(started)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Spots lists the phrases spotted on calls started in [from, to).
func (s *Store) Spots(ctx context.Context, from, to time.Time) ([]Spot, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT call_id, phrase, channel, at, queue, agent, call_started FROM spots
		WHERE call_started >= ? AND call_started < ? ORDER BY call_started LIMIT 200000`, ms(from), ms(to))
	if err != nil {
		return nil, fmt.Errorf("store: spots: %w", err)
	}
	defer rows.Close()
	var out []Spot
	for rows.Next() {
		var (
			sp      Spot
			started int64
		)
		if err := rows.Scan(&sp.CallID, &sp.Phrase, &sp.Channel, &sp.At, &sp.Queue, &sp.Agent, &started); err != nil {
			return nil, fmt.Errorf("store: spots: %w", err)
		}
		sp.CallStarted = time.UnixMilli(started)
		out = append(out, sp)
	}
	return out, rows.Err()
}

// Untranscribed lists this node's recordings started since then that have
// no transcript yet (oldest first): what a restart has to transcribe.
func (s *Store) Untranscribed(ctx context.Context, since time.Time, limit int) ([]Recording, error) {
	own, args := s.db.own("r.node", s.node)
	rows, err := s.db.QueryContext(ctx, `SELECT r.call_id, r.path, r.started_at, r.seconds, r.pauses, r.queue FROM recordings r
		LEFT JOIN transcripts t ON t.call_id = r.call_id WHERE t.call_id IS NULL AND r.started_at >= ?`+own+`
		ORDER BY r.started_at LIMIT ?`, append(append([]any{ms(since)}, args...), limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: untranscribed recordings: %w", err)
	}
	return scanRecordings(rows, "untranscribed recordings")
}
