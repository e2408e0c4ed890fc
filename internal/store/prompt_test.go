package store

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// Prompts are saved, replaced, listed with their length (and their audio
// only when asked), read back byte for byte and removed; markers are kept
// and replaced; a stale base refuses a version.
func TestPromptsAndMarkers(t *testing.T) {
	s, err := New(testOptions(t), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	wav := append(make([]byte, 44), bytes.Repeat([]byte{1, 2}, 4000)...) // 0.5 s at 8 kHz, 16-bit
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	if err := s.SavePrompt(ctx, Prompt{Name: "hello", WAV: []byte("old"), Format: "mp3", At: at, Actor: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SavePrompt(ctx, Prompt{Name: "hello", WAV: wav, Format: "wav", At: at, Actor: "b"}); err != nil {
		t.Fatal(err)
	}
	list, err := s.Prompts(ctx, false)
	if err != nil || len(list) != 1 || list[0].WAV != nil || list[0].Seconds != 0.5 || list[0].Actor != "b" || !list[0].At.Equal(at) {
		t.Fatalf("list: %+v %v", list, err)
	}
	if full, err := s.Prompts(ctx, true); err != nil || !bytes.Equal(full[0].WAV, wav) {
		t.Fatalf("list with audio: %v", err)
	}
	if p, ok, err := s.PromptN(ctx, "hello"); err != nil || !ok || !bytes.Equal(p.WAV, wav) || p.Format != "wav" {
		t.Fatalf("read: %v %v", ok, err)
	}
	if found, err := s.DeletePrompt(ctx, "hello"); err != nil || !found {
		t.Fatalf("delete: %v %v", found, err)
	}
	if found, _ := s.DeletePrompt(ctx, "hello"); found {
		t.Fatal("deleted twice")
	}
	if v, err := s.Marker(ctx, "m"); err != nil || v != "" {
		t.Fatalf("no marker: %q %v", v, err)
	}
	for _, v := range []string{"one", "two"} {
		if err := s.SaveMarker(ctx, "m", v); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := s.Marker(ctx, "m"); err != nil || v != "two" {
		t.Fatalf("marker: %q %v", v, err)
	}
	diff := func(old, new string) string { return "" }
	one, _ := s.SaveConfigVersion(ctx, ConfigVersion{At: at, Actor: "a", Origin: "start", YAML: "a: 1\n"}, diff)
	if _, err := s.SaveConfigVersion(ctx, ConfigVersion{At: at, Actor: "a", Origin: "apply", YAML: "a: 2\n", Base: one.Version}, diff); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveConfigVersion(ctx, ConfigVersion{At: at, Actor: "b", Origin: "apply", YAML: "a: 3\n", Base: one.Version}, diff); !errors.Is(err, ErrStaleConfig) {
		t.Fatalf("a stale base: %v", err)
	}
}
