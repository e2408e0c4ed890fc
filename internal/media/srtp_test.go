package media

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// srtpPhone is the far end of a leg on loopback: a socket, and for an
// SRTP leg its own key (what it offers) and the leg's (what it learns
// from the answer).
type srtpPhone struct {
	conn      *net.UDPConn
	key       Crypto
	enc, dec  *srtp.Context // nil for a plain phone
	seq       uint16
	ts, ssrc  uint32
	legRemote netip.AddrPort // the leg's RTP port
}

func newSRTPPhone(t testing.TB) *srtpPhone {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &srtpPhone{conn: c, key: NewCrypto(1), seq: 100, ts: 8000, ssrc: 0xCAFE}
}

func (p *srtpPhone) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// connect gives ep the phone's side of the SDP (SRTP with the phone's key
// when secure) and has the phone learn ep's key.
func (p *srtpPhone) connect(t testing.TB, ep *Endpoint, secure bool) {
	t.Helper()
	s := Session{Remote: p.addr(), Codec: PCMA, PT: 8, TelephoneEvent: 101, Direction: SendRecv}
	if secure {
		s.Secure, s.SRTP, s.Crypto = true, true, p.key
	}
	ep.SetSession(s)
	p.legRemote = ep.Local()
	if !secure {
		return
	}
	var err error
	if p.enc, err = newSRTPContext(p.key, false); err != nil {
		t.Fatal(err)
	}
	if p.dec, err = newSRTPContext(ep.LocalCrypto(1), true); err != nil {
		t.Fatal(err)
	}
}

// packet is the phone's next RTP packet with payload, sealed if SRTP.
func (p *srtpPhone) packet(t testing.TB, payload []byte) []byte {
	t.Helper()
	p.seq++
	p.ts += FrameSamples
	pkt := make([]byte, 12+len(payload), 12+len(payload)+srtpTagLen)
	writeHeader(pkt, 8, false, p.seq, p.ts, p.ssrc)
	copy(pkt[12:], payload)
	if p.enc == nil {
		return pkt
	}
	out, err := p.enc.EncryptRTP(nil, pkt, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (p *srtpPhone) send(t testing.TB, pkt []byte) {
	t.Helper()
	if _, err := p.conn.WriteToUDPAddrPort(pkt, p.legRemote); err != nil {
		t.Fatal(err)
	}
}

// receive reads the next packet from the leg and returns its payload,
// opened if SRTP; false after a second of nothing.
func (p *srtpPhone) receive(t testing.TB) ([]byte, bool) {
	t.Helper()
	buf := make([]byte, 1500)
	_ = p.conn.SetReadDeadline(time.Now().Add(time.Second))
	n, _, err := p.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		return nil, false
	}
	pkt := buf[:n]
	if p.dec != nil {
		if pkt, err = p.dec.DecryptRTP(nil, pkt, nil); err != nil {
			t.Fatalf("the leg's SRTP does not open with the key of its answer: %v", err)
		}
	}
	var h rtp.Header
	hl, err := h.Unmarshal(pkt)
	if err != nil {
		t.Fatalf("not RTP: %v", err)
	}
	return pkt[hl:], true
}

func srtpEngine(t testing.TB, min int) *Engine {
	t.Helper()
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: min, PortMax: min + 99})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestSRTPRelay(t *testing.T) {
	tests := []struct {
		name         string
		aSRTP, bSRTP bool
	}{
		{"SRTP to RTP", true, false},
		{"SRTP to SRTP", true, true},
		{"RTP to SRTP", false, true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := srtpEngine(t, 42000+i*100)
			a, err := e.NewEndpoint()
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := e.NewEndpoint()
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			pa, pb := newSRTPPhone(t), newSRTPPhone(t)
			pa.connect(t, a, tc.aSRTP)
			pb.connect(t, b, tc.bSRTP)
			Bridge(a, b)
			if a.SRTP() != tc.aSRTP || b.SRTP() != tc.bSRTP {
				t.Fatalf("legs' SRTP %v %v", a.SRTP(), b.SRTP())
			}

			for k := 0; k < 5; k++ {
				payload := bytes.Repeat([]byte{byte(0x10 + k)}, FrameSamples)
				pa.send(t, pa.packet(t, payload))
				got, ok := pb.receive(t)
				if !ok {
					t.Fatalf("packet %d: nothing relayed (SRTP failures %d)", k, e.Stats.SRTPFailed.Load())
				}
				if !bytes.Equal(got, payload) {
					t.Fatalf("packet %d: relayed payload differs from what was sent", k)
				}
				// and the other way
				pb.send(t, pb.packet(t, payload))
				if got, ok := pa.receive(t); !ok || !bytes.Equal(got, payload) {
					t.Fatalf("packet %d back: relayed %v", k, ok)
				}
			}
			if !tc.aSRTP {
				return
			}
			// A tampered packet is dropped and counted, and the stream goes on.
			bad := pa.packet(t, bytes.Repeat([]byte{0x55}, FrameSamples))
			bad[20] ^= 1
			pa.send(t, bad)
			if _, ok := pb.receive(t); ok {
				t.Fatal("a tampered packet was relayed")
			}
			if n := e.Stats.SRTPFailed.Load(); n != 1 {
				t.Fatalf("SRTPFailed = %d, want 1", n)
			}
			// A replay of a good packet is dropped too.
			good := pa.packet(t, bytes.Repeat([]byte{0x66}, FrameSamples))
			pa.send(t, good)
			if _, ok := pb.receive(t); !ok {
				t.Fatal("a good packet after the tampered one was not relayed")
			}
			pa.send(t, good)
			if _, ok := pb.receive(t); ok {
				t.Fatal("a replayed packet was relayed")
			}
			// Plain RTP on an SRTP leg is not audio.
			plain := make([]byte, 12+FrameSamples)
			writeHeader(plain, 8, false, pa.seq+1, pa.ts, pa.ssrc)
			pa.send(t, plain)
			if _, ok := pb.receive(t); ok {
				t.Fatal("plain RTP on an SRTP leg was relayed")
			}
			if n := e.Stats.SRTPFailed.Load(); n != 3 {
				t.Fatalf("SRTPFailed = %d, want 3", n)
			}
		})
	}
}

// TestSRTPRekey: a re-INVITE with the same key keeps the context (the
// replay window still refuses what was seen); a new key replaces it.
func TestSRTPRekey(t *testing.T) {
	e := srtpEngine(t, 42400)
	a, b, _ := testPair(t, e)
	pa, pb := newSRTPPhone(t), newSRTPPhone(t)
	pa.connect(t, a, true)
	pb.connect(t, b, false)
	first := pa.packet(t, bytes.Repeat([]byte{1}, FrameSamples))
	pa.send(t, first)
	if _, ok := pb.receive(t); !ok {
		t.Fatal("nothing relayed")
	}
	ours := a.LocalCrypto(1)
	pa.connect(t, a, true) // the same offer again
	pa.send(t, first)
	if _, ok := pb.receive(t); ok {
		t.Fatal("after a refresh with the same key, a replayed packet was relayed: the context was not kept")
	}
	if a.LocalCrypto(1) != ours {
		t.Fatal("a refresh changed our key")
	}
	pa.key = NewCrypto(2)
	pa.connect(t, a, true)
	pa.send(t, pa.packet(t, bytes.Repeat([]byte{2}, FrameSamples)))
	if _, ok := pb.receive(t); !ok {
		t.Fatal("nothing relayed under the new key")
	}
	pa.enc, _ = newSRTPContext(NewCrypto(3), false) // a key the leg was never told
	pa.send(t, pa.packet(t, bytes.Repeat([]byte{3}, FrameSamples)))
	if _, ok := pb.receive(t); ok {
		t.Fatal("a packet under an unknown key was relayed")
	}
}

// TestSRTPRequiredLegStaysSRTP: a leg that must keep SRTP takes a
// session without a key with the keys it has; a plain-only leg takes a
// best-effort key as plain RTP.
func TestSRTPRequiredLegStaysSRTP(t *testing.T) {
	e := srtpEngine(t, 43100)
	a, b, _ := testPair(t, e)
	pa := newSRTPPhone(t)
	pa.connect(t, a, true)
	a.RequireSRTP()
	pa.connect(t, a, false)
	if !a.SRTP() || a.Session().Crypto != pa.key {
		t.Fatal("a required leg went plain on a session without a key")
	}
	b.PlainOnly()
	pb := newSRTPPhone(t)
	b.SetSession(Session{Remote: pb.addr(), Codec: PCMU, SRTP: true, Crypto: pb.key})
	if b.SRTP() {
		t.Fatal("a plain-only leg took best-effort SRTP")
	}
	b.SetSession(Session{Remote: pb.addr(), Codec: PCMU, Secure: true, SRTP: true, Crypto: pb.key})
	if !b.SRTP() {
		t.Fatal("an RTP/SAVP session was not SRTP")
	}
}

// TestSRTPLegPlaysAndDetectsDigits: a prompt played on an SRTP leg
// arrives sealed with the leg's key, and RFC 4733 digits sent in SRTP
// are detected.
func TestSRTPLegPlaysAndDetectsDigits(t *testing.T) {
	e := srtpEngine(t, 42500)
	ctx := t.Context()
	go e.Run(ctx)
	a, err := e.NewEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	p := newSRTPPhone(t)
	p.connect(t, a, true)
	pcm := make([]int16, 5*FrameSamples)
	for i := range pcm {
		pcm[i] = 3000
	}
	snd := NewSound("tone", pcm)
	done := a.Play(snd)
	want := snd.frame(PCMA, 0)
	got, ok := p.receive(t)
	if !ok || !bytes.Equal(got, want) {
		t.Fatalf("played frame on an SRTP leg: received %v", ok)
	}
	<-done

	p.seq++
	pkt := make([]byte, 16, 16+srtpTagLen)
	writeHeader(pkt, 101, true, p.seq, p.ts, p.ssrc)
	copy(pkt[12:], []byte{5, 0x8a, 0, 160})
	sealed, err := p.enc.EncryptRTP(nil, pkt, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.send(t, sealed)
	select {
	case d := <-a.Digits():
		if d != '5' {
			t.Fatalf("digit %q, want 5", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no digit from SRTP telephone-events")
	}
}

// TestSRTPRelayAllocatesNothing: opening, relaying and sealing a packet
// allocates nothing either, SRTP to SRTP.
func TestSRTPRelayAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("pion/srtp pools its buffers, and under the race detector sync.Pool drops items at random; see the benchmarks' allocs/op")
	}
	e := srtpEngine(t, 43000)
	x, y, _ := testPair(t, e)
	p, q := newSRTPPhone(t), newSRTPPhone(t)
	p.connect(t, x, true)
	q.connect(t, y, true)
	const runs = 200
	pkts := make([][]byte, runs+1) // AllocsPerRun runs once more to warm up
	for i := range pkts {
		pkts[i] = p.packet(t, bytes.Repeat([]byte{0xD5}, FrameSamples))
	}
	out := make([]byte, 1500)
	var h rtp.Header
	k := 0
	allocs := testing.AllocsPerRun(runs, func() {
		x.handle(pkts[k], p.addr(), out, &h)
		k++
	})
	if allocs != 0 {
		t.Fatalf("SRTP relay: %v allocations per packet, want 0", allocs)
	}
	if e.Stats.SRTPFailed.Load() != 0 || y.Sent.Load() == 0 {
		t.Fatalf("%d failed to open, %d relayed", e.Stats.SRTPFailed.Load(), y.Sent.Load())
	}
}

// srtpBench feeds ep's handle packets sealed by phone p, sealing them in
// batches outside the timed part (replay protection refuses a packet
// seen before, so each must be new).
func srtpBench(b *testing.B, x *Endpoint, p *srtpPhone) {
	const batch = 1024
	pkts := make([][]byte, batch)
	for i := range pkts {
		pkts[i] = make([]byte, 0, 12+FrameSamples+srtpTagLen)
	}
	plain := make([]byte, 12+FrameSamples)
	for i := 12; i < len(plain); i++ {
		plain[i] = 0xD5
	}
	out := make([]byte, 1500)
	var h rtp.Header
	from := p.addr()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; {
		b.StopTimer()
		n := min(batch, b.N-i)
		for k := 0; k < n; k++ {
			p.seq++
			p.ts += FrameSamples
			writeHeader(plain, 8, false, p.seq, p.ts, p.ssrc)
			var err error
			if pkts[k], err = p.enc.EncryptRTP(pkts[k][:0], plain, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		for k := 0; k < n; k++ {
			x.handle(pkts[k], from, out, &h)
		}
		i += n
	}
	b.StopTimer()
	if x.e.Stats.SRTPFailed.Load() != 0 {
		b.Fatalf("%d packets failed to open", x.e.Stats.SRTPFailed.Load())
	}
}

// BenchmarkRelaySRTPToRTP is BenchmarkRelayPacket from an SRTP leg to a
// plain one: open (authenticate, decrypt), rewrite, send.
func BenchmarkRelaySRTPToRTP(b *testing.B) {
	e := srtpEngine(b, 42600)
	x, y, _ := testPair(b, e)
	p := newSRTPPhone(b)
	p.connect(b, x, true)
	_ = y
	srtpBench(b, x, p)
}

// BenchmarkRelaySRTPToSRTP: open with one leg's peer key, seal with the
// other leg's own key.
func BenchmarkRelaySRTPToSRTP(b *testing.B) {
	e := srtpEngine(b, 42700)
	x, y, _ := testPair(b, e)
	p, q := newSRTPPhone(b), newSRTPPhone(b)
	p.connect(b, x, true)
	q.connect(b, y, true)
	srtpBench(b, x, p)
}

// BenchmarkRelayRTPToSRTP: a plain leg's packets sealed for an SRTP leg.
func BenchmarkRelayRTPToSRTP(b *testing.B) {
	e := srtpEngine(b, 42800)
	x, y, from := testPair(b, e)
	q := newSRTPPhone(b)
	q.connect(b, y, true)
	pkt := relayPacket()
	out := make([]byte, 1500)
	var h rtp.Header
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pkt[2], pkt[3] = byte(i>>8), byte(i)
		x.handle(pkt, from, out, &h)
	}
}

func FuzzSRTPHandle(f *testing.F) {
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 42900, PortMax: 42999})
	if err != nil {
		f.Fatal(err)
	}
	a, _, _ := testPair(f, e)
	p := newSRTPPhone(f)
	p.connect(f, a, true)
	f.Add(p.packet(f, bytes.Repeat([]byte{0xD5}, FrameSamples)))
	f.Add([]byte{0x80, 8, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4, 0xd5, 0xd5})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		var h rtp.Header
		out := make([]byte, 1500)
		a.handle(pkt, p.addr(), out, &h)
	})
}

// BenchmarkSRTPSeal is what sealing adds to each packet a leg sends
// (160 bytes of G.711), without the socket write.
func BenchmarkSRTPSeal(b *testing.B) {
	ctx, err := newSRTPContext(NewCrypto(1), false)
	if err != nil {
		b.Fatal(err)
	}
	s := &sealer{ctx: ctx}
	pkt := make([]byte, 12+FrameSamples, 12+FrameSamples+srtpTagLen)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		writeHeader(pkt, 8, false, uint16(i), uint32(i)*FrameSamples, 0xCAFE)
		if _, err := s.seal(pkt[:12+FrameSamples]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSRTPOpen is what opening (authenticate, replay check,
// decrypt) adds to each packet a leg receives, without the socket read.
func BenchmarkSRTPOpen(b *testing.B) {
	key := NewCrypto(1)
	dec, err := newSRTPContext(key, true)
	if err != nil {
		b.Fatal(err)
	}
	enc, err := newSRTPContext(key, false)
	if err != nil {
		b.Fatal(err)
	}
	o := &opener{key: key, ctx: dec}
	const batch = 1024
	pkts := make([][]byte, batch)
	plain := make([]byte, 12+FrameSamples)
	var h rtp.Header
	seq := uint16(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; {
		b.StopTimer()
		n := min(batch, b.N-i)
		for k := 0; k < n; k++ {
			seq++
			writeHeader(plain, 8, false, seq, uint32(seq)*FrameSamples, 0xCAFE)
			if pkts[k], err = enc.EncryptRTP(pkts[k][:0], plain, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		for k := 0; k < n; k++ {
			if _, ok := openSRTP(o, pkts[k], &h); !ok {
				b.Fatal("did not open")
			}
		}
		i += n
	}
}
