package sip

import (
	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/media"
)

// SRTPConfig is which legs encrypt their media with SRTP (SDES keys).
type SRTPConfig struct{}

// refuseSRTP reports whether it refused the INVITE (and answered it)
// because its offer does not meet the peer's SRTP policy.
func (s *Server) refuseSRTP(req *gosip.Request, tx gosip.ServerTransaction, sess media.Session, authUser string) bool {
	return false
}
