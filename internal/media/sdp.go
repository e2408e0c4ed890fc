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
	// Declined is the rest of the offer's m= lines, which an answer refuses.
	Declined Declined
	// Secure is the stream's profile: RTP/SAVP (true) or RTP/AVP. An
	// answer mirrors it.
	Secure bool
	// SRTP says the stream is SRTP: Crypto is the far end's key, the first
	// usable AES_CM_128_HMAC_SHA1_80 line of the stream. An RTP/AVP stream
	// with such a line (best-effort SRTP, as some phones offer) is SRTP too.
	SRTP   bool
	Crypto Crypto
}

// Declined holds the m= lines of an offer other than the audio stream
// Switchboard takes, already written with port 0, and where they stand
// around it: an answer has one m= line per offered line, in the offer's
// order (RFC 3264 §6), so video, T.38, BFCP or a second audio line beside
// the call's audio are declined rather than the whole call. The zero value
// is an offer of one audio stream; Declined is comparable, like Session.
type Declined struct {
	before, after string // CRLF-terminated m= lines with port 0
}

// Lines reports how many m= lines are declined.
func (d Declined) Lines() int {
	return strings.Count(d.before, "\n") + strings.Count(d.after, "\n")
}

// mediaLine is one m= line of an offer and the lines of its section.
type mediaLine struct {
	media, proto string
	port         int
	formats      []string
	section      string // the m= line and the lines up to the next one, CRLF-terminated
}

// declined writes the m= line that refuses l in an answer: port 0 and the
// offered formats (an answer must list at least one, RFC 3264 §6).
func (l mediaLine) declined() string {
	f := l.formats
	if len(f) == 0 {
		f = []string{"0"}
	}
	return "m=" + l.media + " 0 " + l.proto + " " + strings.Join(f, " ") + "\r\n"
}

// splitSDP cuts an SDP into its session-level lines and its media
// sections. pion/sdp refuses media types and transports it does not know
// (m=image for T.38, udptl), so the m= lines are read here and only the
// audio stream Switchboard takes is handed to it.
func splitSDP(body []byte) (session string, media []mediaLine, err error) {
	var sb strings.Builder
	for line := range strings.Lines(string(body)) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "m=") {
			if len(media) == 0 {
				sb.WriteString(line + "\r\n")
			} else {
				media[len(media)-1].section += line + "\r\n"
			}
			continue
		}
		f := strings.Fields(line[2:])
		if len(f) < 3 || !token(f[0]) || !token(f[2]) {
			return "", nil, fmt.Errorf("malformed media line %q", line)
		}
		portField, _, _ := strings.Cut(f[1], "/")
		port, perr := strconv.Atoi(portField)
		if perr != nil || port < 0 || port > 65535 {
			return "", nil, fmt.Errorf("media line %q: bad port", line)
		}
		for _, x := range f[3:] {
			if !token(x) {
				return "", nil, fmt.Errorf("media line %q: bad format %q", line, x)
			}
		}
		media = append(media, mediaLine{media: f[0], port: port, proto: f[2], formats: f[3:], section: line + "\r\n"})
	}
	return sb.String(), media, nil
}

// token reports whether s is an SDP token (RFC 4566 §9), so a declined
// line echoes nothing but what a token may hold.
func token(s string) bool {
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return s != ""
}

// ParseSDP reads an SDP offer or answer and takes its first audio stream
// with a format Switchboard speaks, picking the first such format the
// stream lists (the offerer's preference order). A stream with a usable
// SDES key (RTP/SAVP, or RTP/AVP with a=crypto) is preferred to one of
// plain RTP, so an offer of both is answered with SRTP; an RTP/SAVP stream
// without a usable key is not taken (ErrNoCrypto when nothing else is).
// Every other m= line is declined.
func ParseSDP(body []byte) (Session, error) { return parseSDP(body, true) }

// ParsePlainSDP is ParseSDP for a leg that must not use SRTP: it takes
// only RTP/AVP streams and ignores their a=crypto lines.
func ParsePlainSDP(body []byte) (Session, error) { return parseSDP(body, false) }

func parseSDP(body []byte, allowSRTP bool) (Session, error) {
	session, lines, err := splitSDP(body)
	if err != nil {
		return Session{}, fmt.Errorf("parse sdp: %w", err)
	}
	var sd sdp.SessionDescription
	if err := sd.Unmarshal([]byte(session)); err != nil {
		return Session{}, fmt.Errorf("parse sdp: %w", err)
	}
	var (
		firstErr, cryptoErr error
		plain               = -1
		plainSess           Session
		srtp                = ""
	)
	take := func(i int, s Session) Session {
		var b strings.Builder
		for _, o := range lines[:i] {
			b.WriteString(o.declined())
		}
		s.Declined.before = b.String()
		b.Reset()
		for _, o := range lines[i+1:] {
			b.WriteString(o.declined())
		}
		s.Declined.after = b.String()
		return s
	}
	for i, l := range lines {
		if l.media != "audio" || l.port == 0 {
			continue
		}
		secure := strings.EqualFold(l.proto, "RTP/SAVP")
		if !strings.EqualFold(l.proto, "RTP/AVP") && !(secure && allowSRTP) {
			if strings.Contains(strings.ToUpper(l.proto), "SAVP") {
				srtp = l.proto
			}
			continue
		}
		s, cerr, err := parseAudio(session+l.section, allowSRTP)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		s.Secure = secure
		switch {
		case s.SRTP:
			return take(i, s), nil
		case secure:
			if cryptoErr == nil {
				cryptoErr = fmt.Errorf("parse sdp: %w: RTP/SAVP audio offers no %s key (%v)", ErrNoCrypto, SuiteAES128SHA1_80, cerr)
			}
		case plain < 0:
			plain, plainSess = i, s
		}
	}
	switch {
	case plain >= 0:
		return take(plain, plainSess), nil
	case cryptoErr != nil:
		return Session{}, cryptoErr
	case firstErr != nil:
		return Session{}, firstErr
	case srtp != "" && !allowSRTP:
		return Session{}, fmt.Errorf("parse sdp: %w: audio is offered only over %s, and SRTP is off", ErrNoCommonCodec, srtp)
	case srtp != "":
		return Session{}, fmt.Errorf("parse sdp: %w: audio is offered only over %s (SDES over RTP/SAVP is supported)", ErrNoCommonCodec, srtp)
	}
	return Session{}, fmt.Errorf("parse sdp: %w: no active RTP/AVP audio stream", ErrNoCommonCodec)
}

// parseAudio reads the session-level lines and one audio section. With
// allowSRTP it takes the section's first usable a=crypto line (SRTP set);
// cryptoErr says why none was, if the section had any.
func parseAudio(body string, allowSRTP bool) (s Session, cryptoErr error, err error) {
	var sd sdp.SessionDescription
	if err := sd.Unmarshal([]byte(body)); err != nil {
		return Session{}, nil, fmt.Errorf("parse sdp: %w", err)
	}
	if len(sd.MediaDescriptions) != 1 {
		return Session{}, nil, errors.New("parse sdp: audio section unreadable")
	}
	audio := sd.MediaDescriptions[0]
	conn := audio.ConnectionInformation
	if conn == nil {
		conn = sd.ConnectionInformation
	}
	if conn == nil || conn.Address == nil {
		return Session{}, nil, errors.New("parse sdp: no connection address")
	}
	host, _, _ := strings.Cut(conn.Address.Address, "/")
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return Session{}, nil, fmt.Errorf("parse sdp: connection address %q: %w", conn.Address.Address, err)
	}
	port := audio.MediaName.Port.Value
	if port <= 0 || port > 65535 {
		return Session{}, nil, fmt.Errorf("parse sdp: audio port %d out of range", port)
	}
	s = Session{Remote: netip.AddrPortFrom(ip.Unmap(), uint16(port)), Direction: SendRecv}

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
		case "crypto":
			if !allowSRTP || s.SRTP {
				continue
			}
			c, err := parseCrypto(a.Value)
			if err != nil {
				if cryptoErr == nil {
					cryptoErr = err
				}
				continue
			}
			s.SRTP, s.Crypto = true, c
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
		return Session{}, nil, fmt.Errorf("parse sdp: %w: offered %v", ErrNoCommonCodec, audio.MediaName.Formats)
	}
	if s.SRTP {
		cryptoErr = nil
	} else if cryptoErr == nil {
		cryptoErr = errors.New("no a=crypto line")
	}
	return s, cryptoErr, nil
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
	// Declined are the offer's other m= lines, refused with port 0 in an
	// answer (Session.Declined of the offer); zero in an offer.
	Declined Declined
	// Secure writes RTP/SAVP rather than RTP/AVP.
	Secure bool
	// SRTP adds an a=crypto line with our key, Crypto (its tag: 1 in an
	// offer, the accepted line's in an answer).
	SRTP   bool
	Crypto Crypto
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
	b.WriteString(o.Declined.before)
	profile := "RTP/AVP"
	if o.Secure {
		profile = "RTP/SAVP"
	}
	fmt.Fprintf(&b, "m=audio %d %s", o.Local.Port(), profile)
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
	if o.SRTP {
		b.WriteString("a=crypto:" + o.Crypto.attribute() + "\r\n")
	}
	b.WriteString(o.Declined.after)
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
