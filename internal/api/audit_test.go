package api

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/store"
)

// Logins, staff changes and recording downloads are in the audit log with
// who, from where, what, on what and the result; reading it is for admins.
func TestAuditLog(t *testing.T) {
	st, err := store.Open(t.TempDir(), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := &config.Config{
		Users: []config.User{
			{Username: "admin", Password: "a", Role: config.RoleAdmin},
			{Username: "sup", Password: "s", Role: config.RoleSupervisor},
		},
		Agents: []config.Agent{{Extension: "1001", Password: "x"}},
	}
	srv := New(cfg, nil, st, slog.Default())
	do := func(method, path, user, pass, body string) int {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.RemoteAddr = "192.0.2.5:40000"
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec.Code
	}
	do("POST", "/api/v1/session", "", "", `{"username": "sup", "password": "s"}`)
	do("POST", "/api/v1/session", "", "", `{"username": "sup", "password": "guess"}`)
	do("GET", "/api/v1/me", "admin", "nope", "")
	do("POST", "/api/v1/calls/c-1/queue", "sup", "s", `{"queue": "support", "priority": 5, "token": "t0ps3cret"}`)
	do("GET", "/api/v1/calls/c-1/recording", "1001", "x", "")
	do("POST", "/api/v1/calls/c-1/recording/pause", "1001", "x", "")
	do("GET", "/api/v1/me", "1001", "x", "") // reading is not audited
	if code := do("GET", "/api/v1/audit", "sup", "s", ""); code != 403 {
		t.Fatalf("a supervisor read the audit log: %d", code)
	}

	get := func(query string) []store.AuditEntry {
		t.Helper()
		req := httptest.NewRequest("GET", "/api/v1/audit"+query, nil)
		req.SetBasicAuth("admin", "a")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("GET /api/v1/audit%s: %d %s", query, rec.Code, rec.Body)
		}
		var out []store.AuditEntry
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := get("")
	var actions []string
	for i := len(all) - 1; i >= 0; i-- {
		actions = append(actions, all[i].Actor+" "+all[i].Action)
	}
	want := []string{
		"sup login", "sup login_failed", "admin login_failed",
		"sup POST /api/v1/calls/{id}/queue", "1001 GET /api/v1/calls/{id}/recording",
		"1001 POST /api/v1/calls/{id}/recording/{action}",
	}
	if strings.Join(actions, "|") != strings.Join(want, "|") {
		t.Fatalf("audit log\n%s\nwant\n%s", strings.Join(actions, "\n"), strings.Join(want, "\n"))
	}
	if pause := all[0]; pause.Target != "c-1/pause" {
		t.Fatalf("the pause's entry %+v", pause)
	}
	move := all[2]
	if move.Target != "c-1" || move.Source != "192.0.2.5" || move.Role != "supervisor" || move.Result == 0 ||
		!strings.Contains(move.Detail, `"queue":"support"`) || strings.Contains(move.Detail, "t0ps3cret") {
		t.Fatalf("the move's entry %+v", move)
	}
	if got := get("?actor=sup&action=login"); len(got) != 2 {
		t.Fatalf("filtered: %+v", got)
	}
	if got := get("?limit=1"); len(got) != 1 || got[0].Action != "POST /api/v1/calls/{id}/recording/{action}" {
		t.Fatalf("limit 1: %+v", got)
	}
}
