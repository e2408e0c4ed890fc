package recording

import (
	"context"
	"encoding/binary"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/store"
)

// A recording cut by a kill — written for a while, never closed — is
// indexed at the next start and parses as a WAV: RIFF and data sizes match
// the file, the data is whole sample frames, and it holds at least the
// audio up to the last header update (what was still buffered is lost).
func TestRecordingCutByAKillIsIndexedAndPlayable(t *testing.T) {
	tests := []struct {
		name string
		// ticks are the writer's ticks, as offsets from the start; the
		// process dies after the last.
		ticks       []time.Duration
		wantSeconds float64 // at least
	}{
		{"killed right after the start", nil, 0},
		{"killed between header updates", steps(100*time.Millisecond, 2950*time.Millisecond), 2},
		{"killed after late ticks", []time.Duration{700 * time.Millisecond, 1900 * time.Millisecond, 3200 * time.Millisecond, 3900 * time.Millisecond}, 3.2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			started := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
			svc := New(dir, slog.Default())
			rec, err := svc.Start("killed", started)
			if err != nil {
				t.Fatal(err)
			}
			frame := make([]byte, media.FrameSamples)
			for i := range frame {
				frame[i] = byte(i)
			}
			for _, at := range tc.ticks {
				for range 5 { // 100 ms of audio each side
					rec.Left(media.PCMU, frame)
					rec.Right(media.PCMA, frame)
				}
				rec.tick(started.Add(at))
			}
			// The process dies here: no Close, nothing more flushed. (The
			// file stays open in this test process; a killed one's would not.)

			connected := started.Add(-time.Second)
			idx := &memIndex{recs: map[string]store.Recording{},
				calls: map[string]store.CallRecord{"killed": {ID: "killed", Queue: "support", ConnectedAt: &connected}}}
			n, err := IndexOrphans(context.Background(), dir, idx, slog.Default())
			if err != nil || n != 1 {
				t.Fatalf("indexed %d, %v; want 1", n, err)
			}
			r := idx.recs["killed"]
			if r.Queue != "support" || r.Path != rec.Path || r.Seconds < tc.wantSeconds {
				t.Fatalf("index %+v; want queue support, %s, at least %v s", r, rec.Path, tc.wantSeconds)
			}
			b, err := os.ReadFile(rec.Path)
			if err != nil {
				t.Fatal(err)
			}
			le := binary.LittleEndian
			if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" || string(b[36:40]) != "data" {
				t.Fatalf("not a WAV: % x", b[:min(len(b), 44)])
			}
			riff, data := int(le.Uint32(b[4:])), int(le.Uint32(b[40:]))
			if riff != len(b)-8 || data != len(b)-44 || data%4 != 0 || le.Uint16(b[22:]) != 2 || le.Uint32(b[24:]) != media.SampleRate {
				t.Fatalf("file %d bytes: RIFF size %d, data size %d, %d channels at %d Hz", len(b), riff, data, le.Uint16(b[22:]), le.Uint32(b[24:]))
			}
			if got := float64(data/4) / media.SampleRate; got != r.Seconds {
				t.Fatalf("the index says %v s, the data holds %v s", r.Seconds, got)
			}
		})
	}
}

// steps are the offsets every, 2·every, … up to last.
func steps(every, last time.Duration) []time.Duration {
	var out []time.Duration
	for at := every; at <= last; at += every {
		out = append(out, at)
	}
	return out
}
