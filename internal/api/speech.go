package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/report"
	"github.com/switchboard/switchboard/internal/store"
)

// SpeechStore keeps transcripts (speech analytics).
type SpeechStore interface {
	GetTranscript(ctx context.Context, callID string) (store.Transcript, error)
	SearchTranscripts(ctx context.Context, query string, limit int) ([]store.TranscriptHit, error)
	UpdateSummary(ctx context.Context, callID, summary string, body []byte) error
	TranscriptRows(ctx context.Context, from, to time.Time) ([]store.TranscriptRow, error)
	Spots(ctx context.Context, from, to time.Time) ([]store.Spot, error)
}

func (s *Server) speechRoutes() {
	s.handle("GET /api/v1/calls/{id}/transcript", s.speechOn(s.getTranscript), anyone())
	s.handle("PUT /api/v1/calls/{id}/transcript/summary", s.speechOn(s.putSummary), anyone())
	s.handle("GET /api/v1/transcripts", s.speechOn(s.searchTranscripts), staff())
	s.handle("GET /api/v1/reports/speech", s.speechOn(s.speechReport), staff())
	s.handle("GET /api/v1/speech/live", s.speechOn(s.heardLive), staff())
}

// speechOn answers 404 while speech analytics is off.
func (s *Server) speechOn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Speech == nil {
			writeError(w, 404, "speech analytics is off (speech.engine: off, or no engine)")
			return
		}
		h(w, r)
	}
}

// transcriptOf reads a call's transcript for whoever may hear its
// recording (admins, supervisors, the agent who took it): its stored body
// with the summary as last edited. ok false: the answer is written.
func (s *Server) transcriptOf(w http.ResponseWriter, r *http.Request) (map[string]any, store.Transcript, bool) {
	id := r.PathValue("id")
	rec, _, err := s.store.GetCall(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, 404, "no call "+id)
		return nil, store.Transcript{}, false
	}
	if err != nil {
		writeError(w, 500, "could not read the call")
		return nil, store.Transcript{}, false
	}
	if p := who(r); p.role == config.RoleAgent && rec.Agent != p.name {
		writeError(w, 403, "only the agent who took the call may read it")
		return nil, store.Transcript{}, false
	}
	t, err := s.Speech.GetTranscript(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, 404, "the call has no transcript (yet: recorded calls are transcribed after they end)")
		return nil, t, false
	}
	if err != nil {
		writeError(w, 500, "could not read the transcript")
		return nil, t, false
	}
	var body map[string]any
	if err := json.Unmarshal(t.Body, &body); err != nil {
		s.log.Error("api: transcript body", "call", id, "err", err)
		writeError(w, 500, "the stored transcript is unreadable")
		return nil, t, false
	}
	body["summary"] = t.Summary
	return body, t, true
}

// getTranscript serves GET /api/v1/calls/{id}/transcript: utterances per
// channel with their times, the summary, the sentiment and the phrases
// spotted. The words are a machine's and may be wrong (automatic: true).
func (s *Server) getTranscript(w http.ResponseWriter, r *http.Request) {
	if body, _, ok := s.transcriptOf(w, r); ok {
		writeJSON(w, 200, body)
	}
}

// putSummary replaces a transcript's summary (the agent's edit in wrap-up).
func (s *Server) putSummary(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Summary *string `json:"summary"`
	}
	if err := decodeBody(w, r, &in, 64<<10); err != nil || in.Summary == nil {
		badBody(w, `body: want {"summary": "..."}`, err)
		return
	}
	body, _, ok := s.transcriptOf(w, r)
	if !ok {
		return
	}
	body["summary"] = *in.Summary
	body["summary_edited_by"] = who(r).name
	raw, _ := json.Marshal(body)
	if err := s.Speech.UpdateSummary(r.Context(), r.PathValue("id"), *in.Summary, raw); err != nil {
		s.log.Error("api: summary", "call", r.PathValue("id"), "err", err)
		writeError(w, 500, "could not save the summary")
		return
	}
	writeJSON(w, 200, body)
}

// searchTranscripts serves GET /api/v1/transcripts?q=words&limit=N: the
// transcripts with every word, best first.
func (s *Server) searchTranscripts(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		writeError(w, 400, "q: want the words to find")
		return
	}
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			writeError(w, 400, "limit: want 1 to 500")
			return
		}
		limit = n
	}
	hits, err := s.Speech.SearchTranscripts(r.Context(), q, limit)
	if err != nil {
		s.log.Error("api: transcript search", "err", err)
		writeError(w, 500, "could not search the transcripts")
		return
	}
	writeJSON(w, 200, map[string]any{"query": q, "transcripts": hits})
}

func (s *Server) heardLive(w http.ResponseWriter, r *http.Request) {
	if s.Heard == nil {
		writeJSON(w, 200, map[string]any{"calls": []any{}})
		return
	}
	writeJSON(w, 200, s.Heard())
}

// speechReport serves GET /api/v1/reports/speech?from=&to=&tz=: the
// transcribed calls' caller sentiment per agent and queue (how often an
// agent turns a negative start round), and the phrases spotted per queue
// by weekday and hour (in tz, default UTC) and week over week, each figure
// with its calls.
func (s *Server) speechReport(w http.ResponseWriter, r *http.Request) {
	from, to, ok := reportRange(w, r)
	if !ok {
		return
	}
	loc := time.UTC
	if tz := r.URL.Query().Get("tz"); tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			writeError(w, 400, "tz: want an IANA time zone (Europe/Paris)")
			return
		}
		loc = l
	}
	rows, err := s.Speech.TranscriptRows(r.Context(), from, to)
	if err == nil {
		var spots []store.Spot
		// the week before the range too, for week over week
		if spots, err = s.Speech.Spots(r.Context(), minTime(from, to.Add(-14*24*time.Hour)), to); err == nil {
			calls := make([]report.TranscribedCall, len(rows))
			for i, t := range rows {
				calls[i] = report.TranscribedCall{CallID: t.CallID, Queue: t.Queue, Agent: t.Agent, SentimentStart: t.SentimentStart,
					SentimentEnd: t.SentimentEnd, Turned: t.Turned, Started: t.CallStarted}
			}
			var phrases []report.SpottedPhrase
			for _, sp := range spots {
				phrases = append(phrases, report.SpottedPhrase{CallID: sp.CallID, Phrase: sp.Phrase, Queue: sp.Queue, Started: sp.CallStarted})
			}
			rep := report.BuildSpeechReport(calls, phrases, from, to, loc)
			writeJSON(w, 200, map[string]any{"from": from, "to": to, "tz": loc.String(), "report": rep,
				"note": "Transcripts are automatic and may contain errors; sentiment is the caller's, from -1 to 1."})
			return
		}
	}
	s.log.Error("api: speech report", "err", err)
	writeError(w, 500, "could not read the transcripts")
}
