package api

import (
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/switchboard/switchboard/internal/config"
)

// Each route answers 403 to the roles outside its set and lets the others in.
func TestRouteRoles(t *testing.T) {
	cfg := &config.Config{
		Users: []config.User{
			{Username: "admin", Password: "a", Role: config.RoleAdmin},
			{Username: "sup", Password: "s", Role: config.RoleSupervisor},
		},
		Agents: []config.Agent{{Extension: "1001", Password: "x"}},
	}
	srv := New(cfg, nil, &historyStore{}, slog.Default())
	users := map[string]string{"admin": "a", "sup": "s", "1001": "x"}
	tests := []struct {
		name, path string
		allowed    map[string]bool
	}{
		{"anyone", "/api/v1/me", map[string]bool{"admin": true, "sup": true, "1001": true}},
		{"staff", "/api/v1/stats", map[string]bool{"admin": true, "sup": true}},
		{"admins only", "/api/v1/webhooks/deliveries", map[string]bool{"admin": true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for user, pass := range users {
				req := httptest.NewRequest("GET", tc.path, nil)
				req.SetBasicAuth(user, pass)
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if forbidden := rec.Code == 403; forbidden == tc.allowed[user] {
					t.Errorf("GET %s as %s: %d, allowed %v", tc.path, user, rec.Code, tc.allowed[user])
				}
			}
		})
	}
}
