package call

import (
	"fmt"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/flow"
	"github.com/switchboard/switchboard/internal/media"
)

// Speech hears recorded calls (internal/node wires internal/speech in). A
// call that is not recorded is not listened to either.
type Speech interface {
	// Listen starts hearing a recorded call of queue while it runs (its
	// recording started at since): it returns what takes each side's
	// audio as it is recorded, nil for a side not heard. Neither may block.
	Listen(callID, queue string, since time.Time) (caller, agent func(pcm []int16))
	// Recorded says the call's recording is closed and indexed: its
	// listening ends, and its transcript may be made.
	Recorded(callID, queue string)
	// Menu starts hearing a caller at a menu for one of phrases: heard
	// gets each answer, and whether it was heard sure enough. It returns
	// what takes the caller's audio (nil: it cannot listen now) and stop.
	Menu(phrases []string, heard func(phrase string, sure bool)) (hear func(pcm []int16), stop func())
}

// SetSpeech connects speech analytics.
func (m *Manager) SetSpeech(s Speech) { m.speech = s }

// Cue is a phrase heard on a live call, for its agent (Cue: what to do)
// and, with Alert, for the supervisors.
type Cue struct {
	Phrase string    `json:"phrase"`
	Cue    string    `json:"cue,omitempty"`
	Alert  bool      `json:"alert,omitempty"`
	At     float64   `json:"at"` // seconds into the call's recording
	Heard  time.Time `json:"heard"`
}

// maxCues is how many cues a call's view keeps (the latest).
const maxCues = 20

// listen starts hearing the call's recording, once a call.
func (c *Call) listen() {
	if c.m.speech == nil || c.recording == nil || c.listening {
		return
	}
	c.listening = true
	caller, agent := c.m.speech.Listen(c.ID, c.queue, c.recording.Started)
	c.recording.Listen(caller, agent)
}

// Spotted puts a phrase heard on a live call on its view (the agent's
// desktop, the wallboard) and among its events.
func (m *Manager) Spotted(callID string, cue Cue) {
	c := m.call(callID)
	if c == nil {
		return
	}
	c.mu.Lock()
	c.view.Cues = append(c.view.Cues, cue)
	if n := len(c.view.Cues); n > maxCues {
		c.view.Cues = append(c.view.Cues[:0], c.view.Cues[n-maxCues:]...)
	}
	agent, queue := c.view.Agent, c.view.Queue
	c.mu.Unlock()
	m.event(event.PhraseSpotted, callID, agent, queue, fmt.Sprintf("phrase=%q at=%.1f alert=%v", cue.Phrase, cue.At, cue.Alert))
}

// Retracted takes a cue off a live call's view: the words heard once the
// utterance ended did not have the phrase.
func (m *Manager) Retracted(callID, phrase string, at float64) {
	c := m.call(callID)
	if c == nil {
		return
	}
	c.mu.Lock()
	for i, cu := range c.view.Cues {
		if cu.Phrase == phrase && cu.At == at {
			c.view.Cues = append(c.view.Cues[:i], c.view.Cues[i+1:]...)
			break
		}
	}
	agent, queue := c.view.Agent, c.view.Queue
	c.mu.Unlock()
	m.event(event.PhraseSpotted, callID, agent, queue, fmt.Sprintf("phrase=%q at=%.1f retracted=true", phrase, at))
}

// LiveSentiment sets a live call's caller sentiment so far (-1 to 1).
func (m *Manager) LiveSentiment(callID string, score float64) {
	if c := m.call(callID); c != nil {
		c.mu.Lock()
		c.view.Sentiment = &score
		c.mu.Unlock()
	}
}

// Heard is a live call being listened to, for the wallboard.
type Heard struct {
	CallID    string   `json:"call_id"`
	Queue     string   `json:"queue"`
	Agent     string   `json:"agent"`
	State     State    `json:"state"`
	Sentiment *float64 `json:"sentiment"`
	Cues      []Cue    `json:"cues"`
	Alert     bool     `json:"alert"` // a phrase with an alert was heard
}

// Heard lists the live calls that have a sentiment or cues so far.
func (m *Manager) Heard() []Heard {
	m.mu.Lock()
	calls := make([]*Call, 0, len(m.calls))
	for _, c := range m.calls {
		calls = append(calls, c)
	}
	m.mu.Unlock()
	out := []Heard{}
	for _, c := range calls {
		c.mu.Lock()
		if c.view.Sentiment != nil || len(c.view.Cues) > 0 {
			h := Heard{CallID: c.ID, Queue: c.view.Queue, Agent: c.view.Agent, State: c.view.State, Cues: append([]Cue{}, c.view.Cues...)}
			if c.view.Sentiment != nil {
				s := *c.view.Sentiment
				h.Sentiment = &s
			}
			for _, cu := range c.view.Cues {
				h.Alert = h.Alert || cu.Alert
			}
			out = append(out, h)
		}
		c.mu.Unlock()
	}
	return out
}

// Event records an event of a call from outside its goroutine (the
// transcript made after it ended).
func (m *Manager) Event(kind event.Kind, callID, agent, queue, detail string) {
	m.event(kind, callID, agent, queue, detail)
}

// ListenFor implements flow.MenuListener: while a menu waits, the caller's
// audio goes to the speech engine with the menu's phrases; a phrase heard
// sure enough is delivered as its key, an unsure one as flow.Unsure.
func (s *legSession) ListenFor(phrases map[string]string) func() {
	c := s.c
	if c.m.speech == nil {
		return func() {}
	}
	list := make([]string, 0, len(phrases))
	for p := range phrases {
		list = append(list, p)
	}
	ep := c.caller.Media()
	var (
		mu   sync.Mutex
		over bool // the menu is done: a late answer is no key
	)
	hear, stop := c.m.speech.Menu(list, func(phrase string, sure bool) {
		mu.Lock()
		defer mu.Unlock()
		if over {
			return
		}
		key, ok := phrases[phrase]
		if !ok || !sure || key == "" {
			ep.InjectDigit(flow.Unsure)
			return
		}
		s.spoken.Store(true)
		ep.InjectDigit(key[0])
	})
	if hear == nil {
		return func() {}
	}
	ep.Tap(func(codec media.Codec, payload []byte) {
		pcm := make([]int16, len(payload))
		media.Decode(codec, pcm, payload)
		hear(pcm)
	})
	return func() {
		mu.Lock()
		over = true
		mu.Unlock()
		ep.Tap(nil)
		stop()
	}
}

// Spoken implements flow.MenuListener.
func (s *legSession) Spoken() bool { return s.spoken.Swap(false) }
