package api

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
)

// GET /api/v1/trunks serves each registration under the field names the
// API has always used.
func TestTrunksJSON(t *testing.T) {
	cfg := &config.Config{Users: []config.User{{Username: "admin", Password: "a", Role: config.RoleAdmin}}}
	srv := New(cfg, nil, &historyStore{}, slog.Default())
	get := func() string {
		req := httptest.NewRequest("GET", "/api/v1/trunks", nil)
		req.SetBasicAuth("admin", "a")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("GET /api/v1/trunks: %d", rec.Code)
		}
		return strings.Join(strings.Fields(rec.Body.String()), "")
	}
	if got := get(); got != "[]" {
		t.Fatalf("without trunks: %s, want []", got)
	}
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	srv.Trunks = func() []TrunkStatus {
		return []TrunkStatus{
			{Name: "carrier", Host: "sip.example.com", Registered: true, ExpiresAt: at, Attempts: 1},
			{Name: "backup", Host: "sip2.example.com", LastError: "403", Attempts: 3},
		}
	}
	want := `[{"name":"carrier","host":"sip.example.com","registered":true,"expires_at":"2026-11-24T09:00:00Z","attempts":1},` +
		`{"name":"backup","host":"sip2.example.com","registered":false,"last_error":"403","attempts":3}]`
	if got := get(); got != want {
		t.Fatalf("trunks:\n got %s\nwant %s", got, want)
	}
}
