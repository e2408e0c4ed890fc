package store

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

func TestAuditLogAppendsAndFilters(t *testing.T) {
	st, err := New(testOptions(t), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	entries := []AuditEntry{
		{At: t0, Actor: "admin", Role: "admin", Source: "192.0.2.1", Action: "login", Result: 200},
		{At: t0.Add(time.Minute), Actor: "supervisor", Role: "supervisor", Action: "POST /api/v1/agents/{id}/state", Target: "1001",
			Result: 200, Before: "available", After: "away"},
		{At: t0.Add(2 * time.Minute), Actor: "mallory", Source: "192.0.2.66", Action: "login_failed", Result: 401},
	}
	for _, e := range entries {
		if err := st.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		f    AuditFilter
		want []string // actors, newest first
	}{
		{"all", AuditFilter{}, []string{"mallory", "supervisor", "admin"}},
		{"by actor", AuditFilter{Actor: "supervisor"}, []string{"supervisor"}},
		{"by action prefix", AuditFilter{Action: "login"}, []string{"mallory", "admin"}},
		{"since", AuditFilter{Since: t0.Add(30 * time.Second)}, []string{"mallory", "supervisor"}},
		{"until", AuditFilter{Until: t0.Add(30 * time.Second)}, []string{"admin"}},
		{"limit", AuditFilter{Limit: 1}, []string{"mallory"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := st.AuditLog(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var actors []string
			for _, e := range got {
				actors = append(actors, e.Actor)
			}
			if len(actors) != len(tc.want) {
				t.Fatalf("actors %v, want %v", actors, tc.want)
			}
			for i := range actors {
				if actors[i] != tc.want[i] {
					t.Fatalf("actors %v, want %v", actors, tc.want)
				}
			}
		})
	}
	got, _ := st.AuditLog(ctx, AuditFilter{Actor: "supervisor"})
	if e := got[0]; e.Target != "1001" || e.Before != "available" || e.After != "away" || !e.At.Equal(t0.Add(time.Minute)) {
		t.Fatalf("entry %+v", e)
	}
	// Append-only: the table refuses changes.
	if _, err := st.db.ExecContext(ctx, `UPDATE audit SET actor = 'nobody'`); err == nil {
		t.Fatal("an audit entry was updated")
	}
	if _, err := st.db.ExecContext(ctx, `DELETE FROM audit`); err == nil {
		t.Fatal("audit entries were deleted")
	}
}
