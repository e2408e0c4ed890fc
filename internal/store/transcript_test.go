package store

import (
	"context"
	"testing"
	"time"
)

func TestTranscripts(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	at := time.UnixMilli(time.Now().UnixMilli())
	if _, err := st.GetTranscript(ctx, "c1"); err != ErrNotFound {
		t.Fatalf("before: %v", err)
	}
	t1 := Transcript{CallID: "c1", Body: []byte(`{"x":1}`), Words: "i want to cancel my subscription please", Summary: "the caller wants to cancel",
		Queue: "sales", Agent: "1001", SentimentStart: -0.4, SentimentEnd: 0.2, Turned: true, CallStarted: at, CreatedAt: at}
	if err := st.SaveTranscript(ctx, t1, []Spot{{Phrase: "cancel", Channel: "caller", At: 3.2}}); err != nil {
		t.Fatal(err)
	}
	t2 := Transcript{CallID: "c2", Body: []byte(`{}`), Words: "my bill is wrong and I want a refund", Summary: "billing", Queue: "support",
		Agent: "1003", CallStarted: at.Add(time.Minute), CreatedAt: at}
	if err := st.SaveTranscript(ctx, t2, []Spot{{Phrase: "refund", Channel: "caller", At: 5}}); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetTranscript(ctx, "c1")
	if err != nil || string(got.Body) != `{"x":1}` || !got.Turned || got.SentimentStart != -0.4 || !got.CallStarted.Equal(at) {
		t.Fatalf("got %+v, %v", got, err)
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"cancel", []string{"c1"}},
		{"CANCEL subscription", []string{"c1"}},
		{"refund", []string{"c2"}},
		{"want", nil}, // both: checked by count below
		{`"unbalanced`, nil},
		{"nothing-here", []string{}},
	} {
		hits, err := st.SearchTranscripts(ctx, tc.q, 10)
		if err != nil {
			t.Fatalf("%q: %v", tc.q, err)
		}
		if tc.q == "want" {
			if len(hits) != 2 {
				t.Errorf("want: %d hits", len(hits))
			}
			continue
		}
		if tc.want == nil {
			continue
		}
		var ids []string
		for _, h := range hits {
			ids = append(ids, h.CallID)
		}
		if len(ids) != len(tc.want) || len(ids) > 0 && ids[0] != tc.want[0] {
			t.Errorf("%q: %v, want %v", tc.q, ids, tc.want)
		}
		if len(hits) > 0 && hits[0].Snippet == "" {
			t.Errorf("%q: no snippet", tc.q)
		}
	}
	// Replacing keeps one row and one set of spots, and the search follows.
	t1.Words, t1.Summary = "nothing to see", "nothing"
	if err := st.SaveTranscript(ctx, t1, nil); err != nil {
		t.Fatal(err)
	}
	if hits, err := st.SearchTranscripts(ctx, "cancel", 10); err != nil || len(hits) != 0 {
		t.Errorf("after the update: %v, %v", hits, err)
	}
	spots, err := st.Spots(ctx, at.Add(-time.Hour), at.Add(time.Hour))
	if err != nil || len(spots) != 1 || spots[0].Phrase != "refund" || spots[0].Queue != "support" {
		t.Fatalf("spots %v, %v", spots, err)
	}
	rows, err := st.TranscriptRows(ctx, at.Add(-time.Hour), at.Add(time.Hour))
	if err != nil || len(rows) != 2 {
		t.Fatalf("rows %v, %v", rows, err)
	}
	if err := st.UpdateSummary(ctx, "c2", "edited", []byte(`{"summary":"edited"}`)); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateSummary(ctx, "nope", "x", nil); err != ErrNotFound {
		t.Fatalf("summary of nothing: %v", err)
	}
}

// Deleting a recording (retention) takes its transcript and spots with it.
func TestDeleteRecordingTakesTheTranscript(t *testing.T) {
	st := openTest(t)
	ctx := context.Background()
	at := time.Now()
	if err := st.SaveRecording(ctx, Recording{CallID: "c1", Path: "/x.wav", Started: at, Queue: "sales"}); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveTranscript(ctx, Transcript{CallID: "c1", Body: []byte(`{}`), Words: "cancel it", CallStarted: at, CreatedAt: at},
		[]Spot{{Phrase: "cancel", Channel: "caller", At: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteRecording(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetTranscript(ctx, "c1"); err != ErrNotFound {
		t.Fatalf("transcript after delete: %v", err)
	}
	if hits, err := st.SearchTranscripts(ctx, "cancel", 10); err != nil || len(hits) != 0 {
		t.Fatalf("search after delete: %v, %v", hits, err)
	}
	if sp, err := st.Spots(ctx, at.Add(-time.Hour), at.Add(time.Hour)); err != nil || len(sp) != 0 {
		t.Fatalf("spots after delete: %v, %v", sp, err)
	}
}
