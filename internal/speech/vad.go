package speech

import "math"

// Piece is what a Segmenter makes of the audio pushed: the start of an
// utterance (its stream offset, with the audio before the speech that began
// it), more of it, or its end.
type Piece struct {
	Kind  PieceKind
	Start int     // Begin: offset of the utterance's first sample in the stream
	PCM   []int16 // Begin and More: the utterance's samples
	// Speech (End) is how many of the utterance's samples were in frames
	// loud enough to be speech.
	Speech int
}

// PieceKind says what a Piece is.
type PieceKind int

// The kinds of pieces.
const (
	Begin PieceKind = iota
	More
	End
)

// Segmenter cuts a stream into utterances at pauses, by energy: a 20 ms
// frame is speech when it stands 12 dB over the noise floor (and over an
// absolute floor); an utterance starts after two speech frames, with 200 ms
// before them, and ends after 600 ms of non-speech or at 15 s.
type Segmenter struct {
	rate             int
	frame            int
	pauseFrames      int
	maxLen           int
	pos              int // samples seen
	floor            float64
	cur              []int16 // the frame being filled
	pre              []int16 // recent audio before speech (pre-roll)
	uttLen, loud     int
	inUtt            bool
	speechRun, quiet int
}

// NewSegmenter makes a segmenter for audio at rate samples a second.
func NewSegmenter(rate int) *Segmenter {
	return &Segmenter{rate: rate, frame: rate / 50, pauseFrames: 30, maxLen: 15 * rate, floor: 100}
}

// Push takes samples and returns what they make.
func (s *Segmenter) Push(pcm []int16) []Piece {
	var out []Piece
	for len(pcm) > 0 {
		n := min(s.frame-len(s.cur), len(pcm))
		s.cur = append(s.cur, pcm[:n]...)
		pcm = pcm[n:]
		if len(s.cur) == s.frame {
			out = s.step(s.cur, out)
			s.cur = s.cur[:0]
		}
	}
	return out
}

// Flush ends the stream: the utterance in progress, if any, ends.
func (s *Segmenter) Flush() []Piece {
	if !s.inUtt {
		return nil
	}
	var out []Piece
	if len(s.cur) > 0 {
		out = append(out, Piece{Kind: More, PCM: append([]int16(nil), s.cur...)})
		s.cur = s.cur[:0]
	}
	s.inUtt = false
	return append(out, Piece{Kind: End, Speech: s.loud})
}

// InUtterance reports whether an utterance has begun and not ended.
func (s *Segmenter) InUtterance() bool { return s.inUtt }

func (s *Segmenter) step(f []int16, out []Piece) []Piece {
	var e float64
	for _, v := range f {
		e += float64(v) * float64(v)
	}
	rms := math.Sqrt(e / float64(len(f)))
	speech := rms > 4*s.floor && rms > 150
	// The floor follows quiet frames quickly down and slowly up.
	switch {
	case rms < s.floor:
		s.floor = max(0.7*s.floor+0.3*rms, 20)
	case !speech:
		s.floor = min(s.floor*1.02, 2000)
	}
	s.pos += len(f)
	if !s.inUtt {
		s.pre = append(s.pre, f...)
		if keep := s.rate / 5; len(s.pre) > keep+s.frame {
			s.pre = append(s.pre[:0], s.pre[len(s.pre)-keep-s.frame:]...)
		}
		if speech {
			s.speechRun++
		} else {
			s.speechRun = 0
		}
		if s.speechRun >= 2 {
			s.inUtt, s.quiet, s.speechRun = true, 0, 0
			out = append(out, Piece{Kind: Begin, Start: s.pos - len(s.pre), PCM: append([]int16(nil), s.pre...)})
			s.uttLen, s.loud = len(s.pre), 2*s.frame
			s.pre = s.pre[:0]
		}
		return out
	}
	out = append(out, Piece{Kind: More, PCM: append([]int16(nil), f...)})
	s.uttLen += len(f)
	if speech {
		s.quiet = 0
		s.loud += len(f)
	} else {
		s.quiet++
	}
	if s.quiet >= s.pauseFrames || s.uttLen >= s.maxLen {
		s.inUtt = false
		out = append(out, Piece{Kind: End, Speech: s.loud})
	}
	return out
}
