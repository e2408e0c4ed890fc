package recording

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/store"
)

// tone is one 20 ms PCMA frame of a sine at freq, starting at sample n.
func tone(freq float64, n int) []byte {
	pcm := make([]int16, media.FrameSamples)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(n+i)/media.SampleRate))
	}
	out := make([]byte, len(pcm))
	media.Encode(media.PCMA, out, pcm)
	return out
}

// power is the Goertzel power of freq in pcm.
func power(pcm []int16, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/media.SampleRate)
	var s1, s2 float64
	for _, v := range pcm {
		s := float64(v) + k*s1 - s2
		s2, s1 = s1, s
	}
	return s1*s1 + s2*s2 - k*s1*s2
}

// readStereo parses a 16-bit two-channel WAV into its channels and the
// chunks after the data.
func readStereo(t *testing.T, b []byte) (left, right []int16, tail []byte) {
	t.Helper()
	if string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" || binary.LittleEndian.Uint16(b[22:]) != 2 {
		t.Fatalf("not a stereo WAV: % x", b[:44])
	}
	if got := binary.LittleEndian.Uint32(b[4:]); int(got) != len(b)-8 {
		t.Fatalf("RIFF size %d, file %d", got, len(b))
	}
	n := binary.LittleEndian.Uint32(b[40:])
	data := b[44 : 44+n]
	for i := 0; i+3 < len(data); i += 4 {
		left = append(left, int16(binary.LittleEndian.Uint16(data[i:])))
		right = append(right, int16(binary.LittleEndian.Uint16(data[i+2:])))
	}
	return left, right, b[44+n:]
}

func TestRecordingChannelsAndPause(t *testing.T) {
	s := New(t.TempDir(), slog.Default())
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	r, err := s.Start("call1", t0)
	if err != nil {
		t.Fatal(err)
	}
	// 2 s of audio: caller 440 Hz, agent 1000 Hz; paused from 1.0 to 1.5 s.
	for f := 0; f < 100; f++ {
		now := t0.Add(time.Duration(f+1) * 20 * time.Millisecond)
		switch f {
		case 50:
			if !r.SetPaused(true, now) || r.SetPaused(true, now) {
				t.Fatal("pause should change the state once")
			}
		case 75:
			r.SetPaused(false, now)
		}
		r.Left(media.PCMA, tone(440, f*160))
		r.Right(media.PCMA, tone(1000, f*160))
		if f%5 == 4 {
			r.tick(now)
		}
	}
	info, err := r.Close(t0.Add(2 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if info.Seconds != 2 || len(info.Pauses) != 1 || PauseText(info.Pauses) != "paused 1.0-1.5" {
		t.Fatalf("info %+v", info)
	}
	b, err := os.ReadFile(info.Path)
	if err != nil {
		t.Fatal(err)
	}
	left, right, tail := readStereo(t, b)
	if len(left) != 2*media.SampleRate {
		t.Fatalf("%d frames, want 2 s", len(left))
	}
	first := func(p []int16) []int16 { return p[800:7200] } // 0.1–0.9 s
	if l, r := first(left), first(right); power(l, 440) < 100*power(l, 1000) || power(r, 1000) < 100*power(r, 440) {
		t.Fatalf("channels mixed up: left 440/1000 %.3g/%.3g right %.3g/%.3g", power(l, 440), power(l, 1000), power(r, 440), power(r, 1000))
	}
	for i := 8000 + 400; i < 12000-400; i++ { // the pause, give or take a tick
		if left[i] != 0 || right[i] != 0 {
			t.Fatalf("sample %d not silent in the pause: %d %d", i, left[i], right[i])
		}
	}
	if !bytes.Contains(tail, []byte("LIST")) || !bytes.Contains(tail, []byte("ICMT")) || !bytes.Contains(tail, []byte("paused 1.0-1.5")) {
		t.Fatalf("no pause marker after the data: %q", tail)
	}
	if _, err := r.Close(t0); err == nil {
		t.Fatal("second close should fail")
	}
}

// A recording cut off mid-call (no Close) is still a valid WAV up to its
// last header update.
func TestRecordingPlayableBeforeClose(t *testing.T) {
	s := New(t.TempDir(), slog.Default())
	t0 := time.Now()
	r, err := s.Start("call2", t0)
	if err != nil {
		t.Fatal(err)
	}
	r.Left(media.PCMA, tone(440, 0))
	r.tick(t0.Add(1500 * time.Millisecond)) // past headerEvery: sizes written
	b, err := os.ReadFile(r.Path)
	if err != nil {
		t.Fatal(err)
	}
	left, _, _ := readStereo(t, b)
	if len(left) != 12000 {
		t.Fatalf("%d frames readable, want 1.5 s", len(left))
	}
}

// BenchmarkRecordingSecond is one second of a call recorded: 50 frames a
// side decoded and buffered, and the ticks that write them.
func BenchmarkRecordingSecond(b *testing.B) {
	s := New(b.TempDir(), slog.Default())
	t0 := time.Now()
	r, err := s.Start("bench", t0)
	if err != nil {
		b.Fatal(err)
	}
	frame := tone(440, 0)
	b.ReportAllocs()
	sec := 0
	for b.Loop() {
		for f := 0; f < 50; f++ {
			r.Left(media.PCMA, frame)
			r.Right(media.PCMA, frame)
			if f%5 == 4 {
				r.tick(t0.Add(time.Duration(sec)*time.Second + time.Duration(f+1)*20*time.Millisecond))
			}
		}
		sec++
	}
	b.StopTimer()
	_, _ = r.Close(t0.Add(time.Duration(sec) * time.Second))
}

func TestExpire(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i, age := range []time.Duration{48 * time.Hour, 2 * time.Hour, 72 * time.Hour} {
		path := filepath.Join(dir, fmt.Sprintf("r%d.wav", i))
		if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		queue := "sales"
		if i == 2 {
			queue = "support" // no retention: kept
		}
		if err := st.SaveRecording(ctx, store.Recording{CallID: fmt.Sprint(i), Path: path, Started: now.Add(-age), Queue: queue}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := Expire(ctx, st, map[string]time.Duration{"sales": 24 * time.Hour, "support": 0}, now, slog.Default())
	if err != nil || n != 1 {
		t.Fatalf("expired %d, %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "r0.wav")); !os.IsNotExist(err) {
		t.Fatalf("r0.wav still there: %v", err)
	}
	for id, want := range map[string]bool{"0": false, "1": true, "2": true} {
		if _, err := st.GetRecording(ctx, id); (err == nil) != want {
			t.Errorf("recording %s: %v, want kept %t", id, err, want)
		}
	}
}
