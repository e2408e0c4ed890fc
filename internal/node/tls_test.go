package node_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/node/nodetest"
	"github.com/switchboard/switchboard/internal/sip"
)

// An agent's phone that speaks only SIP over TLS registers, is answered
// OPTIONS, and is rung over the connection it registered on, with a
// Contact that tells it to answer over TLS.
func TestAgentPhoneOverTLS(t *testing.T) {
	n := nodetest.Start(t, "")
	if !n.SIPTLSAddr().IsValid() || n.SIPTLSAddr().Port() == 0 {
		t.Fatalf("SIPTLSAddr %v: the demo listens for TLS", n.SIPTLSAddr())
	}
	alice := n.TLSPhone(t, "1001")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if code, err := alice.Options(ctx); err != nil || code != 200 {
		t.Fatalf("OPTIONS over TLS: %d %v", code, err)
	}
	if code, err := alice.Register(ctx, time.Minute); err != nil || code != 200 {
		t.Fatalf("REGISTER 1001 over TLS: %d %v", code, err)
	}
	nodetest.WaitFor(t, 5*time.Second, "agent 1001 available", func() bool { return n.AgentState("1001") == "available" })

	c := n.Dial(t, "100")
	if c.Code != 200 {
		t.Fatalf("INVITE to 100: %d", c.Code)
	}
	c.SendDTMF("1") // sales
	select {
	case inv := <-alice.Invites:
		if tr := inv.Transport(); !strings.EqualFold(tr, "TLS") {
			t.Errorf("INVITE came over %q, want TLS", tr)
		}
		contact := inv.Contact()
		if contact == nil {
			t.Fatal("INVITE has no Contact")
		}
		if tr, _ := contact.Address.UriParams.Get("transport"); tr != "tls" || contact.Address.Port != int(n.SIPTLSAddr().Port()) {
			t.Errorf("INVITE Contact %s: want transport=tls at port %d", contact.Address.String(), n.SIPTLSAddr().Port())
		}
		if v := inv.Via(); v == nil || !strings.EqualFold(v.Transport, "TLS") {
			t.Errorf("INVITE Via %v: want SIP/2.0/TLS", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the TLS phone was not rung")
	}
	c.Hangup()
}

// A trunk over TLS registers with a carrier whose certificate chains to
// the pinned tls_ca, and not with one whose certificate does not.
func TestTrunkRegistersOverTLSWithPinnedCA(t *testing.T) {
	dir := t.TempDir()
	carrier := newTLSCarrier(t, dir, "carrier")
	_, _, _ = sip.LoadCertificate(filepath.Join(dir, "other.pem"), filepath.Join(dir, "other-key.pem"), true, "127.0.0.1")
	for _, tc := range []struct {
		name, ca   string
		registered bool
	}{
		{"pinned to the carrier's CA", filepath.Join(dir, "carrier.pem"), true},
		{"pinned to another CA", filepath.Join(dir, "other.pem"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setup := nodetest.Demo(t, `outbound: {host: "127.0.0.1:5080", transport: udp}`,
				fmt.Sprintf(`outbound: {host: %q, transport: tls, tls_ca: %q, register: true, username: acct, password: secret}`,
					carrier, tc.ca))
			n := nodetest.Start(t, setup)
			var trunks []struct {
				Registered bool   `json:"registered"`
				LastError  string `json:"last_error"`
				Attempts   int    `json:"attempts"`
			}
			nodetest.WaitFor(t, 10*time.Second, "a registration attempt", func() bool {
				return n.API("GET", "/api/v1/trunks", nil, &trunks) == 200 && len(trunks) == 1 && trunks[0].Attempts > 0
			})
			if trunks[0].Registered != tc.registered {
				t.Fatalf("registered %v (error %q), want %v", trunks[0].Registered, trunks[0].LastError, tc.registered)
			}
			if !tc.registered && !strings.Contains(trunks[0].LastError, "x509") {
				t.Fatalf("refused for %q, want a certificate error", trunks[0].LastError)
			}
		})
	}
}

// newTLSCarrier serves SIP over TLS on 127.0.0.1 with a self-signed
// certificate written to dir/name.pem, answering REGISTER 200.
func newTLSCarrier(t *testing.T, dir, name string) string {
	t.Helper()
	cert, _, err := sip.LoadCertificate(filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"), true, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("carrier"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(func(req *gosip.Request, tx gosip.ServerTransaction) {
		res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
		res.AppendHeader(gosip.NewHeader("Expires", "600"))
		_ = tx.Respond(res)
	})
	go func() { _ = srv.ServeTLS(ln) }()
	t.Cleanup(func() { ln.Close(); ua.Close() })
	return ln.Addr().String()
}
