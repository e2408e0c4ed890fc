package sip

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/media"
)

func TestPathOf(t *testing.T) {
	cases := []struct {
		name    string
		headers []string
		want    []string
	}{
		{"none", nil, nil},
		{"one", []string{"<sip:127.0.0.1;lr;received=sip:127.0.0.1%3A5090>"}, []string{"<sip:127.0.0.1;lr;received=sip:127.0.0.1%3A5090>"}},
		{"two in one header", []string{"<sip:p1.example.net;lr>, <sip:p2.example.net;lr>"}, []string{"<sip:p1.example.net;lr>", "<sip:p2.example.net;lr>"}},
		{"two headers", []string{"<sip:p1.example.net;lr>", "<sip:p2.example.net;lr>"}, []string{"<sip:p1.example.net;lr>", "<sip:p2.example.net;lr>"}},
		{"comma inside a name", []string{`"Edge, west" <sip:p1.example.net;lr>`}, []string{`"Edge, west" <sip:p1.example.net;lr>`}},
		{"empty entries dropped", []string{" , <sip:p1.example.net;lr>,"}, []string{"<sip:p1.example.net;lr>"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := gosip.NewRequest(gosip.REGISTER, gosip.Uri{Scheme: "sip", Host: "127.0.0.2"})
			for _, h := range tc.headers {
				req.AppendHeader(gosip.NewHeader("Path", h))
			}
			if got := pathOf(req); !slices.Equal(got, tc.want) {
				t.Fatalf("path %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzSplitNameAddrs(f *testing.F) {
	for _, s := range []string{"", "<sip:a;lr>, <sip:b;lr>", `"x,y" <sip:a>`, `<sip:a,b>`, `"unterminated, <sip:a>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		parts := splitNameAddrs(v)
		if strings.Join(parts, ",") != v {
			t.Fatalf("parts %q do not make up %q", parts, v)
		}
	})
}

// Two nodes on one store: a phone registered through node A is found by
// node B with its Path; when it registers again through B (A died), B's
// write is the newer even though B started before A, and A's expiry of
// its old binding does not remove B's.
func TestSharedRegistrationsAcrossNodes(t *testing.T) {
	keep := &memBindings{rows: map[string]StoredBinding{}}
	start := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	clockB := start
	b, _ := newRegistrarServer(&clockB)
	if _, err := b.RestoreRegistrations(context.Background(), keep); err != nil {
		t.Fatal(err)
	}
	b.ShareRegistrations(keep)
	clockA := start.Add(10 * time.Minute) // A started later: its version counter starts higher
	a, _ := newRegistrarServer(&clockA)
	if _, err := a.RestoreRegistrations(context.Background(), keep); err != nil {
		t.Fatal(err)
	}
	a.ShareRegistrations(keep)
	for range 50 { // A is busy: many changes of other phones
		_, ch := a.reg.set("9999", &Binding{User: "9999", Contact: gosip.Uri{Scheme: "sip", User: "9999", Host: "127.0.0.1"}, Expires: clockA.Add(time.Hour)})
		a.persist(ch)
	}

	path := []string{"<sip:127.0.0.1;lr;received=sip:127.0.0.1%3A5090>"}
	viaA := &Binding{User: "1001", Contact: gosip.Uri{Scheme: "sip", User: "1001", Host: "127.0.0.1", Port: 5090}, Source: "127.0.0.1:5060",
		Transport: "udp", Expires: clockA.Add(time.Minute), Path: path}
	_, ch := a.reg.set("1001", viaA)
	a.persist(ch)
	clockB = clockA
	got, ok := b.Registered("1001")
	if !ok || !slices.Equal(got.Path, path) || got.Contact.Port != 5090 {
		t.Fatalf("node B sees %+v, %v; want the binding made through A with its Path", got, ok)
	}

	// A dies; the phone's next REGISTER reaches B.
	clockB = clockA.Add(30 * time.Second)
	viaB := *viaA
	viaB.Contact.Port = 5092
	viaB.Expires = clockB.Add(time.Hour)
	_, ch = b.reg.set("1001", &viaB)
	b.persist(ch)
	clockA = clockB
	if got, _ := a.Registered("1001"); got.Contact.Port != 5092 {
		t.Fatalf("after the refresh through B, node A sees port %d, want 5092 (B's write lost to A's older one?)", got.Contact.Port)
	}
	// A's own binding expires there; what B wrote stays.
	clockA = clockA.Add(2 * time.Minute)
	a.reg.expire()
	clockB = clockA
	if got, ok := b.Registered("1001"); !ok || got.Contact.Port != 5092 {
		t.Fatalf("after A's expiry sweep, B sees %+v, %v", got, ok)
	}
}

// A phone registered through a proxy is rung through it: the INVITE goes
// to the first Path entry, with the Path as its Route, and the phone's
// Contact as the request URI.
func TestDialFollowsPath(t *testing.T) {
	proxy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	eng, err := media.NewEngine(media.EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 42000, PortMax: 42100})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Listen: "127.0.0.1:0", Realm: "test", MinExpires: time.Minute, MaxExpires: time.Hour}, eng, &registrations{told: map[string]bool{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keep := &memBindings{rows: map[string]StoredBinding{}}
	route := "<sip:" + proxy.LocalAddr().String() + ";lr;received=sip:127.0.0.1%3A5999>"
	keep.rows["2001"] = StoredBinding{User: "2001", Contact: "sip:2001@192.0.2.1:5999", Source: proxy.LocalAddr().String(), Transport: "udp",
		Expires: time.Now().Add(time.Hour), Version: 1, Path: route}
	s.ShareRegistrations(keep) // registered with another node: only the shared store knows it
	ready := make(chan struct{})
	go s.Run(ctx, ready) //nolint:errcheck // ends with ctx
	select {
	case <-ready:
	case <-ctx.Done():
		t.Fatal("server did not start")
	}
	dialCtx, stop := context.WithCancel(ctx)
	defer stop()
	go s.Dial(dialCtx, DialRequest{User: "2001", CallerID: "5551234"}) //nolint:errcheck // cancelled below

	if err := proxy.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, _, err := proxy.ReadFrom(buf)
	if err != nil {
		t.Fatalf("nothing reached the proxy: %v", err)
	}
	msg := string(buf[:n])
	if !strings.HasPrefix(msg, "INVITE sip:2001@192.0.2.1:5999 SIP/2.0\r\n") {
		t.Fatalf("the proxy got, first line: %q", strings.SplitN(msg, "\r\n", 2)[0])
	}
	if !strings.Contains(msg, "\r\nRoute: "+route+"\r\n") {
		t.Fatalf("no Route %s in:\n%s", route, msg)
	}
}

// A Path is taken from the proxies in front only: anyone else's would
// steer the node's requests to the phone through an address of its choice.
func TestPathOnlyFromProxies(t *testing.T) {
	for _, tc := range []struct {
		name     string
		proxies  []netip.Addr
		wantPath bool
	}{
		{"from a configured proxy", []netip.Addr{netip.MustParseAddr("127.0.0.1")}, true},
		{"from anyone else", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startRawPeer(t, 42200, tc.proxies)
			s := p.s
			send := func(cseq int, auth string) string {
				t.Helper()
				return p.exchange(t, "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP "+p.local()+";branch=z9hG4bK-"+strings.Repeat("x", cseq)+
					"\r\nMax-Forwards: 70\r\nFrom: <sip:1001@127.0.0.1>;tag=t1\r\nTo: <sip:1001@127.0.0.1>\r\nCall-ID: path-test\r\nCSeq: "+
					string(rune('0'+cseq))+" REGISTER\r\nContact: <sip:1001@127.0.0.1:5999>\r\nPath: <sip:198.51.100.9;lr>\r\nExpires: 300\r\n"+auth+"Content-Length: 0\r\n\r\n")
			}
			chal := send(1, "")
			i := strings.Index(chal, "WWW-Authenticate: ")
			if i < 0 {
				t.Fatalf("no challenge: %s", chal)
			}
			line := chal[i+len("WWW-Authenticate: "):]
			line = line[:strings.Index(line, "\r\n")]
			auth := "Authorization: " + answer(t, line, "1001", "demo1001") + "\r\n"
			if r := send(2, auth); !strings.HasPrefix(r, "SIP/2.0 200") {
				t.Fatalf("REGISTER: %s", r)
			}
			b, ok := s.Registered("1001")
			if !ok {
				t.Fatal("not registered")
			}
			if got := len(b.Path) > 0; got != tc.wantPath {
				t.Fatalf("Path %q kept: %v, want %v", b.Path, got, tc.wantPath)
			}
		})
	}
}

// rawPeer is a running server that knows user 1001 (password demo1001),
// and a UDP socket that speaks raw SIP to it.
type rawPeer struct {
	s    *Server
	conn net.PacketConn
	to   net.Addr
}

// startRawPeer starts a server on port 0 with RTP ports from portMin (20 of
// them) and proxies in front, and the socket; both end with the test.
func startRawPeer(t *testing.T, portMin int, proxies []netip.Addr) *rawPeer {
	t.Helper()
	eng, err := media.NewEngine(media.EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: portMin, PortMax: portMin + 20})
	if err != nil {
		t.Fatal(err)
	}
	ha1 := testHA1("1001", "switchboard", "demo1001")
	s, err := New(Config{Listen: "127.0.0.1:0", Realm: "switchboard", MinExpires: time.Minute, MaxExpires: time.Hour, Proxies: proxies,
		HA1: func(u string) (string, bool) { return ha1, u == "1001" }}, eng, &registrations{told: map[string]bool{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	ready := make(chan struct{})
	go s.Run(ctx, ready) //nolint:errcheck // ends with ctx
	<-ready
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	to, err := net.ResolveUDPAddr("udp", s.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	return &rawPeer{s: s, conn: conn, to: to}
}

// local is the socket's address, for the Via of its requests.
func (p *rawPeer) local() string { return p.conn.LocalAddr().String() }

// exchange sends msg and returns the first answer that is not 100 Trying.
func (p *rawPeer) exchange(t *testing.T, msg string) string {
	t.Helper()
	if _, err := p.conn.WriteTo([]byte(msg), p.to); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		_ = p.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, _, err := p.conn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		if r := string(buf[:n]); !strings.HasPrefix(r, "SIP/2.0 100") {
			return r
		}
	}
}
