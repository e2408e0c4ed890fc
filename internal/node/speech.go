package node

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/sentiment"
	"github.com/switchboard/switchboard/internal/speech"
	"github.com/switchboard/switchboard/internal/store"
)

// speechService is speech analytics on the node: it hears recorded calls
// while they run (phrases spotted on the caller's channel, and a few calls
// transcribed live on both), and transcribes every recorded call after it
// ends from its recording, with sentiment and a summary. It implements
// call.Speech.
type speechService struct {
	n      *Node
	engine speech.Engine
	sup    *speech.Supervisor // nil: an engine at a URL, or none yet
	lis    *speech.Listener
	an     *sentiment.Analyzer
	jobs   chan transcribeJob
	// off is set when the worker cannot be had: nothing is heard or queued.
	off atomic.Bool

	mu   sync.Mutex
	live map[string]*liveCall // by call ID
	// liveFull counts the calls transcribed live on both channels.
	liveFull int
}

// liveCall is what hears one call while it runs.
type liveCall struct {
	caller, agent *speech.Live
	full          bool // both channels: the transcript needs no second pass
	scores        []sentiment.Utterance
}

// transcribeJob is a recorded call to transcribe, with what was heard live.
type transcribeJob struct {
	callID   string
	spots    []speech.Spot
	spotted  bool                          // phrases were listened for (a misheard word counts only if spotted)
	live     map[string][]speech.Utterance // channels heard whole while the call ran
	attempts int
}

// newSpeech sets speech analytics up as the setup says: nil when it is
// off or its engine cannot be had (logged).
func (n *Node) newSpeech() *speechService {
	cfg := n.cfg.Speech
	if cfg.Engine == config.SpeechOff {
		return nil
	}
	s := &speechService{n: n, an: sentiment.New(), jobs: make(chan transcribeJob, 10000), live: map[string]*liveCall{}}
	switch cfg.Engine {
	case config.SpeechURL:
		s.engine = speech.Engine{URL: cfg.URL}
	default:
		sock := filepath.Join(os.TempDir(), fmt.Sprintf("switchboard-speech-%d-%s.sock", os.Getpid(), randomHex(4)))
		s.sup = &speech.Supervisor{Socket: sock, Args: cfg.WorkerArgs, Log: n.log.With("component", "speech")}
		s.engine = s.sup.Engine()
		n.onClose(func() { os.Remove(sock) })
	}
	s.lis = &speech.Listener{Engine: s.engine, Max: cfg.SpotCalls, Log: n.log.With("component", "speech")}
	return s
}

// workerBinary finds the speech worker: the setup's path, beside the
// server's binary, on PATH; or, run from a source tree with Go at hand (go
// run ./cmd/switchboard), built from ./cmd/switchboard-speech into the
// data directory.
func (s *speechService) workerBinary(ctx context.Context) (string, error) {
	if p := s.n.cfg.Speech.Worker; p != "" {
		return p, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "switchboard-speech")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("switchboard-speech"); err == nil {
		return p, nil
	}
	goBin, err := exec.LookPath("go")
	if _, serr := os.Stat("cmd/switchboard-speech/main.go"); err != nil || serr != nil {
		return "", errors.New("switchboard-speech not found beside the server or on PATH (build it: go build ./cmd/switchboard-speech; it needs libpocketsphinx-dev and pocketsphinx-en-us)")
	}
	out := filepath.Join(s.n.cfg.Server.DataDir, "bin", "switchboard-speech")
	s.n.log.Info("building the speech worker from source", "out", out)
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, "./cmd/switchboard-speech")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the speech worker (needs libpocketsphinx-dev and pocketsphinx-en-us): %v: %s", err, tail(string(b), 300))
	}
	return out, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// run supervises the worker (if it is the engine), transcribes recordings
// left untranscribed by an earlier run, and works through the queue of
// recordings until ctx is done.
func (s *speechService) run(ctx context.Context) {
	if s.sup != nil {
		path, err := s.workerBinary(ctx)
		if err != nil {
			s.n.log.Warn("speech analytics off", "err", err)
			s.off.Store(true)
			return
		}
		s.sup.Path = path
		go s.sup.Run(ctx.Done())
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		if !s.sup.Ready(rctx) {
			s.n.log.Warn("the speech worker is not answering yet; transcripts wait for it")
		}
		cancel()
	}
	s.requeue(ctx)
	var wg sync.WaitGroup
	for range max(1, s.n.cfg.Speech.AfterCallJobs) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case job := <-s.jobs:
					s.transcribe(ctx, job)
				}
			}
		}()
	}
	wg.Wait()
}

// requeue queues the recordings of the last day that have no transcript
// (a restart, or a worker down when they ended).
func (s *speechService) requeue(ctx context.Context) {
	if s.n.cfg.Speech.Transcribe == config.SpeechOff {
		return
	}
	recs, err := s.n.st.Untranscribed(ctx, time.Now().Add(-24*time.Hour), 1000)
	if err != nil {
		s.n.log.Warn("speech: untranscribed recordings", "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		if _, live := s.live[r.CallID]; live || !r.Started.Before(s.n.started) {
			continue // this run's calls: their own jobs are queued when they end
		}
		select {
		case s.jobs <- transcribeJob{callID: r.CallID}:
		default:
		}
	}
	if len(recs) > 0 {
		s.n.log.Info("speech: recordings without a transcript queued", "count", len(recs))
	}
}

// Listen implements call.Speech: the caller's channel is heard for the
// queue's phrases; both channels of up to live_calls calls are
// transcribed live.
func (s *speechService) Listen(callID, queue string, since time.Time) (caller, agent func(pcm []int16)) {
	if s.off.Load() {
		return nil, nil
	}
	q, _ := s.n.current().QueueByName(queue)
	var rules []speech.Rule
	for _, r := range q.Spot {
		rules = append(rules, speech.Rule{Phrase: r.Phrase, Cue: r.Cue, Alert: r.Alert})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	full := s.n.cfg.Speech.Transcribe != config.SpeechOff && s.liveFull < s.n.cfg.Speech.LiveCalls
	if len(rules) == 0 && !full {
		return nil, nil
	}
	offset := time.Since(since).Seconds()
	lc := &liveCall{}
	hooks := speech.Hooks{
		Spot: func(sp speech.Spot) {
			s.n.mgr.Spotted(callID, call.Cue{Phrase: sp.Phrase, Cue: sp.Cue, Alert: sp.Alert, At: sp.At, Heard: time.Now()})
		},
		Retract:   func(sp speech.Spot) { s.n.mgr.Retracted(callID, sp.Phrase, sp.At) },
		Utterance: func(u speech.Utterance) { s.liveSentiment(callID, lc, u) },
	}
	lc.caller = s.lis.Listen(speech.Caller, rules, offset, hooks)
	if lc.caller == nil {
		return nil, nil
	}
	if full {
		if lc.agent = s.lis.Listen(speech.Agent, nil, offset, speech.Hooks{}); lc.agent != nil {
			lc.full = true
			s.liveFull++
		}
	}
	s.live[callID] = lc
	caller = lc.caller.Hear
	if lc.agent != nil {
		agent = lc.agent.Hear
	}
	return caller, agent
}

// liveSentiment scores a caller's utterance heard live and gives the call
// its sentiment so far (the mean of the last three).
func (s *speechService) liveSentiment(callID string, lc *liveCall, u speech.Utterance) {
	score := s.an.Score(u.Text, nil)
	s.mu.Lock()
	lc.scores = append(lc.scores, sentiment.Utterance{At: u.Start, Score: score})
	last := lc.scores[max(0, len(lc.scores)-3):]
	s.mu.Unlock()
	var sum float64
	for _, x := range last {
		sum += x.Score
	}
	s.n.mgr.LiveSentiment(callID, float64(int((sum/float64(len(last)))*100))/100)
}

// Recorded implements call.Speech: the call's live streams end (their last
// words awaited off the call's goroutine) and its transcript is queued.
func (s *speechService) Recorded(callID, queue string) {
	if s.off.Load() {
		return
	}
	if s.n.cfg.Speech.Transcribe == config.SpeechOff && s.liveOf(callID) == nil {
		return
	}
	go func() {
		job := transcribeJob{callID: callID}
		if lc := s.takeLive(callID); lc != nil {
			spots, us, whole := lc.caller.Stop()
			job.spots, job.spotted = spots, true
			job.live = map[string][]speech.Utterance{}
			if lc.full && whole {
				job.live[speech.Caller] = append([]speech.Utterance{}, us...) // heard whole, maybe silent
			}
			if lc.agent != nil {
				if _, us, whole := lc.agent.Stop(); whole && lc.full {
					job.live[speech.Agent] = append([]speech.Utterance{}, us...)
				}
			}
		}
		if s.n.cfg.Speech.Transcribe == config.SpeechOff {
			return
		}
		select {
		case s.jobs <- job:
		default:
			s.n.log.Warn("speech: transcription queue full; the call waits for the next start", "call", callID)
		}
	}()
}

func (s *speechService) liveOf(callID string) *liveCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live[callID]
}

func (s *speechService) takeLive(callID string) *liveCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	lc := s.live[callID]
	delete(s.live, callID)
	if lc != nil && lc.full {
		s.liveFull--
	}
	return lc
}

// transcribe makes and stores one call's transcript; a failure of the
// engine (the worker restarting) is tried again, up to five times.
func (s *speechService) transcribe(ctx context.Context, job transcribeJob) {
	err := s.transcribeOnce(ctx, job)
	if err == nil || ctx.Err() != nil {
		return
	}
	job.attempts++
	if job.attempts >= 5 || errors.Is(err, errNoRecording) {
		s.n.log.Error("speech: call not transcribed", "call", job.callID, "err", err)
		return
	}
	s.n.log.Warn("speech: transcription failed; trying again", "call", job.callID, "attempt", job.attempts, "err", err)
	go func() {
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(job.attempts) * 5 * time.Second):
			select {
			case s.jobs <- job:
			default:
			}
		}
	}()
}

var errNoRecording = errors.New("no recording")

func (s *speechService) transcribeOnce(ctx context.Context, job transcribeJob) error {
	rec, events, err := s.n.st.GetCall(ctx, job.callID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: no call record", errNoRecording)
	}
	if err != nil {
		return fmt.Errorf("call record: %w", err) // the store's: tried again
	}
	rg, err := s.n.st.GetRecording(ctx, job.callID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: not indexed", errNoRecording)
	}
	if err != nil {
		return fmt.Errorf("recording index: %w", err)
	}
	_, liveCaller := job.live[speech.Caller]
	_, liveAgent := job.live[speech.Agent]
	us := append(append([]speech.Utterance{}, job.live[speech.Caller]...), job.live[speech.Agent]...)
	need := map[string][]int16{}
	if !liveCaller || !liveAgent {
		data, err := os.ReadFile(rg.Path)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %v", errNoRecording, err)
		}
		if err != nil {
			return fmt.Errorf("read the recording: %w", err) // tried again
		}
		chans, err := media.ParseChannels(data)
		if err != nil || len(chans) != 2 {
			return fmt.Errorf("%w: %s: %v", errNoRecording, rg.Path, err)
		}
		if !liveCaller {
			need[speech.Caller] = chans[0]
		}
		if !liveAgent {
			need[speech.Agent] = chans[1]
		}
	}
	if len(need) > 0 {
		// The engine takes about 0.2 s a second of audio, more when busy.
		tctx, cancel := context.WithTimeout(ctx, 5*time.Minute+time.Duration(2*rg.Seconds*float64(time.Second)))
		got, err := speech.TranscribeChannels(tctx, s.engine, need)
		cancel()
		if err != nil {
			return err
		}
		us = append(us, got...)
	}
	speech.SortUtterances(us)
	facts := speech.Facts{Queue: rec.Queue, Agent: rec.Agent, Caller: rec.Caller, Duration: rg.Seconds}
	if rec.CallerName != "" {
		facts.Caller = rec.CallerName + ", " + rec.Caller
	}
	for _, e := range events {
		switch e.Kind {
		case event.Hold:
			facts.Holds++
		case event.Transfer:
			facts.Transfers++
		}
	}
	var spots []speech.Spot
	if job.spotted {
		spots = append([]speech.Spot{}, job.spots...)
	}
	if !liveCaller {
		// Not heard whole live (over the cap, the engine down, or only
		// spotted): the queue's phrases are found in the caller's words too.
		spots = mergeSpots(spots, s.spotInWords(rec.Queue, us))
	}
	var heard []speech.Spot // what the spotter heard live confirms a misheard word; the words alone do not
	if job.spotted {
		heard = append([]speech.Spot{}, job.spots...)
	}
	t := speech.Build(job.callID, us, spots, heard, facts, s.an)
	t.Live = liveCaller && liveAgent
	t.Engine, t.CreatedAt = s.engineName(), time.Now().UTC()
	body, err := json.Marshal(t)
	if err != nil {
		return err
	}
	var words []string
	for _, u := range t.Utterances {
		words = append(words, u.Text)
	}
	var rows []store.Spot
	for _, sp := range t.Spotted {
		rows = append(rows, store.Spot{Phrase: sp.Phrase, Channel: sp.Channel, At: sp.At})
	}
	if err := s.n.st.SaveTranscript(ctx, store.Transcript{CallID: job.callID, Body: body, Words: strings.Join(words, "\n"), Summary: t.Summary,
		Queue: rec.Queue, Agent: rec.Agent, SentimentStart: t.Sentiment.Start, SentimentEnd: t.Sentiment.End, Turned: t.Turned,
		CallStarted: rec.ArrivedAt, CreatedAt: t.CreatedAt}, rows); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	s.n.mgr.Event(event.Transcribed, job.callID, rec.Agent, rec.Queue, t.Summary)
	s.n.log.Info("call transcribed", "call", job.callID, "utterances", len(t.Utterances), "live", t.Live)
	return nil
}

func (s *speechService) engineName() string {
	if s.sup != nil {
		return "switchboard-speech (PocketSphinx en-us)"
	}
	return s.engine.URL
}

// status is what the wallboard shows: the live calls heard (their
// sentiment so far and phrases), and the engine's state.
func (s *speechService) status() any {
	st := map[string]any{"calls": s.n.mgr.Heard(), "streams": s.lis.Running(), "max_streams": s.lis.Max,
		"dropped_frames": s.lis.Dropped.Load(), "refused_streams": s.lis.Refused.Load(), "queued": len(s.jobs), "engine": s.engineName()}
	if s.sup != nil {
		st["worker"] = s.sup.Status()
	}
	return st
}

// Menu implements call.Speech: a menu's spoken choices, heard with a
// grammar of its phrases; an answer is sure at speech.ChoiceConfidence.
func (s *speechService) Menu(phrases []string, heard func(phrase string, sure bool)) (hear func(pcm []int16), stop func()) {
	if s.off.Load() {
		return nil, nil
	}
	lv := s.lis.ListenMenu(phrases, speech.Hooks{Choice: func(r speech.Result) {
		heard(r.Text, r.Result[0].Conf >= speech.ChoiceConfidence)
	}})
	if lv == nil {
		return nil, nil
	}
	return lv.Hear, func() { go lv.Stop() } // its last words are not waited for on the call's goroutine
}

// spotInWords finds the queue's phrases in the caller's utterances (a call
// not heard live: the cue is late, the trends count it).
func (s *speechService) spotInWords(queue string, us []speech.Utterance) []speech.Spot {
	q, _ := s.n.current().QueueByName(queue)
	rules := map[string]config.SpotRule{}
	var phrases []string
	for _, r := range q.Spot {
		if p := speech.Phrases([]string{r.Phrase}); len(p) == 1 {
			rules[p[0]] = r
			phrases = append(phrases, p[0])
		}
	}
	var out []speech.Spot
	for _, u := range us {
		if u.Channel != speech.Caller {
			continue
		}
		for _, m := range speech.FindPhrases(phrases, u.Text) {
			at := u.Start
			if m.Word < len(u.Words) {
				at = u.Words[m.Word].Start
			}
			r := rules[m.Phrase]
			out = append(out, speech.Spot{Phrase: m.Phrase, Channel: speech.Caller, At: at, Cue: r.Cue, Alert: r.Alert})
		}
	}
	return out
}

// mergeSpots adds the spots of b that a has not (the same phrase within a
// second), in time order.
func mergeSpots(a, b []speech.Spot) []speech.Spot {
	for _, sp := range b {
		dup := false
		for _, old := range a {
			if old.Phrase == sp.Phrase && old.At-sp.At < 1 && sp.At-old.At < 1 {
				dup = true
				break
			}
		}
		if !dup {
			a = append(a, sp)
		}
	}
	slices.SortStableFunc(a, func(x, y speech.Spot) int { return cmp.Compare(x.At, y.At) })
	return a
}
