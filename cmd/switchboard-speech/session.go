package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/switchboard/switchboard/internal/speech"
	"github.com/switchboard/switchboard/internal/speech/sphinx"
)

type mode int

const (
	transcribe mode = iota
	grammar
	spot
)

// session is one stream's decoder and state.
type session struct {
	w      *worker
	mode   mode
	d      *sphinx.Decoder
	search string // the stream's own search on a small decoder
	rate   int
	seg    *speech.Segmenter
	up     *speech.Upsampler
	// the utterance in progress: its start (stream samples at the stream's
	// rate) and the phrases already reported from its partial results
	inUtt    bool
	uttStart int
	keys     []string
	// kd is a keyword search beside the transcription, for phrases to
	// spot: it hears them as they are said, the transcript confirms them
	// when the utterance ends (or retracts them); heard are its hits in
	// the utterance in progress.
	kd    *sphinx.Decoder
	heard []heardPhrase
	// an utterance is decoded whole when it ends (normalised over all of
	// it: less word error than as it comes)
	utt []int16
	// keyword search (spot): the search runs on; fed counts its 16 kHz samples
	fed int
}

// heardPhrase is a keyword search's hit, until the transcript has its say.
type heardPhrase struct {
	r         speech.Result
	confirmed bool
}

// resetEvery restarts a keyword search that heard nothing for a while, so
// its lattice stays small (16 kHz samples).
const resetEvery = 20 * sphinx.SampleRate

func (w *worker) open(cfg speech.Config) (*session, error) {
	rate := int(cfg.SampleRate)
	if rate != 8000 && rate != 16000 {
		return nil, fmt.Errorf("sample_rate %v: only 8000 and 16000 are taken", cfg.SampleRate)
	}
	s := &session{w: w, rate: rate, seg: speech.NewSegmenter(rate)}
	switch {
	case len(cfg.Keywords) > 0 && w.o.spot == "kws":
		s.mode = spot
		if rate == 8000 {
			s.up = w.upsampler()
		}
	case len(cfg.Keywords) > 0:
		s.keys = speech.Phrases(cfg.Keywords)
	case len(cfg.PhraseList) > 0:
		s.mode = grammar
	}
	var err error
	switch s.mode {
	case spot: // a running search: a fresh decoder (a pooled one's normalisation is another stream's)
		s.d, err = w.newSmall()
	default: // whole utterances, normalised over themselves: pooled decoders do
		s.d, err = w.take(s.mode == transcribe)
	}
	if err != nil {
		return nil, err
	}
	if s.mode == transcribe {
		if len(s.keys) > 0 {
			if err := s.openKeywords(); err != nil {
				s.close()
				return nil, err
			}
		}
		return s, nil
	}
	s.search = fmt.Sprintf("s%d", w.seq.Add(1))
	phrases := cfg.PhraseList
	if s.mode == spot {
		phrases = cfg.Keywords
	}
	known, err := s.addWords(phrases)
	if err == nil {
		if s.mode == spot {
			err = s.setKeywords(known)
		} else {
			err = s.d.SetJSGF(s.search, jsgf(known))
		}
	}
	if err == nil {
		err = s.d.Use(s.search)
	}
	if err == nil && s.mode == spot {
		if err = s.d.StartStream(); err == nil {
			err = s.d.StartUtt()
		}
	}
	if err != nil {
		s.d.Close()
		return nil, err
	}
	return s, nil
}

// openKeywords sets up the keyword search beside the transcription.
func (s *session) openKeywords() error {
	kd, err := s.w.newSmall() // fresh: a decoder's running normalisation would carry another call's voice
	if err != nil {
		return err
	}
	s.kd, s.search = kd, fmt.Sprintf("s%d", s.w.seq.Add(1))
	main := s.d
	s.d = kd // addWords and setKeywords work on s.d
	known, err := s.addWords(s.keys)
	if err == nil {
		err = s.setKeywords(known)
	}
	if err == nil {
		err = kd.Use(s.search)
	}
	s.d = main
	return err
}

var notWord = regexp.MustCompile(`[^a-z' ]+`)

// addWords puts the phrases' words in the decoder's dictionary and returns
// the phrases it knows every word of (normalised to lower case).
func (s *session) addWords(phrases []string) ([]string, error) {
	var known []string
	for _, p := range phrases {
		p = strings.Join(strings.Fields(notWord.ReplaceAllString(strings.ToLower(p), " ")), " ")
		ok := p != ""
		for _, word := range strings.Fields(p) {
			phones, found := s.w.words[word]
			if !found {
				ok = false
				break
			}
			if err := s.d.AddWord(word, phones); err != nil {
				return nil, err
			}
		}
		if ok {
			known = append(known, p)
		} else if p != "" {
			s.w.log.Warn("phrase with a word the dictionary lacks left out", "phrase", p)
		}
	}
	if len(known) == 0 {
		return nil, fmt.Errorf("none of the phrases %q has words the dictionary knows", phrases)
	}
	return known, nil
}

// setKeywords starts a keyword search: a longer phrase needs a lower
// threshold (each word's score multiplies in).
func (s *session) setKeywords(phrases []string) error {
	var b strings.Builder
	for _, p := range phrases {
		th := s.w.o.kwsThreshold
		for range min(len(strings.Fields(p)), 10) - 1 { // a floor of 1e-90 more: never 0
			th *= 1e-10
		}
		fmt.Fprintf(&b, "%s /%g/\n", p, th)
	}
	path := filepath.Join(s.w.tmp, s.search+".kws")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return err
	}
	defer os.Remove(path)
	return s.d.SetKWS(s.search, path)
}

func jsgf(phrases []string) string {
	return "#JSGF V1.0;\ngrammar menu;\npublic <choice> = " + strings.Join(phrases, " | ") + ";\n"
}

// close gives the decoders back, their own searches removed.
func (s *session) close() {
	if s.kd != nil {
		s.kd.Close()
		s.kd, s.search = nil, ""
	}
	if s.d == nil {
		return
	}
	if s.mode == spot { // fresh for the stream: not kept
		s.d.EndUtt()
		s.d.Close()
		s.d = nil
		return
	}
	if s.search != "" {
		if s.d.Use("_default") != nil {
			s.d.Close()
			s.d = nil
			return
		}
		s.d.Unset(s.search)
	}
	s.w.give(s.d, s.mode == transcribe)
	s.d = nil
}

// to16k converts the stream's samples to the model's rate.
func (s *session) to16k(pcm []int16) []int16 {
	if s.up == nil {
		return pcm
	}
	return s.up.Up(make([]int16, 0, 2*len(pcm)), pcm)
}

func (s *session) feed(pcm []int16) ([]speech.Result, error) {
	if s.mode == spot {
		return s.spot(s.to16k(pcm))
	}
	return s.pieces(s.seg.Push(pcm))
}

func (s *session) finish() ([]speech.Result, error) {
	if s.mode == spot {
		return nil, nil
	}
	return s.pieces(s.seg.Flush())
}

// pieces decodes utterances: each is decoded whole when it ends, into a
// final result; phrases to spot are reported as the keyword search hears
// them, confirmed or retracted by the utterance's words.
func (s *session) pieces(ps []speech.Piece) ([]speech.Result, error) {
	var out []speech.Result
	for _, p := range ps {
		switch p.Kind {
		case speech.Begin:
			s.inUtt, s.uttStart, s.utt, s.heard = true, p.Start, s.utt[:0], s.heard[:0]
			if s.rate == 8000 {
				s.up = s.w.upsampler()
			}
			if s.kd != nil {
				if err := s.kd.StartStream(); err != nil {
					return out, err
				}
				if err := s.kd.StartUtt(); err != nil {
					return out, err
				}
			}
			fallthrough
		case speech.More:
			if !s.inUtt {
				continue
			}
			pcm := s.to16k(p.PCM)
			s.utt = append(s.utt, pcm...)
			if s.kd != nil {
				rs, err := s.keywordHits(pcm)
				if err != nil {
					return out, err
				}
				out = append(out, rs...)
			}
		case speech.End:
			if !s.inUtt {
				continue
			}
			s.inUtt = false
			if s.kd != nil {
				s.kd.EndUtt()
			}
			r, err := s.decodeWhole()
			if err != nil {
				return out, err
			}
			if s.mode == grammar {
				said := float64(p.Speech) / float64(s.rate)
				if said < minAnswer {
					continue // a click or a cough: no answer at all
				}
				r = choiceConfidence(r, said)
			}
			if len(s.keys) > 0 {
				out = append(out, s.confirm(r)...)
			}
			if r.Text != "" {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// decodeWhole recognises the utterance's audio.
func (s *session) decodeWhole() (speech.Result, error) {
	if err := s.d.StartStream(); err != nil {
		return speech.Result{}, err
	}
	if err := s.d.StartUtt(); err != nil {
		return speech.Result{}, err
	}
	if err := s.d.Process(s.utt, true); err != nil {
		s.d.EndUtt()
		return speech.Result{}, err
	}
	if err := s.d.EndUtt(); err != nil {
		return speech.Result{}, err
	}
	return result(s.d.Segments(), s.at()), nil
}

// keywordHits feeds the keyword search and reports what it hears.
func (s *session) keywordHits(pcm []int16) ([]speech.Result, error) {
	if err := s.kd.Process(pcm, false); err != nil {
		return nil, err
	}
	if s.kd.Hyp() == "" {
		return nil, nil
	}
	var out []speech.Result
	for _, seg := range s.kd.Segments() {
		w := speech.Word{Word: seg.Word, Start: round2(s.at() + float64(seg.Start)/sphinx.FrameRate),
			End: round2(s.at() + float64(seg.End+1)/sphinx.FrameRate), Conf: round2(seg.Prob)}
		r := speech.Result{Text: seg.Word, Result: []speech.Word{w}, Spotted: true}
		s.heard = append(s.heard, heardPhrase{r: r})
		out = append(out, r)
	}
	// a new search from here: the same words are not reported twice
	if err := s.kd.EndUtt(); err != nil {
		return out, err
	}
	return out, s.kd.StartUtt()
}

// confirm checks the keyword search's hits against the utterance's words:
// a phrase in the words that the search missed is reported now, one the
// search heard that the words do not have is retracted.
func (s *session) confirm(final speech.Result) []speech.Result {
	var out []speech.Result
	for _, m := range speech.FindPhrases(s.keys, final.Text) {
		var words []speech.Word
		if m.Word+m.Len <= len(final.Result) {
			words = final.Result[m.Word : m.Word+m.Len]
		}
		matched := false
		for i := range s.heard {
			h := &s.heard[i]
			if h.confirmed || h.r.Text != m.Phrase {
				continue
			}
			if len(words) > 0 && abs(words[0].Start-h.r.Result[0].Start) > 1.5 {
				continue
			}
			h.confirmed, matched = true, true
			break
		}
		if !matched {
			out = append(out, speech.Result{Text: m.Phrase, Result: words, Spotted: true})
		}
	}
	for _, h := range s.heard {
		if !h.confirmed {
			r := h.r
			r.Retracted = true
			out = append(out, r)
		}
	}
	return out
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// spot runs the keyword search on and reports each phrase heard.
func (s *session) spot(pcm []int16) ([]speech.Result, error) {
	if err := s.d.Process(pcm, false); err != nil {
		return nil, err
	}
	s.fed += len(pcm)
	if s.d.Hyp() == "" {
		if s.fed < resetEvery {
			return nil, nil
		}
		return nil, s.restart()
	}
	var out []speech.Result
	at := 0.0 // frames count from the stream's start
	for _, seg := range s.d.Segments() {
		w := speech.Word{Word: seg.Word, Start: round2(at + float64(seg.Start)/sphinx.FrameRate),
			End: round2(at + float64(seg.End+1)/sphinx.FrameRate), Conf: round2(seg.Prob)}
		out = append(out, speech.Result{Text: seg.Word, Result: []speech.Word{w}})
	}
	return out, s.restart()
}

func (s *session) restart() error {
	if err := s.d.EndUtt(); err != nil {
		return err
	}
	s.fed = 0
	return s.d.StartUtt()
}

// result turns an utterance's segments into a vosk result: fillers and
// silences dropped, alternates' "(2)" taken off.
func result(segs []sphinx.Segment, at float64) speech.Result {
	var (
		r     speech.Result
		words []string
	)
	for _, seg := range segs {
		w := seg.Word
		if strings.HasPrefix(w, "<") || strings.HasPrefix(w, "[") || strings.HasPrefix(w, "++") {
			continue
		}
		if i := strings.IndexByte(w, '('); i > 0 {
			w = w[:i]
		}
		r.Result = append(r.Result, speech.Word{Word: w, Start: round2(at + float64(seg.Start)/sphinx.FrameRate),
			End: round2(at + float64(seg.End+1)/sphinx.FrameRate), Conf: round2(seg.Prob)})
		words = append(words, w)
	}
	r.Text = strings.Join(words, " ")
	return r
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

// at is the stream time of the utterance's start, in seconds.
func (s *session) at() float64 { return float64(s.uttStart) / float64(s.rate) }

// minAnswer is the least speech (seconds) a menu answer has: less is a
// noise, not reported (the menu goes on waiting, no attempt lost).
const minAnswer = 0.25

// choiceConfidence rates a grammar's answer: a grammar always finds one of
// its phrases, so the share of the utterance's speech the phrase's words
// cover stands for confidence. A caller who said just "support" covers
// most of it; one who said a sentence, or coughed at length, little.
func choiceConfidence(r speech.Result, speechSeconds float64) speech.Result {
	var said float64
	for _, w := range r.Result {
		said += w.End - w.Start
	}
	conf := 1.0
	if speechSeconds > 0 {
		conf = min(1, said/speechSeconds)
	}
	for i := range r.Result {
		r.Result[i].Conf = round2(conf)
	}
	return r
}
