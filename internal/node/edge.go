package node

import "github.com/switchboard/switchboard/internal/sip"

// edgeConfig is what one source may cost the SIP edge.
func (n *Node) edgeConfig() sip.EdgeConfig { return sip.EdgeConfig{} }
