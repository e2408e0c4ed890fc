package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/store"
)

// Forwarder sends the requests about a call to the node that holds it, in
// a cluster: a call lives on the node where it arrived, and only that
// node can hold, transfer or hang it up, or serve its recording's file.
type Forwarder interface {
	// Holder returns the HTTP address of the other node that holds call
	// id live (recording: that made its recording), if another does.
	Holder(ctx context.Context, id string, recording bool) (addr string, ok bool)
	// Authorize marks a request to another node with the cluster's key;
	// Authorized reports whether a request carries it.
	Authorize(r *http.Request)
	Authorized(r *http.Request) bool
}

// The headers of a forwarded request: the user it acts for (the node that
// forwarded it authenticated them) and where they connected from.
const (
	forwardedUser   = "X-Switchboard-Forwarded-User"
	forwardedSource = "X-Switchboard-Forwarded-Source"
)

var errForwardRefused = errors.New("a forwarded request without the cluster's key, or for an unknown user")

// SetForwarder makes requests about calls another node holds go there.
func (s *Server) SetForwarder(f Forwarder) {
	s.forward = f
	// The holder must start to answer within 10 s (a recording's body may
	// take longer).
	s.forwardVia = &http.Transport{ResponseHeaderTimeout: 10 * time.Second, IdleConnTimeout: time.Minute, MaxIdleConnsPerHost: 16}
}

// forwardable reports whether a route acts on one live call (or reads its
// recording), so it is served by the node that holds the call. A call's
// score, disposition and transcript are rows of the shared store: any node
// serves them.
func forwardable(pattern string) (ok, recording bool) {
	_, path, _ := strings.Cut(pattern, " ")
	rest, ok := strings.CutPrefix(path, "/api/v1/calls/{id}")
	if !ok || rest == "/score" || rest == "/disposition" || strings.HasPrefix(rest, "/transcript") {
		return false, false
	}
	return rest != "", rest == "/recording"
}

// forwardedPrincipal is the user a forwarded request acts for, when it
// carries the cluster's key; ok is false when it is not forwarded.
func (s *Server) forwardedPrincipal(r *http.Request) (p principal, ok bool, err error) {
	name := r.Header.Get(forwardedUser)
	if name == "" || s.forward == nil {
		return principal{}, false, nil
	}
	if !s.forward.Authorized(r) {
		return principal{}, true, errForwardRefused
	}
	p, known := s.user(name)
	if !known {
		return principal{}, true, errForwardRefused
	}
	p.via = r.Header.Get(forwardedSource)
	return p, true, nil
}

// IsForwarded reports whether r says it was forwarded by another node (the
// API accepts it only with the cluster's key).
func IsForwarded(r *http.Request) bool { return r.Header.Get(forwardedUser) != "" }

// forwardCall serves a request about a call on the node that holds it,
// when another does; it reports whether it did.
func (s *Server) forwardCall(w http.ResponseWriter, r *http.Request, pattern string, p principal) bool {
	if s.forward == nil || IsForwarded(r) { // forwarded once at most
		return false
	}
	if pattern == "DELETE /api/v1/monitor" { // the monitor runs where its call is
		s.mu.Lock()
		addr, ok := s.monitoring[p.name]
		delete(s.monitoring, p.name)
		s.mu.Unlock()
		if !ok {
			return false
		}
		s.forwardTo(w, r, addr, p, nil)
		return true
	}
	ok, recording := forwardable(pattern)
	if !ok {
		return false
	}
	addr, ok := s.forward.Holder(r.Context(), r.PathValue("id"), recording)
	if !ok {
		return false
	}
	var done func(code int)
	if pattern == "POST /api/v1/calls/{id}/monitor" {
		done = func(code int) {
			if code < 300 {
				s.mu.Lock()
				s.monitoring[p.name] = addr
				s.mu.Unlock()
			}
		}
	}
	s.forwardTo(w, r, addr, p, done)
	return true
}

// forwardTo serves r on the node at addr for p; done, if set, is told the
// answer's status.
func (s *Server) forwardTo(w http.ResponseWriter, r *http.Request, addr string, p principal, done func(code int)) {
	source := sourceIP(r)
	proxy := &httputil.ReverseProxy{
		Transport: s.forwardVia,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "http", Host: addr})
			h := pr.Out.Header
			// The other node acts for the user this one authenticated;
			// it has checked the request's origin too.
			for _, k := range []string{"Cookie", "Authorization", "Origin", "Referer", "Sec-Fetch-Site", "Sec-Fetch-Mode"} {
				h.Del(k)
			}
			h.Set(forwardedUser, p.name)
			h.Set(forwardedSource, source)
			s.forward.Authorize(pr.Out)
		},
		ModifyResponse: func(res *http.Response) error {
			if done != nil {
				done(res.StatusCode)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.log.Warn("api: the node holding the call did not answer", "node", addr, "path", r.URL.Path, "user", p.name, "err", err)
			s.record(store.AuditEntry{Actor: p.name, Role: p.role, Source: source, Action: r.Pattern, Target: r.PathValue("id"),
				Result: 502, Detail: "the node holding the call did not answer"})
			writeError(w, 502, "the node holding this call did not answer; try again")
		},
	}
	proxy.ServeHTTP(w, r)
}
