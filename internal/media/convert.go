package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/hajimehoshi/go-mp3"
)

// MaxPromptSeconds bounds an uploaded prompt's length.
const MaxPromptSeconds = 600

// ErrAudio is the error of audio that cannot be converted.
var ErrAudio = errors.New("audio")

// ConvertAudio decodes an uploaded prompt — WAV (PCM of 8 to 32 bits,
// 32-bit float, µ-law or A-law; any rate, any number of channels) or MP3
// — to 8 kHz mono, 16-bit: channels averaged, resampled through a
// windowed-sinc low-pass. It says which format it found.
func ConvertAudio(data []byte) (pcm []int16, format string, err error) {
	var (
		mono []float32
		rate int
	)
	switch {
	case len(data) >= 12 && string(data[0:4]) == "RIFF" && string(data[8:12]) == "WAVE":
		format = "wav"
		mono, rate, err = decodeAnyWAV(data)
	case isMP3(data):
		format = "mp3"
		mono, rate, err = decodeMP3(data)
	default:
		return nil, "", fmt.Errorf("%w: not a WAV or MP3 file", ErrAudio)
	}
	if err != nil {
		return nil, format, err
	}
	if rate < 4000 || rate > 192000 {
		return nil, format, fmt.Errorf("%w: a sample rate of %d Hz", ErrAudio, rate)
	}
	if len(mono) == 0 {
		return nil, format, fmt.Errorf("%w: no audio in it", ErrAudio)
	}
	if len(mono)/rate > MaxPromptSeconds {
		return nil, format, fmt.Errorf("%w: %d s long, at most %d s", ErrAudio, len(mono)/rate, MaxPromptSeconds)
	}
	out := resample(mono, rate, SampleRate)
	if len(out) == 0 {
		return nil, format, fmt.Errorf("%w: shorter than one sample at 8 kHz", ErrAudio)
	}
	pcm = make([]int16, len(out))
	for i, v := range out {
		pcm[i] = int16(max(-32768, min(32767, math.Round(float64(v)*32767))))
	}
	return pcm, format, nil
}

// isMP3 says whether data starts as an MP3 file: an ID3 tag or a frame
// sync.
func isMP3(data []byte) bool {
	if len(data) >= 3 && string(data[:3]) == "ID3" {
		return true
	}
	return len(data) >= 2 && data[0] == 0xFF && data[1]&0xE0 == 0xE0
}

// decodeMP3 decodes data to mono samples in [-1, 1] and its rate. go-mp3
// v0.3.4 panics on some malformed frames (an index out of range in its
// scale factors, found by FuzzConvertAudio): that is an error here too.
func decodeMP3(data []byte) (out []float32, rate int, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, rate, err = nil, 0, fmt.Errorf("%w: mp3: a malformed frame (%v)", ErrAudio, p)
		}
	}()
	d, err := mp3.NewDecoder(bytes.NewReader(data))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: mp3: %v", ErrAudio, err)
	}
	rate = d.SampleRate()
	limit := int64(MaxPromptSeconds+1) * int64(rate) * 4
	raw, err := io.ReadAll(io.LimitReader(d, limit))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: mp3: %v", ErrAudio, err)
	}
	// go-mp3 gives 16-bit little-endian stereo.
	out = make([]float32, len(raw)/4)
	for i := range out {
		l := int16(binary.LittleEndian.Uint16(raw[4*i:]))
		r := int16(binary.LittleEndian.Uint16(raw[4*i+2:]))
		out[i] = (float32(l) + float32(r)) / 65536
	}
	return out, rate, nil
}

// decodeAnyWAV decodes a WAV file to mono samples in [-1, 1] and its rate.
func decodeAnyWAV(data []byte) ([]float32, int, error) {
	h, body, err := readWAV(data)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: wav: %v", ErrAudio, err)
	}
	if h.channels == 0 || h.channels > 32 {
		return nil, 0, fmt.Errorf("%w: wav: %d channels", ErrAudio, h.channels)
	}
	format := h.format
	if h.sub != 0 { // WAVE_FORMAT_EXTENSIBLE: its subformat says
		format = h.sub
	}
	mono, err := wavSamples(format, h.bits, int(h.channels), body)
	return mono, int(h.rate), err
}

// wavSamples decodes a WAV data chunk, averaging its channels.
func wavSamples(format, bits uint16, channels int, body []byte) ([]float32, error) {
	var (
		width  int
		sample func(b []byte) float32
	)
	switch {
	case format == 1 && bits == 8:
		width, sample = 1, func(b []byte) float32 { return (float32(b[0]) - 128) / 128 }
	case format == 1 && bits == 16:
		width, sample = 2, func(b []byte) float32 { return float32(int16(binary.LittleEndian.Uint16(b))) / 32768 }
	case format == 1 && bits == 24:
		width, sample = 3, func(b []byte) float32 {
			return float32(int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24)>>8) / 8388608
		}
	case format == 1 && bits == 32:
		width, sample = 4, func(b []byte) float32 { return float32(int32(binary.LittleEndian.Uint32(b))) / 2147483648 }
	case format == 3 && bits == 32:
		width, sample = 4, func(b []byte) float32 { return clip(math.Float32frombits(binary.LittleEndian.Uint32(b))) }
	case (format == 7 || format == 6) && bits == 8:
		codec := PCMU
		if format == 6 {
			codec = PCMA
		}
		lin := make([]int16, 1)
		width, sample = 1, func(b []byte) float32 {
			Decode(codec, lin, b[:1])
			return float32(lin[0]) / 32768
		}
	default:
		return nil, fmt.Errorf("%w: wav: format %d with %d bits (want PCM of 8 to 32 bits, 32-bit float, µ-law or A-law)", ErrAudio, format, bits)
	}
	frame := width * channels
	out := make([]float32, len(body)/frame)
	for i := range out {
		var sum float32
		for c := 0; c < channels; c++ {
			sum += sample(body[i*frame+c*width:])
		}
		out[i] = sum / float32(channels)
	}
	return out, nil
}

// clip is v within [-1, 1], and 0 for NaN.
func clip(v float32) float32 {
	switch {
	case v != v:
		return 0
	case v > 1:
		return 1
	case v < -1:
		return -1
	}
	return v
}

// resampleTaps is how many input samples on each side, at the lower of
// the two rates, the filter reaches.
const resampleTaps = 12

// resample converts x from rate from to rate to with a Blackman-windowed
// sinc low-pass at 0.9 of the lower Nyquist frequency.
func resample(x []float32, from, to int) []float32 {
	if from == to {
		return x
	}
	ratio := float64(from) / float64(to)
	cutoff := 0.9 * math.Min(1, 1/ratio) // of the input's Nyquist
	half := int(math.Ceil(resampleTaps / cutoff))
	n := int(int64(len(x)) * int64(to) / int64(from))
	out := make([]float32, n)
	for i := range out {
		t := float64(i) * ratio
		c := int(t)
		var sum, norm float64
		for k := c - half + 1; k <= c+half; k++ {
			if k < 0 || k >= len(x) {
				continue
			}
			d := t - float64(k)
			if math.Abs(d) >= float64(half) {
				continue
			}
			w := 0.42 + 0.5*math.Cos(math.Pi*d/float64(half)) + 0.08*math.Cos(2*math.Pi*d/float64(half))
			s := cutoff
			if d != 0 {
				s = math.Sin(math.Pi*cutoff*d) / (math.Pi * d)
			}
			sum += float64(x[k]) * s * w
			norm += s * w
		}
		if norm != 0 {
			out[i] = float32(sum / norm)
		}
	}
	return out
}

// EncodeWAV writes 8 kHz mono 16-bit samples as a WAV file.
func EncodeWAV(pcm []int16) []byte {
	out := make([]byte, 44+2*len(pcm))
	copy(out, WAVHeader(1, uint32(2*len(pcm))))
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(out[44+2*i:], uint16(s))
	}
	return out
}
