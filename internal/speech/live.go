package speech

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/media"
)

// Rule is a phrase to spot on a queue's calls and what hearing it does: a
// cue shown to the agent, an alert for supervisors.
type Rule struct {
	Phrase string
	Cue    string
	Alert  bool
}

// Listener listens to calls' channels while they run: at most Max streams
// at once (the CPU they may take), the rest not heard live.
type Listener struct {
	Engine Engine
	Max    int
	Log    *slog.Logger

	running atomic.Int64
	// Dropped counts audio frames a stream could not take in time (the
	// engine behind): never held up for, dropped.
	Dropped atomic.Int64
	// Refused counts streams not started: over Max, or the engine down.
	Refused atomic.Int64
}

// Running is how many streams run now.
func (l *Listener) Running() int { return int(l.running.Load()) }

// Live is one channel of a call heard while it runs.
type Live struct {
	l       *Listener
	channel string
	keys    []string
	grammar []string // a menu's phrases (ListenMenu)
	rules   map[string]Rule
	offset  float64
	hooks   Hooks
	in      chan []int16 // never closed: a tap may still send after Stop
	quit    chan struct{}
	done    chan struct{}
	stopped atomic.Bool
	drops   atomic.Int64
	created time.Time // when Listen was called: the stream's time zero

	mu         sync.Mutex
	spots      []Spot
	utterances []Utterance
	failed     bool
}

// backlog is how much audio may wait for the engine (2 s of 20 ms frames).
const backlog = 100

// liveChunk is a live frame to the engine: 0.1 s, so a phrase is heard
// soon after it is said.
const liveChunk = 800

// Hooks are told, on a stream's goroutine, what it hears as it hears it.
type Hooks struct {
	Spot func(Spot)
	// Retract takes back a spot: the utterance's words did not have it.
	Retract   func(Spot)
	Utterance func(Utterance)
	// Choice hears a menu's answers (ListenMenu): the phrase heard, its
	// words' confidence (Word.Conf).
	Choice func(Result)
}

// Listen starts hearing a channel: rules are the phrases to spot (none:
// transcription only); offset is how many seconds after the recording's
// start the stream starts (so times are the recording's). It returns nil
// when the listener is full.
func (l *Listener) Listen(channel string, rules []Rule, offset float64, hooks Hooks) *Live {
	return l.listen(channel, rules, nil, offset, hooks)
}

// ListenMenu hears a caller at a menu for one of phrases: each answer goes
// to hooks.Choice. Nil when the listener is full.
func (l *Listener) ListenMenu(phrases []string, hooks Hooks) *Live {
	return l.listen(Caller, nil, Phrases(phrases), 0, hooks)
}

func (l *Listener) listen(channel string, rules []Rule, grammar []string, offset float64, hooks Hooks) *Live {
	if l == nil || l.Engine.URL == "" {
		return nil
	}
	if int(l.running.Add(1)) > l.Max {
		l.running.Add(-1)
		l.Refused.Add(1)
		return nil
	}
	lv := &Live{l: l, channel: channel, grammar: grammar, rules: map[string]Rule{}, offset: offset, hooks: hooks,
		in: make(chan []int16, backlog), quit: make(chan struct{}), done: make(chan struct{}), created: time.Now()}
	var phrases []string
	for _, r := range rules {
		phrases = append(phrases, r.Phrase)
	}
	lv.keys = Phrases(phrases)
	for _, r := range rules {
		if p := Phrases([]string{r.Phrase}); len(p) == 1 {
			lv.rules[p[0]] = r
		}
	}
	go lv.run()
	return lv
}

// Tap takes a packet the channel's side sent (a media tap): decoded and
// queued, or dropped when the engine is behind; it never blocks.
func (lv *Live) Tap(c media.Codec, payload []byte) {
	if lv.stopped.Load() {
		return
	}
	pcm := make([]int16, len(payload))
	media.Decode(c, pcm, payload)
	lv.queue(pcm)
}

// Hear takes decoded audio (a copy is queued), as Tap.
func (lv *Live) Hear(pcm []int16) {
	if lv == nil || lv.stopped.Load() {
		return
	}
	lv.queue(append([]int16(nil), pcm...))
}

func (lv *Live) queue(pcm []int16) {
	select {
	case lv.in <- pcm:
	default:
		lv.l.Dropped.Add(1)
		lv.drops.Add(1)
	}
}

func (lv *Live) run() {
	defer lv.l.running.Add(-1)
	defer close(lv.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sawSpotted := false
	var (
		sent    int
		results atomic.Int64
	)
	onResult := func(r Result) {
		if r.Spotted {
			sawSpotted = true
			switch {
			case len(r.Result) == 0:
			case r.Retracted:
				lv.retract(r.Text, r.Result[0].Start)
			default:
				lv.spot(r.Text, r.Result[0].Start)
			}
			return
		}
		if lv.grammar != nil {
			if r.Final() && len(r.Result) > 0 && lv.hooks.Choice != nil {
				lv.hooks.Choice(r)
			}
			return
		}
		u, ok := utterance(lv.channel, r)
		if !ok {
			return
		}
		u.Start, u.End = u.Start+lv.offset, u.End+lv.offset
		for i := range u.Words {
			u.Words[i].Start += lv.offset
			u.Words[i].End += lv.offset
		}
		lv.mu.Lock()
		lv.utterances = append(lv.utterances, u)
		lv.mu.Unlock()
		results.Add(1)
		lv.l.Log.Debug("heard", "channel", lv.channel, "at", u.Start, "text", u.Text)
		if lv.hooks.Utterance != nil {
			lv.hooks.Utterance(u)
		}
		if !sawSpotted { // an engine that does not spot: the phrases in its words
			for _, m := range FindPhrases(lv.keys, u.Text) {
				if m.Word < len(r.Result) {
					lv.spot(m.Phrase, r.Result[m.Word].Start)
				}
			}
		}
	}
	// The engine may be starting (again): tried for 10 s, the audio
	// queuing meanwhile (and dropped past the backlog).
	var (
		s   *Stream
		err error
	)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if s, err = lv.l.Engine.Open(ctx, Config{SampleRate: 8000, Words: true, Keywords: lv.keys, PhraseList: lv.grammar}, onResult); err == nil || lv.stopped.Load() {
			break
		}
		select {
		case <-lv.quit:
		case <-time.After(250 * time.Millisecond):
		}
	}
	if err != nil {
		lv.l.Log.Warn("live speech stream not started", "channel", lv.channel, "err", err)
		lv.fail()
		return
	}
	buf := make([]int16, 0, liveChunk)
	defer func() {
		lv.l.Log.Debug("live speech stream ended", "channel", lv.channel, "frames_sent", sent, "utterances", results.Load(), "dropped", lv.drops.Load())
	}()
	// A sender may stop sending in silence (no RTP, or comfort noise): a
	// pause the engine must hear to end an utterance, and time the
	// stream's clock must count. Missing audio is made up as silence once
	// no packet came for 100 ms, to the wall clock (less 100 ms of slack
	// for jitter).
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	start, last, fed := lv.created, time.Now(), 0
	for {
		var pcm []int16
		select {
		case pcm = <-lv.in:
			last = time.Now()
		case <-lv.quit:
		case now := <-tick.C:
			if now.Sub(last) < 100*time.Millisecond {
				continue
			}
			missing := int(now.Sub(start).Seconds()*8000) - fed - liveChunk
			if missing < liveChunk {
				continue
			}
			pcm = make([]int16, min(missing, 10*8000))
		}
		fed += len(pcm)
		if pcm == nil { // stopped: what is queued, then the end
			for more := true; more; {
				select {
				case p := <-lv.in:
					buf = append(buf, p...)
				default:
					more = false
				}
			}
			break
		}
		buf = append(buf, pcm...)
		if len(buf) < liveChunk {
			continue
		}
		sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.Send(sctx, buf)
		scancel()
		sent++
		buf = buf[:0]
		if err != nil {
			lv.l.Log.Warn("live speech stream lost", "channel", lv.channel, "err", err)
			lv.fail()
			s.Close()
			return
		}
	}
	fctx, fcancel := context.WithTimeout(ctx, 10*time.Second)
	defer fcancel()
	if len(buf) > 0 {
		s.Send(fctx, buf)
	}
	if err := s.Finish(fctx); err != nil {
		lv.l.Log.Warn("live speech stream's end", "channel", lv.channel, "err", err)
		lv.fail()
	}
}

func (lv *Live) fail() {
	lv.mu.Lock()
	lv.failed = true
	lv.mu.Unlock()
}

func (lv *Live) spot(phrase string, at float64) {
	r := lv.rules[phrase]
	sp := Spot{Phrase: phrase, Channel: lv.channel, At: round2(at + lv.offset), Cue: r.Cue, Alert: r.Alert}
	lv.mu.Lock()
	for _, old := range lv.spots { // heard twice (partial then final, or an echo): once
		if old.Phrase == sp.Phrase && sp.At-old.At < 1 && old.At-sp.At < 1 {
			lv.mu.Unlock()
			return
		}
	}
	lv.spots = append(lv.spots, sp)
	lv.mu.Unlock()
	lv.l.Log.Debug("phrase heard", "channel", lv.channel, "phrase", phrase, "at", sp.At)
	if lv.hooks.Spot != nil {
		lv.hooks.Spot(sp)
	}
}

func (lv *Live) retract(phrase string, at float64) {
	at = round2(at + lv.offset)
	lv.mu.Lock()
	var gone *Spot
	for i, old := range lv.spots {
		if old.Phrase == phrase && old.At == at {
			sp := old
			gone = &sp
			lv.spots = append(lv.spots[:i], lv.spots[i+1:]...)
			break
		}
	}
	lv.mu.Unlock()
	lv.l.Log.Debug("phrase retracted", "channel", lv.channel, "phrase", phrase, "at", at, "found", gone != nil)
	if gone != nil && lv.hooks.Retract != nil {
		lv.hooks.Retract(*gone)
	}
}

// Stop ends the stream and waits (at most 15 s) for its last words: it
// returns the phrases spotted and the utterances heard, and whether the
// stream heard the whole channel (no audio dropped, the engine up).
func (lv *Live) Stop() (spots []Spot, utterances []Utterance, whole bool) {
	if lv.stopped.CompareAndSwap(false, true) {
		close(lv.quit)
	}
	ended := true
	select {
	case <-lv.done:
	case <-time.After(15 * time.Second):
		ended = false // its last words may be missing
	}
	lv.mu.Lock()
	defer lv.mu.Unlock()
	return append([]Spot(nil), lv.spots...), append([]Utterance(nil), lv.utterances...), ended && !lv.failed && lv.drops.Load() == 0
}
