package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrDTMF reports a DTMF payload or body that could not be read.
var ErrDTMF = errors.New("bad dtmf")

// DTMFEvent is one RFC 4733 telephone-event payload.
type DTMFEvent struct {
	Event    uint8
	End      bool
	Volume   uint8
	Duration uint16
}

// ParseDTMFEvent reads the 4-byte RFC 4733 payload.
func ParseDTMFEvent(p []byte) (DTMFEvent, error) {
	if len(p) < 4 {
		return DTMFEvent{}, fmt.Errorf("%w: telephone-event payload of %d bytes", ErrDTMF, len(p))
	}
	return DTMFEvent{
		Event:    p[0],
		End:      p[1]&0x80 != 0,
		Volume:   p[1] & 0x3F,
		Duration: binary.BigEndian.Uint16(p[2:4]),
	}, nil
}

// DigitOf maps an RFC 4733 event code to its DTMF digit, or 0 for events
// that are not digits (flash, tones).
func DigitOf(event uint8) byte {
	switch {
	case event <= 9:
		return '0' + event
	case event == 10:
		return '*'
	case event == 11:
		return '#'
	case event >= 12 && event <= 15:
		return 'A' + event - 12
	}
	return 0
}

// DTMFDetector turns a stream of telephone-event packets into digits: one
// digit per event, however many times its packets (or its end packet) repeat.
type DTMFDetector struct {
	lastTS    uint32
	lastEvent uint8
	ended     bool // an end packet of the last event was seen
	haveLast  bool
}

// Packet feeds one telephone-event packet with its RTP timestamp; it returns
// the digit when this packet starts a new event, else 0.
func (d *DTMFDetector) Packet(ts uint32, payload []byte) (byte, error) {
	ev, err := ParseDTMFEvent(payload)
	if err != nil {
		return 0, err
	}
	digit := DigitOf(ev.Event)
	if digit == 0 {
		return 0, fmt.Errorf("%w: event %d is not a digit", ErrDTMF, ev.Event)
	}
	// All packets of one event share its RTP timestamp (RFC 4733 §2.5.1.2).
	// A packet with the same timestamp is still a new event when its code
	// differs, or when it is not an end packet and the last event had
	// ended: senders that replay recorded events (SIPp's pcap play) reuse
	// the timestamp for every press.
	same := d.haveLast && ts == d.lastTS && ev.Event == d.lastEvent && !(d.ended && !ev.End)
	if same {
		d.ended = d.ended || ev.End
		return 0, nil
	}
	d.lastTS, d.lastEvent, d.ended, d.haveLast = ts, ev.Event, ev.End, true
	return digit, nil
}

// ParseDTMFInfo reads the digit of a SIP INFO body: application/dtmf-relay
// ("Signal=5\r\nDuration=160") or application/dtmf ("5").
func ParseDTMFInfo(contentType string, body []byte) (byte, error) {
	ct := strings.ToLower(strings.TrimSpace(contentType))
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = strings.TrimSpace(ct[:i])
	}
	var sig string
	switch ct {
	case "application/dtmf-relay":
		for _, line := range strings.Split(string(body), "\n") {
			k, v, ok := strings.Cut(line, "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "signal") {
				sig = strings.TrimSpace(v)
				break
			}
		}
	case "application/dtmf":
		sig = strings.TrimSpace(string(body))
	default:
		return 0, fmt.Errorf("%w: content type %q", ErrDTMF, contentType)
	}
	if len(sig) == 1 && strings.Contains("0123456789*#ABCDabcd", sig) {
		return strings.ToUpper(sig)[0], nil
	}
	// Some phones send the event code ("Signal=10" for *).
	if n, err := strconv.Atoi(sig); err == nil && n >= 0 && n <= 15 {
		return DigitOf(uint8(n)), nil
	}
	return 0, fmt.Errorf("%w: signal %q", ErrDTMF, sig)
}
