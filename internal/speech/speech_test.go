package speech

import (
	"math"
	"testing"
)

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		ref, hyp    string
		errs, words int
	}{
		{"i want to cancel", "i want to cancel", 0, 4},
		{"i want to cancel", "i want cancel", 1, 4},       // a deletion
		{"i want to cancel", "i want to to cancel", 1, 4}, // an insertion
		{"i want to cancel", "i want two cancel", 1, 4},   // a substitution
		{"I want, to cancel.", "i WANT to cancel", 0, 4},  // case and punctuation
		{"", "hello", 1, 0},
		{"hello there", "", 2, 2},
	} {
		errs, words := Errors(tc.ref, tc.hyp)
		if errs != tc.errs || words != tc.words {
			t.Errorf("Errors(%q, %q) = %d, %d; want %d, %d", tc.ref, tc.hyp, errs, words, tc.errs, tc.words)
		}
	}
}

func TestFindPhrases(t *testing.T) {
	keys := Phrases([]string{"Cancel", "speak to a supervisor", "cancel", " "})
	if len(keys) != 2 {
		t.Fatalf("Phrases: %q", keys)
	}
	got := FindPhrases(keys, "i want to cancel, let me speak to a supervisor and cancel")
	want := []Match{{"cancel", 3, 1, 0}, {"speak to a supervisor", 6, 4, 0}, {"cancel", 11, 1, 1}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("match %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// tone makes n samples of a sine at hz (8 kHz) with amplitude a.
func tone(n int, hz, a float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(a * math.Sin(2*math.Pi*hz*float64(i)/8000))
	}
	return out
}

// power of a frequency in x at rate (Goertzel), per sample.
func power(x []int16, hz, rate float64) float64 {
	c := 2 * math.Cos(2*math.Pi*hz/rate)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = float64(v)+c*s1-s2, s1
	}
	return (s1*s1 + s2*s2 - c*s1*s2) / float64(len(x)*len(x))
}

func TestUpsampler(t *testing.T) {
	u := NewUpsampler()
	u.NoiseRMS = 0
	in := tone(8000, 1000, 8000)
	var out []int16
	for i := 0; i < len(in); i += 160 { // in pieces: the filter's history carries over
		out = u.Up(out, in[i:i+160])
	}
	if len(out) != 16000 {
		t.Fatalf("%d samples", len(out))
	}
	body := out[1000:]
	tonePow := power(body, 1000, 16000)
	image := power(body, 7000, 16000) // where sample doubling puts the image
	if db := 10 * math.Log10(tonePow/image); db < 40 {
		t.Errorf("image only %.1f dB under the tone", db)
	}
	// The noise fills the upper band and stays out of the lower one.
	u = NewUpsampler()
	u.NoiseRMS = 100
	silent := u.Up(nil, make([]int16, 8000))
	hi, lo := power(silent, 6000, 16000), power(silent, 1000, 16000)
	if hi < 10*lo {
		t.Errorf("noise at 6 kHz %.3g, at 1 kHz %.3g", hi, lo)
	}
}

func TestSegmenter(t *testing.T) {
	s := NewSegmenter(8000)
	quiet := make([]int16, 8000)
	var ps []Piece
	ps = append(ps, s.Push(quiet)...)
	ps = append(ps, s.Push(tone(8000, 300, 3000))...) // a second of "speech"
	ps = append(ps, s.Push(quiet)...)
	ps = append(ps, s.Push(tone(4000, 300, 3000))...) // half a second, cut by the end
	ps = append(ps, s.Flush()...)
	var begins []int
	ends, samples := 0, 0
	for _, p := range ps {
		switch p.Kind {
		case Begin:
			begins = append(begins, p.Start)
		case End:
			ends++
		}
		samples += len(p.PCM)
	}
	if len(begins) != 2 || ends != 2 {
		t.Fatalf("begins %v, %d ends", begins, ends)
	}
	// Each begins within 60 ms before its speech (the pre-roll is 200 ms
	// but starts on silence already counted).
	for i, want := range []int{8000, 24000} {
		if d := want - begins[i]; d < 0 || d > 1800 {
			t.Errorf("utterance %d begins at %d, speech at %d", i, begins[i], want)
		}
	}
	if samples < 12000 || samples > 20000 {
		t.Errorf("%d samples in the utterances", samples)
	}
}

func FuzzSegmenter(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3}, 8000)
	f.Add(make([]byte, 4000), 16000)
	f.Fuzz(func(t *testing.T, b []byte, rate int) {
		if rate != 16000 {
			rate = 8000
		}
		s := NewSegmenter(rate)
		pcm := make([]int16, len(b)/2)
		for i := range pcm {
			pcm[i] = int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
		}
		open := false
		for _, p := range append(s.Push(pcm), s.Flush()...) {
			switch p.Kind {
			case Begin:
				if open {
					t.Fatal("begin inside an utterance")
				}
				open = true
			case End:
				if !open {
					t.Fatal("end outside an utterance")
				}
				open = false
			case More:
				if !open {
					t.Fatal("audio outside an utterance")
				}
			}
		}
		if open {
			t.Fatal("not ended at flush")
		}
	})
}

func BenchmarkUpsampler(b *testing.B) {
	u := NewUpsampler()
	in := tone(160, 440, 3000)
	out := make([]int16, 0, 320)
	b.SetBytes(320)
	for b.Loop() {
		out = u.Up(out[:0], in)
	}
}
