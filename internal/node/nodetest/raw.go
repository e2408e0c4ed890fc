package nodetest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// DialogTags names a dialog as one of its two ends sends requests in it:
// the Call-ID, Local (that end's tag, in From) and Remote (the other end's,
// in To).
type DialogTags struct {
	CallID, Local, Remote string
}

// Dialog is the caller's dialog with the node, as the caller sends in it.
func (c *Caller) Dialog() DialogTags {
	if c.dlg == nil || c.dlg.InviteResponse == nil {
		return DialogTags{}
	}
	return DialogTags{CallID: callID(c.dlg.InviteRequest), Local: fromTag(c.dlg.InviteRequest.From()),
		Remote: toTag(c.dlg.InviteResponse.To())}
}

// Dialog is the phone's dialog with the node, as the phone sends in it.
func (c *PhoneCall) Dialog() DialogTags {
	req := c.dlg.InviteRequest // the phone's copy, with its own To tag
	return DialogTags{CallID: callID(req), Local: toTag(req.To()), Remote: fromTag(req.From())}
}

func fromTag(h *gosip.FromHeader) string {
	if h == nil {
		return ""
	}
	t, _ := h.Params.Get("tag")
	return t
}

func toTag(h *gosip.ToHeader) string {
	if h == nil {
		return ""
	}
	t, _ := h.Params.Get("tag")
	return t
}

// Raw is a bare UDP socket that sends hand-written SIP requests to a node
// and reads the answers: requests no well-behaved user agent sends, such
// as an outsider's BYE for someone else's call. Cleanup closes it.
type Raw struct {
	conn   *net.UDPConn
	server netip.AddrPort
	cseq   int
}

// NewRaw binds a socket on ip (any of 127/8 works on Linux, so a test can
// send from an address other than its phones') to talk to the node at
// server.
func NewRaw(t testing.TB, server netip.AddrPort, ip string) *Raw {
	t.Helper()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatalf("nodetest: raw socket on %s: %v", ip, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &Raw{conn: conn, server: server, cseq: 100}
}

// Addr is the socket's address.
func (r *Raw) Addr() netip.AddrPort { return r.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// Request sends method in the dialog d (an empty tag is left out), with
// extra header lines ("Name: value\r\n" each) and body, and returns the
// status of the final response, failing the test if none comes within 5 s.
func (r *Raw) Request(t testing.TB, method string, d DialogTags, extra string, body []byte) int {
	t.Helper()
	code := r.RequestWithin(t, method, d, extra, body, 5*time.Second)
	if code == 0 {
		t.Fatalf("nodetest: raw %s: no final response", method)
	}
	return code
}

// RequestWithin is Request waiting at most wait, returning 0 when no final
// response came (a request the node drops).
func (r *Raw) RequestWithin(t testing.TB, method string, d DialogTags, extra string, body []byte, wait time.Duration) int {
	t.Helper()
	r.cseq++
	me := r.Addr()
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:100@%s SIP/2.0\r\n", method, r.server)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bK%016x;rport\r\n", me, rand.Uint64())
	fmt.Fprintf(&b, "From: <sip:5551234@%s>%s\r\n", me.Addr(), tagParam(d.Local))
	fmt.Fprintf(&b, "To: <sip:100@%s>%s\r\n", r.server.Addr(), tagParam(d.Remote))
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d %s\r\n", d.CallID, r.cseq, method)
	fmt.Fprintf(&b, "Contact: <sip:5551234@%s>\r\nMax-Forwards: 70\r\n", me)
	b.WriteString(extra)
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.Write(body)
	if _, err := r.conn.WriteToUDPAddrPort([]byte(b.String()), r.server); err != nil {
		t.Fatalf("nodetest: raw %s: %v", method, err)
	}
	deadline := time.Now().Add(wait)
	buf := make([]byte, 65535)
	for {
		if err := r.conn.SetReadDeadline(deadline); err != nil {
			t.Fatalf("nodetest: raw %s: %v", method, err)
		}
		n, _, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return 0
		}
		msg, err := gosip.ParseMessage(buf[:n])
		if err != nil {
			continue
		}
		res, ok := msg.(*gosip.Response)
		if !ok || res.StatusCode < 200 || res.CSeq() == nil || int(res.CSeq().SeqNo) != r.cseq {
			continue
		}
		if method == "INVITE" && res.StatusCode >= 300 {
			r.ackError(res, me)
		}
		return res.StatusCode
	}
}

// ackError ACKs a non-2xx final answer to an INVITE, so the node's
// transaction stops retransmitting it.
func (r *Raw) ackError(res *gosip.Response, me netip.AddrPort) {
	via := res.Via()
	if via == nil {
		return
	}
	branch, _ := via.Params.Get("branch")
	ack := fmt.Sprintf("ACK sip:100@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\n%s\r\n%s\r\n%s\r\nCSeq: %d ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		r.server, me, branch, res.From(), res.To(), res.CallID(), r.cseq)
	_, _ = r.conn.WriteToUDPAddrPort([]byte(ack), r.server)
}

func tagParam(tag string) string {
	if tag == "" {
		return ""
	}
	return ";tag=" + tag
}
