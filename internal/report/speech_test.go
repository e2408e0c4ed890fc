package report

import (
	"testing"
	"time"
)

func TestBuildSpeechReport(t *testing.T) {
	to := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC) // a Thursday
	from := to.Add(-7 * 24 * time.Hour)
	tue := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	calls := []TranscribedCall{
		{CallID: "a", Queue: "support", Agent: "1003", SentimentStart: -0.5, SentimentEnd: 0.3, Turned: true, Started: tue},
		{CallID: "b", Queue: "support", Agent: "1003", SentimentStart: -0.4, SentimentEnd: -0.4, Started: tue},
		{CallID: "c", Queue: "sales", Agent: "1001", SentimentStart: 0.2, SentimentEnd: 0.4, Started: tue},
	}
	spots := []SpottedPhrase{
		{CallID: "a", Phrase: "refund", Queue: "support", Started: tue},
		{CallID: "b", Phrase: "refund", Queue: "support", Started: tue.Add(10 * time.Minute)},
		{CallID: "c", Phrase: "cancel", Queue: "sales", Started: tue},
		{CallID: "old", Phrase: "refund", Queue: "support", Started: from.Add(-24 * time.Hour)}, // last week only
	}
	rep := BuildSpeechReport(calls, spots, from, to, time.UTC)
	if rep.Transcribed != 3 || len(rep.Agents) != 2 || len(rep.Queues) != 2 {
		t.Fatalf("report %+v", rep)
	}
	carol := rep.Agents[1]
	if carol.Name != "1003" || carol.Calls != 2 || carol.NegativeStarts != 2 || carol.Turned != 1 || carol.TurnRate != 0.5 || len(carol.CallIDs) != 2 {
		t.Errorf("agent 1003: %+v", carol)
	}
	if len(rep.Trends) != 2 {
		t.Fatalf("trends %+v", rep.Trends)
	}
	r := rep.Trends[0]
	if r.Phrase != "refund" || r.Count != 2 || r.ThisWeek != 2 || r.LastWeek != 1 || r.Change != 1 || len(r.CallIDs) != 2 {
		t.Errorf("refund trend %+v", r)
	}
	if len(r.Cells) != 1 || r.Cells[0].Weekday != 2 || r.Cells[0].Hour != 9 || r.Cells[0].Count != 2 {
		t.Errorf("refund cells %+v", r.Cells)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	if c := BuildSpeechReport(calls, spots, from, to, paris).Trends[0].Cells[0]; c.Hour != 10 {
		t.Errorf("in Paris: %+v", c)
	}
}
