package media

import "math"

// In-band DTMF: digits sent as dual tones in the audio (ITU-T Q.23) by
// gateways and mobile networks that do not send RFC 4733 events. The
// detector runs a Goertzel filter per DTMF frequency over blocks of 205
// samples (about 25.6 ms at 8 kHz, the block length whose bins fall
// closest to the eight frequencies) and takes a digit when one row and one
// column tone fill a block and the same pair is in the block before or
// after it (a 40 ms tone, the shortest Q.24 asks a receiver to accept,
// fills one block and a quarter of a neighbour, whatever its alignment).

// inbandBlock is the Goertzel block length.
const inbandBlock = 205

// dtmfRows and dtmfCols are the DTMF frequencies (Hz); dtmfKeys the digit
// at each row and column.
var (
	dtmfRows = [4]float64{697, 770, 852, 941}
	dtmfCols = [4]float64{1209, 1336, 1477, 1633}
	dtmfKeys = [4][4]byte{{'1', '2', '3', 'A'}, {'4', '5', '6', 'B'}, {'7', '8', '9', 'C'}, {'*', '0', '#', 'D'}}
)

// goertzelCoef is 2cos(2πk/N) for each frequency's nearest bin k.
var goertzelCoef = func() (c [8]float64) {
	for i, f := range append(dtmfRows[:], dtmfCols[:]...) {
		k := math.Round(f * inbandBlock / SampleRate)
		c[i] = 2 * math.Cos(2*math.Pi*k/inbandBlock)
	}
	return c
}()

// Thresholds of a tone pair: each tone at least about -30 dBm0 (a peak of
// 720 in the decoded 16-bit samples, where 0 dBm0 is about 22,700; over
// the part of the block it fills), the two of them at least 70 % of a filled block's energy
// (speech and music spread theirs) and 20 % of its neighbour's; in the
// filled block each 6 dB over the other tones of its group, and the column
// within 8 dB of the row either way (twist).
const (
	inbandMinAmp   = 720.0
	inbandPurity   = 0.7
	inbandPartial  = 0.2
	inbandOthers   = 4.0 // power ratio, 6 dB
	inbandMaxTwist = 6.3 // power ratio, 8 dB
)

// InbandDetector finds DTMF digits in decoded 8 kHz audio. It is not safe
// for concurrent use: one reader feeds it.
type InbandDetector struct {
	block [inbandBlock]int16
	n     int
	// prev is the pair the last block showed (0: none) and prevFull
	// whether it filled it; sent: prev's digit has been reported, and is
	// not again until a block without it.
	prev     byte
	prevFull bool
	sent     bool
	pcm      [FrameSamples]int16 // a packet's decoded samples (FeedPayload)
}

// FeedPayload decodes a G.711 packet's payload and feeds it; see Feed.
func (d *InbandDetector) FeedPayload(c Codec, payload []byte, out []byte) []byte {
	for len(payload) > 0 {
		n := min(len(payload), len(d.pcm))
		Decode(c, d.pcm[:n], payload[:n])
		out = d.Feed(d.pcm[:n], out)
		payload = payload[n:]
	}
	return out
}

// Feed takes audio samples and appends the digits that ended a detection
// in them to out, each digit once however long its tone lasts.
func (d *InbandDetector) Feed(pcm []int16, out []byte) []byte {
	for len(pcm) > 0 {
		n := copy(d.block[d.n:], pcm)
		d.n += n
		pcm = pcm[n:]
		if d.n < inbandBlock {
			break
		}
		d.n = 0
		digit, full := detectBlock(&d.block)
		if digit != 0 && digit == d.prev && (full || d.prevFull) && !d.sent {
			d.sent = true
			out = append(out, digit)
		}
		if digit != d.prev {
			d.sent = false
		}
		d.prev, d.prevFull = digit, full
	}
	return out
}

// detectBlock is the digit whose tone pair is in the block (0: none), and
// whether it fills the block.
func detectBlock(b *[inbandBlock]int16) (byte, bool) {
	var s1, s2 [8]float64
	var energy float64
	for _, v := range b {
		x := float64(v)
		energy += x * x
		for i, c := range goertzelCoef {
			s := x + c*s1[i] - s2[i]
			s2[i], s1[i] = s1[i], s
		}
	}
	if energy == 0 {
		return 0, false
	}
	var p [8]float64
	for i, c := range goertzelCoef {
		p[i] = s1[i]*s1[i] + s2[i]*s2[i] - c*s1[i]*s2[i]
	}
	row, col := strongest(p[:4]), strongest(p[4:])
	pr, pc := p[row], p[4+col]
	// the share of the block's energy in the two tones: a pure pair over
	// the whole block gives (pr+pc) of N/2 × energy, over a part f of it f
	purity := (pr + pc) / (energy * inbandBlock / 2)
	if purity < inbandPartial {
		return 0, false
	}
	// a sine of amplitude A over a part f of the N samples gives a power
	// of (A f N / 2)²
	f := min(1, purity)
	minPower := math.Pow(inbandMinAmp*f*inbandBlock/2, 2)
	if pr < minPower || pc < minPower {
		return 0, false
	}
	full := purity >= inbandPurity
	if !full {
		// a tone cut short by the block's edge spreads into the bins
		// beside it: only which pair is strongest counts (and a filled
		// block beside it must agree)
		return dtmfKeys[row][col], false
	}
	if pc > pr*inbandMaxTwist || pr > pc*inbandMaxTwist {
		return 0, false
	}
	for i := range 4 {
		if i != row && p[i]*inbandOthers > pr || i != col && p[4+i]*inbandOthers > pc {
			return 0, false
		}
	}
	return dtmfKeys[row][col], true
}

func strongest(p []float64) int {
	best := 0
	for i := range p {
		if p[i] > p[best] {
			best = i
		}
	}
	return best
}
