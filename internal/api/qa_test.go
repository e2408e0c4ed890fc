package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/store"
)

// weekQA is a QAStore with a fixed set of answered calls; it keeps the
// range it was asked for.
type weekQA struct {
	calls    []store.ReviewCandidate
	from, to time.Time
}

func (q *weekQA) SaveScore(context.Context, store.QAScore) error { return nil }
func (q *weekQA) Scores(context.Context, string, time.Time, time.Time) ([]store.QAScore, error) {
	return nil, nil
}
func (q *weekQA) ReviewCandidates(_ context.Context, from, to time.Time) ([]store.ReviewCandidate, error) {
	q.from, q.to = from, to
	var out []store.ReviewCandidate
	for _, c := range q.calls {
		if !c.At.Before(from) && c.At.Before(to) {
			out = append(out, c)
		}
	}
	return out, nil
}

// The review queue is an ISO week's: any day of the week gives the same
// picks, each naming the week.
func TestReviewQueueWeek(t *testing.T) {
	mon := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC) // Monday of 2026-W49
	qs := &weekQA{}
	for i := range 30 {
		qs.calls = append(qs.calls, store.ReviewCandidate{CallID: string(rune('a'+i%26)) + string(rune('0'+i/26)), Agent: "1001",
			At: mon.Add(time.Duration(i) * 5 * time.Hour), TalkSeconds: 60, Outcome: "answered"})
	}
	cfg := &config.Config{Users: []config.User{{Username: "sup", Password: "s", Role: config.RoleSupervisor}},
		QA: config.QA{SamplePerAgent: 4}}
	srv := New(cfg, nil, &historyStore{}, slog.Default())
	srv.QA = qs
	get := func(t *testing.T, query string) (int, []map[string]any) {
		t.Helper()
		req := httptest.NewRequest("GET", "/api/v1/qa/review"+query, nil)
		req.SetBasicAuth("sup", "s")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		var picks []map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &picks)
		return rec.Code, picks
	}
	_, first := get(t, "?week=2026-W49")
	if len(first) != 4 || !qs.from.Equal(mon) || !qs.to.Equal(mon.AddDate(0, 0, 7)) {
		t.Fatalf("%d picks over %s – %s", len(first), qs.from, qs.to)
	}
	tests := []struct {
		name, query string
		status      int
	}{
		{"the week by name", "?week=2026-W49", 200},
		{"Tuesday", "?from=2026-12-01T10:00:00Z", 200},
		{"Sunday night", "?from=2026-12-06T23:59:00Z&to=2026-12-07T00:00:00Z", 200},
		{"not a week", "?week=2026-49", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, picks := get(t, tc.query)
			if code != tc.status {
				t.Fatalf("status %d, want %d", code, tc.status)
			}
			if code != 200 {
				return
			}
			if len(picks) != len(first) {
				t.Fatalf("%d picks, want the week's %d", len(picks), len(first))
			}
			for i, p := range picks {
				if p["call_id"] != first[i]["call_id"] || p["week"] != "2026-W49" {
					t.Errorf("pick %d: %v, want %v in week 2026-W49", i, p, first[i])
				}
			}
		})
	}
}
