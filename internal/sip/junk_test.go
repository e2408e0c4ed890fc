package sip

import (
	"bytes"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/security"
)

func TestLooksLikeSIP(t *testing.T) {
	tests := []struct {
		name string
		data string
		want bool
	}{
		{"request", "INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: x\r\n\r\n", true},
		{"request with a body", "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2\r\n\r\nhi", true},
		{"response", "SIP/2.0 200 OK\r\nVia: x\r\n\r\n", true},
		{"lower case version", "OPTIONS sip:a@b sip/2.0\r\n\r\n", true},
		{"random bytes", "\x80\x00\x12\x34\xde\xad\xbe\xef", false},
		{"RTP", "\x80\x00\x00\x01\x00\x00\x00\xa0\x12\x34\x56\x78\xff\xff", false},
		{"HTTP", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", false},
		{"no end of headers", "INVITE sip:a@b SIP/2.0\r\nVia: x\r\n", false},
		{"LF only", "INVITE sip:a@b SIP/2.0\nVia: x\n\n", false},
		{"method not a token", "IN<VITE sip:a@b SIP/2.0\r\n\r\n", false},
		{"status code not a number", "SIP/2.0 2x0 OK\r\n\r\n", false},
		{"status code out of range", "SIP/2.0 900 OK\r\n\r\n", false},
		{"empty", "", false},
		{"version only", "SIP/2.0\r\n\r\n", false},
		{"method with token punctuation", "X-MY.EXT_1 sip:a@b SIP/2.0\r\n\r\n", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := looksLikeSIP([]byte(tc.data)); got != tc.want {
				t.Fatalf("looksLikeSIP(%q) = %v, want %v", tc.data, got, tc.want)
			}
		})
	}
	stun := []byte("\x00\x01\x00\x00\x21\x12\xa4\x42abcdefghijkl")
	if !isSTUN(stun) || isSTUN([]byte("INVITE sip:100@127.0.0.1 SIP/2.0\r\n\r\n")) {
		t.Fatal("a STUN binding request is not told from SIP")
	}
	msg := []byte("INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: x\r\n\r\n")
	junk := []byte("\x80\x00\x12\x34 random \r\n junk")
	if n := testing.AllocsPerRun(1000, func() { looksLikeSIP(msg); looksLikeSIP(junk) }); n != 0 {
		t.Fatalf("%v allocs per check", n)
	}
}

// recordingGuard keeps what the edge reports.
type recordingGuard struct {
	mu   sync.Mutex
	shed []security.Event
}

func (g *recordingGuard) Banned(netip.Addr) bool   { return false }
func (g *recordingGuard) Fail(security.Event) bool { return false }

func (g *recordingGuard) Shed(e security.Event) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.shed = append(g.shed, e)
	return true
}

func (g *recordingGuard) events() []security.Event {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]security.Event(nil), g.shed...)
}

func newJunkTestServer(g Guard) *Server {
	s := &Server{auth: &authenticator{guard: g}}
	s.junk = &junkFilter{s: s}
	return s
}

func udpAddr(s string) *net.UDPAddr { return net.UDPAddrFromAddrPort(netip.MustParseAddrPort(s)) }

func TestJunkIsDroppedBeforeParsingAndReported(t *testing.T) {
	g := &recordingGuard{}
	s := newJunkTestServer(g)
	s.junk.listener = netip.MustParseAddrPort("127.0.0.1:5060")
	props := func(src string) gosip.TransportReadProps {
		return gosip.TransportReadProps{Transport: "UDP", LocalAddr: udpAddr("127.0.0.1:5060"), RemoteAddr: udpAddr(src)}
	}
	junk := bytes.Repeat([]byte{0xde, 0xad}, 400)
	if out, err := s.junk.filter(props("127.0.0.66:4000"), junk); err != nil || len(out) != 0 {
		t.Fatalf("junk: %d bytes passed, err %v; want dropped", len(out), err)
	}
	sip := []byte("OPTIONS sip:a@b SIP/2.0\r\n\r\n")
	if out, err := s.junk.filter(props("127.0.0.67:4000"), sip); err != nil || !bytes.Equal(out, sip) {
		t.Fatalf("SIP: %q, err %v; want passed as it is", out, err)
	}
	if got := s.junk.parsing(); got.String() != "127.0.0.67" {
		t.Fatalf("parsing %s, want the source of the datagram passed", got)
	}
	if ka, _ := s.junk.filter(props("127.0.0.66:4000"), []byte("\r\n\r\n")); string(ka) != "\r\n\r\n" {
		t.Fatal("a CRLF keepalive was dropped")
	}
	ev := g.events()
	if len(ev) != 1 || ev[0].Kind != security.KindMalformed || ev[0].Source.String() != "127.0.0.66" {
		t.Fatalf("reported %+v", ev)
	}
	if len(ev[0].Detail) > junkShown*4+100 || !strings.Contains(ev[0].Detail, "(800 bytes)") {
		t.Fatalf("detail %q: want the start, quoted, and the size", ev[0].Detail)
	}
	if n := s.edge.malformed.Load(); n != 1 {
		t.Fatalf("malformed %d, want 1", n)
	}
}

func TestSIPgoLog(t *testing.T) {
	g := &recordingGuard{}
	s := newJunkTestServer(g)
	s.junk.listener = netip.MustParseAddrPort("127.0.0.1:5060")
	s.junk.lastSource = netip.MustParseAddr("127.0.0.77")
	var out bytes.Buffer
	log := slog.New(newSIPgoLog(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}), s))
	udp := log.With("caller", "TransportLayer").With("caller", "Transport<UDP>")
	tcp := log.With("caller", "Transport<TCP>")
	whole := strings.Repeat("X", 5000)
	for range 100 {
		udp.Error("failed to parse", "data", whole, "error", "bad header")
	}
	tcp.Error("failed to parse", "error", "bad header", "data", "junk")
	for range 50 {
		log.Error("Server tx failed to handle request", "error", "make key failed", "req", "INVITE sip:x SIP/2.0")
	}
	log.Debug("per message trace")
	if got := out.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "Server tx failed") || strings.Contains(got, whole) {
		t.Fatalf("log:\n%s\nwant one line: sipgo's error once, no parse failure", got)
	}
	ev := g.events()
	if len(ev) != 101 || ev[0].Source.String() != "127.0.0.77" || ev[100].Source.IsValid() || !strings.HasPrefix(ev[100].Detail, "tcp: ") {
		t.Fatalf("reported %d, first %+v, last %+v", len(ev), ev[0], ev[len(ev)-1])
	}
	if len(ev[0].Detail) > 400 {
		t.Fatalf("detail of %d bytes, want the message truncated", len(ev[0].Detail))
	}
}

func TestLogLimitReportsWhatItSuppressed(t *testing.T) {
	l := &logLimit{lines: map[string]logLine{}}
	t0 := time.Unix(1000, 0)
	if n, ok := l.allow("x", t0); !ok || n != 0 {
		t.Fatalf("first line: %d %v", n, ok)
	}
	for i := range 7 {
		if _, ok := l.allow("x", t0.Add(time.Duration(i)*time.Second)); ok {
			t.Fatalf("line %d within the interval written", i+2)
		}
	}
	if _, ok := l.allow("y", t0); !ok {
		t.Fatal("another message held back")
	}
	if n, ok := l.allow("x", t0.Add(sipgoLogEvery)); !ok || n != 7 {
		t.Fatalf("after the interval: %d suppressed, written %v; want 7, true", n, ok)
	}
}
