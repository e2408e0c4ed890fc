package nodetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/media"
	sbsip "github.com/switchboard/switchboard/internal/sip"
)

// peer is a SIP user agent on its own UDP socket on 127.0.0.1, talking to
// one node. Phones and callers are built on it.
type peer struct {
	server netip.AddrPort
	addr   netip.AddrPort
	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	dialog *sipgo.DialogUA
	conn   net.PacketConn
}

// newPeer binds a socket, registers the handlers (before serving, as
// sipgo wants), serves it and waits until sipgo uses it for sending too;
// Cleanup closes it.
func newPeer(t testing.TB, server netip.AddrPort, user string, handlers func(*sipgo.Server)) *peer {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("nodetest: listen: %v", err)
	}
	addr := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("switchboard-nodetest"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatalf("nodetest: user agent: %v", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		t.Fatalf("nodetest: sip server: %v", err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(int(addr.Port())),
		sipgo.WithClientConnectionAddr(addr.String()), sipgo.WithClientLogger(log))
	if err != nil {
		t.Fatalf("nodetest: sip client: %v", err)
	}
	p := &peer{server: server, addr: addr, ua: ua, srv: srv, client: client, conn: conn,
		dialog: &sipgo.DialogUA{Client: client,
			ContactHDR: gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: int(addr.Port())}}}}
	srv.OnOptions(func(req *gosip.Request, tx gosip.ServerTransaction) {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	srv.OnNotify(func(req *gosip.Request, tx gosip.ServerTransaction) {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	if handlers != nil {
		handlers(srv)
	}
	go func() { _ = srv.ServeUDP(conn) }()
	t.Cleanup(func() { conn.Close(); ua.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sbsip.WaitListening(ctx, ua, addr.String()); err != nil {
		t.Fatalf("nodetest: %v", err)
	}
	return p
}

// uri is sip:user@<the node>.
func (p *peer) uri(user string) gosip.Uri {
	return gosip.Uri{Scheme: "sip", User: user, Host: p.server.Addr().String(), Port: int(p.server.Port())}
}

// Options sends OPTIONS to the node and returns the status code.
func (p *peer) options(ctx context.Context) (int, error) {
	req := gosip.NewRequest(gosip.OPTIONS, p.uri(""))
	res, err := p.client.Do(ctx, req)
	if err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}

// offer is an SDP offering PCMU and telephone-event 101 at the RTP socket.
func offer(r *RTP, direction string) []byte {
	return media.BuildSDP(media.Offer{Local: r.Local(), SessionID: uint64(time.Now().UnixNano()) >> 1,
		Version: uint64(time.Now().UnixNano()) >> 1, Codecs: []media.Codec{media.PCMU},
		TelephoneEvent: media.DefaultTelephoneEvent, Direction: direction})
}

// fromHeader is a From for user at this peer, with a fresh tag.
func (p *peer) fromHeader(user, display string) *gosip.FromHeader {
	f := &gosip.FromHeader{DisplayName: display, Address: gosip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: int(p.addr.Port())},
		Params: gosip.NewParams()}
	f.Params.Add("tag", gosip.GenerateTagN(12))
	return f
}

// Options sends OPTIONS to the node from a throwaway user agent and
// returns the status code.
func Options(t testing.TB, server netip.AddrPort) int {
	t.Helper()
	p := newPeer(t, server, "probe", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code, err := p.options(ctx)
	if err != nil {
		t.Fatalf("nodetest: OPTIONS %s: %v", server, err)
	}
	return code
}

func expiresHeader(d time.Duration) gosip.Header {
	return gosip.NewHeader("Expires", strconv.Itoa(int(d.Seconds())))
}

func callID(req *gosip.Request) string {
	if c := req.CallID(); c != nil {
		return c.Value()
	}
	return ""
}

func errorf(format string, a ...any) error { return fmt.Errorf("nodetest: "+format, a...) }

// Options sends OPTIONS to this node and returns the status code.
func (n *Node) Options(t testing.TB) int {
	t.Helper()
	return Options(t, n.SIPAddr())
}
