package speech

import "math"

// upTaps is the length of the 8→16 kHz interpolation filter (at 16 kHz):
// a Blackman-windowed sinc cut at 3.8 kHz, 16 taps a phase.
const upTaps = 32

// upFilter holds the two phases of the interpolation filter.
type upFilter struct{ even, odd [upTaps / 2]float64 }

func newUpFilter() upFilter {
	var f upFilter
	const fc = 3800.0 / 16000 // cycles a sample at 16 kHz
	mid := float64(upTaps-1) / 2
	for n := range upTaps {
		t := float64(n) - mid
		s := 2 * fc
		if t != 0 {
			s = math.Sin(2*math.Pi*fc*t) / (math.Pi * t)
		}
		w := 0.42 - 0.5*math.Cos(2*math.Pi*float64(n)/(upTaps-1)) + 0.08*math.Cos(4*math.Pi*float64(n)/(upTaps-1))
		h := 2 * s * w // the factor 2 makes up for the zeros stuffed in
		if n%2 == 0 {
			f.even[n/2] = h
		} else {
			f.odd[n/2] = h
		}
	}
	return f
}

// Upsampler doubles the sample rate of 8 kHz telephone audio for a 16 kHz
// speech model: a windowed-sinc interpolation (not sample doubling, whose
// images the model hears as noise), with the empty 4–8 kHz band filled
// with quiet noise as a wideband microphone would give it. It keeps the
// filter's history across calls, so a stream may come in any pieces.
type Upsampler struct {
	f        upFilter
	hist     [upTaps / 2]float64 // the last input samples, newest last
	nhist    [upTaps / 2]float64 // the same for the noise
	rng      uint64
	NoiseRMS float64 // the band's noise level (16-bit units); 0 for none
	sign     float64
}

// NewUpsampler makes an upsampler with the default noise level.
func NewUpsampler() *Upsampler {
	return &Upsampler{f: newUpFilter(), rng: 0x9e3779b97f4a7c15, NoiseRMS: 12, sign: 1}
}

// Up appends the 16 kHz version of in to out and returns it.
func (u *Upsampler) Up(out []int16, in []int16) []int16 {
	for _, x := range in {
		copy(u.hist[:], u.hist[1:])
		u.hist[len(u.hist)-1] = float64(x)
		var nz float64
		if u.NoiseRMS > 0 {
			copy(u.nhist[:], u.nhist[1:])
			u.nhist[len(u.nhist)-1] = u.noise() * u.NoiseRMS
		}
		for phase := range 2 {
			taps := &u.f.even
			if phase == 1 {
				taps = &u.f.odd
			}
			var y, yn float64
			for k := range taps {
				// hist's newest sample meets the filter's first tap.
				y += taps[k] * u.hist[len(u.hist)-1-k]
				if u.NoiseRMS > 0 {
					yn += taps[k] * u.nhist[len(u.nhist)-1-k]
				}
			}
			// The low band's noise mirrored into the high band: every
			// other sample negated moves a spectrum up by half the rate.
			nz = yn * u.sign
			u.sign = -u.sign
			out = append(out, clamp16(y+nz))
		}
	}
	return out
}

// noise is a uniform sample with unit variance (xorshift).
func (u *Upsampler) noise() float64 {
	u.rng ^= u.rng << 13
	u.rng ^= u.rng >> 7
	u.rng ^= u.rng << 17
	return (float64(u.rng>>11)/(1<<53) - 0.5) * math.Sqrt(12)
}

func clamp16(v float64) int16 {
	switch {
	case v > math.MaxInt16:
		return math.MaxInt16
	case v < math.MinInt16:
		return math.MinInt16
	}
	return int16(math.Round(v))
}
