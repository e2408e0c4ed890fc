package node

import "github.com/switchboard/switchboard/internal/sip"

// srtpConfig is which of the setup's agents and trunks use SRTP.
func (n *Node) srtpConfig() sip.SRTPConfig { return sip.SRTPConfig{} }
