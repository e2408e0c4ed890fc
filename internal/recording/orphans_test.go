package recording

import (
	"context"
	"encoding/binary"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/store"
)

// memIndex is an in-memory recording index with call records.
type memIndex struct {
	recs  map[string]store.Recording
	calls map[string]store.CallRecord
}

func (m *memIndex) GetRecording(_ context.Context, id string) (store.Recording, error) {
	if r, ok := m.recs[id]; ok {
		return r, nil
	}
	return store.Recording{}, store.ErrNotFound
}

func (m *memIndex) GetCall(_ context.Context, id string) (store.CallRecord, []store.Event, error) {
	if c, ok := m.calls[id]; ok {
		return c, nil, nil
	}
	return store.CallRecord{}, nil, store.ErrNotFound
}

func (m *memIndex) SaveRecording(_ context.Context, r store.Recording) error {
	m.recs[r.CallID] = r
	return nil
}

func TestIndexOrphans(t *testing.T) {
	dir := t.TempDir()
	day := filepath.Join(dir, "2026", "11", "24")
	if err := os.MkdirAll(day, 0o750); err != nil {
		t.Fatal(err)
	}
	connected := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	// killed: the header says 1 s of data, the file holds 2.5 s.
	killed := append(media.WAVHeader(2, 0), make([]byte, 4*media.SampleRate*5/2)...)
	binary.LittleEndian.PutUint32(killed[40:], 4*media.SampleRate)
	write := func(name string, b []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(day, name), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	write("killed.wav", killed)
	write("indexed.wav", killed)
	write("notes.txt", []byte("not a recording"))
	write("broken.wav", []byte("RIFF"))
	// closed normally (with a pause chunk after the data) but never indexed.
	svc := New(dir, slog.Default())
	rec, err := svc.Start("closed", connected)
	if err != nil {
		t.Fatal(err)
	}
	rec.SetPaused(true, connected.Add(time.Second))
	if _, err := rec.Close(connected.Add(3 * time.Second)); err != nil {
		t.Fatal(err)
	}

	idx := &memIndex{recs: map[string]store.Recording{"indexed": {CallID: "indexed", Seconds: 99}},
		calls: map[string]store.CallRecord{"killed": {ID: "killed", Queue: "sales", ConnectedAt: &connected}}}
	n, err := IndexOrphans(context.Background(), dir, idx, slog.Default())
	if err != nil || n != 2 {
		t.Fatalf("indexed %d, %v; want 2", n, err)
	}
	tests := []struct {
		call    string
		seconds float64
		queue   string
		started time.Time
	}{
		{"killed", 2.5, "sales", connected},
		{"closed", 3, "", time.Time{}},
		{"indexed", 99, "", time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.call, func(t *testing.T) {
			r, ok := idx.recs[tc.call]
			if !ok || r.Seconds != tc.seconds || r.Queue != tc.queue || (!tc.started.IsZero() && !r.Started.Equal(tc.started)) {
				t.Fatalf("index %+v (%v), want %v s in queue %q", r, ok, tc.seconds, tc.queue)
			}
		})
	}
	// The killed file's header now covers all its audio.
	b, err := os.ReadFile(filepath.Join(day, "killed.wav"))
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint32(b[40:]); int(got) != len(b)-44 || int(binary.LittleEndian.Uint32(b[4:])) != len(b)-8 {
		t.Fatalf("header data size %d, file data %d", got, len(b)-44)
	}
	if _, ok := idx.recs["broken"]; ok {
		t.Error("a broken file was indexed")
	}
	if n, err := IndexOrphans(context.Background(), filepath.Join(dir, "nope"), idx, slog.Default()); n != 0 || err != nil {
		t.Errorf("missing dir: %d %v", n, err)
	}
}
