package media

import "fmt"

// Codec is an audio codec Switchboard speaks on an RTP leg.
type Codec uint8

// Codecs: G.711 only; both run at 8 kHz with one byte per sample.
const (
	CodecNone Codec = iota
	PCMU
	PCMA
)

// Static RTP payload types (RFC 3551) and Switchboard's telephone-event default.
const (
	PayloadPCMU           = 0
	PayloadPCMA           = 8
	DefaultTelephoneEvent = 101
)

// SampleRate of every codec here; FrameSamples is one 20 ms packet.
const (
	SampleRate   = 8000
	FrameSamples = 160
)

// PayloadType returns the static RTP payload type of c.
func (c Codec) PayloadType() uint8 {
	if c == PCMA {
		return PayloadPCMA
	}
	return PayloadPCMU
}

func (c Codec) String() string {
	switch c {
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	}
	return fmt.Sprintf("codec(%d)", uint8(c))
}
