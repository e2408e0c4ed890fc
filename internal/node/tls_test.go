package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/node/nodetest"
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
