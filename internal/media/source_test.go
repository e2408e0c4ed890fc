package media

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// natRig is a bridged call on real loopback sockets: leg a's phone is the
// one under test (its SDP address and where it really sends from are set
// per case); leg b's phone is plain, at the address its SDP names.
type natRig struct {
	e      *Engine
	a, b   *Endpoint
	phoneB *net.UDPConn
	seq    uint16
}

func newNATRig(t *testing.T, portMin int) *natRig {
	t.Helper()
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: portMin, PortMax: portMin + 20})
	if err != nil {
		t.Fatal(err)
	}
	r := &natRig{e: e, phoneB: listenUDP(t, "127.0.0.1")}
	if r.a, err = e.NewEndpoint(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.a.Close)
	if r.b, err = e.NewEndpoint(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.b.Close)
	r.b.SetSession(Session{Remote: addrOf(r.phoneB), Codec: PCMU, PT: 0})
	Bridge(r.a, r.b)
	return r
}

// sdp points leg a at addr, as a (re-)INVITE's SDP would.
func (r *natRig) sdp(addr netip.AddrPort) {
	r.a.SetSession(Session{Remote: addr, Codec: PCMU, PT: 0})
}

// send sends one PCMU packet whose payload is all mark from c to ep.
func (r *natRig) send(t *testing.T, c *net.UDPConn, ep *Endpoint, mark byte) {
	t.Helper()
	r.seq++
	p := make([]byte, 12+FrameSamples)
	writeHeader(p, 0, false, r.seq, uint32(r.seq)*FrameSamples, uint32(c.LocalAddr().(*net.UDPAddr).Port))
	for i := 12; i < len(p); i++ {
		p[i] = mark
	}
	if _, err := c.WriteToUDPAddrPort(p, ep.Local()); err != nil {
		t.Fatal(err)
	}
}

// heard is what a leg's phone receives next: the mark of the packet's
// payload and the address it came from; it fails after two seconds.
func heard(t *testing.T, c *net.UDPConn) (byte, netip.AddrPort) {
	t.Helper()
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("%s heard nothing: %v", addrOf(c), err)
	}
	if n < 13 {
		t.Fatalf("%s got %d bytes", addrOf(c), n)
	}
	return buf[12], from
}

// hears checks that a phone hears the next packet b's phone speaks.
func (r *natRig) hears(t *testing.T, c *net.UDPConn, mark byte) {
	t.Helper()
	r.send(t, r.phoneB, r.b, mark)
	if got, _ := heard(t, c); got != mark {
		t.Fatalf("%s heard %#x, want %#x", addrOf(c), got, mark)
	}
}

// isHeard checks that the next packet b's phone hears is the one c speaks
// with mark: whatever was sent to leg a before it was dropped.
func (r *natRig) isHeard(t *testing.T, c *net.UDPConn, mark byte) {
	t.Helper()
	r.send(t, c, r.a, mark)
	if got, _ := heard(t, r.phoneB); got != mark {
		t.Fatalf("b's phone heard %#x, want %#x (from %s)", got, mark, addrOf(c))
	}
}

func listenUDP(t *testing.T, ip string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort {
	a := c.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// TestNATPhoneIsHeardAndHears: a phone whose SDP names 127.0.0.2:P but whose
// RTP comes from 127.0.0.1:Q (its NAT's mapping) is relayed and, once its
// first packet is in, hears its audio at 127.0.0.1:Q. When SIP and SDP agree
// on the address NAT is ruled out and RTP from elsewhere is never learned.
func TestNATPhoneIsHeardAndHears(t *testing.T) {
	tests := []struct {
		name   string
		signal string // the leg's SIP source; "" if the SIP layer did not say
		heard  bool
	}{
		{name: "signalling unknown", heard: true},
		{name: "signalling from the media's address", signal: "127.0.0.1", heard: true},
		{name: "signalling from a third address", signal: "127.0.0.3", heard: true},
		{name: "SIP and SDP agree: no NAT, a stranger is not learned", signal: "127.0.0.2", heard: false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newNATRig(t, 42000+40*i)
			sdpSock := listenUDP(t, "127.0.0.2") // the LAN address the SDP names
			phone := listenUDP(t, "127.0.0.1")   // where the phone's packets really come from
			r.sdp(addrOf(sdpSock))
			if tc.signal != "" {
				r.a.SetSignalSource(netip.MustParseAddr(tc.signal))
			}

			r.send(t, phone, r.a, 0x11)
			if !tc.heard {
				r.send(t, sdpSock, r.a, 0x22) // the SDP's own address is still learned
				if got, _ := heard(t, r.phoneB); got != 0x22 {
					t.Fatalf("b's phone heard %#x, want only the SDP address's 0x22", got)
				}
				if got := r.e.Stats.WrongSource.Load(); got != 1 {
					t.Fatalf("wrong source %d, want 1", got)
				}
				r.hears(t, sdpSock, 0x33)
				return
			}
			if got, _ := heard(t, r.phoneB); got != 0x11 {
				t.Fatalf("b's phone heard %#x, want 0x11", got)
			}
			if src, ok := r.a.RTPSource(); !ok || src != addrOf(phone) {
				t.Fatalf("learned %v %v, want %v", src, ok, addrOf(phone))
			}
			r.hears(t, phone, 0x33)
			if got := r.a.Session().Remote; got != addrOf(sdpSock) {
				t.Fatalf("Session().Remote = %v, want the SDP's %v", got, addrOf(sdpSock))
			}
			if got := r.e.Stats.WrongSource.Load(); got != 0 {
				t.Fatalf("wrong source %d, want 0", got)
			}
		})
	}
}

// TestLearnedSourceIsStrict: once a source is learned, packets from any
// other address or port — the same IP, the SDP's address, another phone
// behind the same NAT — are dropped, counted, and not relayed.
func TestLearnedSourceIsStrict(t *testing.T) {
	tests := []struct {
		name string
		ip   string // the intruder's IP; it always has its own port
	}{
		{"right IP, wrong port", "127.0.0.1"},
		{"the SDP's IP", "127.0.0.2"},
		{"another address", "127.0.0.4"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newNATRig(t, 42200+40*i)
			sdpSock := listenUDP(t, "127.0.0.2")
			phone := listenUDP(t, "127.0.0.1")
			intruder := listenUDP(t, tc.ip)
			r.sdp(addrOf(sdpSock))
			r.a.SetSignalSource(netip.MustParseAddr("127.0.0.1"))
			r.isHeard(t, phone, 0x11)

			received := r.a.Received.Load()
			for j := 0; j < 3; j++ {
				r.send(t, intruder, r.a, 0xEE)
			}
			r.isHeard(t, phone, 0x22) // the intruder's three, sent before, never reached b
			if got := r.e.Stats.WrongSource.Load(); got != 3 {
				t.Fatalf("wrong source %d, want 3", got)
			}
			if got := r.a.Received.Load() - received; got != 1 {
				t.Fatalf("received %d packets, want only the phone's 1", got)
			}
			r.hears(t, phone, 0x33)
		})
	}
}

// TestNewSDPAddressResetsLearning: a re-INVITE to another address forgets
// the learned source (the new one is learned from its first packet, the old
// one is dropped); the same address again keeps it.
func TestNewSDPAddressResetsLearning(t *testing.T) {
	tests := []struct {
		name     string
		sameAddr bool
	}{
		{"another address", false},
		{"the same address again", true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newNATRig(t, 42400+40*i)
			sdpSock := listenUDP(t, "127.0.0.2")
			phone := listenUDP(t, "127.0.0.1")
			r.sdp(addrOf(sdpSock))
			r.isHeard(t, phone, 0x11)

			if tc.sameAddr {
				r.sdp(addrOf(sdpSock))
				if _, ok := r.a.RTPSource(); !ok {
					t.Fatal("a session refresh forgot the learned source")
				}
				r.hears(t, phone, 0x22)
				return
			}
			moved := listenUDP(t, "127.0.0.5")
			r.sdp(addrOf(moved))
			if _, ok := r.a.RTPSource(); ok {
				t.Fatal("still learned after a new address")
			}
			r.hears(t, moved, 0x22) // nothing learned: sent to the new SDP address
			r.isHeard(t, moved, 0x33)
			r.send(t, phone, r.a, 0xEE)
			r.isHeard(t, moved, 0x44)
			if got := r.e.Stats.WrongSource.Load(); got != 1 {
				t.Fatalf("wrong source %d, want the old phone's 1", got)
			}
			r.hears(t, moved, 0x55)
		})
	}
}

// TestSendsToSDPAddressBeforeLearning: a phone that has sent nothing hears
// its audio at the address its SDP names, whether or not NAT is suspected.
func TestSendsToSDPAddressBeforeLearning(t *testing.T) {
	tests := []struct {
		name   string
		signal string
	}{
		{"signalling unknown", ""},
		{"signalling elsewhere", "127.0.0.1"},
		{"signalling agrees", "127.0.0.2"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newNATRig(t, 42600+40*i)
			sdpSock := listenUDP(t, "127.0.0.2")
			r.sdp(addrOf(sdpSock))
			if tc.signal != "" {
				r.a.SetSignalSource(netip.MustParseAddr(tc.signal))
			}
			r.send(t, r.phoneB, r.b, 0x11)
			if got, from := heard(t, sdpSock); got != 0x11 || from != r.a.Local() {
				t.Fatalf("SDP address heard %#x from %v, want 0x11 from leg a's %v", got, from, r.a.Local())
			}
		})
	}
}

// TestStrangerNotLearnedAfterWindow: with NAT suspected, a source other
// than the SDP's or the signalling's IP is learned only within learnWindow
// of the leg's first packet out.
func TestStrangerNotLearnedAfterWindow(t *testing.T) {
	r := newNATRig(t, 42800)
	sdpSock := listenUDP(t, "127.0.0.2")
	stranger := listenUDP(t, "127.0.0.1")
	r.sdp(addrOf(sdpSock))
	r.a.SetSignalSource(netip.MustParseAddr("127.0.0.3"))
	r.hears(t, sdpSock, 0x11) // leg a has sent: the window runs
	r.a.remote.Load().sendStart.Store(time.Now().Add(-learnWindow - time.Second).UnixNano())
	r.send(t, stranger, r.a, 0xEE)
	r.isHeard(t, sdpSock, 0x22)
	if got := r.e.Stats.WrongSource.Load(); got != 1 {
		t.Fatalf("wrong source %d, want 1", got)
	}
}

// TestStaleStreamGivesWayToThePeer: a stream from the SDP's IP but another
// port reaches a new leg first — the call of a killed run still sending to
// a port this run handed out again — and is learned; the peer's own stream
// from the SDP's exact address then takes its place, and the stale one is
// dropped from then on.
func TestStaleStreamGivesWayToThePeer(t *testing.T) {
	r := newNATRig(t, 42600)
	phone := listenUDP(t, "127.0.0.1")
	stale := listenUDP(t, "127.0.0.1")
	r.sdp(addrOf(phone))
	r.isHeard(t, stale, 0x11) // learned: same IP, and nothing better yet
	r.isHeard(t, phone, 0x22)
	if src, ok := r.a.RTPSource(); !ok || src != addrOf(phone) {
		t.Fatalf("learned %v %v, want the SDP's %v", src, ok, addrOf(phone))
	}
	r.send(t, stale, r.a, 0xEE)
	r.isHeard(t, phone, 0x33) // the stale packet, sent before, never reached b
	r.hears(t, phone, 0x44)
}
