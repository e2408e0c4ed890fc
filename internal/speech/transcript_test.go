package speech

import (
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/sentiment"
)

func TestBuild(t *testing.T) {
	us := []Utterance{
		{Channel: Caller, Start: 1, End: 4, Text: "this is ridiculous my bill is wrong again", Words: []Word{{Start: 1, End: 4}}},
		{Channel: Agent, Start: 3.5, End: 6, Text: "i am sorry let me check your bill", Words: []Word{{Start: 3.5, End: 6}}},
		{Channel: Caller, Start: 7, End: 9, Text: "the order number is four five six seven from tuesday", Words: []Word{{Start: 7, End: 9}}},
		{Channel: Agent, Start: 10, End: 12, Text: "i have refunded the charge on your bill", Words: []Word{{Start: 10, End: 12}}},
		{Channel: Caller, Start: 13, End: 15, Text: "great thank you that is perfect", Words: []Word{{Start: 13, End: 15}}},
	}
	spots := []Spot{{Phrase: "refund", Channel: Caller, At: 2}}
	tr := Build("c1", us, spots, spots, Facts{Queue: "support", Agent: "1003", Caller: "5551234", Holds: 1, Duration: 20}, sentiment.New())
	if tr.Talk.Caller != 7 || tr.Talk.Agent != 4.5 || tr.Talk.Overlap != 0.5 || tr.Talk.Silence != 9 || tr.Talk.Duration != 20 {
		t.Errorf("talk %+v", tr.Talk)
	}
	if tr.Sentiment.Lowest >= 0 || tr.Sentiment.Lowest > tr.Sentiment.Start { // three caller utterances: start and end are all of them
		t.Errorf("sentiment %+v", tr.Sentiment)
	}
	if len(tr.Key) != 3 {
		t.Errorf("key utterances %v", tr.Key)
	}
	for _, want := range []string{"5551234", "support", "Held once", `"refund" at 0:02`, "4567", "tuesday", "Key points", "agent 1003"} {
		if !strings.Contains(tr.Summary, want) {
			t.Errorf("summary lacks %q: %s", want, tr.Summary)
		}
	}
	if !tr.Automatic || tr.CallID != "c1" {
		t.Errorf("transcript %+v", tr)
	}
	empty := Build("c2", nil, nil, nil, Facts{}, sentiment.New())
	if empty.Utterances == nil || empty.Spotted == nil || empty.Summary == "" {
		t.Errorf("empty transcript %+v", empty)
	}
}

func TestNumbersAndDates(t *testing.T) {
	for _, tc := range []struct{ text, nums, dates string }{
		{"my number is five five five one two three four", "5551234", ""},
		{"order 1234 on monday or tuesday next monday", "1234", "monday tuesday"},
		{"one thing", "", ""}, // a lone digit word is no number
		{"call me tomorrow at two", "", "tomorrow"},
		{"card four one one one one one one one one one one one one one one two", "••••••••••••1112", ""}, // 16 digits: masked
	} {
		if got := strings.Join(Numbers(tc.text), " "); got != tc.nums {
			t.Errorf("Numbers(%q) = %q, want %q", tc.text, got, tc.nums)
		}
		if got := strings.Join(Dates(tc.text), " "); got != tc.dates {
			t.Errorf("Dates(%q) = %q, want %q", tc.text, got, tc.dates)
		}
	}
}

// A card read in groups of four, in utterances of its own, is one number:
// masked in the summary.
func TestCardInGroupsMasked(t *testing.T) {
	us := []Utterance{
		{Channel: Caller, Start: 1, End: 2, Text: "four one one one"},
		{Channel: Caller, Start: 3, End: 4, Text: "two two two two"},
		{Channel: Caller, Start: 5, End: 6, Text: "three three three three"},
		{Channel: Caller, Start: 7, End: 8, Text: "five five five five"},
		{Channel: Agent, Start: 9, End: 10, Text: "one two"},
	}
	tr := Build("c", us, nil, nil, Facts{}, sentiment.New())
	if strings.Contains(tr.Summary, "4111") || !strings.Contains(tr.Summary, "5555") || !strings.Contains(tr.Summary, "12") {
		t.Fatalf("summary %s", tr.Summary)
	}
}
