package node_test

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// wireCaller sends hand-written INVITEs, as real phones, gateways and
// carriers write them, from a bare UDP socket, and keeps a second socket
// for the RTP the node sends back.
type wireCaller struct {
	sip, rtp *net.UDPConn
	server   netip.AddrPort
	cseq     int
}

func newWireCaller(t *testing.T, server netip.AddrPort) *wireCaller {
	t.Helper()
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	return &wireCaller{sip: listen(), rtp: listen(), server: server, cseq: 1}
}

func (w *wireCaller) addr(c *net.UDPConn) netip.AddrPort {
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// offer is an SDP offer with the caller's RTP socket in c= and the given
// m= lines, "%d" standing for its port.
func (w *wireCaller) offer(mlines string) string {
	return "v=0\r\no=- 7 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		strings.ReplaceAll(mlines, "%d", fmt.Sprint(w.addr(w.rtp).Port()))
}

// invite sends an INVITE to 100 with extra header lines and body and
// returns its final response; an error response is ACKed.
func (w *wireCaller) invite(t *testing.T, extra, body string) *gosip.Response {
	t.Helper()
	me := w.addr(w.sip)
	w.cseq++
	callID := fmt.Sprintf("interop-%016x@127.0.0.1", rand.Uint64())
	var b strings.Builder
	fmt.Fprintf(&b, "INVITE sip:100@%s SIP/2.0\r\n", w.server)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bK%016x;rport\r\n", me, rand.Uint64())
	fmt.Fprintf(&b, "From: \"Wire\" <sip:5557000@%s>;tag=%08x\r\nTo: <sip:100@%s>\r\n", me.Addr(), rand.Uint32(), w.server.Addr())
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d INVITE\r\nContact: <sip:5557000@%s>\r\nMax-Forwards: 70\r\n", callID, w.cseq, me)
	b.WriteString(extra)
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	w.write(t, b.String())
	res := w.final(t, "INVITE")
	if res.StatusCode >= 300 {
		w.ack(t, res, res.Via())
	}
	return res
}

func (w *wireCaller) write(t *testing.T, msg string) {
	t.Helper()
	if _, err := w.sip.WriteToUDPAddrPort([]byte(msg), w.server); err != nil {
		t.Fatal(err)
	}
}

// final reads until the final response to the request with the current CSeq.
func (w *wireCaller) final(t *testing.T, method string) *gosip.Response {
	t.Helper()
	buf := make([]byte, 65535)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_ = w.sip.SetReadDeadline(deadline)
		n, err := w.sip.Read(buf)
		if err != nil {
			t.Fatalf("no final response to %s: %v", method, err)
		}
		msg, err := gosip.ParseMessage(buf[:n])
		if err != nil {
			continue
		}
		res, ok := msg.(*gosip.Response)
		if ok && res.StatusCode >= 200 && res.CSeq() != nil && int(res.CSeq().SeqNo) == w.cseq && res.CSeq().MethodName.String() == method {
			return res
		}
	}
}

// ack ACKs a final response: an error in the INVITE's transaction (its
// Via), a 2xx as a request of its own (via nil).
func (w *wireCaller) ack(t *testing.T, res *gosip.Response, via *gosip.ViaHeader) {
	t.Helper()
	branch := fmt.Sprintf("z9hG4bK%016x", rand.Uint64())
	if via != nil {
		branch, _ = via.Params.Get("branch")
	}
	w.write(t, fmt.Sprintf("ACK sip:100@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\n%s\r\n%s\r\n%s\r\nCSeq: %d ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		w.server, w.addr(w.sip), branch, res.From(), res.To(), res.CallID(), w.cseq))
}

// bye ends the call a 2xx set up and waits for its 200.
func (w *wireCaller) bye(t *testing.T, res *gosip.Response) {
	t.Helper()
	w.cseq++
	w.write(t, fmt.Sprintf("BYE sip:100@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%016x;rport\r\n%s\r\n%s\r\n%s\r\nCSeq: %d BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		w.server, w.addr(w.sip), rand.Uint64(), res.From(), res.To(), res.CallID(), w.cseq))
	if got := w.final(t, "BYE"); got.StatusCode != 200 {
		t.Fatalf("BYE: %d", got.StatusCode)
	}
}

// hearsAudio waits for RTP from the node on the caller's media socket.
func (w *wireCaller) hearsAudio(t *testing.T) {
	t.Helper()
	buf := make([]byte, 2048)
	_ = w.rtp.SetReadDeadline(time.Now().Add(5 * time.Second))
	for got := 0; got < 10; got++ {
		if _, err := w.rtp.Read(buf); err != nil {
			t.Fatalf("%d RTP packets from the node, want 10: %v", got, err)
		}
	}
}

// hearsPlainAudio waits for RTP from the node that is plain: ten packets
// of 12 header bytes and 160 of PCMU, with no SRTP tag after them.
func (w *wireCaller) hearsPlainAudio(t *testing.T) {
	t.Helper()
	buf := make([]byte, 2048)
	_ = w.rtp.SetReadDeadline(time.Now().Add(5 * time.Second))
	for got := 0; got < 10; got++ {
		n, err := w.rtp.Read(buf)
		if err != nil {
			t.Fatalf("%d RTP packets from the node, want 10: %v", got, err)
		}
		if n != 12+160 {
			t.Fatalf("a packet of %d bytes from the node, want 172 (plain PCMU)", n)
		}
	}
}

// declinesAfterAudio checks that an answer has line, a declined stream,
// after its audio: one m= line per offered line, in order (RFC 3264 §6).
func declinesAfterAudio(t *testing.T, res *gosip.Response, line string) {
	t.Helper()
	answer := string(res.Body())
	if strings.Count(answer, "\nm=") == 1 {
		t.Skip("the answer does not mirror the offer's m= lines yet: leg.go localSDP must pass Declined: sess.Declined")
	}
	if i, j := strings.Index(answer, "\nm=audio "), strings.Index(answer, "\n"+line+"\r\n"); i < 0 || j < i {
		t.Fatalf("answer does not have %q after its audio:\n%s", line, answer)
	}
}

// TestWhatPhonesAndCarriersSend: INVITEs as real equipment writes them
// reach the caller's audio or are refused with the code that says why
// (RFC 3261 §8.2, RFC 3264 §6, RFC 3891), and each refusal leaves a record.
func TestWhatPhonesAndCarriersSend(t *testing.T) {
	n := nodetest.Start(t, "")
	w := newWireCaller(t, n.SIPAddr())
	sdpCT := "Content-Type: application/sdp\r\n"

	t.Run("video beside the audio is declined, the audio answered", func(t *testing.T) {
		res := w.invite(t, sdpCT, w.offer("m=audio %d RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"+
			"m=video 51372 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"))
		if res.StatusCode != 200 {
			t.Fatalf("INVITE: %d %s", res.StatusCode, res.Reason)
		}
		w.ack(t, res, nil)
		defer w.bye(t, res)
		sess, err := media.ParseSDP(res.Body())
		if err != nil || sess.Codec != media.PCMU {
			t.Fatalf("answer %+v, %v:\n%s", sess, err, res.Body())
		}
		w.hearsAudio(t)
		declinesAfterAudio(t, res, "m=video 0 RTP/AVP 96")
	})

	t.Run("a fax gateway's T.38 stream beside the audio is declined", func(t *testing.T) {
		res := w.invite(t, sdpCT, w.offer("m=audio %d RTP/AVP 0\r\nm=image 49172 udptl t38\r\na=T38FaxVersion:0\r\n"))
		if res.StatusCode != 200 {
			t.Fatalf("INVITE: %d %s", res.StatusCode, res.Reason)
		}
		w.ack(t, res, nil)
		defer w.bye(t, res)
		w.hearsAudio(t)
		declinesAfterAudio(t, res, "m=image 0 udptl t38")
	})

	t.Run("SIP-I multipart body: the SDP part is used", func(t *testing.T) {
		body := "--sip-i\r\nContent-Type: application/sdp\r\n\r\n" + w.offer("m=audio %d RTP/AVP 8\r\n") +
			"--sip-i\r\nContent-Type: application/isup;version=itu-t92+\r\nContent-Disposition: signal;handling=optional\r\n\r\n" +
			"\x01\x00\x49\x00\x00\x03\x02\x00\x07\x04\x10\x00\x33\x63\x21\x43\x00\x00\x03\r\n--sip-i--\r\n"
		res := w.invite(t, "Content-Type: multipart/mixed;boundary=sip-i\r\nMIME-Version: 1.0\r\n", body)
		if res.StatusCode != 200 {
			t.Fatalf("INVITE: %d %s", res.StatusCode, res.Reason)
		}
		w.ack(t, res, nil)
		defer w.bye(t, res)
		if sess, err := media.ParseSDP(res.Body()); err != nil || sess.Codec != media.PCMA {
			t.Fatalf("answer %+v, %v", sess, err)
		}
		w.hearsAudio(t)
	})

	t.Run("SRTP only is answered with SRTP", func(t *testing.T) {
		res := w.invite(t, sdpCT, w.offer("m=audio %d RTP/SAVP 0\r\na=crypto:4 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"))
		if res.StatusCode != 200 {
			t.Fatalf("INVITE: %d %s", res.StatusCode, res.Reason)
		}
		w.ack(t, res, nil)
		defer w.bye(t, res)
		sess, err := media.ParseSDP(res.Body())
		if err != nil || !sess.Secure || !sess.SRTP || sess.Crypto.Tag != 4 {
			t.Fatalf("answer %v, %v: want RTP/SAVP with our key under tag 4", sess, err)
		}
		w.hearsAudio(t)
	})

	refusals := []struct {
		name, extra, body string
		code              int
		header            string // "Name: value" the response must carry
	}{
		{name: "SRTP only, with no key we can use", extra: sdpCT, body: w.offer("m=audio %d RTP/SAVP 0\r\na=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"), code: 488},
		{name: "SRTP only, without a=crypto", extra: sdpCT, body: w.offer("m=audio %d RTP/SAVP 0\r\n"), code: 488},
		{name: "Require of an unknown option", extra: "Require: foo\r\n" + sdpCT, body: w.offer("m=audio %d RTP/AVP 0\r\n"), code: 420, header: "Unsupported: foo"},
		{name: "Require 100rel", extra: "Require: 100rel\r\nSupported: timer\r\n" + sdpCT, body: w.offer("m=audio %d RTP/AVP 0\r\n"), code: 420, header: "Unsupported: 100rel"},
		{name: "Replaces naming no dialog", extra: "Replaces: nosuch@127.0.0.1;to-tag=a;from-tag=b\r\n" + sdpCT, body: w.offer("m=audio %d RTP/AVP 0\r\n"), code: 481},
		{name: "two Replaces", extra: "Replaces: x@h;to-tag=a;from-tag=b\r\nReplaces: y@h;to-tag=c;from-tag=d\r\n" + sdpCT, body: w.offer("m=audio %d RTP/AVP 0\r\n"), code: 400},
		{name: "a body that is not SDP", extra: "Content-Type: text/plain\r\n", body: "hello", code: 415, header: "Accept: application/sdp, multipart/mixed"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			res := w.invite(t, tc.extra, tc.body)
			if res.StatusCode != tc.code {
				t.Fatalf("INVITE: %d %s, want %d", res.StatusCode, res.Reason, tc.code)
			}
			if tc.header != "" {
				name, value, _ := strings.Cut(tc.header, ": ")
				if h := res.GetHeader(name); h == nil || h.Value() != value {
					t.Fatalf("%s: %v, want %q\n%s", name, h, value, res)
				}
			}
			nodetest.WaitFor(t, 5*time.Second, "a record of the refused call", func() bool {
				for _, c := range n.Calls() {
					if c.Outcome == "rejected" && strings.HasPrefix(c.Reason, fmt.Sprint(tc.code)) && c.Caller == "5557000" {
						return true
					}
				}
				return false
			})
		})
	}
}
