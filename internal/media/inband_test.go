package media

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// dualTone appends ms of the digit's tone pair (each tone at amp) to pcm,
// then gap ms of silence.
func dualTone(pcm []int16, digit byte, amp float64, ms, gap int) []int16 {
	var fr, fc float64
	for r := range 4 {
		for c := range 4 {
			if dtmfKeys[r][c] == digit {
				fr, fc = dtmfRows[r], dtmfCols[c]
			}
		}
	}
	n := ms * SampleRate / 1000
	for i := range n {
		t := float64(i) / SampleRate
		pcm = append(pcm, int16(amp*math.Sin(2*math.Pi*fr*t)+amp*math.Sin(2*math.Pi*fc*t)))
	}
	return append(pcm, make([]int16, gap*SampleRate/1000)...)
}

func TestInbandDTMF(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	noisy := func(pcm []int16, level float64) []int16 {
		for i := range pcm {
			pcm[i] = int16(max(-32768, min(32767, float64(pcm[i])+level*rng.NormFloat64())))
		}
		return pcm
	}
	all := "0123456789*#ABCD"
	for _, tc := range []struct {
		name    string
		pcm     func() []int16
		want    string
		viaG711 Codec
	}{
		{"every key, 70 ms tones, 50 ms gaps", func() []int16 {
			var p []int16
			for i := range len(all) {
				p = dualTone(p, all[i], 4000, 70, 50)
			}
			return p
		}, all, 0},
		{"through µ-law, quiet (-24 dBm0 a tone)", func() []int16 {
			var p []int16
			for _, d := range []byte("1205") {
				p = dualTone(p, d, 1430, 60, 60)
			}
			return p
		}, "1205", PCMU},
		{"through A-law", func() []int16 {
			var p []int16
			for _, d := range []byte("*9#") {
				p = dualTone(p, d, 3000, 60, 60)
			}
			return p
		}, "*9#", PCMA},
		{"under -30 dBm0 a tone is no key", func() []int16 { return dualTone(nil, '5', 500, 200, 0) }, "", 0},
		{"a long tone is one digit", func() []int16 { return dualTone(nil, '7', 4000, 800, 0) }, "7", 0},
		{"the same key twice", func() []int16 { return dualTone(dualTone(nil, '3', 4000, 80, 60), '3', 4000, 80, 60) }, "33", 0},
		{"with noise 20 dB under", func() []int16 {
			var p []int16
			for _, d := range []byte("4#9") {
				p = dualTone(p, d, 4000, 80, 60)
			}
			return noisy(p, 400)
		}, "4#9", 0},
		{"too short (20 ms) is no key", func() []int16 { return dualTone(nil, '5', 4000, 20, 100) }, "", 0},
		{"one tone alone is no key", func() []int16 {
			p := make([]int16, 1600)
			for i := range p {
				p[i] = int16(4000 * math.Sin(2*math.Pi*770*float64(i)/SampleRate))
			}
			return p
		}, "", 0},
		{"noise is no key", func() []int16 { return noisy(make([]int16, 8000), 3000) }, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pcm := tc.pcm()
			var d InbandDetector
			var got []byte
			if tc.viaG711 != 0 {
				payload := make([]byte, len(pcm))
				Encode(tc.viaG711, payload, pcm)
				for i := 0; i < len(payload); i += FrameSamples {
					got = d.FeedPayload(tc.viaG711, payload[i:min(i+FrameSamples, len(payload))], got)
				}
			} else {
				for i := 0; i < len(pcm); i += FrameSamples {
					got = d.Feed(pcm[i:min(i+FrameSamples, len(pcm))], got)
				}
			}
			if string(got) != tc.want {
				t.Fatalf("digits %q, want %q", got, tc.want)
			}
		})
	}
}

// A 40 ms tone (the shortest Q.24 asks a receiver to take) is a key
// whatever where it falls in the detector's blocks; a 20 ms one never is.
func TestInbandDTMFAlignment(t *testing.T) {
	for lead := 0; lead < inbandBlock; lead += 7 {
		for _, tc := range []struct {
			ms   int
			want string
		}{{40, "8"}, {20, ""}} {
			pcm := dualTone(make([]int16, lead), '8', 3000, tc.ms, 100)
			var d InbandDetector
			if got := d.Feed(pcm, nil); string(got) != tc.want {
				t.Errorf("%d ms after %d samples: %q, want %q", tc.ms, lead, got, tc.want)
			}
		}
	}
}

// Speech is not taken for keys (talk-off): the answering-machine fixtures'
// voices, people and machines, through µ-law.
func TestInbandDTMFTalkOff(t *testing.T) {
	clips, _ := filepath.Glob("../outbound/testdata/amd/*.wav")
	if len(clips) < 20 {
		t.Fatalf("%d clips", len(clips))
	}
	for _, path := range clips {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		pcm, _, err := ConvertAudio(data)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		payload := make([]byte, len(pcm))
		Encode(PCMU, payload, pcm)
		var d InbandDetector
		var got []byte
		for i := 0; i < len(payload); i += FrameSamples {
			got = d.FeedPayload(PCMU, payload[i:min(i+FrameSamples, len(payload))], got)
		}
		if len(got) > 0 {
			t.Errorf("%s: speech taken for keys %q", filepath.Base(path), got)
		}
	}
}

func FuzzInbandDTMF(f *testing.F) {
	f.Add([]byte{0xff, 0x7f, 0x00})
	f.Add(make([]byte, 500))
	f.Fuzz(func(t *testing.T, payload []byte) {
		var d InbandDetector
		for _, c := range []Codec{PCMU, PCMA} {
			if got := d.FeedPayload(c, payload, nil); len(got) > len(payload)/inbandBlock+1 {
				t.Fatalf("%d digits from %d samples", len(got), len(payload))
			}
		}
	})
}

func BenchmarkInbandDTMF(b *testing.B) {
	pcm := dualTone(nil, '5', 4000, 20, 0)[:FrameSamples]
	payload := make([]byte, FrameSamples)
	Encode(PCMU, payload, pcm)
	var d InbandDetector
	var out []byte
	b.ReportAllocs()
	for b.Loop() {
		out = d.FeedPayload(PCMU, payload, out[:0])
	}
}
