package sip

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// Binding is where a registered user's phone can be reached.
type Binding struct {
	User      string
	Contact   gosip.Uri
	Source    string
	Transport string
	Expires   time.Time
}

type registrar struct {
	mu       sync.Mutex
	bindings map[string]Binding
	min, max time.Duration
	now      func() time.Time
}

func newRegistrar(min, max time.Duration) *registrar {
	return &registrar{bindings: map[string]Binding{}, min: min, max: max, now: time.Now}
}

func (r *registrar) lookup(user string) (Binding, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.bindings[user]
	if ok && r.now().After(b.Expires) {
		return Binding{}, false
	}
	return b, ok
}

// set stores or removes a binding; it reports whether the user's
// registered-ness changed.
func (r *registrar) set(user string, b *Binding) (changed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, had := r.bindings[user]
	if b == nil {
		delete(r.bindings, user)
		return had
	}
	r.bindings[user] = *b
	return !had
}

// expire removes bindings past their time and returns their users.
func (r *registrar) expire() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	var gone []string
	for u, b := range r.bindings {
		if now.After(b.Expires) {
			delete(r.bindings, u)
			gone = append(gone, u)
		}
	}
	return gone
}

func (r *registrar) all() []Binding {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Binding, 0, len(r.bindings))
	for _, b := range r.bindings {
		out = append(out, b)
	}
	return out
}

// Registrations lists current bindings.
func (s *Server) Registrations() []Binding { return s.reg.all() }

// Registered returns a user's binding.
func (s *Server) Registered(user string) (Binding, bool) { return s.reg.lookup(user) }

func (s *Server) sweepRegistrations(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, u := range s.reg.expire() {
				s.log.Info("registration expired", "user", u)
				s.handler.Registration(u, false)
			}
		}
	}
}

func (s *Server) onRegister(req *gosip.Request, tx gosip.ServerTransaction) {
	s.metrics.request("REGISTER")
	if s.dropBanned(req) || s.overRate(req, rateRegister) {
		return
	}
	user, err := s.auth.verifyRequest(req)
	if err != nil {
		s.challengeOrForbid(req, tx, err, user)
		return
	}
	to := req.To()
	if to == nil || to.Address.User != user {
		s.respond(req, tx, 403, "Forbidden", "authenticated user does not own the address of record")
		return
	}
	contacts := req.GetHeaders("Contact")
	expires, err := requestedExpiry(req)
	if err != nil {
		s.respond(req, tx, 400, "Bad Request", err.Error())
		return
	}
	if len(contacts) == 0 { // a query: answer with the current binding
		res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
		if b, ok := s.reg.lookup(user); ok {
			res.AppendHeader(gosip.NewHeader("Contact", fmt.Sprintf("<%s>;expires=%d", b.Contact.String(), int(time.Until(b.Expires).Seconds()))))
		}
		s.send(tx, res)
		return
	}
	c, ok := contacts[0].(*gosip.ContactHeader)
	if !ok {
		s.respond(req, tx, 400, "Bad Request", "unreadable Contact")
		return
	}
	if v, ok := c.Params.Get("expires"); ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			expires = time.Duration(n) * time.Second
		}
	}
	if c.Address.Wildcard {
		if expires != 0 {
			s.respond(req, tx, 400, "Bad Request", "Contact: * needs Expires: 0")
			return
		}
		s.unregister(user)
		s.send(tx, gosip.NewResponseFromRequest(req, 200, "OK", nil))
		return
	}
	if expires == 0 {
		s.unregister(user)
		s.send(tx, gosip.NewResponseFromRequest(req, 200, "OK", nil))
		return
	}
	if expires < s.reg.min {
		res := gosip.NewResponseFromRequest(req, 423, "Interval Too Brief", nil)
		res.AppendHeader(gosip.NewHeader("Min-Expires", strconv.Itoa(int(s.reg.min.Seconds()))))
		s.send(tx, res)
		return
	}
	expires = min(expires, s.reg.max)
	transport := "udp"
	if t, ok := c.Address.UriParams.Get("transport"); ok && t != "" {
		transport = strings.ToLower(t)
	} else if req.Transport() != "" {
		transport = strings.ToLower(req.Transport())
	}
	b := &Binding{User: user, Contact: *c.Address.Clone(), Source: req.Source(), Transport: transport, Expires: s.reg.now().Add(expires)}
	s.conns.vouch(req.Source()) // a registered phone's connection may stay quiet between refreshes
	if s.reg.set(user, b) {
		s.log.Info("registered", "user", user, "contact", c.Address.String(), "expires", expires)
		s.handler.Registration(user, true)
	}
	res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(gosip.NewHeader("Contact", fmt.Sprintf("<%s>;expires=%d", c.Address.String(), int(expires.Seconds()))))
	s.send(tx, res)
}

func (s *Server) unregister(user string) {
	if s.reg.set(user, nil) {
		s.log.Info("unregistered", "user", user)
		s.handler.Registration(user, false)
	}
}

func requestedExpiry(req *gosip.Request) (time.Duration, error) {
	h := req.GetHeader("Expires")
	if h == nil {
		return time.Hour, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(h.Value()))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("header Expires: %q is not a number of seconds", h.Value())
	}
	return time.Duration(n) * time.Second, nil
}

// challengeOrForbid answers a request whose authentication failed, and
// tells the guard of a failure. No credentials, a stale or replayed nonce:
// a fresh challenge. Wrong credentials — a wrong password and an unknown
// user alike, so extensions cannot be enumerated — a fresh challenge too
// for REGISTER, which is how phones and guessers alike probe; 403 for an
// INVITE. Either way the failure is a security event, and no call record.
func (s *Server) challengeOrForbid(req *gosip.Request, tx gosip.ServerTransaction, err error, user string) {
	s.failed(req, err, user)
	stale := errors.Is(err, ErrStaleNonce)
	if !errors.Is(err, ErrNoCredentials) && !stale {
		// The guard logs each failure as a security event; this is detail.
		s.log.Debug("authentication failed", "method", req.Method.String(), "user", user, "source", req.Source(), "err", err)
	}
	if errors.Is(err, ErrNoCredentials) || stale || req.Method == gosip.REGISTER {
		res := gosip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
		res.AppendHeader(gosip.NewHeader("WWW-Authenticate", s.auth.challenge(stale)))
		s.send(tx, res)
		return
	}
	s.respond(req, tx, 403, "Forbidden", "")
}

func headerValue(req *gosip.Request, name string) string {
	if h := req.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}
