package node

import (
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/sip"
)

// srtpConfig is which of the setup's agents and trunks use SRTP.
func (n *Node) srtpConfig() sip.SRTPConfig {
	c := sip.SRTPConfig{Agents: map[string]sip.SRTPPolicy{}}
	for _, a := range n.cfg.Agents {
		c.Agents[a.Extension] = srtpPolicy(a.SRTP)
	}
	for _, t := range n.cfg.Trunks {
		st := sip.SRTPTrunk{Name: t.Name, Policy: srtpPolicy(t.SRTP)}
		for _, s := range t.InboundSources {
			if p, err := config.ParseSource(s); err == nil { // validated at load
				st.Sources = append(st.Sources, p)
			}
		}
		if o := t.Outbound; o != nil {
			st.Host = o.Host
			if o.Register { // its calls come from the registration's host, trusted as the trunk's (sipConfig)
				if ps, err := hostPrefixes(o.Host); err == nil {
					st.Sources = append(st.Sources, ps...)
				}
			}
		}
		c.Trunks = append(c.Trunks, st)
	}
	return c
}

func srtpPolicy(p config.SRTPPolicy) sip.SRTPPolicy {
	switch p {
	case config.SRTPOff:
		return sip.SRTPOff
	case config.SRTPOptional:
		return sip.SRTPOptional
	case config.SRTPRequired:
		return sip.SRTPRequired
	}
	return sip.SRTPUnset
}
