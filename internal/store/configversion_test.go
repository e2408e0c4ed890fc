package store

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// Versions number up from 1, each with its diff from the one before; the
// latest's YAML again makes none; a version is read back exactly.
func TestConfigVersions(t *testing.T) {
	s, err := New(testOptions(t), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	diff := func(old, new string) string { return old + ">" + new }
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	one, err := s.SaveConfigVersion(ctx, ConfigVersion{At: at, Actor: "file", Origin: "start", YAML: "a: 1\n"}, diff)
	if err != nil || one.Version != 1 || one.Diff != "" || one.Node != "test" {
		t.Fatalf("first: %+v %v", one, err)
	}
	two, err := s.SaveConfigVersion(ctx, ConfigVersion{At: at.Add(time.Minute), Actor: "admin", Origin: "apply", YAML: "a: 2\n"}, diff)
	if err != nil || two.Version != 2 || two.Diff != "a: 1\n>a: 2\n" {
		t.Fatalf("second: %+v %v", two, err)
	}
	if same, err := s.SaveConfigVersion(ctx, ConfigVersion{At: at, Actor: "admin", Origin: "apply", YAML: "a: 2\n"}, diff); !errors.Is(err, ErrSameConfig) || same.Version != 2 {
		t.Fatalf("the latest again: %+v %v", same, err)
	}
	list, err := s.ConfigVersions(ctx, 10)
	if err != nil || len(list) != 2 || list[0].Version != 2 || list[0].Actor != "admin" || list[0].YAML != "" || !list[1].At.Equal(at) {
		t.Fatalf("list: %+v %v", list, err)
	}
	got, ok, err := s.ConfigVersionN(ctx, 1)
	if err != nil || !ok || got.YAML != "a: 1\n" || got.Origin != "start" {
		t.Fatalf("version 1: %+v %v %v", got, ok, err)
	}
	if err := s.DeleteConfigVersion(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if l, ok, err := s.LatestConfigVersion(ctx); err != nil || !ok || l.Version != 1 {
		t.Fatalf("latest after the delete: %+v %v %v", l, ok, err)
	}
}
