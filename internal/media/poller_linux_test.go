//go:build linux

package media

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// processCPU is the process's user and system CPU so far.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// phonePairs bridges n pairs of legs, each leg with a phone socket of its
// own: what phone i sends to as[i] comes out at the phone of bs[i].
func phonePairs(tb testing.TB, e *Engine, n int) (as []*Endpoint, in, out []*net.UDPConn) {
	tb.Helper()
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { c.Close() })
		return c
	}
	for range n {
		a, err := e.NewEndpoint()
		if err != nil {
			tb.Fatal(err)
		}
		b, err := e.NewEndpoint()
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { a.Close(); b.Close() })
		pa, pb := listen(), listen()
		a.SetSession(Session{Remote: pa.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: PCMA, PT: 8, TelephoneEvent: 101})
		b.SetSession(Session{Remote: pb.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: PCMA, PT: 8, TelephoneEvent: 101})
		Bridge(a, b)
		as, in, out = append(as, a), append(in, pa), append(out, pb)
	}
	return as, in, out
}

// relayRound sends one packet from each caller's phone and reads each
// relayed one at the other phones.
func relayRound(tb testing.TB, as []*Endpoint, in, out []*net.UDPConn, pkt, buf []byte, seq uint16) {
	pkt[2], pkt[3] = byte(seq>>8), byte(seq)
	for i, c := range in {
		if _, err := c.WriteToUDPAddrPort(pkt, as[i].Local()); err != nil {
			tb.Fatal(err)
		}
	}
	for _, c := range out {
		if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
			tb.Fatal(err)
		}
	}
}

// The whole receive path — epoll, recvmmsg, the relay and its sendto —
// allocates nothing per packet.
func TestPolledRelayAllocatesNothing(t *testing.T) {
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 41600, PortMax: 41700})
	if err != nil {
		t.Fatal(err)
	}
	as, in, out := phonePairs(t, e, 4)
	for _, c := range out {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	}
	pkt, buf := relayPacket(), make([]byte, 1500)
	seq := uint16(1)
	relayRound(t, as, in, out, pkt, buf, seq) // learn the sources, start the pollers
	allocs := testing.AllocsPerRun(500, func() {
		seq++
		relayRound(t, as, in, out, pkt, buf, seq)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per round of 4 packets, want 0", allocs)
	}
}

// A leg's socket closed while its poller runs yields nothing more, and the
// poller ends once it serves no leg.
func TestPollerEndsWithItsLegs(t *testing.T) {
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 41800, PortMax: 41900})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := e.NewEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	p := ep.rx.poller
	if p == nil {
		t.Fatal("the leg is on no poller")
	}
	ep.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.mu.Lock()
		stopped := p.epfd < 0 && len(p.legs) == 0
		p.mu.Unlock()
		if stopped {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the poller still runs with no leg")
		}
		time.Sleep(20 * time.Millisecond)
	}
	again, err := e.NewEndpoint() // starts it again
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.rx.poller == nil || again.rx.poller.epfd < 0 {
		t.Fatal("a new leg found no running poller")
	}
}

// BenchmarkRelayPaced carries n bridged calls as phones do: every 20 ms
// (one op) each call's two phones send a packet, a tenth of the calls
// every 2 ms, and what was relayed is collected at the end of the round. The phones are raw sockets drained
// with recvmmsg, so their share of the process's CPU is small and the same
// whichever way the engine reads its legs; cpu-ns/packet is the process's
// CPU per packet relayed (received and sent by the engine).
func BenchmarkRelayPaced(b *testing.B) {
	for _, n := range []int{100, 500} {
		for _, perLeg := range []bool{false, true} {
			name := fmt.Sprintf("calls=%d/pollers", n)
			if perLeg {
				name = fmt.Sprintf("calls=%d/goroutine-per-leg", n)
			}
			b.Run(name, func(b *testing.B) { relayPaced(b, n, perLeg) })
		}
	}
}

func relayPaced(b *testing.B, n int, perLeg bool) {
	ip := netip.MustParseAddr("127.0.0.1")
	e, err := NewEngine(EngineConfig{IP: ip, PortMin: 42000, PortMax: 44999, ReaderPerLeg: perLeg})
	if err != nil {
		b.Fatal(err)
	}
	type call struct {
		legs   [2]*Endpoint
		phones [2]*rawSocket
		addrs  [2]netip.AddrPort
	}
	calls := make([]call, n)
	for i := range calls {
		c := &calls[i]
		for j := range 2 {
			ph, err := bindRaw(ip, 45000+2*i+j)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { ph.close() })
			c.phones[j], c.addrs[j] = ph, netip.AddrPortFrom(ip, uint16(45000+2*i+j))
			if c.legs[j], err = e.NewEndpoint(); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(c.legs[j].Close)
			c.legs[j].SetSession(Session{Remote: c.addrs[j], Codec: PCMA, PT: 8, TelephoneEvent: 101})
		}
		Bridge(c.legs[0], c.legs[1])
	}
	pkt := relayPacket()
	drain := newBatch()
	var relayed int
	round := func(seq uint16) {
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		// Spread over the round as phones are, a tenth every 2 ms.
		for k := range 10 {
			for i := k; i < len(calls); i += 10 {
				for j := range 2 {
					_ = calls[i].phones[j].writeTo(pkt, calls[i].legs[j].Local())
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
		for i := range calls {
			for j := range 2 {
				drain.recv(calls[i].phones[j])
				relayed += drain.n
			}
		}
	}
	round(1)
	round(2)
	relayed = 0
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	for i := range b.N {
		round(uint16(i + 3))
	}
	cpu := processCPU(b) - cpu0
	b.StopTimer()
	if relayed < b.N*2*n*9/10 {
		b.Fatalf("relayed %d of %d packets", relayed, b.N*2*n)
	}
	b.ReportMetric(float64(cpu)/float64(max(relayed, 1)), "cpu-ns/packet")
}

// A poller whose last leg leaves and a new leg that starts it again at
// once do not share buffers (the stopping run may still be draining).
func TestPollerRestartChurn(t *testing.T) {
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 41900, PortMax: 41999})
	if err != nil {
		t.Fatal(err)
	}
	phone, err := bindRaw(netip.MustParseAddr("127.0.0.1"), 41990)
	if err != nil {
		t.Fatal(err)
	}
	defer phone.close()
	pkt := relayPacket()
	for i := range 100 {
		ep, err := e.NewEndpoint()
		if err != nil {
			t.Fatal(err)
		}
		ep.SetSession(Session{Remote: netip.MustParseAddrPort("127.0.0.1:41990"), Codec: PCMA, PT: 8})
		for range 3 {
			pkt[3] = byte(i)
			_ = phone.writeTo(pkt, ep.Local())
		}
		if i%10 == 0 {
			time.Sleep(3 * time.Millisecond) // let a tick drain some
		}
		ep.Close()
	}
}

// The arrival time handed to the jitter estimate is the kernel's, not when
// a poller got round to reading the packet.
func TestBatchArrivalIsTheKernels(t *testing.T) {
	ip := netip.MustParseAddr("127.0.0.1")
	a, err := bindRaw(ip, 41980)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	b, err := bindRaw(ip, 41981)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	sent := time.Now()
	if err := a.writeTo(relayPacket(), netip.AddrPortFrom(ip, 41981)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	bt := newBatch()
	bt.recv(b)
	if bt.n != 1 {
		t.Fatalf("received %d datagrams, want 1", bt.n)
	}
	if from := bt.from(0); from != netip.AddrPortFrom(ip, 41980) {
		t.Fatalf("from %v", from)
	}
	at := bt.at(0)
	if at.Before(sent.Add(-time.Second)) || !at.Before(sent.Add(40*time.Millisecond)) {
		t.Fatalf("arrival %v, sent %v: not the kernel's receive time", at, sent)
	}
}

// monitorRig is a bridged call with a supervisor listening, each leg's
// phone a raw socket; op runs 20 ms of it: the three parties' packets
// through the monitor's taps, one tick (mix, encode, send to the
// supervisor) and the supervisor's phone's recvmmsg.
func monitorRig(tb testing.TB) (op func()) {
	ip := netip.MustParseAddr("127.0.0.1")
	e, err := NewEngine(EngineConfig{IP: ip, PortMin: 46000, PortMax: 46100})
	if err != nil {
		tb.Fatal(err)
	}
	var legs [3]*Endpoint
	var phones [3]*rawSocket
	for i := range legs {
		if phones[i], err = bindRaw(ip, 46200+i); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { phones[i].close() })
		if legs[i], err = e.NewEndpoint(); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(legs[i].Close)
		legs[i].SetSession(Session{Remote: netip.AddrPortFrom(ip, uint16(46200+i)), Codec: PCMA, PT: 8})
	}
	Bridge(legs[0], legs[1])
	m := &Monitor{caller: legs[0], agent: legs[1], sup: legs[2], stop: make(chan struct{}), done: make(chan struct{})}
	m.SetMode(Listen)
	payload := relayPacket()[12:]
	var w monitorWork
	drain := newBatch()
	return func() {
		for i := range 3 {
			m.add(i, PCMA, payload)
		}
		m.tick(&w)
		drain.recv(phones[2])
	}
}

// A supervisor listening costs no allocation per packet or tick.
func TestMonitorTickAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates in the taps' appends; the test command runs this without it")
	}
	op := monitorRig(t)
	op()
	if allocs := testing.AllocsPerRun(200, op); allocs != 0 {
		t.Fatalf("%v allocations per 20 ms of a monitored call, want 0", allocs)
	}
}

// BenchmarkMonitorListen is 20 ms of a supervisor listening to a call
// (monitorRig), as the monitor's ticker does it.
func BenchmarkMonitorListen(b *testing.B) {
	op := monitorRig(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		op()
	}
}

// BenchmarkLoopbackSend is the machine's own price of a packet, not the
// engine's: one 172-byte datagram sent on loopback, where the send also
// delivers it into the receiving socket. "sendto" is what a leg does — each
// of 500 sockets sends to its own peer, one system call a packet;
// "sendmmsg-64" is one socket sending batches of 64 to the 500 peers, which
// legs with a port each cannot do. Per-packet figures of the load runs are
// bounded below by the first (BENCHMARKS.md, issue 15).
func BenchmarkLoopbackSend(b *testing.B) {
	const peers = 500
	ip := netip.MustParseAddr("127.0.0.1")
	recv := make([]*rawSocket, peers)
	addrs := make([]netip.AddrPort, peers)
	for i := range recv {
		s, err := bindRaw(ip, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.close() })
		sa, err := syscall.Getsockname(s.fd)
		if err != nil {
			b.Fatal(err)
		}
		recv[i], addrs[i] = s, netip.AddrPortFrom(ip, uint16(sa.(*syscall.SockaddrInet4).Port))
	}
	drain := newBatch()
	drainAll := func() {
		b.StopTimer()
		for _, s := range recv {
			for range 4 { // a socket holds at most 2 packets of a round here
				if drain.recv(s); drain.n == 0 {
					break
				}
			}
		}
		b.StartTimer()
	}
	pkt := relayPacket()
	b.Run("sendto", func(b *testing.B) {
		send := make([]*rawSocket, peers)
		for i := range send {
			s, err := bindRaw(ip, 0)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.close() })
			send[i] = s
		}
		for i := range b.N {
			k := i % peers
			_ = send[k].writeTo(pkt, addrs[k])
			if k == peers-1 {
				drainAll()
			}
		}
	})
	b.Run("sendmmsg-64", func(b *testing.B) {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		pc := ipv4.NewPacketConn(c)
		msgs := make([]ipv4.Message, 64)
		udp := make([]*net.UDPAddr, peers)
		for i, a := range addrs {
			udp[i] = net.UDPAddrFromAddrPort(a)
		}
		for sent := 0; sent < b.N; {
			n := min(len(msgs), b.N-sent, peers-sent%peers)
			for j := range n {
				msgs[j].Buffers = [][]byte{pkt}
				msgs[j].Addr = udp[(sent+j)%peers]
			}
			if _, err := pc.WriteBatch(msgs[:n], 0); err != nil {
				b.Fatal(err)
			}
			if sent += n; sent%peers == 0 {
				drainAll()
			}
		}
	})
}
