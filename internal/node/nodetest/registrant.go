package nodetest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	sbsip "github.com/switchboard/switchboard/internal/sip"
)

// Registrant is a phone on a loopback address of the test's choosing
// (127.0.0.x) that only registers, with whatever password it is given: a
// password guesser, or the right phone behind the same address.
type Registrant struct {
	Ext    string
	Source netip.AddrPort

	server netip.AddrPort
	client *sipgo.Client
}

// NewRegistrant binds a SIP socket on source, port 0, for ext at the node
// at server; Cleanup closes it.
func NewRegistrant(t testing.TB, server netip.AddrPort, source netip.Addr, ext string) *Registrant {
	t.Helper()
	conn, err := net.ListenPacket("udp", netip.AddrPortFrom(source, 0).String())
	if err != nil {
		t.Fatalf("nodetest: listen on %s: %v", source, err)
	}
	addr := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	host := source.String()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("switchboard-nodetest"), sipgo.WithUserAgentHostname(host))
	if err != nil {
		t.Fatalf("nodetest: user agent: %v", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		t.Fatalf("nodetest: sip server: %v", err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(host), sipgo.WithClientPort(int(addr.Port())),
		sipgo.WithClientConnectionAddr(addr.String()), sipgo.WithClientLogger(log))
	if err != nil {
		t.Fatalf("nodetest: sip client: %v", err)
	}
	go func() { _ = srv.ServeUDP(conn) }()
	t.Cleanup(func() { conn.Close(); ua.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sbsip.WaitListening(ctx, ua, addr.String()); err != nil {
		t.Fatalf("nodetest: %v", err)
	}
	return &Registrant{Ext: ext, Source: addr, server: server, client: client}
}

// Register sends a REGISTER for an hour and answers the challenge with
// password. It returns the final status code, or 0 when the node gave no
// answer at all within wait.
func (r *Registrant) Register(password string, wait time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	node := gosip.Uri{Scheme: "sip", Host: r.server.Addr().String(), Port: int(r.server.Port())}
	aor := node
	aor.User = r.Ext
	req := gosip.NewRequest(gosip.REGISTER, node)
	from := &gosip.FromHeader{Address: aor, Params: gosip.NewParams()}
	from.Params.Add("tag", gosip.GenerateTagN(12))
	req.AppendHeader(from)
	req.AppendHeader(&gosip.ToHeader{Address: aor, Params: gosip.NewParams()})
	req.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: r.Ext, Host: r.Source.Addr().String(), Port: int(r.Source.Port())}})
	req.AppendHeader(gosip.NewHeader("Expires", strconv.Itoa(3600)))
	res, err := r.client.Do(ctx, req)
	if err == nil && (res.StatusCode == 401 || res.StatusCode == 407) {
		res, err = r.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: r.Ext, Password: password})
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return 0, nil
	case err != nil:
		return 0, errorf("REGISTER %s from %s: %w", r.Ext, r.Source, err)
	}
	return res.StatusCode, nil
}
