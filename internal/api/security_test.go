package api

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/security"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// The security routes list a ban, lift it, and are for admins only.
func TestSecurityRoutes(t *testing.T) {
	cfg := &config.Config{Users: []config.User{
		{Username: "admin", Password: "a", Role: config.RoleAdmin},
		{Username: "sup", Password: "s", Role: config.RoleSupervisor},
	}}
	srv := New(cfg, nil, &historyStore{}, slog.Default())
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	g := security.New(security.Settings{BanAfter: 2, BanWindow: time.Minute, BanFor: 10 * time.Minute}, fixedClock{now}, nil)
	attacker := netip.MustParseAddr("127.0.0.9")
	g.Fail(security.Event{Kind: security.KindAuthFailure, Source: attacker})
	g.Fail(security.Event{Kind: security.KindAuthFailure, Source: attacker})

	do := func(user, pass, method, path string, out any) int {
		t.Helper()
		req := httptest.NewRequest(method, path, nil)
		req.SetBasicAuth(user, pass)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if out != nil && rec.Code == 200 {
			if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
				t.Fatalf("%s %s: %v: %s", method, path, err, rec.Body)
			}
		}
		return rec.Code
	}
	if code := do("admin", "a", "GET", "/api/v1/security/bans", nil); code != 404 {
		t.Fatalf("without a guard: %d, want 404", code)
	}
	srv.Security = g

	type ban struct {
		Source string    `json:"source"`
		Until  time.Time `json:"until"`
	}
	tests := []struct {
		name, user, pass, method, path string
		wantCode                       int
		wantBans                       []ban // after the request
	}{
		{"a supervisor may not list", "sup", "s", "GET", "/api/v1/security/bans", 403, []ban{{"127.0.0.9", now.Add(10 * time.Minute)}}},
		{"a supervisor may not lift", "sup", "s", "DELETE", "/api/v1/security/bans/127.0.0.9", 403, []ban{{"127.0.0.9", now.Add(10 * time.Minute)}}},
		{"an admin lists", "admin", "a", "GET", "/api/v1/security/bans", 200, []ban{{"127.0.0.9", now.Add(10 * time.Minute)}}},
		{"not an address", "admin", "a", "DELETE", "/api/v1/security/bans/nowhere", 400, []ban{{"127.0.0.9", now.Add(10 * time.Minute)}}},
		{"not banned", "admin", "a", "DELETE", "/api/v1/security/bans/127.0.0.8", 404, []ban{{"127.0.0.9", now.Add(10 * time.Minute)}}},
		{"an admin lifts", "admin", "a", "DELETE", "/api/v1/security/bans/127.0.0.9", 200, []ban{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code := do(tc.user, tc.pass, tc.method, tc.path, nil); code != tc.wantCode {
				t.Fatalf("%s %s: %d, want %d", tc.method, tc.path, code, tc.wantCode)
			}
			var bans []ban
			if code := do("admin", "a", "GET", "/api/v1/security/bans", &bans); code != 200 {
				t.Fatalf("list: %d", code)
			}
			if len(bans) != len(tc.wantBans) {
				t.Fatalf("bans %+v, want %+v", bans, tc.wantBans)
			}
			for i := range bans {
				if bans[i].Source != tc.wantBans[i].Source || !bans[i].Until.Equal(tc.wantBans[i].Until) {
					t.Fatalf("bans %+v, want %+v", bans, tc.wantBans)
				}
			}
		})
	}

	var events struct {
		Counts map[string]int
		Recent []struct{ Kind, Source string }
	}
	if code := do("admin", "a", "GET", "/api/v1/security/events", &events); code != 200 {
		t.Fatalf("events: %d", code)
	}
	if events.Counts["auth_failure"] != 2 || events.Counts["ban"] != 1 || events.Counts["unban"] != 1 || len(events.Recent) != 4 ||
		events.Recent[2].Kind != "ban" || events.Recent[2].Source != "127.0.0.9" {
		t.Fatalf("events %+v", events)
	}
}
