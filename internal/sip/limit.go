package sip

import (
	"fmt"
	"net/netip"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/security"
)

// rateLimits is the edge's per-source limit of INVITE, REGISTER and OPTIONS.
type rateLimits struct {
	limiter *security.RateLimiter
	exempt  []netip.Prefix
	// detail is each class's event detail, made once.
	detail [rateClasses]string
}

func newRateLimits(cfg EdgeConfig, trusted []netip.Prefix) *rateLimits {
	rates := [rateClasses]security.Rate{rateInvite: cfg.Invite, rateRegister: cfg.Register, rateOptions: cfg.Options}
	r := &rateLimits{
		limiter: security.NewRateLimiter(rates[:], cfg.MaxSources, security.SystemClock{}),
		exempt:  append(append([]netip.Prefix(nil), trusted...), cfg.Exempt...),
	}
	for i, rt := range rates {
		r.detail[i] = fmt.Sprintf("over %g/s (burst %d)", rt.PerSecond, max(rt.Burst, 1))
	}
	return r
}

func (r *rateLimits) exempted(a netip.Addr) bool {
	for _, p := range r.exempt {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// overRate reports whether req is one request of its class too many from
// its source: it is then to be dropped unanswered, like a banned source's,
// so a flood gets nothing back to measure or amplify. It is counted, and
// the guard reports a source that keeps it up (sampled, see
// security.Guard.Shed).
func (s *Server) overRate(req *gosip.Request, class int) bool {
	src := s.sourceAddr(req)
	if s.rate.exempted(src) || s.rate.limiter.Allow(src, class) {
		return false
	}
	s.edge.rateLimited[class].Add(1)
	s.shed(security.Event{Kind: security.KindRateLimited, Source: src, Method: rateMethods[class], Detail: s.rate.detail[class]})
	return true
}
