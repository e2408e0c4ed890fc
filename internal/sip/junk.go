package sip

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/security"
)

// Junk costs little. A datagram that does not even look like SIP is
// dropped before sipgo parses it; one that looks like SIP but does not
// parse is dropped by sipgo, which reports it to its logger. Either is
// counted and handed to the guard as malformed, which reports a source at
// most once per interval (security.Guard.Shed), its start truncated — so
// 20,000 junk datagrams cost a few log lines, and never a call record.

// junkShown is how much of a malformed message an event shows.
const junkShown = 200

// sipgoLogEvery is how often at most one of sipgo's own log lines (per
// message) is written; the next one written says how many were left out.
const sipgoLogEvery = 10 * time.Second

// junkFilter is sipgo's read filter: it sees each UDP datagram (and each
// TCP or TLS read) before sipgo parses it.
type junkFilter struct {
	s *Server
	// listener is the UDP socket's address; lastSource is the source of
	// the datagram on it that sipgo parses now. sipgo reads the socket in
	// one goroutine, filter then parse, so a parse failure it logs is that
	// datagram's.
	listener   netip.AddrPort
	mu         sync.Mutex
	lastSource netip.Addr
}

func (f *junkFilter) filter(p gosip.TransportReadProps, data []byte) ([]byte, error) {
	// Never an error: on UDP it would stop sipgo reading the socket.
	if p.Transport != "UDP" || isKeepAlive(data) {
		return data, nil
	}
	if isSTUN(data) {
		return nil, nil
	}
	var src netip.Addr
	if ra, ok := p.RemoteAddr.(*net.UDPAddr); ok {
		src = ra.AddrPort().Addr().Unmap()
	}
	if g := f.s.auth.guard; g != nil && src.IsValid() && g.Banned(src) {
		return nil, nil // a banned source gets no answer to anything
	}
	if !looksLikeSIP(data) {
		f.s.malformed(src, "udp", data, "not a SIP message")
		return nil, nil
	}
	if la, ok := p.LocalAddr.(*net.UDPAddr); ok && la.AddrPort() == f.listener {
		f.mu.Lock()
		f.lastSource = src
		f.mu.Unlock()
	}
	return data, nil
}

// parsing is the source of the UDP datagram sipgo parses now.
func (f *junkFilter) parsing() netip.Addr {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastSource
}

// isKeepAlive: a CRLF keepalive (RFC 5626 §4.4.1), which sipgo drops
// without a word.
func isKeepAlive(data []byte) bool {
	return len(data) <= 4 && len(bytes.Trim(data, "\r\n")) == 0
}

// isSTUN: a STUN message (RFC 5389: the first two bits 0, the magic cookie
// at 4), the keepalive RFC 5626 phones may send over UDP: dropped quietly.
func isSTUN(data []byte) bool {
	return len(data) >= 20 && data[0]&0xC0 == 0 && data[4] == 0x21 && data[5] == 0x12 && data[6] == 0xA4 && data[7] == 0x42
}

// looksLikeSIP reports whether data starts with a SIP request line
// ("METHOD uri SIP/2.0") or status line ("SIP/2.0 code"), ended by CRLF,
// and has the empty line that ends the headers. It allocates nothing, so
// random junk is dropped for the price of a few comparisons.
func looksLikeSIP(data []byte) bool {
	end := bytes.IndexByte(data, '\r')
	if end < 0 || end+1 >= len(data) || data[end+1] != '\n' {
		return false
	}
	line := data[:end]
	switch {
	case len(line) >= len(version)+4 && bytes.EqualFold(line[:len(version)], version) && line[len(version)] == ' ':
		code := line[len(version)+1:]
		if len(code) < 3 || code[0] < '1' || code[0] > '6' || code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9' {
			return false
		}
	case len(line) > len(version)+1 && line[len(line)-len(version)-1] == ' ' &&
		bytes.EqualFold(line[len(line)-len(version):], version):
		sp := bytes.IndexByte(line, ' ')
		if sp <= 0 || !isToken(line[:sp]) {
			return false
		}
	default:
		return false
	}
	return bytes.Contains(data[end:], headersEnd)
}

var (
	version    = []byte("SIP/2.0")
	headersEnd = []byte("\r\n\r\n")
)

// isToken reports whether b is a SIP method: an RFC 3261 token
// (alphanumerics and -.!%*_+`'~).
func isToken(b []byte) bool {
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case strings.IndexByte("-.!%*_+`'~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// malformed counts a message from src (invalid when not known) that is
// not SIP, and hands it to the guard.
func (s *Server) malformed(src netip.Addr, transport string, data []byte, why string) {
	s.edge.malformed.Add(1)
	if s.auth.guard == nil {
		return
	}
	shown := data[:min(len(data), junkShown)]
	detail := transport + ": " + why + ": " + strconv.Quote(string(shown))
	if len(shown) < len(data) {
		detail += " (" + strconv.Itoa(len(data)) + " bytes)"
	}
	s.shed(security.Event{Kind: security.KindMalformed, Source: src, Detail: detail})
}

// sipgoLog is the handler of sipgo's own loggers. Its "failed to parse"
// records — one per message that does not parse, with all of it — become
// malformed reports. Every other record at Info or above is written at
// most once per sipgoLogEvery for its message, the next one written
// carrying how many were suppressed; Debug records pass at sipgoTrace.
type sipgoLog struct {
	next      slog.Handler
	s         *Server
	transport string // "udp", "tcp" or "tls", from the logger's caller attribute
	state     *logLimit
}

// logLimit is what sipgoLog handlers derived from one another share.
type logLimit struct {
	mu    sync.Mutex
	lines map[string]logLine
}

type logLine struct {
	at         time.Time
	suppressed int
}

func newSIPgoLog(next slog.Handler, s *Server) *sipgoLog {
	return &sipgoLog{next: next, s: s, state: &logLimit{lines: map[string]logLine{}}}
}

// sipgoTrace is the level sipgo's Debug records are written at: below
// Debug, so a node logging at Debug keeps its own per-message lines
// without sipgo's several per transaction.
const sipgoTrace = slog.LevelDebug - 4

func (h *sipgoLog) Enabled(ctx context.Context, l slog.Level) bool {
	if l < slog.LevelInfo {
		return h.next.Enabled(ctx, sipgoTrace)
	}
	return l >= slog.LevelError || h.next.Enabled(ctx, l) // a parse failure is an Error, and always seen
}

func (h *sipgoLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "failed to parse" {
		var data, why string
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "data":
				data = a.Value.String()
			case "error":
				why = a.Value.String()
			}
			return true
		})
		var src netip.Addr
		if h.transport == "udp" {
			src = h.s.junk.parsing()
		}
		transport := h.transport
		if transport == "" {
			transport = "sip"
		}
		h.s.malformed(src, transport, []byte(data), why)
		return nil
	}
	if r.Level < slog.LevelInfo {
		if !h.next.Enabled(ctx, sipgoTrace) {
			return nil
		}
		r.Level = sipgoTrace
		return h.next.Handle(ctx, r)
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	suppressed, ok := h.state.allow(r.Message, r.Time)
	if !ok {
		return nil
	}
	if suppressed > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", suppressed))
	}
	return h.next.Handle(ctx, r)
}

// allow reports whether a line with msg may be written at t, and how many
// were suppressed since the last one was.
func (l *logLimit) allow(msg string, t time.Time) (suppressed int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ln, seen := l.lines[msg]
	if seen && t.Sub(ln.at) < sipgoLogEvery {
		ln.suppressed++
		l.lines[msg] = ln
		return 0, false
	}
	// sipgo's messages are constants, so the table stays small; a bound
	// all the same, in case a message ever carries a value.
	if !seen && len(l.lines) >= 1024 {
		clear(l.lines)
	}
	l.lines[msg] = logLine{at: t}
	return ln.suppressed, true
}

func (h *sipgoLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(attrs)
	for _, a := range attrs {
		if a.Key != "caller" {
			continue
		}
		switch v := a.Value.String(); {
		case strings.Contains(v, "UDP"):
			c.transport = "udp"
		case strings.Contains(v, "TLS"):
			c.transport = "tls"
		case strings.Contains(v, "TCP"):
			c.transport = "tcp"
		}
	}
	return &c
}

func (h *sipgoLog) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	return &c
}
