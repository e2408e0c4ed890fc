// Package speech connects Switchboard to a speech engine: by default its
// own worker (cmd/switchboard-speech, PocketSphinx in a process of its
// own), or any engine that speaks vosk-server's WebSocket protocol, which
// is the protocol here. Per channel of a call a stream is opened: a text
// frame {"config": {...}}, then binary frames of 16-bit little-endian mono
// PCM, then {"eof" : 1}; the engine answers each audio frame with a
// partial or a final result, words timed in seconds from the stream's
// start.
//
// The package also holds what is made of the words, free of SIP and SQL:
// transcripts, phrase spotting, talk and silence, summaries and word error.
package speech

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// EOF is the end-of-stream message, byte for byte as vosk-server compares it.
const EOF = `{"eof" : 1}`

// Config opens a stream.
type Config struct {
	SampleRate float64 `json:"sample_rate"`
	Words      bool    `json:"words"`
	// PhraseList restricts recognition to these phrases (vosk's grammar;
	// the worker's spoken menu choices).
	PhraseList []string `json:"phrase_list,omitempty"`
	// Keywords asks for these phrases to be spotted in running speech
	// (Switchboard's worker: a keyword search, far cheaper than
	// transcription). An engine that ignores it transcribes, and the
	// client finds the phrases in the words (Spotter).
	Keywords []string `json:"keywords,omitempty"`
}

// Word is a recognised word.
type Word struct {
	Word  string  `json:"word"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Conf  float64 `json:"conf"`
}

// Result is one of the engine's answers: a final result (Text and
// Result), a partial one, or neither.
type Result struct {
	Text    string  `json:"text"`
	Result  []Word  `json:"result,omitempty"`
	Partial *string `json:"partial,omitempty"`
	// Spotted marks a phrase of the stream's Keywords heard (the text is
	// the phrase, the words where it was), sent as soon as it is heard;
	// the utterance's own result follows when it ends. Switchboard's
	// worker only: with another engine the client finds the phrases in
	// the results.
	Spotted bool `json:"spotted,omitempty"`
	// Retracted (with Spotted) takes back a phrase reported before: the
	// utterance's words, once it ended, do not have it.
	Retracted bool `json:"retracted,omitempty"`
}

// Final reports whether the result is a final one with words.
func (r Result) Final() bool { return r.Partial == nil && strings.TrimSpace(r.Text) != "" }

// Engine is where streams are opened: "ws://host:port/" or
// "unix:/path/to/socket".
type Engine struct {
	URL string
}

func (e Engine) dial(ctx context.Context) (*websocket.Conn, error) {
	url, opts := e.URL, &websocket.DialOptions{}
	if path, ok := strings.CutPrefix(e.URL, "unix:"); ok {
		url = "ws://speech/"
		opts.HTTPClient = &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", path)
			},
		}}
	}
	c, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		return nil, fmt.Errorf("speech: connect %s: %w", e.URL, err)
	}
	c.SetReadLimit(1 << 20)
	return c, nil
}

// Stream is one channel's audio on its way to the engine.
type Stream struct {
	c    *websocket.Conn
	ctx  context.Context
	stop context.CancelFunc
	done chan struct{}
	mu   sync.Mutex
	err  error
}

// Open starts a stream; each final result is handed to onResult (on the
// stream's reading goroutine, in order).
func (e Engine) Open(ctx context.Context, cfg Config, onResult func(Result)) (*Stream, error) {
	// A wedged engine must not hold a stream's slot: the connection and
	// the config get 3 s.
	octx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := e.dial(octx)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]Config{"config": cfg})
	if err != nil {
		c.CloseNow()
		return nil, err
	}
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s := &Stream{c: c, ctx: sctx, stop: stop, done: make(chan struct{})}
	if err := c.Write(octx, websocket.MessageText, body); err != nil {
		stop()
		c.CloseNow()
		return nil, fmt.Errorf("speech: config: %w", err)
	}
	go s.read(onResult)
	return s, nil
}

func (s *Stream) read(onResult func(Result)) {
	defer close(s.done)
	for {
		typ, data, err := s.c.Read(s.ctx)
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
				s.fail(fmt.Errorf("speech: read: %w", err))
			}
			return
		}
		if typ != websocket.MessageText {
			continue
		}
		var r Result
		if err := json.Unmarshal(data, &r); err != nil {
			s.fail(fmt.Errorf("speech: bad answer %.80q: %w", data, err))
			return
		}
		if r.Final() && onResult != nil {
			onResult(r)
		}
	}
}

func (s *Stream) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

// Err is the stream's first failure.
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Send sends 16-bit samples at the stream's rate.
func (s *Stream) Send(ctx context.Context, pcm []int16) error {
	if len(pcm) == 0 {
		return nil
	}
	b := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		b[2*i], b[2*i+1] = byte(v), byte(uint16(v)>>8)
	}
	if err := s.c.Write(ctx, websocket.MessageBinary, b); err != nil {
		return fmt.Errorf("speech: send: %w", err)
	}
	return nil
}

// Finish sends the end of the stream and waits (until ctx is done) for the
// engine's last results and its close.
func (s *Stream) Finish(ctx context.Context) error {
	if err := s.c.Write(ctx, websocket.MessageText, []byte(EOF)); err != nil {
		s.Close()
		return fmt.Errorf("speech: eof: %w", err)
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		s.Close()
		return fmt.Errorf("speech: waiting for the last results: %w", ctx.Err())
	}
	s.c.CloseNow()
	s.stop()
	return s.Err()
}

// Close abandons the stream.
func (s *Stream) Close() {
	s.stop()
	s.c.CloseNow()
	select {
	case <-s.done:
	case <-time.After(time.Second):
	}
}

// ErrNoEngine is returned when speech is not configured.
var ErrNoEngine = errors.New("speech: no engine")

// ChoiceConfidence is the confidence a spoken menu choice needs (the
// worker's: the share of the answer's speech the phrase covers); under it
// the menu asks again. On the fixtures choices rate 0.79 to 1, sentences
// 0.09 to 0.5.
const ChoiceConfidence = 0.65
