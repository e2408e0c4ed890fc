package config

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// SRTPPolicy is whether a peer's media is encrypted with SRTP (SDES keys
// in the SDP, RFC 4568).
type SRTPPolicy string

// SRTP policies. Unset (the empty string) is optional for calls that come
// in (SRTP when offered, RTP otherwise) and off for calls Switchboard
// places.
const (
	SRTPOff      SRTPPolicy = "off"      // plain RTP only; an offer of only SRTP is refused (488)
	SRTPOptional SRTPPolicy = "optional" // SRTP when the peer offers it; calls out offer plain RTP
	SRTPRequired SRTPPolicy = "required" // SRTP only; an offer without it is refused (488)
)

// Valid reports whether p is a policy or unset.
func (p SRTPPolicy) Valid() bool {
	switch p {
	case "", SRTPOff, SRTPOptional, SRTPRequired:
		return true
	}
	return false
}

// UnmarshalYAML refuses a value that is no policy, with its line. The
// error is a yaml.TypeError so the decoder goes on and the agent or trunk
// around it can name itself in it.
func (p *SRTPPolicy) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	if v := SRTPPolicy(s); !v.Valid() {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s%.40q is not off, optional or required", n.Line, srtpMark, s)}}
	}
	*p = SRTPPolicy(s)
	return nil
}

// srtpMark starts the message of a bad srtp value, for the agent or trunk
// holding it to put its name before.
const srtpMark = "srtp: "

// UnmarshalYAML decodes an agent as usual (the v2-style interface keeps
// the decoder, and with it KnownFields) and names it in a bad srtp value.
func (a *Agent) UnmarshalYAML(unmarshal func(any) error) error {
	type plain Agent
	err := unmarshal((*plain)(a))
	return nameSRTPErrors(err, fmt.Sprintf("agent %q", a.Extension))
}

// UnmarshalYAML decodes a trunk as usual and names it in a bad srtp value.
func (t *Trunk) UnmarshalYAML(unmarshal func(any) error) error {
	type plain Trunk
	err := unmarshal((*plain)(t))
	return nameSRTPErrors(err, fmt.Sprintf("trunk %q", t.Name))
}

// nameSRTPErrors puts who before each bad srtp value of err.
func nameSRTPErrors(err error, who string) error {
	te, ok := err.(*yaml.TypeError)
	if !ok {
		return err
	}
	out := &yaml.TypeError{Errors: make([]string, len(te.Errors))}
	for i, e := range te.Errors {
		if line, msg, found := strings.Cut(e, ": "+srtpMark); found && strings.HasPrefix(line, "line ") {
			e = line + ": " + who + ": " + srtpMark + msg
		}
		out.Errors[i] = e
	}
	return out
}
