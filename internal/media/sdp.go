package media

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// ErrNoCommonCodec means an SDP offered no codec Switchboard speaks (SIP 488).
var ErrNoCommonCodec = errors.New("no common codec")

// Direction of a media stream as SDP says it.
const (
	SendRecv = "sendrecv"
	SendOnly = "sendonly"
	RecvOnly = "recvonly"
	Inactive = "inactive"
)

// Session is the result of an offer/answer exchange for one audio leg.
type Session struct {
	// Remote is where to send RTP; its IP also filters what is received.
	Remote netip.AddrPort
	Codec  Codec
	// PT is the payload type the remote side uses for Codec.
	PT uint8
	// TelephoneEvent is the remote's RFC 4733 payload type, 0 if it offered none.
	TelephoneEvent uint8
	// Direction is the remote's direction attribute (sendrecv when absent).
	Direction string
}

// ParseSDP reads an SDP offer or answer and picks the first audio format it
// lists that Switchboard speaks (the offerer's preference order).
func ParseSDP(body []byte) (Session, error) {
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(body); err != nil {
		return Session{}, fmt.Errorf("parse sdp: %w", err)
	}
	var audio *sdp.MediaDescription
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media == "audio" && m.MediaName.Port.Value != 0 {
			audio = m
			break
		}
	}
	if audio == nil {
		return Session{}, fmt.Errorf("parse sdp: %w: no active audio stream", ErrNoCommonCodec)
	}
	conn := audio.ConnectionInformation
	if conn == nil {
		conn = sd.ConnectionInformation
	}
	if conn == nil || conn.Address == nil {
		return Session{}, errors.New("parse sdp: no connection address")
	}
	host, _, _ := strings.Cut(conn.Address.Address, "/")
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return Session{}, fmt.Errorf("parse sdp: connection address %q: %w", conn.Address.Address, err)
	}
	port := audio.MediaName.Port.Value
	if port <= 0 || port > 65535 {
		return Session{}, fmt.Errorf("parse sdp: audio port %d out of range", port)
	}
	s := Session{Remote: netip.AddrPortFrom(ip.Unmap(), uint16(port)), Direction: SendRecv}

	names := map[uint8]string{}
	for _, a := range audio.Attributes {
		switch a.Key {
		case "rtpmap":
			pt, enc, ok := strings.Cut(a.Value, " ")
			n, err := strconv.ParseUint(pt, 10, 8)
			if ok && err == nil {
				names[uint8(n)] = strings.ToLower(enc)
			}
		case SendRecv, SendOnly, RecvOnly, Inactive:
			s.Direction = a.Key
		}
	}
	for _, f := range audio.MediaName.Formats {
		n, err := strconv.ParseUint(f, 10, 8)
		if err != nil {
			continue
		}
		pt := uint8(n)
		name, mapped := names[pt]
		switch {
		case (mapped && strings.HasPrefix(name, "pcmu/8000")) || (!mapped && pt == PayloadPCMU):
			if s.Codec == CodecNone {
				s.Codec, s.PT = PCMU, pt
			}
		case (mapped && strings.HasPrefix(name, "pcma/8000")) || (!mapped && pt == PayloadPCMA):
			if s.Codec == CodecNone {
				s.Codec, s.PT = PCMA, pt
			}
		case mapped && strings.HasPrefix(name, "telephone-event/8000"):
			if s.TelephoneEvent == 0 {
				s.TelephoneEvent = pt
			}
		}
	}
	if s.Codec == CodecNone {
		return Session{}, fmt.Errorf("parse sdp: %w: offered %v", ErrNoCommonCodec, audio.MediaName.Formats)
	}
	return s, nil
}

// Offer is what Switchboard puts in its own SDP.
type Offer struct {
	Local     netip.AddrPort
	SessionID uint64
	Version   uint64
	// Codecs in preference order; TelephoneEvent 0 leaves RFC 4733 out.
	Codecs         []Codec
	TelephoneEvent uint8
	Direction      string
}

// BuildSDP writes an SDP offer or answer.
func BuildSDP(o Offer) []byte {
	var b strings.Builder
	ip := o.Local.Addr()
	family := "IP4"
	if ip.Is6() {
		family = "IP6"
	}
	fmt.Fprintf(&b, "v=0\r\no=switchboard %d %d IN %s %s\r\ns=switchboard\r\nc=IN %s %s\r\nt=0 0\r\n",
		o.SessionID, o.Version, family, ip, family, ip)
	fmt.Fprintf(&b, "m=audio %d RTP/AVP", o.Local.Port())
	for _, c := range o.Codecs {
		fmt.Fprintf(&b, " %d", c.PayloadType())
	}
	if o.TelephoneEvent != 0 {
		fmt.Fprintf(&b, " %d", o.TelephoneEvent)
	}
	b.WriteString("\r\n")
	for _, c := range o.Codecs {
		fmt.Fprintf(&b, "a=rtpmap:%d %s/8000\r\n", c.PayloadType(), c)
	}
	if o.TelephoneEvent != 0 {
		fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n", o.TelephoneEvent, o.TelephoneEvent)
	}
	dir := o.Direction
	if dir == "" {
		dir = SendRecv
	}
	b.WriteString("a=ptime:20\r\na=" + dir + "\r\n")
	return []byte(b.String())
}

// AnswerDirection is the direction to answer an offer with.
func AnswerDirection(offered string) string {
	switch offered {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	case Inactive:
		return Inactive
	}
	return SendRecv
}
