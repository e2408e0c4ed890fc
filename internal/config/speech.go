package config

import (
	"fmt"
	"runtime"
	"strings"
)

// Speech is speech analytics: transcripts, phrases spotted while calls
// run, sentiment, summaries and spoken menu choices.
type Speech struct {
	// Engine is "worker" (the default: Switchboard's speech worker,
	// started and supervised by the server), "url" (an engine speaking
	// vosk-server's WebSocket protocol at URL, e.g. a GPU box) or "off".
	Engine string `yaml:"engine"`
	URL    string `yaml:"url"`
	// Worker is the worker's binary (default: switchboard-speech beside
	// the server's own binary, then on PATH).
	Worker string `yaml:"worker"`
	// WorkerArgs are more flags for the worker (switchboard-speech --help):
	// [--spot, kws] spots with the keyword search alone: no transcript to
	// check it, so cheaper, with more false alarms (5 in the 18 fixture
	// sentences against none).
	WorkerArgs []string `yaml:"worker_args"`
	// Transcribe is "after_call" (the default: every recorded call from
	// its recording once it ends) or "off".
	Transcribe string `yaml:"transcribe"`
	// LiveCalls is how many calls at once are transcribed while they run
	// (both channels: the summary is ready when the call ends); the rest
	// are transcribed after the call. Default 2.
	LiveCalls int `yaml:"live_calls"`
	// SpotCalls bounds the speech streams heard live at once: callers
	// listened to for the queue's phrases, and both sides of the calls
	// transcribed live (default 2 a CPU core: a caller talking without
	// pause takes about 0.15 to 0.27 of a core); calls beyond it are heard
	// after the call only.
	SpotCalls int `yaml:"spot_calls"`
	// AfterCallJobs is how many recordings are transcribed at once (default 1).
	AfterCallJobs int `yaml:"after_call_jobs"`
}

// The speech engines.
const (
	SpeechWorker = "worker"
	SpeechURL    = "url"
	SpeechOff    = "off"
)

// SpotRule is a phrase listened for on a queue's callers while calls run.
type SpotRule struct {
	Phrase string `yaml:"phrase" json:"phrase"`
	// Cue is shown to the agent when the phrase is heard (e.g. the
	// script's section to turn to).
	Cue string `yaml:"cue" json:"cue,omitempty"`
	// Alert puts the call on the supervisors' wallboard.
	Alert bool `yaml:"alert" json:"alert,omitempty"`
}

func (c *Config) speechDefaults() {
	s := &c.Speech
	if s.Engine == "" {
		s.Engine = SpeechWorker
	}
	if s.Transcribe == "" {
		s.Transcribe = "after_call"
	}
	if s.LiveCalls == 0 {
		s.LiveCalls = 2
	}
	if s.SpotCalls == 0 {
		s.SpotCalls = 2 * runtime.NumCPU()
	}
	if s.AfterCallJobs == 0 {
		s.AfterCallJobs = 1
	}
}

func (c *Config) validateSpeech(v *validator) {
	s := c.Speech
	switch s.Engine {
	case SpeechWorker, SpeechOff:
	case SpeechURL:
		if !strings.HasPrefix(s.URL, "ws://") && !strings.HasPrefix(s.URL, "wss://") && !strings.HasPrefix(s.URL, "unix:") {
			v.add("speech", fmt.Sprintf("url: %q: want ws://host:port/, wss://... or unix:/path", s.URL), "speech", "url")
		}
	default:
		v.add("speech", fmt.Sprintf("engine: %q: want worker, url or off", s.Engine), "speech", "engine")
	}
	if s.Transcribe != "after_call" && s.Transcribe != SpeechOff {
		v.add("speech", fmt.Sprintf("transcribe: %q: want after_call or off", s.Transcribe), "speech", "transcribe")
	}
	if s.LiveCalls < 0 || s.SpotCalls < 0 || s.AfterCallJobs < 0 {
		v.add("speech", "live_calls, spot_calls and after_call_jobs: must not be negative", "speech")
	}
	for i, q := range c.Queues {
		for j, r := range q.Spot {
			if strings.Trim(strings.ToLower(r.Phrase), "abcdefghijklmnopqrstuvwxyz' ") != "" || strings.TrimSpace(r.Phrase) == "" {
				v.add(fmt.Sprintf("queue %q", q.Name), fmt.Sprintf("spot[%d]: phrase %q: want words of letters", j, r.Phrase), "queues", i, "spot", j, "phrase")
			}
		}
	}
}
