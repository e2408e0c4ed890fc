package outbound

import (
	"math"
	"time"
)

// Answering-machine detection listens to the first seconds of the callee's
// audio after the answer, as Asterisk's app_amd does: a person says a short
// word or two ("Hello?") and waits for the caller; a machine plays a long
// greeting, often ending in a beep. Speech is told from the line's noise by
// its level above an adaptive noise floor, so steady hiss counts as silence
// whatever its level.

// The audio: 8 kHz mono, analysed in frames of one G.711 packet.
const (
	amdFrameLen = 160
	amdFrame    = 20 * time.Millisecond
	amdRate     = 8000
)

// Voice activity, in dB relative to a full-scale square wave (dBFS). The
// thresholds come from the fixtures in testdata/amd (scripts/amd-fixtures.sh).
const (
	vadMinDB   = -55.0 // quieter frames are never speech
	vadFloorDB = -80.0 // the floor never goes lower (digital silence)
	vadOnDB    = 9.0   // speech starts this far above the floor
	vadOffDB   = 6.0   // and goes on while this far above it
	// The floor follows the quietest frames at once and creeps up by
	// floorRiseDB a frame otherwise. A level steady within floorSteadyDB
	// for floorSteadyFrames (noise that starts after the answer: speech
	// is never so steady for so long) becomes the floor at once.
	floorRiseDB       = 0.05
	floorSteadyDB     = 6.0
	floorSteadyFrames = 25
	// minWordFrames of speech make a word (shorter is a click); a gap of
	// wordGapFrames ends it (shorter is a pause inside the word).
	minWordFrames = 5
	wordGapFrames = 8
)

// AMD defaults (see AMDConfig).
const (
	defaultInitialSilence = 2500 * time.Millisecond
	defaultGreeting       = 1800 * time.Millisecond
	defaultAfterGreeting  = 800 * time.Millisecond
	defaultMaxWords       = 3
	defaultTotal          = 3500 * time.Millisecond
)

// AMDConfig tunes answering-machine detection; zero (or negative) fields
// take their defaults.
type AMDConfig struct {
	// InitialSilence is how long the callee may stay silent after the
	// answer before the call counts as unknown (default 2.5 s).
	InitialSilence time.Duration
	// Greeting is the most speech a person's greeting has: more, in one
	// stretch or in all, is a machine's (default 1.8 s: the short
	// answers in testdata/amd last at most 1.2 s, and with 1.8 s every
	// greeting there is told within 3 s).
	Greeting time.Duration
	// AfterGreeting is the silence after speech that makes a person, who
	// waits for the caller to talk (default 0.8 s).
	AfterGreeting time.Duration
	// MaxWords is the most words (stretches of speech) a person's greeting
	// has: one more is a machine's (default 3).
	MaxWords int
	// Total is the most audio the decision takes (default 3.5 s): still
	// undecided then, the call is a machine if speech goes on, unknown if
	// not.
	Total time.Duration
}

// Defaults is c with its zero fields set to their defaults.
func (c AMDConfig) Defaults() AMDConfig { return c.withDefaults() }

func (c AMDConfig) withDefaults() AMDConfig {
	if c.InitialSilence <= 0 {
		c.InitialSilence = defaultInitialSilence
	}
	if c.Greeting <= 0 {
		c.Greeting = defaultGreeting
	}
	if c.AfterGreeting <= 0 {
		c.AfterGreeting = defaultAfterGreeting
	}
	if c.MaxWords <= 0 {
		c.MaxWords = defaultMaxWords
	}
	if c.Total <= 0 {
		c.Total = defaultTotal
	}
	return c
}

// AMDDecision is what the detector made of the callee.
type AMDDecision struct {
	// Outcome is Human, Machine or Unknown.
	Outcome Outcome
	// At is the audio time (from the first sample fed) of the decision.
	At time.Duration
	// Reason says which rule decided, for logs and call records.
	Reason string
}

// The reasons of the decisions.
const (
	ReasonBeep           = "beep"
	ReasonInitialSilence = "initial silence"
	ReasonLongGreeting   = "long greeting"
	ReasonMaxWords       = "too many words"
	ReasonAfterGreeting  = "silence after greeting"
	ReasonStillSpeaking  = "still speaking"
	ReasonUndecided      = "undecided"
)

// AMD tells a person from an answering machine by the first seconds of
// the callee's audio. One AMD listens to one call; it is not safe for
// concurrent use.
type AMD struct {
	cfg AMDConfig
	// Limits in frames.
	initial, greeting, after, total int

	buf [amdFrameLen]int16
	n   int // samples in buf
	vad vad

	frames  int  // frames analysed
	inWord  bool // in a word (speech, or a short pause inside it)
	run     int  // speech frames in a row not yet a word
	gap     int  // silent frames in a row inside the word
	wordLen int  // frames of the current word, its pauses included
	words   int
	voiced  int // speech frames in all the words
	silence int // frames since the last word (or the answer)
	// Of the current word: its speech frames and the silence before it,
	// to take it back if it turns out to be noise.
	wordVoiced, silenceBefore int

	beep BeepDetector

	decided bool
	d       AMDDecision
}

// NewAMD returns a detector for one call.
func NewAMD(cfg AMDConfig) *AMD {
	cfg = cfg.withDefaults()
	// Limits are whole frames: rounded up, but Total down, so that every
	// decision comes within Total.
	frames := func(d time.Duration) int { return int((d + amdFrame - 1) / amdFrame) }
	return &AMD{
		cfg:      cfg,
		initial:  frames(cfg.InitialSilence),
		greeting: frames(cfg.Greeting),
		after:    frames(cfg.AfterGreeting),
		total:    max(1, int(cfg.Total/amdFrame)),
	}
}

// Feed takes the callee's audio, 8 kHz 16-bit mono samples in pieces of
// any length (usually one 20 ms packet of 160), and returns the decision
// once it is made (ok true); after that it returns the same decision
// without looking at the audio.
func (a *AMD) Feed(pcm []int16) (d AMDDecision, ok bool) {
	for len(pcm) > 0 && !a.decided {
		k := copy(a.buf[a.n:], pcm)
		a.n += k
		pcm = pcm[k:]
		if a.n == amdFrameLen {
			a.n = 0
			a.frame(a.buf[:])
		}
	}
	return a.d, a.decided
}

func (a *AMD) frame(x []int16) {
	a.frames++
	speech := a.vad.frame(a.vad.level(x))
	a.beep.frame(x)
	a.count(speech)
	if o, why, ok := a.decide(); ok {
		a.decided = true
		a.d = AMDDecision{Outcome: o, At: time.Duration(a.frames) * amdFrame, Reason: why}
	}
}

// count counts words: minWordFrames of speech start one, wordGapFrames
// of silence end it. A word that was the start of steady noise is taken
// back.
func (a *AMD) count(speech bool) {
	if a.vad.onset && a.inWord && a.wordLen <= a.vad.steady {
		a.words--
		a.voiced -= a.wordVoiced
		a.silence = a.silenceBefore + a.wordLen
		a.inWord, a.run = false, 0
	}
	switch {
	case speech && a.inWord:
		a.voiced++
		a.wordVoiced++
		a.wordLen++
		a.gap = 0
	case speech:
		a.run++
		a.silence++
		if a.run >= minWordFrames {
			a.inWord = true
			a.words++
			a.voiced += a.run
			a.wordVoiced, a.wordLen, a.gap = a.run, a.run, 0
			a.silenceBefore = a.silence - a.run
			a.silence = 0
		}
	case a.inWord:
		a.gap++
		a.wordLen++
		if a.gap >= wordGapFrames {
			a.inWord = false
			a.silence = a.gap
			a.run = 0
		}
	default:
		a.run = 0
		a.silence++
	}
}

func (a *AMD) decide() (Outcome, string, bool) {
	switch {
	case a.beep.toneFrames() >= beepMinFrames:
		return Machine, ReasonBeep, true
	case a.words == 0 && a.silence >= a.initial:
		return Unknown, ReasonInitialSilence, true
	case a.inWord && a.wordLen-a.gap >= a.greeting, a.voiced >= a.greeting:
		return Machine, ReasonLongGreeting, true
	case a.words > a.cfg.MaxWords:
		return Machine, ReasonMaxWords, true
	case a.words > 0 && !a.inWord && a.silence >= a.after:
		return Human, ReasonAfterGreeting, true
	case a.frames >= a.total && a.inWord:
		return Machine, ReasonStillSpeaking, true
	case a.frames >= a.total:
		return Unknown, ReasonUndecided, true
	}
	return "", "", false
}

// powerDB is a mean power (of 16-bit samples) in dBFS.
func powerDB(p float64) float64 { return 10*math.Log10(p+1e-3) - 90.309 }

// vad tells speech from silence frame by frame, against a noise floor
// that follows the line's steady noise.
type vad struct {
	prev    float64 // the last sample, for the pre-emphasis
	started bool
	floor   float64
	speech  bool
	// The steady run: frames whose level stayed within floorSteadyDB.
	steadyLo, steadyHi float64
	steady             int
	// onset: this frame made a steady level the floor, and what was
	// taken for speech since the run began was noise.
	onset bool
}

// level is a frame's power in dBFS after a pre-emphasis (x[n]-0.9x[n-1]),
// which weighs the band that carries words over the low end: 1 kHz loses
// 3 dB, 300 Hz 12 dB, rumble below 200 Hz (wind, handling, brown noise)
// 15 dB and more.
func (v *vad) level(x []int16) float64 {
	var s float64
	for _, u := range x {
		f := float64(u)
		d := f - 0.9*v.prev
		v.prev = f
		s += d * d
	}
	return powerDB(s / float64(len(x)))
}

func (v *vad) frame(db float64) bool {
	if !v.started {
		v.started = true
		v.floor = max(db, vadFloorDB)
	}
	lo, hi := min(v.steadyLo, db), max(v.steadyHi, db)
	if v.steady == 0 || hi-lo > floorSteadyDB {
		lo, hi, v.steady = db, db, 0
	}
	v.steadyLo, v.steadyHi = lo, hi
	v.steady++
	v.onset = false
	switch {
	case db < v.floor:
		v.floor = max(db, vadFloorDB)
	case v.steady == floorSteadyFrames && lo > v.floor+vadOffDB:
		v.floor = lo
		v.onset = true
	default:
		v.floor = min(v.floor+floorRiseDB, db)
	}
	th := vadOnDB
	if v.speech {
		th = vadOffDB
	}
	v.speech = db >= vadMinDB && db >= v.floor+th
	return v.speech
}

// Beeps: a steady pure tone in 400–2100 Hz of beepMinFrames to
// beepMaxFrames. A longer tone is not a voicemail's beep (a fax answers
// with 2100 Hz for 2.6–4 s).
const (
	beepMinHz     = 400
	beepMaxHz     = 2100
	beepMinFrames = 7   // 140 ms: a beep of 150 ms may fill only 7 frames
	beepMaxFrames = 125 // 2.5 s
	beepMinDB     = -50.0
	// beepResidual is the most of a frame's power a single sinusoid may
	// leave unexplained, beepPurity the least a Goertzel filter at its
	// frequency must find (see tone).
	beepResidual = 0.1
	beepPurity   = 0.7
	// beepDriftHz is how far a frame's frequency may be from the tone's.
	beepDriftHz = 20.0
	// beepMisses is the frames in a row a tone may miss (a lost packet, a
	// click) and go on.
	beepMisses = 1
)

// BeepDetector finds the end of the beep a voicemail plays before it
// records, so that a message played from then is recorded whole. One
// detector listens to one call; it is not safe for concurrent use.
type BeepDetector struct {
	buf [amdFrameLen]int16
	n   int

	frames int
	run    int     // frames of the tone so far, misses included
	miss   int     // frames in a row the tone missed
	hz     float64 // the tone's frequency (mean of its frames)
	tonal  int     // frames that were tonal in the run
	last   int     // the last tonal frame (counted from 1)

	ended bool
	end   time.Duration
}

// NewBeepDetector returns a beep detector for one call.
func NewBeepDetector() *BeepDetector { return &BeepDetector{} }

// Feed takes the callee's audio, 8 kHz 16-bit mono samples in pieces of
// any length, and reports once a beep has ended (ok true) with the audio
// time (from the first sample fed) of its end; after that it reports the
// same end without looking at the audio.
func (b *BeepDetector) Feed(pcm []int16) (end time.Duration, ok bool) {
	for len(pcm) > 0 && !b.ended {
		k := copy(b.buf[b.n:], pcm)
		b.n += k
		pcm = pcm[k:]
		if b.n == amdFrameLen {
			b.n = 0
			b.frame(b.buf[:])
		}
	}
	return b.end, b.ended
}

// toneFrames is how long the tone heard now has lasted, in frames (0: no
// tone).
func (b *BeepDetector) toneFrames() int {
	if b.run > beepMaxFrames {
		return 0
	}
	return b.tonal
}

func (b *BeepDetector) frame(x []int16) {
	b.frames++
	hz, ok := tone(x)
	if ok && b.run > 0 && math.Abs(hz-b.hz) > beepDriftHz {
		b.stop() // another tone: the last one ended
	}
	if ok {
		if b.run == 0 {
			b.hz = hz
		}
		b.hz += (hz - b.hz) / float64(b.tonal+1)
		b.tonal++
		b.last = b.frames
		b.run += 1 + b.miss
		b.miss = 0
		return
	}
	if b.run == 0 {
		return
	}
	b.miss++
	if b.miss > beepMisses {
		b.stop()
	}
}

// stop ends the tone heard: a beep if it lasted as one.
func (b *BeepDetector) stop() {
	if b.tonal >= beepMinFrames && b.run <= beepMaxFrames && !b.ended {
		b.ended = true
		b.end = time.Duration(b.last) * amdFrame
	}
	b.run, b.miss, b.tonal = 0, 0, 0
}

// tone reports whether a frame is one pure tone of a beep's frequency and
// level, and the tone's frequency. A sinusoid obeys
// x[n] + x[n-2] = 2cos(w) x[n-1]: the least-squares c = cos(w) gives the
// frequency, and the power it leaves unexplained its purity (near none for
// a tone; speech and noise leave much). Two tones (DTMF, a chord) can fit
// well at a frequency between them: a Goertzel filter at the frequency
// found checks that the power is there.
func tone(x []int16) (hz float64, ok bool) {
	var mean float64
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	var p, s11, s1, s2 float64
	y2, y1 := float64(x[0])-mean, float64(x[1])-mean
	for _, v := range x[2:] {
		y := float64(v) - mean
		sum := y + y2
		p += y * y
		s11 += y1 * y1
		s1 += y1 * sum
		s2 += sum * sum
		y2, y1 = y1, y
	}
	n := float64(len(x) - 2)
	if s11 == 0 || powerDB(p/n) < beepMinDB {
		return 0, false
	}
	c := s1 / (2 * s11)
	if c < -1 || c > 1 || s2-s1*s1/s11 > beepResidual*p {
		return 0, false
	}
	hz = math.Acos(c) * amdRate / (2 * math.Pi)
	if hz < beepMinHz || hz > beepMaxHz {
		return 0, false
	}
	var g1, g2, all float64
	for _, v := range x {
		y := float64(v) - mean
		all += y * y
		g1, g2 = y+2*c*g1-g2, g1
	}
	// For a pure tone at hz, |X(hz)|² = N/2 × its energy.
	at := g1*g1 + g2*g2 - 2*c*g1*g2
	return hz, 2*at >= beepPurity*float64(len(x))*all
}
