package nodetest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// TLSPhone is an agent's phone that talks to the node over SIP over TLS
// only, trusting nothing but the node's certificate. It listens on no port
// of its own: the node must reach it over the connection it registered on.
type TLSPhone struct {
	Ext string
	// Invites receives every INVITE the node sends it (answered 480).
	Invites chan *gosip.Request

	server   netip.AddrPort
	password string
	client   *sipgo.Client
}

// NewTLSPhone is a TLS phone for ext (with password) at the node's TLS
// address server; caPEM is the node's certificate. Cleanup closes it.
func NewTLSPhone(t testing.TB, server netip.AddrPort, caPEM []byte, ext, password string) *TLSPhone {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatalf("nodetest: no certificate in the node's PEM")
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("switchboard-nodetest-tls"), sipgo.WithUserAgentHostname("127.0.0.1"),
		sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatalf("nodetest: user agent: %v", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		t.Fatalf("nodetest: sip server: %v", err)
	}
	ph := &TLSPhone{Ext: ext, Invites: make(chan *gosip.Request, 4), server: server, password: password}
	srv.OnInvite(func(req *gosip.Request, tx gosip.ServerTransaction) {
		select {
		case ph.Invites <- req:
		default:
		}
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 480, "Temporarily Unavailable", nil))
	})
	srv.OnAck(func(*gosip.Request, gosip.ServerTransaction) {})
	ph.client, err = sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientLogger(log))
	if err != nil {
		t.Fatalf("nodetest: sip client: %v", err)
	}
	t.Cleanup(func() { ua.Close() })
	return ph
}

// NodeCertificate reads the certificate the node serves SIP over TLS with
// (the self-signed one in its data directory unless the setup names one).
func (n *Node) NodeCertificate(t testing.TB) []byte {
	t.Helper()
	cert, _, _ := n.Config().Server.TLSFiles()
	b, err := os.ReadFile(cert)
	if err != nil {
		t.Fatalf("nodetest: %v", err)
	}
	return b
}

// TLSPhone is a TLS phone for one of the setup's agents at this node.
func (n *Node) TLSPhone(t testing.TB, ext string) *TLSPhone {
	t.Helper()
	for _, a := range n.Config().Agents {
		if a.Extension == ext {
			return NewTLSPhone(t, n.SIPTLSAddr(), n.NodeCertificate(t), ext, a.Password)
		}
	}
	t.Fatalf("nodetest: the setup has no agent %q", ext)
	return nil
}

// uri is sip:user@<the node's TLS address>;transport=tls.
func (ph *TLSPhone) uri(user string) gosip.Uri {
	u := gosip.Uri{Scheme: "sip", User: user, Host: ph.server.Addr().String(), Port: int(ph.server.Port()), UriParams: gosip.NewParams()}
	u.UriParams.Add("transport", "tls")
	return u
}

// Register sends REGISTER over TLS, answering the digest challenge, and
// returns the final status. The Contact names a port nothing listens on:
// requests to the phone can only arrive over its connection.
func (ph *TLSPhone) Register(ctx context.Context, expires time.Duration) (int, error) {
	req := gosip.NewRequest(gosip.REGISTER, ph.uri(""))
	req.SetTransport("TLS")
	aor := ph.uri(ph.Ext)
	aor.UriParams = nil
	from := &gosip.FromHeader{Address: aor, Params: gosip.NewParams()}
	from.Params.Add("tag", gosip.GenerateTagN(12))
	req.AppendHeader(from)
	req.AppendHeader(&gosip.ToHeader{Address: aor, Params: gosip.NewParams()})
	contact := gosip.Uri{Scheme: "sip", User: ph.Ext, Host: "127.0.0.1", Port: 9, UriParams: gosip.NewParams()}
	contact.UriParams.Add("transport", "tls")
	req.AppendHeader(&gosip.ContactHeader{Address: contact})
	req.AppendHeader(expiresHeader(expires))
	res, err := ph.client.Do(ctx, req)
	if err != nil {
		return 0, errorf("REGISTER %s over TLS: %w", ph.Ext, err)
	}
	if res.StatusCode == 401 || res.StatusCode == 407 {
		res, err = ph.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: ph.Ext, Password: ph.password})
		if err != nil {
			return 0, errorf("REGISTER %s over TLS with credentials: %w", ph.Ext, err)
		}
	}
	return res.StatusCode, nil
}

// Options sends OPTIONS over TLS and returns the status code.
func (ph *TLSPhone) Options(ctx context.Context) (int, error) {
	req := gosip.NewRequest(gosip.OPTIONS, ph.uri(""))
	req.SetTransport("TLS")
	res, err := ph.client.Do(ctx, req)
	if err != nil {
		return 0, errorf("OPTIONS over TLS: %w", err)
	}
	return res.StatusCode, nil
}
