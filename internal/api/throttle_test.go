package api

import (
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
)

// A fake clock for the throttle.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestThrottleBacksOff(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	th := newThrottle(c.now)
	u, a := "user:1001@192.0.2.7", "addr:192.0.2.7"
	for i := 0; i < freeUserFailures; i++ {
		if d := th.wait(u, a); d != 0 {
			t.Fatalf("failure %d: waits %v within the free failures", i, d)
		}
		th.fail(u, a)
	}
	// Each further failure doubles the wait: 1 s, 2 s, 4 s, ...
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		th.fail(u, a)
		if d := th.wait(u, a); d != want {
			t.Fatalf("failure %d over: waits %v, want %v", i+1, d, want)
		}
		c.t = c.t.Add(want)
		if d := th.wait(u, a); d != 0 {
			t.Fatalf("after the wait: still %v", d)
		}
	}
	for i := 0; i < 40; i++ {
		th.fail(u)
	}
	if d := th.wait(u); d != throttleMax {
		t.Fatalf("after many failures: %v, want the cap %v", d, throttleMax)
	}
	if d := th.wait("user:1002@192.0.2.7"); d != 0 {
		t.Fatalf("another user waits %v", d)
	}
	th.ok(u)
	if d := th.wait(u); d != 0 {
		t.Fatalf("after a success: %v", d)
	}
}

func TestThrottleTableIsBounded(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	th := newThrottle(c.now)
	for i := 0; i < throttleKeys+500; i++ {
		th.fail("user:" + strconv.Itoa(i) + "@192.0.2.7")
	}
	if n := len(th.keys); n > throttleKeys {
		t.Fatalf("%d keys, cap %d", n, throttleKeys)
	}
}

func newTestServer() *Server {
	cfg := &config.Config{
		Users:  []config.User{{Username: "admin", Password: "a", Role: config.RoleAdmin}},
		Agents: []config.Agent{{Extension: "1001", Password: "x"}},
	}
	return New(cfg, nil, &historyStore{}, slog.Default())
}

// Wrong passwords over Basic and the login form end in 429 with
// Retry-After, and then even the right password waits.
func TestLoginThrottled(t *testing.T) {
	srv := newTestServer()
	basic := func(pass string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/api/v1/me", nil)
		req.SetBasicAuth("admin", pass)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec
	}
	for i := 0; i < freeUserFailures; i++ {
		if rec := basic("wrong"); rec.Code != 401 {
			t.Fatalf("wrong password %d: %d", i, rec.Code)
		}
	}
	rec := basic("wrong")
	if rec.Code != 401 {
		t.Fatalf("the failure that starts the wait: %d", rec.Code)
	}
	rec = basic("a")
	if rec.Code != 429 || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("right password while throttled: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	form := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(`{"username": "admin", "password": "a"}`))
	form.Header.Set("Content-Type", "application/json")
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, form)
	if rec.Code != 429 {
		t.Fatalf("login form while throttled: %d", rec.Code)
	}
	// The same user from another address is not locked out by the
	// guesser, nor is another user there.
	for _, u := range [][2]string{{"admin", "a"}, {"1001", "x"}} {
		req := httptest.NewRequest("GET", "/api/v1/me", nil)
		req.RemoteAddr = "192.0.2.9:4000"
		req.SetBasicAuth(u[0], u[1])
		rec = httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("%s from another address: %d", u[0], rec.Code)
		}
	}
}

// A state change posted from another site is refused whatever credentials
// the browser attaches; the same request from Switchboard's own pages or
// from a client that is not a browser goes through.
func TestCrossSiteRequestsRefused(t *testing.T) {
	srv := newTestServer()
	tests := []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"cross-site form", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403},
		{"foreign origin, no fetch metadata", map[string]string{"Origin": "https://evil.example"}, 403},
		{"same origin", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"}, 0},
		{"not a browser", nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/api/v1/agents/1001/state", strings.NewReader(`{"state": "away"}`))
			req.SetBasicAuth("admin", "a")
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if tc.want == 403 && rec.Code != 403 {
				t.Fatalf("%d, want 403", rec.Code)
			}
			if tc.want != 403 && rec.Code == 403 {
				t.Fatalf("refused: %s", rec.Body)
			}
		})
	}
}

// A browser is never challenged for Basic (no password dialog over the
// pages); other clients are.
func TestBrowsersAreNotChallengedForBasic(t *testing.T) {
	srv := newTestServer()
	for _, tc := range []struct {
		header, value string
		basic         bool
	}{
		{"Sec-Fetch-Mode", "cors", false},
		{"X-Switchboard-UI", "1", false},
		{"", "", true},
	} {
		req := httptest.NewRequest("GET", "/api/v1/me", nil)
		if tc.header != "" {
			req.Header.Set(tc.header, tc.value)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		got := rec.Header().Get("WWW-Authenticate")
		if rec.Code != 401 || strings.HasPrefix(got, "Basic") != tc.basic {
			t.Fatalf("%s: %d, WWW-Authenticate %q", tc.header, rec.Code, got)
		}
	}
}
