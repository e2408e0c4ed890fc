package sip

import (
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/security"
)

// EdgeConfig limits what one source may cost the SIP edge. The zero value
// limits nothing.
type EdgeConfig struct {
	// Invite, Register and Options are how fast one source address may
	// send new INVITEs, REGISTERs and OPTIONS; requests over the rate are
	// dropped unanswered, as a banned source's are. A zero Rate does not
	// limit.
	Invite, Register, Options security.Rate
	// Exempt sources are never rate limited, nor are Config.Trusted ones
	// (trunks: a carrier sends hundreds of INVITEs a second).
	Exempt []netip.Prefix
	// MaxSources bounds the sources the rate limiter tracks
	// (security.DefaultMaxSources when 0).
	MaxSources int
	// MaxConnsPerSource and MaxConns cap the inbound TCP and TLS
	// connections from one address and in all (0: no cap); one over a cap
	// is closed as soon as it is accepted. Every source is capped alike.
	MaxConnsPerSource, MaxConns int
	// ConnIdle closes an inbound TCP or TLS connection that has sent
	// nothing for that long (0: never).
	ConnIdle time.Duration
}

// Rate classes of the edge's security.RateLimiter.
const (
	rateInvite = iota
	rateRegister
	rateOptions
	rateClasses
)

var rateMethods = [rateClasses]string{rateInvite: "INVITE", rateRegister: "REGISTER", rateOptions: "OPTIONS"}

// EdgeStats counts what the edge shed.
type EdgeStats struct {
	// RateLimited counts requests dropped for going over their source's
	// rate, by method.
	RateLimited map[string]uint64
	// Malformed counts messages that did not parse as SIP.
	Malformed uint64
	// ConnsRefused counts TCP and TLS connections closed at accept: over
	// the per-source cap, over the total.
	ConnsRefusedPerSource, ConnsRefusedTotal uint64
	// ConnsIdleClosed counts connections closed for sending nothing for
	// EdgeConfig.ConnIdle.
	ConnsIdleClosed uint64
	// ConnsOpen is the inbound TCP and TLS connections open now.
	ConnsOpen int
}

// edgeCounters are EdgeStats as the edge keeps them.
type edgeCounters struct {
	rateLimited [rateClasses]atomic.Uint64
	malformed   atomic.Uint64
}

// EdgeStats reports what the edge shed since it started.
func (s *Server) EdgeStats() EdgeStats {
	st := EdgeStats{RateLimited: make(map[string]uint64, rateClasses), Malformed: s.edge.malformed.Load()}
	for i, m := range rateMethods {
		st.RateLimited[m] = s.edge.rateLimited[i].Load()
	}
	st.ConnsRefusedPerSource, st.ConnsRefusedTotal, st.ConnsIdleClosed, st.ConnsOpen = s.conns.stats()
	return st
}
