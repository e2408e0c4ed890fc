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
	// Path is the REGISTER's Path (RFC 3327): the proxies it came through,
	// the first one nearest, each a name-addr as received. A request to
	// the phone is routed through them (Route), first to last.
	Path []string
}

// BindingStore keeps bindings across restarts (the node adapts the store):
// the registrar writes a binding on every REGISTER that sets or refreshes
// it and deletes it on unregister and expiry, before it answers, so a
// binding the phone was told of survives a kill. Version orders the writes
// of one user: the store must ignore a write older than what it holds.
type BindingStore interface {
	SaveBinding(ctx context.Context, b StoredBinding) error
	DeleteBinding(ctx context.Context, user string, version int64) error
	// LoadBindings returns the bindings not expired at now.
	LoadBindings(ctx context.Context, now time.Time) ([]StoredBinding, error)
}

// SharedBindings is a BindingStore other nodes write too (a shared
// database): a phone registered with any of them is found in it.
type SharedBindings interface {
	BindingStore
	// LookupBinding returns a user's binding if one is stored that has
	// not expired at now, whichever node wrote it.
	LookupBinding(ctx context.Context, user string, now time.Time) (StoredBinding, bool, error)
}

// StoredBinding is a Binding as a BindingStore keeps it.
type StoredBinding struct {
	User string
	// Contact is the Contact URI as text.
	Contact, Source, Transport string
	Expires                    time.Time
	Version                    int64
	// Path is Binding.Path, one entry per line.
	Path string
}

func (b Binding) stored(version int64) StoredBinding {
	return StoredBinding{User: b.User, Contact: b.Contact.String(), Source: b.Source, Transport: b.Transport,
		Expires: b.Expires, Version: version, Path: strings.Join(b.Path, "\n")}
}

func (sb StoredBinding) binding() (Binding, error) {
	var contact gosip.Uri
	if err := gosip.ParseUri(sb.Contact, &contact); err != nil {
		return Binding{}, fmt.Errorf("contact %q: %w", sb.Contact, err)
	}
	b := Binding{User: sb.User, Contact: contact, Source: sb.Source, Transport: sb.Transport, Expires: sb.Expires}
	if sb.Path != "" {
		b.Path = strings.Split(sb.Path, "\n")
	}
	return b, nil
}

// bindingReadTimeout bounds one lookup of a binding in a shared store.
const bindingReadTimeout = 2 * time.Second

// bindingWriteTimeout bounds one write of a binding to its store.
const bindingWriteTimeout = 5 * time.Second

type registrar struct {
	mu       sync.Mutex
	bindings map[string]Binding
	min, max time.Duration
	now      func() time.Time
	// keep, when set (RestoreRegistrations), is told every change;
	// version numbers the changes: the time of the change in nanoseconds,
	// or one above the last when the clock did not move, so that the
	// writes of several nodes to a shared store are ordered as they
	// happened.
	keep    BindingStore
	version int64
	// shared, when set (ShareRegistrations), is where a phone registered
	// with another node is found.
	shared SharedBindings
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

// change is one change of a binding, numbered, for the binding store
// (keep nil: nothing to write).
type change struct {
	keep    BindingStore
	user    string
	b       *Binding // nil: removed
	version int64
}

// set stores or removes a binding; it reports whether the user's
// registered-ness changed, and the change to persist (none without a
// store, or when nothing was removed).
func (r *registrar) set(user string, b *Binding) (changed bool, ch change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, had := r.bindings[user]
	if b == nil {
		delete(r.bindings, user)
		changed = had
	} else {
		r.bindings[user] = *b
		changed = !had
	}
	if r.keep != nil && (b != nil || had) {
		ch = change{keep: r.keep, user: user, b: b, version: r.nextVersion()}
	}
	return changed, ch
}

// expire removes bindings past their time and returns their users. The
// store is not told: an expired binding is no binding there either (its
// expiry is stored), and on a shared store the row may meanwhile be the
// phone's newer binding made through another node.
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

// nextVersion numbers a change (under r.mu).
func (r *registrar) nextVersion() int64 {
	r.version = max(r.version+1, r.now().UnixNano())
	return r.version
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

// persist writes a change to the binding store (never under r.mu). A
// failure is logged: the phone stays registered here, only a restart
// would forget it.
func (s *Server) persist(ch change) {
	keep := ch.keep
	if keep == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), bindingWriteTimeout)
	defer cancel()
	var err error
	if ch.b == nil {
		err = keep.DeleteBinding(ctx, ch.user, ch.version)
	} else {
		err = keep.SaveBinding(ctx, ch.b.stored(ch.version))
	}
	if err != nil {
		s.log.Error("registration not kept for a restart", "user", ch.user, "err", err)
	}
}

// RestoreRegistrations makes registrations survive restarts. It loads the
// bindings keep holds that have not expired, each as its phone's REGISTER
// had set it — the handler is told the user registered, as on a REGISTER,
// so the agent's phone is reachable again — and from then on writes every
// change of a binding to keep. It is to be called once, before Run; it
// returns how many bindings it restored. A stored binding whose Contact
// does not parse is logged and skipped.
func (s *Server) RestoreRegistrations(ctx context.Context, keep BindingStore) (int, error) {
	r := s.reg
	now := r.now()
	stored, err := keep.LoadBindings(ctx, now)
	if err != nil {
		// What cannot be read is lost, but what registers from now on is kept.
		r.mu.Lock()
		r.keep = keep
		r.version = max(r.version, now.UnixNano())
		r.mu.Unlock()
		return 0, fmt.Errorf("sip: restore registrations: %w", err)
	}
	var restored []string
	r.mu.Lock()
	r.keep = keep
	r.version = max(r.version, now.UnixNano())
	for _, sb := range stored {
		r.version = max(r.version, sb.Version)
		b, err := sb.binding()
		if err != nil {
			s.log.Warn("stored registration not restored: its contact does not parse", "user", sb.User, "err", err)
			continue
		}
		if _, had := r.bindings[sb.User]; had || !sb.Expires.After(now) {
			continue
		}
		r.bindings[sb.User] = b
		restored = append(restored, sb.User)
	}
	r.mu.Unlock()
	for _, u := range restored {
		s.log.Info("registration restored", "user", u)
		s.handler.Registration(u, true)
	}
	return len(restored), nil
}

// ShareRegistrations makes the registrar look for phones in a store that
// other nodes write too: a user with no binding here, or one refreshed
// through another node since, is found there. Call it once, before Run,
// with the store RestoreRegistrations was given.
func (s *Server) ShareRegistrations(shared SharedBindings) {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	s.reg.shared = shared
}

// ShareNonces checks digest nonce uses in a store other nodes share (with
// Config.NonceKey the same for all): an Authorization used with one node
// cannot be replayed to another. Call it once, before Run.
func (s *Server) ShareNonces(n NonceStore) { s.auth.shared = n }

// Registrations lists the bindings of phones registered with this node.
func (s *Server) Registrations() []Binding { return s.reg.all() }

// Registered returns a user's binding: where the phone can be reached
// from this node (through the proxies of its Path), whichever node it
// registered with.
func (s *Server) Registered(user string) (Binding, bool) { return s.binding(user) }

// binding looks a user's phone up: here, and with ShareRegistrations in
// the shared store, whose binding is the latest written by any node (none
// there: none, whatever this node had). When the store cannot answer,
// this node's own binding is used.
func (s *Server) binding(user string) (Binding, bool) {
	local, ok := s.reg.lookup(user)
	s.reg.mu.Lock()
	shared := s.reg.shared
	s.reg.mu.Unlock()
	if shared == nil {
		return local, ok
	}
	ctx, cancel := context.WithTimeout(context.Background(), bindingReadTimeout)
	defer cancel()
	sb, found, err := shared.LookupBinding(ctx, user, s.reg.now())
	if err != nil {
		s.log.Warn("registration lookup in the shared store failed; using this node's", "user", user, "err", err)
		return local, ok
	}
	if !found {
		return Binding{}, false // the store decides: the phone unregistered, maybe through another node
	}
	b, err := sb.binding()
	if err != nil {
		s.log.Warn("shared registration unusable: its contact does not parse", "user", user, "err", err)
		return local, ok
	}
	return b, true
}

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
		if b, ok := s.binding(user); ok {
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
	var path []string
	if s.fromProxy(req) { // a Path only from the proxies in front: anyone else's would steer our requests
		path = pathOf(req)
	}
	transport := "udp"
	if t, ok := c.Address.UriParams.Get("transport"); ok && t != "" && len(path) == 0 {
		transport = strings.ToLower(t)
	} else if req.Transport() != "" {
		// Through proxies: the phone is reached the way the proxy reached us.
		transport = strings.ToLower(req.Transport())
	}
	b := &Binding{User: user, Contact: *c.Address.Clone(), Source: req.Source(), Transport: transport, Expires: s.reg.now().Add(expires), Path: path}
	s.conns.vouch(req.Source()) // a registered phone's connection may stay quiet between refreshes
	changed, ch := s.reg.set(user, b)
	s.persist(ch) // before the answer: what the phone is told survives a kill
	if changed {
		s.log.Info("registered", "user", user, "contact", c.Address.String(), "expires", expires)
		s.handler.Registration(user, true)
	}
	res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(gosip.NewHeader("Contact", fmt.Sprintf("<%s>;expires=%d", c.Address.String(), int(expires.Seconds()))))
	for _, p := range path { // RFC 3327 §5.3: the registrar returns the Path it stored
		res.AppendHeader(gosip.NewHeader("Path", p))
	}
	s.send(tx, res)
}

// pathOf is a REGISTER's Path: its entries in order, each Path header
// split at the commas between name-addrs.
func pathOf(req *gosip.Request) []string {
	var out []string
	for _, h := range req.GetHeaders("Path") {
		for _, v := range splitNameAddrs(h.Value()) {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// splitNameAddrs splits a header value at the commas outside <...> and
// quotes.
func splitNameAddrs(v string) []string {
	var (
		out           []string
		start         int
		angle, quoted bool
	)
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"' && !angle:
			quoted = !quoted
		case c == '<' && !quoted:
			angle = true
		case c == '>' && !quoted:
			angle = false
		case c == ',' && !angle && !quoted:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

func (s *Server) unregister(user string) {
	changed, ch := s.reg.set(user, nil)
	s.persist(ch)
	if changed {
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
