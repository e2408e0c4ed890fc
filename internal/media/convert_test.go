package media

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// wavOf writes samples of a tone as a WAV file of the given layout.
func wavOf(rate, channels, bits int, format uint16, seconds, hz float64) []byte {
	n := int(float64(rate) * seconds)
	width := bits / 8
	data := make([]byte, n*channels*width)
	for i := 0; i < n; i++ {
		v := 0.5 * math.Sin(2*math.Pi*hz*float64(i)/float64(rate))
		for c := 0; c < channels; c++ {
			b := data[(i*channels+c)*width:]
			switch {
			case format == 3:
				binary.LittleEndian.PutUint32(b, math.Float32bits(float32(v)))
			case bits == 8:
				b[0] = byte(int(v*127) + 128)
			case bits == 16:
				binary.LittleEndian.PutUint16(b, uint16(int16(v*32767)))
			case bits == 24:
				x := int32(v * 8388607)
				b[0], b[1], b[2] = byte(x), byte(x>>8), byte(x>>16)
			case bits == 32:
				binary.LittleEndian.PutUint32(b, uint32(int32(v*2147483647)))
			}
		}
	}
	h := make([]byte, 44)
	copy(h, "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+len(data)))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], format)
	binary.LittleEndian.PutUint16(h[22:], uint16(channels))
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(rate*channels*width))
	binary.LittleEndian.PutUint16(h[32:], uint16(channels*width))
	binary.LittleEndian.PutUint16(h[34:], uint16(bits))
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(len(data)))
	return append(h, data...)
}

// toneLevel is the amplitude of hz in pcm (8 kHz), by correlation.
func toneLevel(pcm []int16, hz float64) float64 {
	var re, im float64
	for i, s := range pcm {
		a := 2 * math.Pi * hz * float64(i) / SampleRate
		re += float64(s) * math.Cos(a)
		im += float64(s) * math.Sin(a)
	}
	return 2 * math.Hypot(re, im) / float64(len(pcm)) / 32768
}

func TestConvertAudio(t *testing.T) {
	tests := []struct {
		name          string
		data          []byte
		hz, wantLevel float64
		wantSeconds   float64
		wantErr       bool
	}{
		{name: "48 kHz stereo 16-bit", data: wavOf(48000, 2, 16, 1, 1, 440), hz: 440, wantLevel: 0.5, wantSeconds: 1},
		{name: "44.1 kHz mono 24-bit", data: wavOf(44100, 1, 24, 1, 0.5, 1000), hz: 1000, wantLevel: 0.5, wantSeconds: 0.5},
		{name: "16 kHz mono 32-bit float", data: wavOf(16000, 1, 32, 3, 1, 300), hz: 300, wantLevel: 0.5, wantSeconds: 1},
		{name: "22.05 kHz 8-bit", data: wavOf(22050, 1, 8, 1, 1, 500), hz: 500, wantLevel: 0.5, wantSeconds: 1},
		{name: "8 kHz 32-bit", data: wavOf(8000, 1, 32, 1, 1, 700), hz: 700, wantLevel: 0.5, wantSeconds: 1},
		// A tone above 4 kHz is filtered out, not folded into the band.
		{name: "48 kHz, a 6 kHz tone", data: wavOf(48000, 1, 16, 1, 1, 6000), hz: 2000, wantLevel: 0, wantSeconds: 1},
		{name: "not audio", data: []byte("hello"), wantErr: true},
		{name: "a WAV without data", data: wavOf(8000, 1, 16, 1, 0, 1)[:36], wantErr: true},
		{name: "a format it cannot read", data: wavOf(8000, 1, 16, 2, 0.1, 1), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pcm, _, err := ConvertAudio(tc.data)
			if tc.wantErr {
				if err == nil || !errors.Is(err, ErrAudio) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := float64(len(pcm)) / SampleRate; math.Abs(got-tc.wantSeconds) > 0.01 {
				t.Fatalf("%.3f s, want %.3f", got, tc.wantSeconds)
			}
			if got := toneLevel(pcm, tc.hz); math.Abs(got-tc.wantLevel) > 0.03 {
				t.Fatalf("level at %.0f Hz %.3f, want %.3f", tc.hz, got, tc.wantLevel)
			}
			if _, err := ParseWAV(EncodeWAV(pcm)); err != nil {
				t.Fatalf("the converted WAV: %v", err)
			}
		})
	}
}

// An MP3 (testdata/tone440.mp3: `sox -n -r 44100 -c 2 -C 64 tone440.mp3
// synth 1 sine 440 vol 0.5`) converts to its tone.
func TestConvertMP3(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "tone440.mp3"))
	if err != nil {
		t.Fatal(err)
	}
	pcm, format, err := ConvertAudio(data)
	if err != nil || format != "mp3" {
		t.Fatalf("%s %v", format, err)
	}
	if got := float64(len(pcm)) / SampleRate; got < 0.95 || got > 1.2 {
		t.Fatalf("%.3f s", got)
	}
	if got := toneLevel(pcm, 440); got < 0.4 || got > 0.6 {
		t.Fatalf("level at 440 Hz %.3f", got)
	}
}

func FuzzConvertAudio(f *testing.F) {
	f.Add(wavOf(16000, 2, 16, 1, 0.01, 440))
	f.Add(wavOf(8000, 1, 8, 7, 0.01, 440))
	f.Add([]byte("ID3\x03\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte{0xFF, 0xFB, 0x90, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		pcm, _, err := ConvertAudio(data)
		if err == nil && len(pcm) == 0 {
			t.Fatal("no error and no audio")
		}
	})
}

// BenchmarkConvertAudio prices an upload: ten seconds of 48 kHz stereo
// 16-bit WAV (what a recording program writes) to 8 kHz mono.
func BenchmarkConvertAudio(b *testing.B) {
	data := wavOf(48000, 2, 16, 1, 10, 440)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ConvertAudio(data); err != nil {
			b.Fatal(err)
		}
	}
}
