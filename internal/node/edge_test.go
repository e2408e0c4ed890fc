package node_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// options is an OPTIONS request from me over transport (UDP or TCP).
func options(me netip.AddrPort, server netip.AddrPort, transport string, i int) []byte {
	return request("OPTIONS", me, server, transport, i)
}

// request is a request of method (OPTIONS or REGISTER, for 1001) from me.
func request(method string, me netip.AddrPort, server netip.AddrPort, transport string, i int) []byte {
	return []byte(fmt.Sprintf("%s sip:%s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=z9hG4bKedge%d-%d;rport\r\n"+
		"From: <sip:1001@%s>;tag=t%d\r\nTo: <sip:1001@%s>\r\nCall-ID: edge-%d-%d@%s\r\nCSeq: 1 %s\r\n"+
		"Contact: <sip:1001@%s>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		method, server, transport, me, me.Port(), i, me.Addr(), i, server.Addr(), me.Port(), i, me.Addr(), method, me))
}

// sendOptions sends n OPTIONS over UDP from ip, as fast as it can, and
// counts the 200s that come back until none has for a second.
func sendOptions(t *testing.T, server netip.AddrPort, ip string, n int) int {
	t.Helper()
	return send(t, server, ip, "OPTIONS", 200, n)
}

// send sends n requests of method over UDP from ip, as fast as it can,
// and counts the answers with code that come back until none has for a
// second.
func send(t *testing.T, server netip.AddrPort, ip, method string, code, n int) int {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The answers queue up while the requests go out: room for them all.
	if err := c.SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	me := c.LocalAddr().(*net.UDPAddr).AddrPort()
	for i := range n {
		if _, err := c.WriteToUDPAddrPort(request(method, me, server, "UDP", i), server); err != nil {
			t.Fatal(err)
		}
	}
	ok := 0
	buf := make([]byte, 4096)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		m, _, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			break
		}
		if msg, err := gosip.ParseMessage(buf[:m]); err == nil {
			if res, isRes := msg.(*gosip.Response); isRes && res.StatusCode == code {
				ok++
			}
		}
	}
	return ok
}

// edgeMetrics gathers the node's edge collector: each sample's value by
// metric name and label value.
func edgeMetrics(t *testing.T, n *nodetest.Node) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(n.EdgeCollector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "/" + l.GetValue()
			}
			if m.Counter != nil {
				out[key] = m.Counter.GetValue()
			} else {
				out[key] = m.Gauge.GetValue()
			}
		}
	}
	return out
}

// TestOptionsFloodIsRateLimited: 300 OPTIONS at once from an address that
// is no trunk's get about the burst (40) answered and the rest nothing;
// the flood is one security event and one log line, not one per request;
// another address, and a trunk's address, are answered as usual. 300
// REGISTERs from the same address meet REGISTER's own burst (100), and
// are reported in the same event: one per source per interval.
func TestOptionsFloodIsRateLimited(t *testing.T) {
	n := nodetest.Start(t, nodetest.Demo(t, `inbound_sources: [127.0.0.0/8, "::1"]`, `inbound_sources: [127.0.0.1]`))
	got := sendOptions(t, n.SIPAddr(), "127.0.0.20", 300)
	if got < 40 || got > 100 { // 20/s refill: the upper bound allows 3 s of a loaded machine
		t.Fatalf("%d of 300 OPTIONS from one address answered, want the burst of 40 and what refilled meanwhile", got)
	}
	if got := sendOptions(t, n.SIPAddr(), "127.0.0.21", 20); got != 20 {
		t.Fatalf("another address: %d of 20 answered", got)
	}
	if got := sendOptions(t, n.SIPAddr(), "127.0.0.1", 300); got != 300 {
		t.Fatalf("the trunk's address: %d of 300 answered, want all: trunks are not rate limited", got)
	}
	// REGISTER has its own bucket, with a burst of 100 (an office behind
	// one address registering at once): challenged, then nothing.
	if got := send(t, n.SIPAddr(), "127.0.0.20", "REGISTER", 401, 300); got < 100 || got > 160 {
		t.Fatalf("%d of 300 REGISTERs from one address challenged, want the burst of 100 and what refilled meanwhile", got)
	}
	var events struct {
		Counts map[string]int `json:"counts"`
		Shed   map[string]int `json:"shed"`
	}
	if code := n.API("GET", "/api/v1/security/events", nil, &events); code != 200 {
		t.Fatalf("GET events: %d", code)
	}
	m := edgeMetrics(t, n)
	dropped := int(m["switchboard_sip_shed_total/rate_options"] + m["switchboard_sip_shed_total/rate_register"])
	// One event for the source's floods in the interval, both methods.
	if events.Counts["rate_limited"] != 1 || events.Shed["rate_limited"] != dropped {
		t.Fatalf("events %+v, want 1 rate_limited event standing for the %d requests dropped", events, dropped)
	}
	if opts := int(m["switchboard_sip_shed_total/rate_options"]); opts < 200 || opts+got > 300 ||
		m["switchboard_security_events_total/rate_limited"] != 1 {
		t.Fatalf("%d OPTIONS answered; metrics %v", got, m)
	}
	log, err := os.ReadFile(n.Log)
	if err != nil {
		t.Fatal(err)
	}
	if lines := regexp.MustCompile(`msg="security event" kind=rate_limited source=127\.0\.0\.20 `).FindAll(log, -1); len(lines) != 1 {
		t.Fatalf("%d log lines of the floods, want 1", len(lines))
	}
}

// TestTCPConnectionsAreCapped: 40 TCP connections from one address keep
// 32 (the default cap), the others are closed at once; the silent ones
// are closed after the idle time (1 s here); and meanwhile another
// address's OPTIONS over TCP is answered.
func TestTCPConnectionsAreCapped(t *testing.T) {
	n := nodetest.Start(t, nodetest.Demo(t)+"\nsecurity:\n  connections: {idle: 1s}\n")
	server := n.SIPAddr()
	var conns []net.Conn
	for range 40 {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.5")}, Timeout: 2 * time.Second}
		c, err := d.Dial("tcp", server.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns = append(conns, c)
	}
	// A connection the node closed reads EOF at once; one it keeps, the
	// deadline (well within the idle second). All read at once.
	keptc := make(chan bool, len(conns))
	deadline := time.Now().Add(300 * time.Millisecond)
	for _, c := range conns {
		go func() {
			_ = c.SetReadDeadline(deadline)
			var ne net.Error
			_, err := c.Read(make([]byte, 1))
			keptc <- errors.As(err, &ne) && ne.Timeout()
		}()
	}
	kept := 0
	for range conns {
		if <-keptc {
			kept++
		}
	}
	if kept != 32 {
		t.Fatalf("%d of 40 connections from one address kept, want 32", kept)
	}

	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.6")}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", server.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	me := c.LocalAddr().(*net.TCPAddr).AddrPort()
	if _, err := c.Write(options(me, server, "TCP", 1)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	status, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "SIP/2.0 200") {
		t.Fatalf("OPTIONS over TCP from another address: %q %v", status, err)
	}

	nodetest.WaitFor(t, 5*time.Second, "the idle connections closed", func() bool {
		return edgeMetrics(t, n)["switchboard_sip_connections"] == 0
	})
	m := edgeMetrics(t, n)
	if m["switchboard_sip_shed_total/connection_per_source"] != 8 || m["switchboard_sip_shed_total/connection_idle"] != 33 ||
		m["switchboard_security_events_total/connection_limit"] != 1 {
		t.Fatalf("metrics %v", m)
	}
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		var ne net.Error
		if _, err := c.Read(make([]byte, 1)); errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("a connection silent for 1 s is still open")
		}
	}
	log, err := os.ReadFile(n.Log)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(log, []byte("level=ERROR")) {
		t.Fatalf("refused or idle connections logged an error:\n%s", log)
	}
}

// TestIdleTLSConnectionIsClosed: a connection to the TLS port that never
// starts its handshake is closed after the idle time, quietly (no error
// in the log), and counted.
func TestIdleTLSConnectionIsClosed(t *testing.T) {
	n := nodetest.Start(t, nodetest.Demo(t)+"\nsecurity:\n  connections: {idle: 500ms}\n")
	c, err := net.DialTimeout("tcp", n.SIPTLSAddr().String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read data from a connection that sent no handshake")
	}
	if waited := time.Since(start); waited < 400*time.Millisecond || waited > 3*time.Second {
		t.Fatalf("closed after %s, want about the idle 500 ms", waited)
	}
	nodetest.WaitFor(t, 2*time.Second, "the close counted", func() bool {
		return edgeMetrics(t, n)["switchboard_sip_shed_total/connection_idle"] == 1
	})
	log, err := os.ReadFile(n.Log)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(log, []byte("level=ERROR")) {
		t.Fatalf("an idle connection's close logged an error:\n%s", log)
	}
}
