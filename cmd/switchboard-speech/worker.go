package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"

	"github.com/switchboard/switchboard/internal/speech"
	"github.com/switchboard/switchboard/internal/speech/sphinx"
)

// worker holds the loaded decoders between streams.
type worker struct {
	o     options
	log   *slog.Logger
	words map[string]string // the dictionary: word → phones
	tmp   string
	seq   atomic.Int64

	mu         sync.Mutex
	full, kind []*sphinx.Decoder // idle decoders: with the language model, and small ones
}

func newWorker(o options, log *slog.Logger) (_ *worker, err error) {
	w := &worker{o: o, log: log}
	if w.words, err = readDict(o.dict); err != nil {
		return nil, err
	}
	if w.tmp, err = os.MkdirTemp("", "switchboard-speech-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(w.tmp) // a worker that does not start leaves nothing behind
		}
	}()
	switch w.o.mllr {
	case builtinMLLR:
		if w.o.hmm != sphinx.HMM { // the transform is Debian's en-us model's
			w.o.mllr = ""
			break
		}
		w.o.mllr = filepath.Join(w.tmp, "telephone.mllr")
		if err := os.WriteFile(w.o.mllr, telephoneMLLR, 0o600); err != nil {
			return nil, err
		}
	case "none":
		w.o.mllr = ""
	}
	// A small decoder starts with a dictionary of one word; a stream adds
	// the words of its phrases.
	if err := os.WriteFile(filepath.Join(w.tmp, "base.dict"), []byte("hello "+w.words["hello"]+"\n"), 0o600); err != nil {
		return nil, err
	}
	// Load one of each now: the first stream should not wait, and a broken
	// model should stop the worker at once.
	d, err := w.newFull()
	if err != nil {
		return nil, err
	}
	s, err := w.newSmall()
	if err != nil {
		d.Close()
		return nil, err
	}
	w.full, w.kind = []*sphinx.Decoder{d}, []*sphinx.Decoder{s}
	return w, nil
}

func (w *worker) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range append(w.full, w.kind...) {
		d.Close()
	}
	w.full, w.kind = nil, nil
	os.RemoveAll(w.tmp)
}

func readDict(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dictionary: %w", err)
	}
	defer f.Close()
	words := make(map[string]string, 140000)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		word, phones, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if _, dup := words[word]; !dup {
			words[word] = strings.TrimSpace(phones)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("dictionary: %w", err)
	}
	return words, nil
}

func (w *worker) common() []string {
	a := []string{"-hmm", w.o.hmm, "-remove_silence", "no", "-samprate", "16000"}
	if w.o.mllr != "" {
		a = append(a, "-mllr", w.o.mllr)
	}
	return a
}

func (w *worker) newFull() (*sphinx.Decoder, error) {
	a := append(w.common(), "-lm", w.o.lm, "-dict", w.o.dict)
	return sphinx.New(append(a, strings.Fields(w.o.search)...)...)
}

func (w *worker) newSmall() (*sphinx.Decoder, error) {
	return sphinx.New(append(w.common(), "-dict", filepath.Join(w.tmp, "base.dict"), "-keyphrase", "hello")...)
}

// upsampler brings 8 kHz audio to the model's 16 kHz.
func (w *worker) upsampler() *speech.Upsampler {
	u := speech.NewUpsampler()
	u.NoiseRMS = w.o.noise
	return u
}

// take hands out an idle decoder or loads one.
func (w *worker) take(full bool) (*sphinx.Decoder, error) {
	w.mu.Lock()
	pool := &w.kind
	if full {
		pool = &w.full
	}
	if n := len(*pool); n > 0 {
		d := (*pool)[n-1]
		*pool = (*pool)[:n-1]
		w.mu.Unlock()
		return d, nil
	}
	w.mu.Unlock()
	if full {
		return w.newFull()
	}
	return w.newSmall()
}

// give keeps a decoder for the next stream, or frees it.
func (w *worker) give(d *sphinx.Decoder, full bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	pool := &w.kind
	if full {
		pool = &w.full
	}
	if len(*pool) < w.o.idle {
		*pool = append(*pool, d)
		return
	}
	d.Close()
}

// serve runs one stream.
func (w *worker) serve(rw http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(rw, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	ctx := r.Context()
	cfg := speech.Config{SampleRate: 8000}
	typ, data, err := c.Read(ctx)
	if err != nil {
		return
	}
	var first []byte
	if typ == websocket.MessageText && string(data) != speech.EOF {
		var msg struct {
			Config *speech.Config `json:"config"`
		}
		if err := json.Unmarshal(data, &msg); err != nil || msg.Config == nil {
			c.Close(websocket.StatusUnsupportedData, "the first text message must be {\"config\": {...}}")
			return
		}
		cfg = *msg.Config
	} else {
		first = data
	}
	s, err := w.open(cfg)
	if err != nil {
		w.log.Warn("speech stream refused", "err", err)
		c.Close(websocket.StatusPolicyViolation, truncate(err.Error(), 120))
		return
	}
	defer s.close()
	reply := func(rs []speech.Result) error {
		if len(rs) == 0 {
			return c.Write(ctx, websocket.MessageText, []byte(`{"partial" : ""}`))
		}
		for _, res := range rs {
			b, _ := json.Marshal(res)
			if err := c.Write(ctx, websocket.MessageText, b); err != nil {
				return err
			}
		}
		return nil
	}
	for {
		if first == nil {
			if typ, data, err = c.Read(ctx); err != nil {
				return
			}
		} else {
			data, first = first, nil
		}
		if typ == websocket.MessageText {
			if string(data) != speech.EOF && !isEOF(data) {
				continue
			}
			rs, err := s.finish()
			if err != nil {
				w.log.Warn("speech stream", "err", err)
			}
			if len(rs) == 0 {
				rs = []speech.Result{{Text: ""}}
			}
			if reply(rs) == nil {
				c.Close(websocket.StatusNormalClosure, "")
			}
			return
		}
		pcm := make([]int16, len(data)/2)
		for i := range pcm {
			pcm[i] = int16(uint16(data[2*i]) | uint16(data[2*i+1])<<8)
		}
		rs, err := s.feed(pcm)
		if err != nil {
			w.log.Warn("speech stream", "err", err)
			c.Close(websocket.StatusInternalError, truncate(err.Error(), 120))
			return
		}
		if err := reply(rs); err != nil {
			return
		}
	}
}

// isEOF accepts {"eof": 1} however it is spaced.
func isEOF(b []byte) bool {
	var m struct {
		EOF int `json:"eof"`
	}
	return json.Unmarshal(b, &m) == nil && m.EOF == 1
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
