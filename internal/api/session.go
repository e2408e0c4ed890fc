package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/store"
)

// sessionCookie carries a browser's session.
const sessionCookie = "sb_session"

// sessionTTL is how long a session lasts without use.
const sessionTTL = 12 * time.Hour

// sessions are the web UI's logins: in memory, and, with a keeper (the
// store), written through so a restart — even kill -9 — keeps browsers
// logged in. Only a hash of each cookie is kept, in memory and on disk.
type sessions struct {
	mu     sync.Mutex
	byHash map[string]session
	// verified caches bcrypt checks (sha256 of user and password → until),
	// so HTTP Basic with a hashed password costs one bcrypt a minute, not one a request.
	verified map[[32]byte]time.Time
	keep     SessionKeeper
	log      *slog.Logger
}

// SessionKeeper keeps web sessions across restarts (the store is one).
type SessionKeeper interface {
	SaveSession(ctx context.Context, ws store.WebSession) error
	DeleteSession(ctx context.Context, hash string) error
	Sessions(ctx context.Context, now time.Time) ([]store.WebSession, error)
}

type session struct {
	user    string
	expires time.Time
	saved   time.Time // the expiry the keeper has
}

// sessionResave is how far a session's expiry may slide before the
// keeper is told.
const sessionResave = time.Hour

func newSessions() *sessions {
	return &sessions{byHash: map[string]session{}, verified: map[[32]byte]time.Time{}, log: slog.Default()}
}

func sessionHash(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// restore loads the keeper's sessions.
func (ss *sessions) restore(keep SessionKeeper, log *slog.Logger) {
	ss.keep, ss.log = keep, log
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kept, err := keep.Sessions(ctx, time.Now())
	if err != nil {
		log.Error("api: web sessions not restored", "err", err)
		return
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, ws := range kept {
		ss.byHash[ws.Hash] = session{user: ws.User, expires: ws.Expires, saved: ws.Expires}
	}
}

func (ss *sessions) save(h string, s session) {
	if ss.keep == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ss.keep.SaveSession(ctx, store.WebSession{Hash: h, User: s.user, Expires: s.expires}); err != nil {
		ss.log.Error("api: web session not kept", "user", s.user, "err", err)
	}
}

func (ss *sessions) create(user string) string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	h := sessionHash(id)
	now := time.Now()
	s := session{user: user, expires: now.Add(sessionTTL)}
	s.saved = s.expires
	ss.mu.Lock()
	for k, v := range ss.byHash { // drop expired sessions
		if now.After(v.expires) {
			delete(ss.byHash, k)
		}
	}
	ss.byHash[h] = s
	ss.mu.Unlock()
	ss.save(h, s)
	return id
}

func (ss *sessions) user(id string) (string, bool) {
	h := sessionHash(id)
	ss.mu.Lock()
	s, ok := ss.byHash[h]
	if !ok || time.Now().After(s.expires) {
		delete(ss.byHash, h)
		ss.mu.Unlock()
		return "", false
	}
	s.expires = time.Now().Add(sessionTTL)
	resave := s.expires.Sub(s.saved) > sessionResave
	if resave {
		s.saved = s.expires
	}
	ss.byHash[h] = s
	ss.mu.Unlock()
	if resave {
		ss.save(h, s)
	}
	return s.user, true
}

func (ss *sessions) drop(id string) {
	h := sessionHash(id)
	ss.mu.Lock()
	delete(ss.byHash, h)
	ss.mu.Unlock()
	if ss.keep != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ss.keep.DeleteSession(ctx, h); err != nil {
			ss.log.Error("api: web session not deleted", "err", err)
		}
	}
}

// checkPassword compares a password with a principal's: bcrypt when the
// setup gives a password_hash, the digest HA1 of the password when it
// gives an agent's password_ha1, else constant-time equality.
func (s *Server) checkPassword(p principal, user, pass string) bool {
	if p.ha1 != "" {
		ha1 := config.DigestHA1(p.name, s.config().Server.Realm, pass)
		return subtle.ConstantTimeCompare([]byte(ha1), []byte(p.ha1)) == 1
	}
	if p.hash == nil {
		return subtle.ConstantTimeCompare([]byte(pass), []byte(p.password)) == 1
	}
	key := sha256.Sum256([]byte(user + "\x00" + pass))
	now := time.Now()
	s.sessions.mu.Lock()
	until, ok := s.sessions.verified[key]
	s.sessions.mu.Unlock()
	if ok && now.Before(until) {
		return true
	}
	if bcrypt.CompareHashAndPassword(p.hash, []byte(pass)) != nil {
		return false
	}
	s.sessions.mu.Lock()
	if len(s.sessions.verified) > 10000 {
		clear(s.sessions.verified)
	}
	s.sessions.verified[key] = now.Add(time.Minute)
	s.sessions.mu.Unlock()
	return true
}

var errLogin = errors.New("wrong username or password")

// login checks credentials and opens a session: POST /api/v1/session
// {"username", "password"}; the session is an HttpOnly cookie.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := decodeBody(w, r, &body, 4096); err != nil {
		badBody(w, `body: want {"username": ..., "password": ...}`, err)
		return
	}
	keys := []string{userKey(body.Username, r), addrKey(r)}
	if d := s.throttle.wait(keys...); d > 0 {
		s.log.Info("web login throttled", "user", body.Username, "source", r.RemoteAddr, "retry_after_s", retrySeconds(d))
		writeThrottled(w, &throttledError{Retry: d})
		return
	}
	p, ok := s.user(body.Username)
	if !ok || !s.checkPassword(p, body.Username, body.Password) {
		s.throttle.fail(keys...)
		s.log.Info("web login refused", "user", body.Username, "source", r.RemoteAddr)
		s.record(store.AuditEntry{Actor: body.Username, Source: sourceIP(r), Action: "login_failed", Result: 401, Detail: "web login"})
		writeError(w, 401, errLogin.Error())
		return
	}
	s.throttle.ok(keys...)
	id := s.sessions.create(p.name)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		MaxAge: int(sessionTTL.Seconds()), Secure: secureCookies(r)})
	s.log.Info("web login", "user", p.name, "role", p.role)
	s.record(store.AuditEntry{Actor: p.name, Role: p.role, Source: sourceIP(r), Action: "login", Result: 200, Detail: "web login"})
	writeJSON(w, 200, map[string]string{"username": p.name, "role": p.role})
}

// logout ends the browser's session: DELETE /api/v1/session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.drop(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: secureCookies(r)})
	writeJSON(w, 200, map[string]string{"status": "logged out"})
}

// secureCookies reports whether the session cookie is sent only over
// HTTPS: when the request came over TLS. With server.tls every request the
// API sees does (plain HTTP only redirects); the request, not the setup,
// decides, so a reloaded setup that adds server.tls (applied at the next
// start) does not send a plain-HTTP browser a cookie it would never return.
func secureCookies(r *http.Request) bool { return r.TLS != nil }
