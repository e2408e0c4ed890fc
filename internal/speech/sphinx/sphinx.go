// Package sphinx binds the PocketSphinx decoder (Debian's libpocketsphinx,
// through cgo). Only the speech worker (cmd/switchboard-speech) imports it:
// the server stays pure Go, and a crash in the C code ends the worker, not
// the calls.
//
// A Decoder is not safe for concurrent use: one goroutine owns each.
package sphinx

/*
#cgo pkg-config: pocketsphinx sphinxbase
#include <stdlib.h>
#include <pocketsphinx.h>
#include <err.h>

static void sb_quiet(void) { err_set_logfp(NULL); }
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"
)

// Model is where Debian's pocketsphinx-en-us puts the US English model.
const (
	ModelDir = "/usr/share/pocketsphinx/model/en-us"
	HMM      = ModelDir + "/en-us"
	LM       = ModelDir + "/en-us.lm.bin"
	Dict     = ModelDir + "/cmudict-en-us.dict"
	// FrameRate is the decoder's frames per second (-frate).
	FrameRate = 100
	// SampleRate is what the model takes (16 kHz only).
	SampleRate = 16000
)

var quiet sync.Once

// Decoder is one PocketSphinx decoder.
type Decoder struct {
	ps *C.ps_decoder_t
}

// New makes a decoder from command-line style arguments ("-hmm", path,
// ...); PocketSphinx's own logging is switched off.
func New(args ...string) (*Decoder, error) {
	quiet.Do(func() { C.sb_quiet() })
	argv := make([]*C.char, len(args)+1)
	for i, a := range args {
		argv[i] = C.CString(a)
	}
	defer func() {
		for _, p := range argv[:len(args)] {
			C.free(unsafe.Pointer(p))
		}
	}()
	cfg := C.cmd_ln_parse_r(nil, C.ps_args(), C.int32(len(args)), &argv[0], C.TRUE)
	if cfg == nil {
		return nil, fmt.Errorf("sphinx: bad arguments %q", strings.Join(args, " "))
	}
	ps := C.ps_init(cfg)
	C.cmd_ln_free_r(cfg)
	if ps == nil {
		return nil, errors.New("sphinx: the decoder did not start (is pocketsphinx-en-us installed?)")
	}
	return &Decoder{ps: ps}, nil
}

// Close frees the decoder.
func (d *Decoder) Close() {
	if d.ps != nil {
		C.ps_free(d.ps)
		d.ps = nil
	}
}

// StartStream starts a stream: frame numbers count from 0 again.
func (d *Decoder) StartStream() error {
	if C.ps_start_stream(d.ps) < 0 {
		return errors.New("sphinx: start stream failed")
	}
	return nil
}

// StartUtt starts an utterance.
func (d *Decoder) StartUtt() error {
	if C.ps_start_utt(d.ps) < 0 {
		return errors.New("sphinx: start utterance failed")
	}
	return nil
}

// EndUtt ends the utterance.
func (d *Decoder) EndUtt() error {
	if C.ps_end_utt(d.ps) < 0 {
		return errors.New("sphinx: end utterance failed")
	}
	return nil
}

// Process decodes 16 kHz samples; full says they are the whole utterance
// (better normalisation than streaming).
func (d *Decoder) Process(pcm []int16, full bool) error {
	if len(pcm) == 0 {
		return nil
	}
	f := C.int(0)
	if full {
		f = 1
	}
	if C.ps_process_raw(d.ps, (*C.int16)(unsafe.Pointer(&pcm[0])), C.size_t(len(pcm)), 0, f) < 0 {
		return errors.New("sphinx: process failed")
	}
	return nil
}

// Hyp is the best hypothesis so far ("" for none).
func (d *Decoder) Hyp() string {
	var score C.int32
	h := C.ps_get_hyp(d.ps, &score)
	if h == nil {
		return ""
	}
	return C.GoString(h)
}

// Segment is a word of the hypothesis with its frames (inclusive) and
// posterior probability (0..1; 1 when the search gives none).
type Segment struct {
	Word       string
	Start, End int
	Prob       float64
}

// Segments lists the hypothesis's words, fillers included.
func (d *Decoder) Segments() []Segment {
	var out []Segment
	lm := C.ps_get_logmath(d.ps)
	for it := C.ps_seg_iter(d.ps); it != nil; it = C.ps_seg_next(it) {
		var sf, ef C.int
		C.ps_seg_frames(it, &sf, &ef)
		var a, l, b C.int32
		p := C.ps_seg_prob(it, &a, &l, &b)
		prob := float64(C.logmath_exp(lm, C.int(p)))
		if prob > 1 || prob <= 0 {
			prob = 1
		}
		out = append(out, Segment{Word: strings.TrimSpace(C.GoString(C.ps_seg_word(it))), Start: int(sf), End: int(ef), Prob: prob})
	}
	return out
}

// AddWord adds a word with its phones ("K AE N S AH L") to the dictionary.
// A word added before is left as it is.
func (d *Decoder) AddWord(word, phones string) error {
	w, p := C.CString(word), C.CString(phones)
	defer C.free(unsafe.Pointer(w))
	defer C.free(unsafe.Pointer(p))
	if known := C.ps_lookup_word(d.ps, w); known != nil {
		C.free(unsafe.Pointer(known))
		return nil
	}
	if C.ps_add_word(d.ps, w, p, 1) < 0 {
		return fmt.Errorf("sphinx: add word %q", word)
	}
	return nil
}

// SetKWS adds a keyword-spotting search from a file of "phrase /threshold/" lines.
func (d *Decoder) SetKWS(name, file string) error {
	n, f := C.CString(name), C.CString(file)
	defer C.free(unsafe.Pointer(n))
	defer C.free(unsafe.Pointer(f))
	if C.ps_set_kws(d.ps, n, f) < 0 {
		return fmt.Errorf("sphinx: keyword search %q", name)
	}
	return nil
}

// SetJSGF adds a grammar search.
func (d *Decoder) SetJSGF(name, grammar string) error {
	n, g := C.CString(name), C.CString(grammar)
	defer C.free(unsafe.Pointer(n))
	defer C.free(unsafe.Pointer(g))
	if C.ps_set_jsgf_string(d.ps, n, g) < 0 {
		return fmt.Errorf("sphinx: grammar %q", name)
	}
	return nil
}

// SetLM adds a language-model search from a file.
func (d *Decoder) SetLM(name, file string) error {
	n, f := C.CString(name), C.CString(file)
	defer C.free(unsafe.Pointer(n))
	defer C.free(unsafe.Pointer(f))
	if C.ps_set_lm_file(d.ps, n, f) < 0 {
		return fmt.Errorf("sphinx: language model %q", name)
	}
	return nil
}

// Use switches to a search (between utterances only).
func (d *Decoder) Use(name string) error {
	n := C.CString(name)
	defer C.free(unsafe.Pointer(n))
	if C.ps_set_search(d.ps, n) < 0 {
		return fmt.Errorf("sphinx: no search %q", name)
	}
	return nil
}

// Unset removes a search.
func (d *Decoder) Unset(name string) {
	n := C.CString(name)
	defer C.free(unsafe.Pointer(n))
	C.ps_unset_search(d.ps, n)
}
