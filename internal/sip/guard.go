package sip

import (
	"errors"
	"net/netip"
	"slices"
	"strings"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/security"
)

// Guard is what the SIP edge needs of its defence against password
// guessing and floods (security.Guard is one): whether a source is banned,
// the failed authentications that may ban it, and what the edge shed
// (requests over a rate, junk, connections over a cap), which it reports
// sampled.
type Guard interface {
	Banned(addr netip.Addr) bool
	Fail(ev security.Event) (banned bool)
	Shed(ev security.Event) (reported bool)
}

// Protect hands the edge its Guard; call it before Run. Without one nobody
// is banned.
func (s *Server) Protect(g Guard) { s.auth.guard = g }

// shed tells the guard that something was shed.
func (s *Server) shed(ev security.Event) {
	if g := s.auth.guard; g != nil {
		g.Shed(ev)
	}
}

// OriginHeader is where a proxy in front of the node (Config.Proxies)
// says a request came from: "IP:port" of the sender it received it from.
const OriginHeader = "X-Switchboard-Source"

// origin is where a request came from: the address the packet came from,
// or, when that is one of Config.Proxies, the address the proxy reports
// in OriginHeader. A header from any other source, or one that does not
// parse, is ignored: a caller cannot claim a trunk's address.
func (s *Server) origin(req *gosip.Request) string {
	src := req.Source()
	if !s.fromProxy(req) {
		return src
	}
	h := req.GetHeader(OriginHeader)
	if h == nil {
		return src
	}
	reported, err := netip.ParseAddrPort(strings.TrimSpace(h.Value()))
	if err != nil {
		return src
	}
	return netip.AddrPortFrom(reported.Addr().Unmap(), reported.Port()).String()
}

// fromProxy reports whether req came from one of Config.Proxies.
func (s *Server) fromProxy(req *gosip.Request) bool {
	a, ok := sourceIP(req.Source())
	return ok && slices.Contains(s.cfg.Proxies, a)
}

// sourceAddr is the IP address a request came from (its origin).
func (s *Server) sourceAddr(req *gosip.Request) netip.Addr {
	a, _ := sourceIP(s.origin(req)) // invalid when unparseable
	return a
}

// dropBanned reports whether req comes from a banned source: such a
// request gets no answer at all, so a guesser learns nothing and spends
// its retransmissions.
func (s *Server) dropBanned(req *gosip.Request) bool {
	g := s.auth.guard
	if g == nil || !g.Banned(s.sourceAddr(req)) {
		return false
	}
	s.log.Debug("sip: dropped a request from a banned source", "method", req.Method.String(), "source", s.origin(req))
	return true
}

// screenInvite is what onInvite asks of a new INVITE first. It reports
// whether it dealt with the INVITE: dropped it, from a banned source or
// one over its rate, or refused it (403), because its credentials were
// computed for another request URI.
func (s *Server) screenInvite(req *gosip.Request, tx gosip.ServerTransaction) bool {
	if s.dropBanned(req) || s.overRate(req, rateInvite) {
		return true
	}
	hdr := headerValue(req, "Authorization")
	if hdr == "" {
		return false
	}
	user, err := s.auth.checkURI(hdr, &req.Recipient)
	if err == nil {
		return false
	}
	s.challengeOrForbid(req, tx, err, user)
	return true
}

// failed tells the guard about a failed authentication of req.
func (s *Server) failed(req *gosip.Request, err error, user string) {
	kind := security.KindAuthFailure
	switch {
	case errors.Is(err, ErrNonceReplay):
		kind = security.KindNonceReplay
	case errors.Is(err, ErrURIMismatch):
		kind = security.KindURIMismatch
	case errors.Is(err, ErrNoCredentials), errors.Is(err, ErrStaleNonce):
		return // asked for a challenge: not a failure
	}
	if g := s.auth.guard; g != nil {
		g.Fail(security.Event{Kind: kind, Source: s.sourceAddr(req), User: user, Method: req.Method.String(), Detail: err.Error()})
	}
}
