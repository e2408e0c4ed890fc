package sip

import (
	"net/netip"
	"strconv"
	"strings"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/media"
)

// SRTPPolicy is whether a peer's media is encrypted with SRTP (SDES).
type SRTPPolicy uint8

// SRTP policies. Unset is optional for an INVITE that comes in and off for
// one Switchboard sends.
const (
	SRTPUnset    SRTPPolicy = iota
	SRTPOff                 // plain RTP only: an offer of only SRTP gets 488
	SRTPOptional            // SRTP when the peer offers it; our offers are plain RTP
	SRTPRequired            // SRTP only: an offer without it gets 488; our offers are RTP/SAVP
)

func (p SRTPPolicy) String() string {
	names := [...]string{"unset", "off", "optional", "required"}
	if int(p) < len(names) {
		return names[p]
	}
	return "SRTPPolicy(" + strconv.Itoa(int(p)) + ")"
}

// SRTPConfig is which legs encrypt their media with SRTP (SDES keys).
type SRTPConfig struct {
	// Agents maps an agent's extension to its policy.
	Agents map[string]SRTPPolicy
	// Trunks are looked up in order: by the source of an INVITE that
	// comes in, by the host of a call that goes out over one.
	Trunks []SRTPTrunk
}

// SRTPTrunk is one trunk's SRTP policy and how its calls are known.
type SRTPTrunk struct {
	Name string
	// Sources are the addresses its INVITEs come from.
	Sources []netip.Prefix
	// Host is its outbound host:port, as TrunkDial.Host names it.
	Host   string
	Policy SRTPPolicy
}

// inbound is the policy of an INVITE from source, authenticated as
// authUser ("" if not), and whose it is, for a reason: the agent's if
// authenticated, else that of the trunk the source belongs to, else the
// default, optional.
func (c SRTPConfig) inbound(authUser, source string) (SRTPPolicy, string) {
	if authUser != "" {
		return orDefault(c.Agents[authUser], SRTPOptional), "agent " + authUser
	}
	if ap, err := netip.ParseAddrPort(source); err == nil {
		ip := ap.Addr().Unmap()
		for _, t := range c.Trunks {
			for _, p := range t.Sources {
				if p.Contains(ip) {
					return orDefault(t.Policy, SRTPOptional), "trunk " + t.Name
				}
			}
		}
	}
	return SRTPOptional, "this caller"
}

// agentOut is the policy of a call to an agent's phone.
func (c SRTPConfig) agentOut(user string) SRTPPolicy {
	return orDefault(c.Agents[user], SRTPOff)
}

// trunkOut is the policy of a call out over the trunk at host.
func (c SRTPConfig) trunkOut(host string) SRTPPolicy {
	for _, t := range c.Trunks {
		if t.Host != "" && strings.EqualFold(t.Host, host) {
			return orDefault(t.Policy, SRTPOff)
		}
	}
	return SRTPOff
}

func orDefault(p, def SRTPPolicy) SRTPPolicy {
	if p == SRTPUnset {
		return def
	}
	return p
}

// refuseSRTP reports whether it refused the INVITE (and answered it)
// because its offer does not meet the peer's SRTP policy: required and no
// SRTP offered, or off and nothing but SRTP offered. Either leaves a
// record.
func (s *Server) refuseSRTP(req *gosip.Request, tx gosip.ServerTransaction, sess media.Session, authUser string) bool {
	pol, who := s.cfg.SRTP.inbound(authUser, s.origin(req))
	reason := ""
	switch {
	case pol == SRTPRequired && !sess.SRTP:
		reason = "SRTP is required for " + who + ", and the offer has no SRTP audio (RTP/SAVP with a=crypto " + media.SuiteAES128SHA1_80 + ")"
	case pol == SRTPOff && sess.SRTP:
		if offer, refused := offerBody(req); refused == nil {
			if _, err := media.ParsePlainSDP(offer); err == nil {
				return false // answered with its plain RTP stream (Leg.applySRTPPolicy)
			}
		}
		reason = "SRTP is off for " + who + ", and the offer has no plain RTP audio"
	default:
		return false
	}
	s.log.Info("sip: refusing INVITE for its media security", "sip_call_id", req.CallID().Value(), "source", s.origin(req),
		"srtp", pol.String(), "why", reason)
	s.respond(req, tx, 488, "Not Acceptable Here", reason)
	s.handler.Rejected(s.rejection(req, 488, reason))
	return true
}

// applySRTPPolicy makes an inbound leg's media meet its peer's policy
// before it answers: with SRTP required the leg never drops to plain RTP
// (a re-INVITE without a key keeps the keys); with SRTP off, best-effort SRTP (RTP/AVP with
// a=crypto) is taken as plain RTP, and where the offer had SRTP and plain
// streams (refuseSRTP let it through) the plain one is taken. It runs
// before every answer; only the first looks at the INVITE's offer.
func (l *Leg) applySRTPPolicy(first bool) {
	if !l.Inbound || l.srv == nil {
		return
	}
	pol, _ := l.s.cfg.SRTP.inbound(l.AuthUser, l.Source)
	if pol == SRTPRequired {
		l.ep.RequireSRTP()
	}
	if pol != SRTPOff {
		return
	}
	l.ep.PlainOnly()
	if !first || !l.ep.SRTP() {
		return
	}
	if offer, refused := offerBody(l.srv.InviteRequest); refused == nil {
		if plain, err := media.ParsePlainSDP(offer); err == nil {
			l.ep.SetSession(plain)
		}
	}
}
