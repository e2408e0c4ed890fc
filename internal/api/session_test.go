package api

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/store"
)

// A browser's session outlives the server: a new server on the same store
// takes the cookie; after logout no server does.
func TestWebSessionSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := &config.Config{Users: []config.User{{Username: "sup", Password: "s", Role: config.RoleSupervisor}}}
	open := func() (*store.Store, *Server) {
		st, err := store.Open(dir, slog.Default())
		if err != nil {
			t.Fatal(err)
		}
		return st, New(cfg, nil, st, slog.Default())
	}
	me := func(srv *Server, c *http.Cookie) int {
		req := httptest.NewRequest("GET", "/api/v1/me", nil)
		req.AddCookie(c)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec.Code
	}
	st, srv := open()
	req := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(`{"username": "sup", "password": "s"}`))
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	cookies := rec.Result().Cookies()
	if rec.Code != 200 || len(cookies) != 1 {
		t.Fatalf("login: %d %v", rec.Code, cookies)
	}
	c := cookies[0]
	st.Close() // the server is gone

	st, srv = open()
	if code := me(srv, c); code != 200 {
		t.Fatalf("the session after a restart: %d", code)
	}
	out := httptest.NewRequest("DELETE", "/api/v1/session", nil)
	out.AddCookie(c)
	srv.ServeHTTP(httptest.NewRecorder(), out)
	st.Close()

	st, srv = open()
	defer st.Close()
	if code := me(srv, c); code != 401 {
		t.Fatalf("the session after logout and a restart: %d", code)
	}
	if code := me(srv, &http.Cookie{Name: sessionCookie, Value: "made-up"}); code != 401 {
		t.Fatalf("a made-up session: %d", code)
	}
}

// The session cookie is Secure when the request came over TLS (with
// server.tls, every one the API sees), and only then: a Secure cookie set
// over plain HTTP would never come back.
func TestSessionCookieSecure(t *testing.T) {
	tests := []struct {
		name       string
		tls        config.HTTPTLS
		overTLS    bool
		wantSecure bool
	}{
		{name: "plain HTTP", wantSecure: false},
		{name: "over HTTPS (server.tls)", tls: config.HTTPTLS{Cert: "c.pem", Key: "k.pem"}, overTLS: true, wantSecure: true},
		{name: "over TLS", overTLS: true, wantSecure: true},
		{name: "server.tls in a setup reloaded while still on plain HTTP", tls: config.HTTPTLS{Cert: "c.pem", Key: "k.pem"}, wantSecure: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &config.Config{Server: config.Server{TLS: tc.tls},
				Users: []config.User{{Username: "sup", Password: "s", Role: config.RoleSupervisor}}}
			srv := New(cfg, nil, nil, slog.Default())
			for _, r := range []*http.Request{
				httptest.NewRequest("POST", "https://pbx.example.com/api/v1/session", strings.NewReader(`{"username": "sup", "password": "s"}`)),
				httptest.NewRequest("DELETE", "https://pbx.example.com/api/v1/session", nil),
			} {
				if !tc.overTLS {
					r.TLS = nil
				}
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, r)
				cookies := rec.Result().Cookies()
				if rec.Code != 200 || len(cookies) != 1 {
					t.Fatalf("%s: %d %v", r.Method, rec.Code, cookies)
				}
				if c := cookies[0]; c.Secure != tc.wantSecure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
					t.Errorf("%s: cookie %s: Secure %v (want %v), HttpOnly %v, SameSite %v", r.Method, c.Name, c.Secure, tc.wantSecure, c.HttpOnly, c.SameSite)
				}
			}
		})
	}
}
