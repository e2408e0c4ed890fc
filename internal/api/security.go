package api

import (
	"net/http"
	"net/netip"

	"github.com/switchboard/switchboard/internal/security"
)

// SecurityGuard is what the security routes read and change: the bans in
// force and the security events (security.Guard is one).
type SecurityGuard interface {
	Bans() []security.Ban
	Lift(addr netip.Addr) bool
	Events() security.Report
}

// securityBans lists the sources banned for failing SIP authentication.
func (s *Server) securityBans(w http.ResponseWriter, _ *http.Request) {
	if s.Security == nil {
		writeError(w, 404, "no security guard")
		return
	}
	writeJSON(w, 200, s.Security.Bans())
}

// liftBan ends the ban of {source}, an IP address.
func (s *Server) liftBan(w http.ResponseWriter, r *http.Request) {
	if s.Security == nil {
		writeError(w, 404, "no security guard")
		return
	}
	a, err := netip.ParseAddr(r.PathValue("source"))
	if err != nil {
		writeError(w, 400, "source: not an IP address")
		return
	}
	if !s.Security.Lift(a) {
		writeError(w, 404, "no ban of "+a.String())
		return
	}
	s.log.Info("ban lifted", "source", a.String(), "by", who(r).name)
	writeJSON(w, 200, map[string]string{"lifted": a.String()})
}

// securityEvents reports the counts of security events and the recent ones.
func (s *Server) securityEvents(w http.ResponseWriter, _ *http.Request) {
	if s.Security == nil {
		writeError(w, 404, "no security guard")
		return
	}
	writeJSON(w, 200, s.Security.Events())
}
