package speech

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/sentiment"
)

// The channels of a call: the recording's left and right.
const (
	Caller = "caller"
	Agent  = "agent"
)

// Utterance is what one side said between pauses, timed in seconds from
// the start of the call's recording.
type Utterance struct {
	Channel   string  `json:"channel"`
	Start     float64 `json:"start"`
	End       float64 `json:"end"`
	Text      string  `json:"text"`
	Words     []Word  `json:"words,omitempty"`
	Sentiment float64 `json:"sentiment"`
}

// Spot is a phrase heard while the call ran.
type Spot struct {
	Phrase  string  `json:"phrase"`
	Channel string  `json:"channel"`
	At      float64 `json:"at"` // seconds from the recording's start
	Cue     string  `json:"cue,omitempty"`
	Alert   bool    `json:"alert,omitempty"`
}

// Talk is how a call's time went: each side talking, both at once, and
// neither (seconds).
type Talk struct {
	Caller   float64 `json:"caller"`
	Agent    float64 `json:"agent"`
	Overlap  float64 `json:"overlap"`
	Silence  float64 `json:"silence"`
	Duration float64 `json:"duration"`
}

// Transcript is a call's words and what is made of them.
type Transcript struct {
	CallID     string         `json:"call_id"`
	Utterances []Utterance    `json:"utterances"`
	Summary    string         `json:"summary"`
	Key        []int          `json:"key_utterances"` // indexes into Utterances
	Sentiment  sentiment.Call `json:"sentiment"`
	Turned     bool           `json:"turned"` // started negative, ended neutral or positive
	Spotted    []Spot         `json:"spotted"`
	Talk       Talk           `json:"talk"`
	// Live says the transcript was made while the call ran (else from the
	// recording after it).
	Live      bool      `json:"live"`
	Engine    string    `json:"engine"`
	CreatedAt time.Time `json:"created_at"`
	// Automatic is always true: the words are a machine's and may be wrong.
	Automatic bool `json:"automatic"`
}

// chunk is how much audio a frame to the engine carries (0.2 s at 8 kHz, as
// vosk-server's own client sends).
const chunk = 1600

// TranscribeChannels sends each channel's 8 kHz audio to the engine, all
// channels at once, and returns the utterances in the order they started.
func TranscribeChannels(ctx context.Context, e Engine, channels map[string][]int16) ([]Utterance, error) {
	var (
		mu   sync.Mutex
		out  []Utterance
		wg   sync.WaitGroup
		errs = make(chan error, len(channels))
	)
	for name, pcm := range channels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := e.Open(ctx, Config{SampleRate: 8000, Words: true}, func(r Result) {
				if u, ok := utterance(name, r); ok {
					mu.Lock()
					out = append(out, u)
					mu.Unlock()
				}
			})
			if err != nil {
				errs <- err
				return
			}
			for i := 0; i < len(pcm); i += chunk {
				if err := s.Send(ctx, pcm[i:min(i+chunk, len(pcm))]); err != nil {
					s.Close()
					errs <- fmt.Errorf("%s channel: %w", name, err)
					return
				}
			}
			if err := s.Finish(ctx); err != nil {
				errs <- fmt.Errorf("%s channel: %w", name, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	SortUtterances(out)
	return out, nil
}

// utterance makes a result an utterance of the channel (spotted phrases
// and empty results are not).
func utterance(channel string, r Result) (Utterance, bool) {
	if r.Spotted || !r.Final() {
		return Utterance{}, false
	}
	u := Utterance{Channel: channel, Text: r.Text, Words: r.Result}
	if len(r.Result) > 0 {
		u.Start, u.End = r.Result[0].Start, r.Result[len(r.Result)-1].End
	}
	return u, true
}

// SortUtterances orders utterances by start, the caller's first on a tie.
func SortUtterances(us []Utterance) {
	slices.SortStableFunc(us, func(a, b Utterance) int {
		switch {
		case a.Start < b.Start:
			return -1
		case a.Start > b.Start:
			return 1
		}
		return 0
	})
}

// Facts are what the call's record says, for the summary.
type Facts struct {
	Queue, Agent, Caller string
	Holds, Transfers     int
	Duration             float64 // seconds of the recording
}

// Build makes a transcript of utterances: each scored, the call's
// sentiment (a misheard easily-confused word counts only where a phrase
// was spotted, when spotting ran), talk and silence, the key utterances
// and the summary.
//
// spots are the phrases the call is shown to have (heard live, or found in
// its words); heard are those the spotter heard live, the confirmation an
// easily misheard word needs (nil: no spotter ran, every word counts).
func Build(callID string, us []Utterance, spots, heard []Spot, facts Facts, an *sentiment.Analyzer) Transcript {
	t := Transcript{CallID: callID, Utterances: us, Spotted: spots, Automatic: true, Key: []int{}}
	if t.Utterances == nil {
		t.Utterances = []Utterance{}
	}
	if t.Spotted == nil {
		t.Spotted = []Spot{}
	}
	var scored []sentiment.Utterance
	for i := range t.Utterances {
		u := &t.Utterances[i]
		var confirmed []string
		if heard != nil {
			confirmed = []string{}
			for _, s := range heard {
				if s.Channel == u.Channel && s.At >= u.Start-1 && s.At <= u.End+1 {
					confirmed = append(confirmed, s.Phrase)
				}
			}
		}
		u.Sentiment = round2(an.Score(u.Text, confirmed))
		if u.Channel == Caller {
			scored = append(scored, sentiment.Utterance{At: u.Start, Score: u.Sentiment})
		}
	}
	// The call's sentiment is the caller's (the agent is paid to be nice).
	c := sentiment.OfCall(scored)
	t.Sentiment = sentiment.Call{Start: round2(c.Start), End: round2(c.End), Lowest: round2(c.Lowest)}
	t.Turned = c.Turned()
	t.Talk = talk(t.Utterances, facts.Duration)
	t.Key = keyUtterances(t.Utterances, 3)
	t.Summary = summarise(t, facts)
	return t
}

// talk measures each side's speech by its words' times.
func talk(us []Utterance, duration float64) Talk {
	spans := map[string][][2]float64{}
	end := duration
	for _, u := range us {
		words := u.Words
		if len(words) == 0 {
			words = []Word{{Start: u.Start, End: u.End}}
		}
		for _, w := range words {
			spans[u.Channel] = append(spans[u.Channel], [2]float64{w.Start, w.End})
			end = max(end, w.End)
		}
	}
	caller, agent := union(spans[Caller]), union(spans[Agent])
	both := union(append(append([][2]float64(nil), caller...), agent...))
	t := Talk{Caller: length(caller), Agent: length(agent), Duration: round2(end)}
	t.Overlap = round2(t.Caller + t.Agent - length(both))
	t.Silence = round2(max(end-length(both), 0))
	t.Caller, t.Agent = round2(t.Caller), round2(t.Agent)
	return t
}

// union merges intervals (a gap under a quarter second between words is
// still talking).
func union(in [][2]float64) [][2]float64 {
	slices.SortFunc(in, func(a, b [2]float64) int {
		switch {
		case a[0] < b[0]:
			return -1
		case a[0] > b[0]:
			return 1
		}
		return 0
	})
	var out [][2]float64
	for _, s := range in {
		if n := len(out); n > 0 && s[0] <= out[n-1][1]+0.25 {
			out[n-1][1] = max(out[n-1][1], s[1])
			continue
		}
		out = append(out, s)
	}
	return out
}

func length(spans [][2]float64) float64 {
	var l float64
	for _, s := range spans {
		l += s[1] - s[0]
	}
	return l
}
