package report

import (
	"slices"
	"sort"
	"time"
)

// TranscribedCall is a transcribed call's sentiment, for the speech report.
type TranscribedCall struct {
	CallID         string
	Queue, Agent   string
	SentimentStart float64
	SentimentEnd   float64
	Turned         bool
	Started        time.Time
}

// SpottedPhrase is a phrase heard on a call.
type SpottedPhrase struct {
	CallID  string
	Phrase  string
	Queue   string
	Started time.Time // the call's start
}

// SentimentRow is an agent's or a queue's calls by sentiment.
type SentimentRow struct {
	Name  string  `json:"name"`
	Calls int     `json:"calls"`
	Start float64 `json:"mean_start"` // mean caller sentiment at the calls' start
	End   float64 `json:"mean_end"`
	// NegativeStarts are the calls that started negative, Turned those of
	// them that ended neutral or positive; TurnRate is Turned/NegativeStarts.
	NegativeStarts int      `json:"negative_starts"`
	Turned         int      `json:"turned"`
	TurnRate       float64  `json:"turn_rate"`
	CallIDs        []string `json:"call_ids"` // the negative starts (at most 100)
}

// Trend is one phrase's (or topic's) counts on one queue.
type Trend struct {
	Queue  string `json:"queue"`
	Phrase string `json:"phrase"`
	// Count is the calls the phrase was heard on in the range (once a call).
	Count int `json:"count"`
	// ThisWeek and LastWeek count the calls of the seven days up to the
	// range's end and of the seven before them; Change is their difference.
	ThisWeek int `json:"this_week"`
	LastWeek int `json:"last_week"`
	Change   int `json:"change"`
	// Cells are the counts by weekday (0 Sunday) and hour of day in the
	// report's time zone, only those with a count.
	Cells   []TrendCell `json:"cells"`
	CallIDs []string    `json:"call_ids"` // at most 100, newest first
}

// TrendCell is a weekday and hour's count, with its calls.
type TrendCell struct {
	Weekday int      `json:"weekday"`
	Hour    int      `json:"hour"`
	Count   int      `json:"count"`
	CallIDs []string `json:"call_ids"` // at most 20
}

// SpeechReport is what the words say over a range.
type SpeechReport struct {
	Transcribed int            `json:"transcribed"`
	Agents      []SentimentRow `json:"agents"`
	Queues      []SentimentRow `json:"queues"`
	Trends      []Trend        `json:"trends"` // most spotted first
}

// negativeStart is VADER's threshold, as the sentiment package's.
const negativeStart = -0.05

// BuildSpeechReport sums transcribed calls' sentiment per agent and queue,
// and the phrases spotted per queue by weekday and hour (in loc) and week
// over week. Spots before from count only for last week's figure.
func BuildSpeechReport(calls []TranscribedCall, spots []SpottedPhrase, from, to time.Time, loc *time.Location) SpeechReport {
	rep := SpeechReport{Transcribed: len(calls), Agents: []SentimentRow{}, Queues: []SentimentRow{}, Trends: []Trend{}}
	agents, queues := map[string]*SentimentRow{}, map[string]*SentimentRow{}
	add := func(m map[string]*SentimentRow, name string, c TranscribedCall) {
		if name == "" {
			return
		}
		r := m[name]
		if r == nil {
			r = &SentimentRow{Name: name, CallIDs: []string{}}
			m[name] = r
		}
		r.Calls++
		r.Start += c.SentimentStart
		r.End += c.SentimentEnd
		if c.SentimentStart < negativeStart {
			r.NegativeStarts++
			if c.Turned {
				r.Turned++
			}
			if len(r.CallIDs) < 100 {
				r.CallIDs = append(r.CallIDs, c.CallID)
			}
		}
	}
	for _, c := range calls {
		add(agents, c.Agent, c)
		add(queues, c.Queue, c)
	}
	finish := func(m map[string]*SentimentRow) []SentimentRow {
		out := make([]SentimentRow, 0, len(m))
		for _, r := range m {
			r.Start = round3(r.Start / float64(r.Calls))
			r.End = round3(r.End / float64(r.Calls))
			if r.NegativeStarts > 0 {
				r.TurnRate = round3(float64(r.Turned) / float64(r.NegativeStarts))
			}
			out = append(out, *r)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out
	}
	rep.Agents, rep.Queues = finish(agents), finish(queues)

	type key struct{ queue, phrase string }
	trends := map[key]*Trend{}
	cells := map[key]map[[2]int]*TrendCell{}
	seen := map[key]map[string]bool{}
	weekAgo, twoWeeksAgo := to.Add(-7*24*time.Hour), to.Add(-14*24*time.Hour)
	sorted := slices.Clone(spots)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Started.After(sorted[j].Started) })
	for _, sp := range sorted {
		k := key{sp.Queue, sp.Phrase}
		t := trends[k]
		if t == nil {
			t = &Trend{Queue: sp.Queue, Phrase: sp.Phrase, CallIDs: []string{}}
			trends[k], cells[k], seen[k] = t, map[[2]int]*TrendCell{}, map[string]bool{}
		}
		if seen[k][sp.CallID] {
			continue // once a call, in every figure
		}
		seen[k][sp.CallID] = true
		switch at := sp.Started; {
		case !at.Before(weekAgo) && at.Before(to):
			t.ThisWeek++
		case !at.Before(twoWeeksAgo) && at.Before(weekAgo):
			t.LastWeek++
		}
		if sp.Started.Before(from) {
			continue
		}
		t.Count++
		if len(t.CallIDs) < 100 {
			t.CallIDs = append(t.CallIDs, sp.CallID)
		}
		local := sp.Started.In(loc)
		ck := [2]int{int(local.Weekday()), local.Hour()}
		c := cells[k][ck]
		if c == nil {
			c = &TrendCell{Weekday: ck[0], Hour: ck[1], CallIDs: []string{}}
			cells[k][ck] = c
		}
		c.Count++
		if len(c.CallIDs) < 20 && !slices.Contains(c.CallIDs, sp.CallID) {
			c.CallIDs = append(c.CallIDs, sp.CallID)
		}
	}
	for k, t := range trends {
		if t.Count == 0 {
			continue
		}
		t.Change = t.ThisWeek - t.LastWeek
		t.Cells = []TrendCell{}
		for _, c := range cells[k] {
			t.Cells = append(t.Cells, *c)
		}
		sort.Slice(t.Cells, func(i, j int) bool {
			a, b := t.Cells[i], t.Cells[j]
			return a.Weekday < b.Weekday || a.Weekday == b.Weekday && a.Hour < b.Hour
		})
		rep.Trends = append(rep.Trends, *t)
	}
	sort.Slice(rep.Trends, func(i, j int) bool {
		a, b := rep.Trends[i], rep.Trends[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Queue+a.Phrase < b.Queue+b.Phrase
	})
	return rep
}

func round3(v float64) float64 { return float64(int64(v*1000+sign(v)*0.5)) / 1000 }

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}
