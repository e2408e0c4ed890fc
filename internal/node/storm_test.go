package node_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// stormSources are the loopback addresses the storm comes from: none is
// a trunk's, a phone's or a caller's.
var stormSources = []string{"127.0.0.30", "127.0.0.31", "127.0.0.32", "127.0.0.33", "127.0.0.34", "127.0.0.35"}

// stormSDP is an offer that does not parse as SDP, or parses into no usable audio.
var stormSDP = []string{
	"v=0\r\no=- 1 1 IN IP4 127.0.0.30\r\ns=-\r\nc=IN IP4 999.1.1.1\r\nt=0 0\r\nm=audio 99999 RTP/AVP 0\r\n",
	"v=0\r\nm=audio abc RTP/AVP\r\n",
	"hello, not sdp",
	"v=0\r\no=- 1 1 IN IP4 127.0.0.30\r\ns=-\r\nc=IN IP4 127.0.0.30\r\nt=0 0\r\nm=video 4000 RTP/AVP 96\r\n",
	"v=1\r\n\x00\x01\x02",
}

// stormDatagram is the i-th datagram the storm sends to the SIP port from
// me: junk, broken SIP, or an INVITE with a broken SDP offer.
func stormDatagram(r *rand.Rand, me, server netip.AddrPort, i int) []byte {
	invite := func(body string, extra string) string {
		return fmt.Sprintf("INVITE sip:100@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKstorm%d-%d;rport\r\n"+
			"From: <sip:666@%s>;tag=s%d\r\nTo: <sip:100@%s>\r\nCall-ID: storm-%d-%d@%s\r\nCSeq: 1 INVITE\r\n"+
			"Contact: <sip:666@%s>\r\nMax-Forwards: 70\r\n%sContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
			server, me, me.Port(), i, me.Addr(), i, server.Addr(), me.Port(), i, me.Addr(), me, extra, len(body), body)
	}
	switch i % 8 {
	case 0: // random bytes
		b := make([]byte, 20+r.IntN(1200))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		return b
	case 1: // a valid INVITE cut short
		m := invite(stormSDP[0], "")
		return []byte(m[:r.IntN(len(m))])
	case 2: // a start line, then garbage headers
		return []byte(fmt.Sprintf("INVITE sip:100@%s SIP/2.0\r\nVia SIP/2.0/UDP nowhere\r\n\x00\x00: %d\r\nCSeq: x y z\r\n\r\n", server, r.Uint64()))
	case 3: // a Content-Length larger than the body
		return []byte(strings.Replace(invite(stormSDP[1], ""), "Content-Length:", "Content-Length: 9999\r\nX-Old-Length:", 1))
	case 4: // no Via, no CSeq: parses, but makes no transaction
		return []byte(fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nFrom: <sip:a@b>;tag=x\r\nTo: <sip:c@d>\r\nCall-ID: storm-%d\r\n\r\n", server, i))
	case 5: // a response to nothing
		return []byte(fmt.Sprintf("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKnone%d\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\n"+
			"Call-ID: storm-res-%d\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n", server, i, i))
	case 6: // RTP at the SIP port
		b := make([]byte, 172)
		b[0], b[1] = 0x80, 0
		return b
	default: // an INVITE with a broken SDP offer
		return []byte(invite(stormSDP[r.IntN(len(stormSDP))], ""))
	}
}

// TestDatagramStormDuringCalls: two callers talk to two agents while six
// other addresses send the SIP port thousands of malformed messages,
// INVITEs with broken SDP and RTP, and the node's RTP ports random RTP and
// junk. The calls keep their audio both ways throughout, the node answers
// OPTIONS after, the junk leaves no call record (the only new records are
// of broken INVITEs from the trusted trunk, 488 each) and the log stays
// small: each flooding source is a few sampled security events.
func TestDatagramStormDuringCalls(t *testing.T) {
	// Only 127.0.0.1 — the callers, the phones, and the trunk sending
	// broken offers — is a trunk; the storm's addresses are strangers.
	n := nodetest.Start(t, nodetest.Demo(t, `inbound_sources: [127.0.0.0/8, "::1"]`, `inbound_sources: [127.0.0.1]`))
	alice, carol := n.Phone(t, "1001"), n.Phone(t, "1003")
	alice.SetTone(440)
	carol.SetTone(600)
	nodetest.WaitFor(t, 5*time.Second, "agents 1001 and 1003 available", func() bool {
		return n.AgentState("1001") == "available" && n.AgentState("1003") == "available"
	})
	type call struct {
		caller                *nodetest.Caller
		agent                 *nodetest.PhoneCall
		callerTone, agentTone float64
	}
	connect := func(key string, ph *nodetest.Phone, callerTone, agentTone float64) call {
		c := n.Dial(t, "100", nodetest.Tone(callerTone))
		if c.Code != 200 {
			t.Fatalf("INVITE to 100: %d", c.Code)
		}
		nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
		c.SendDTMF(key)
		a := ph.NextCall(t, 15*time.Second)
		select {
		case <-a.Answered():
		case <-time.After(5 * time.Second):
			t.Fatalf("phone %s did not answer", ph.Ext)
		}
		return call{c, a, callerTone, agentTone}
	}
	calls := []call{connect("1", alice, 1000, 440), connect("2", carol, 1300, 600)}
	talking := func(when string) {
		t.Helper()
		for i, c := range calls {
			select {
			case <-c.caller.Ended():
				t.Fatalf("%s: caller %d's call ended", when, i+1)
			case <-c.agent.Ended():
				t.Fatalf("%s: agent %d's call ended", when, i+1)
			default:
			}
			toCaller, toAgent := c.caller.RTP.Received(), c.agent.RTP.Received()
			nodetest.WaitFor(t, 5*time.Second, fmt.Sprintf("%s: call %d's audio both ways", when, i+1), func() bool {
				return c.caller.RTP.Received() > toCaller+10 && c.agent.RTP.Received() > toAgent+10 &&
					c.caller.RTP.ToneLevel(c.agentTone) > 0.5 && c.agent.RTP.ToneLevel(c.callerTone) > 0.5
			})
		}
	}
	talking("before the storm")

	records := func() int {
		t.Helper()
		var list struct {
			Calls []nodetest.CallRecord `json:"calls"`
		}
		if code := n.API("GET", "/api/v1/calls?limit=1000", nil, &list); code != 200 {
			t.Fatalf("GET calls: %d", code)
		}
		return len(list.Calls)
	}
	recordsBefore := records()
	logBefore, err := os.ReadFile(n.Log)
	if err != nil {
		t.Fatal(err)
	}

	server := n.SIPAddr()
	cfg := n.Config().Server
	const perSource = 800 // to the SIP port; as many again to the RTP ports
	const trustedBroken = 16
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sent int
	)
	start := time.Now()
	for s, ip := range stormSources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			me := conn.LocalAddr().(*net.UDPAddr).AddrPort()
			r := rand.New(rand.NewPCG(uint64(s), 13))
			// One datagram to the SIP port and one to an RTP port every 2 ms:
			// 1,000 a second from each address, for 1.6 s.
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
			rtp := make([]byte, 172)
			count := 0
			for i := 0; i < perSource; i++ {
				<-tick.C
				if _, err := conn.WriteToUDPAddrPort(stormDatagram(r, me, server, i), server); err == nil {
					count++
				}
				// RTP (half with a valid header, half junk) at a port of the node's range.
				port := uint16(cfg.RTPPortMin + r.IntN(cfg.RTPPortMax-cfg.RTPPortMin+1))
				for j := range rtp {
					rtp[j] = byte(r.Uint32())
				}
				if i%2 == 0 {
					rtp[0], rtp[1] = 0x80, 0
				}
				if _, err := conn.WriteToUDPAddrPort(rtp, netip.AddrPortFrom(server.Addr(), port)); err == nil {
					count++
				}
			}
			mu.Lock()
			sent += count
			mu.Unlock()
		}()
	}
	talking("during the storm")
	// The trusted trunk sends a few broken offers: each is a call that
	// touched the system, refused 488, and leaves a record.
	trunk := nodetest.NewRaw(t, server, "127.0.0.1")
	refused := 0
	for i := range trustedBroken {
		body := []byte(stormSDP[i%len(stormSDP)])
		if code := trunk.Request(t, "INVITE", nodetest.DialogTags{CallID: fmt.Sprintf("trunk-broken-%d", i), Local: "tb"},
			"Content-Type: application/sdp\r\n", body); code >= 400 {
			refused++
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("storm: %d datagrams from %d addresses in %s (%.0f/s), half to the SIP port, half to the RTP ports",
		sent, len(stormSources), elapsed.Round(time.Millisecond), float64(sent)/elapsed.Seconds())
	talking("after the storm")

	if code := n.Options(t); code != 200 {
		t.Fatalf("OPTIONS after the storm: %d", code)
	}
	if got := sendOptions(t, server, "127.0.0.40", 5); got != 5 {
		t.Fatalf("OPTIONS from a new address after the storm: %d of 5 answered", got)
	}
	if grown := records() - recordsBefore; grown > refused || refused == 0 {
		t.Fatalf("call records grew by %d; the trunk's %d refused broken offers may add one each, the storm none", grown, refused)
	}

	logAfter, err := os.ReadFile(n.Log)
	if err != nil {
		t.Fatal(err)
	}
	written := logAfter[len(logBefore):]
	var lines, above, events int
	for _, l := range bytes.Split(written, []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		lines++
		if !bytes.Contains(l, []byte("level=DEBUG")) {
			above++
		}
		if bytes.Contains(l, []byte(`msg="security event"`)) {
			events++
		}
	}
	t.Logf("log during the storm: %d bytes, %d lines, %d at INFO or above, %d security events", len(written), lines, above, events)
	// Per source and kind one sampled event in the interval; the trunk's
	// refusals two lines each; a handful of sipgo's own, rate limited.
	if maxAbove := 3*len(stormSources) + 3*trustedBroken + 40; above > maxAbove {
		t.Fatalf("%d log lines at INFO or above during the storm, want at most %d; the first:\n%s", above, maxAbove,
			written[:min(len(written), 4000)])
	}

	var report struct {
		Counts map[string]int `json:"counts"`
		Shed   map[string]int `json:"shed"`
	}
	if code := n.API("GET", "/api/v1/security/events", nil, &report); code != 200 {
		t.Fatalf("GET events: %d", code)
	}
	t.Logf("security events: %v; shed: %v", report.Counts, report.Shed)
	if report.Shed["malformed"] == 0 || report.Counts["malformed"] > 2*len(stormSources) {
		t.Fatalf("events %+v: want the malformed counted, and reported about once per source", report)
	}

	for _, c := range calls {
		c.caller.Hangup()
		c.agent.WaitEnded(t, 5*time.Second)
	}
}
