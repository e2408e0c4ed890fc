package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchboard/switchboard/internal/config"
)

func TestForwardable(t *testing.T) {
	for _, tc := range []struct {
		pattern       string
		ok, recording bool
	}{
		{"POST /api/v1/calls/{id}/hold", true, false},
		{"DELETE /api/v1/calls/{id}/conference/{party}", true, false},
		{"GET /api/v1/calls/{id}/recording", true, true},
		{"POST /api/v1/calls/{id}/recording/{action}", true, false},
		{"GET /api/v1/calls/{id}", false, false},
		{"POST /api/v1/calls/{id}/disposition", false, false},
		{"POST /api/v1/calls/{id}/score", false, false},
		{"POST /api/v1/calls/click-to-call", false, false},
		{"GET /api/v1/calls", false, false},
		{"POST /api/v1/agents/{id}/state", false, false},
	} {
		if ok, rec := forwardable(tc.pattern); ok != tc.ok || rec != tc.recording {
			t.Errorf("%s: %v %v, want %v %v", tc.pattern, ok, rec, tc.ok, tc.recording)
		}
	}
}

// keyForwarder accepts the key "k" and holds no call elsewhere.
type keyForwarder struct{}

func (keyForwarder) Holder(context.Context, string, bool) (string, bool) { return "", false }
func (keyForwarder) Authorize(r *http.Request)                           { r.Header.Set("Authorization", "Bearer k") }
func (keyForwarder) Authorized(r *http.Request) bool {
	return r.Header.Get("Authorization") == "Bearer k"
}

// A request that names a forwarded user is that user's only with the
// cluster's key; without it, or for a user the setup lacks, it is 401.
func TestForwardedUserNeedsTheClusterKey(t *testing.T) {
	cfg := &config.Config{Users: []config.User{{Username: "admin", Password: "a", Role: config.RoleAdmin}}}
	srv := New(cfg, nil, &historyStore{}, slog.Default())
	srv.SetForwarder(keyForwarder{})
	for _, tc := range []struct {
		name, user, auth string
		want             int
	}{
		{"with the key", "admin", "Bearer k", 200},
		{"without", "admin", "", 401},
		{"a wrong key", "admin", "Bearer x", 401},
		{"an unknown user", "mallory", "Bearer k", 401},
	} {
		req := httptest.NewRequest("GET", "/api/v1/me", nil)
		req.Header.Set(forwardedUser, tc.user)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, rec.Code, tc.want)
		}
	}
}
