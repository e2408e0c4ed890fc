package media

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestG711RoundTrip(t *testing.T) {
	tests := []struct {
		name string
		enc  func(int16) byte
		dec  func(byte) int16
	}{
		{"ulaw", EncodeULaw, DecodeULaw},
		{"alaw", EncodeALaw, DecodeALaw},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Every code decodes to a value that encodes back to the same code.
			for i := 0; i < 256; i++ {
				b := byte(i)
				if tc.name == "ulaw" && b == 0x7F { // negative zero folds onto positive zero
					continue
				}
				if got := tc.enc(tc.dec(b)); got != b {
					t.Fatalf("code %#x: decode %d encodes to %#x", b, tc.dec(b), got)
				}
			}
			for _, s := range []int16{0, 100, -100, 1000, -1000, 32767, -32768} {
				got := tc.dec(tc.enc(s))
				diff := int(got) - int(s)
				if diff < 0 {
					diff = -diff
				}
				if lim := int(s)/16 + 40; diff > abs(lim) {
					t.Errorf("sample %d: round trip %d", s, got)
				}
			}
		})
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestParseSDP(t *testing.T) {
	tests := []struct {
		name    string
		sdp     string
		want    Session
		wantErr error
	}{
		{
			name: "sipp offer 8 0 101",
			sdp:  "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n",
			want: Session{Remote: netip.MustParseAddrPort("127.0.0.1:6000"), Codec: PCMA, PT: 8, TelephoneEvent: 101, Direction: SendRecv},
		},
		{
			name: "static pcmu without rtpmap, media-level c=, sendonly",
			sdp:  "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\nc=IN IP4 127.0.0.2\r\na=sendonly\r\n",
			want: Session{Remote: netip.MustParseAddrPort("127.0.0.2:7000"), Codec: PCMU, PT: 0, Direction: SendOnly},
		},
		{
			name:    "only opus",
			sdp:     "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n",
			wantErr: ErrNoCommonCodec,
		},
		{
			name:    "video only",
			sdp:     "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 7000 RTP/AVP 96\r\n",
			wantErr: ErrNoCommonCodec,
		},
		{name: "garbage", sdp: "hello world", wantErr: errAny},
		{name: "no connection", sdp: "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n", wantErr: errAny},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSDP([]byte(tc.sdp))
			if tc.wantErr != nil {
				if err == nil || (tc.wantErr != errAny && !errors.Is(err, tc.wantErr)) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestBuildSDPParsesBack(t *testing.T) {
	body := BuildSDP(Offer{Local: netip.MustParseAddrPort("127.0.0.1:20000"), SessionID: 5, Version: 1,
		Codecs: []Codec{PCMU, PCMA}, TelephoneEvent: 101})
	s, err := ParseSDP(body)
	if err != nil {
		t.Fatal(err)
	}
	want := Session{Remote: netip.MustParseAddrPort("127.0.0.1:20000"), Codec: PCMU, PT: 0, TelephoneEvent: 101, Direction: SendRecv}
	if s != want {
		t.Fatalf("got %+v want %+v", s, want)
	}
}

func TestDTMFDetector(t *testing.T) {
	var d DTMFDetector
	ev := func(code byte, end bool) []byte {
		b := []byte{code, 10, 0, 160}
		if end {
			b[1] |= 0x80
		}
		return b
	}
	var got []byte
	feed := []struct {
		ts uint32
		p  []byte
	}{
		{1000, ev(1, false)}, {1000, ev(1, false)}, {1000, ev(1, true)}, {1000, ev(1, true)}, {1000, ev(1, true)},
		{3000, ev(11, false)}, {3000, ev(11, true)},
		{5000, ev(10, true)}, // only end packets arrived
		// A replayed recording: the same press twice with the same timestamp.
		{9000, ev(2, false)}, {9000, ev(2, true)}, {9000, ev(2, true)},
		{9000, ev(2, false)}, {9000, ev(2, false)}, {9000, ev(2, true)},
		{9000, ev(3, true)}, // another key, same timestamp
	}
	for _, f := range feed {
		if digit, err := d.Packet(f.ts, f.p); err == nil && digit != 0 {
			got = append(got, digit)
		}
	}
	if string(got) != "1#*223" {
		t.Fatalf("digits %q, want %q", got, "1#*223")
	}
	if _, err := d.Packet(7000, []byte{1, 2}); !errors.Is(err, ErrDTMF) {
		t.Fatalf("short payload: err %v", err)
	}
	if _, err := d.Packet(7000, []byte{200, 0, 0, 0}); !errors.Is(err, ErrDTMF) {
		t.Fatalf("non-digit event: err %v", err)
	}
}

func TestParseDTMFInfo(t *testing.T) {
	tests := []struct {
		ct, body string
		want     byte
		ok       bool
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', true},
		{"application/dtmf-relay", "Signal= #\r\n", '#', true},
		{"application/dtmf-relay", "Signal=10", '*', true},
		{"application/dtmf", "9", '9', true},
		{"application/dtmf-relay", "Signal=X", 0, false},
		{"text/plain", "5", 0, false},
		{"application/dtmf-relay", "", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.ct+" "+tc.body, func(t *testing.T) {
			got, err := ParseDTMFInfo(tc.ct, []byte(tc.body))
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("got %q, %v; want %q ok=%v", got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestParseWAV(t *testing.T) {
	pcm := []int16{0, 1000, -1000, 32767}
	data := WAVHeader(1, uint32(len(pcm)*2))
	for _, s := range pcm {
		data = append(data, byte(uint16(s)), byte(uint16(s)>>8))
	}
	got, err := ParseWAV(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(pcm) || got[3] != 32767 || got[2] != -1000 {
		t.Fatalf("got %v", got)
	}
	stereo := WAVHeader(2, 4)
	if _, err := ParseWAV(append(stereo, 0, 0, 0, 0)); !errors.Is(err, ErrWAV) {
		t.Fatalf("stereo: %v", err)
	}
	if _, err := ParseWAV([]byte("RIFF....WAVE")); !errors.Is(err, ErrWAV) {
		t.Fatalf("no chunks: %v", err)
	}
}

func FuzzParseSDP(f *testing.F) {
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"))
	f.Add([]byte("v=0\r\nm=audio 99999 RTP/AVP 0\r\n"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31\r\n"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/SAVP 0\r\na=crypto:x AES_CM_128_HMAC_SHA1_80 inline:!!|1:4\r\na=crypto:2 F8_128_HMAC_SHA1_80 inline:WVNf;WVNf\r\n"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz KDR=1\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSDP(b)
		if err == nil && (s.Codec == CodecNone || !s.Remote.IsValid()) {
			t.Fatalf("accepted without codec or address: %+v", s)
		}
		if err == nil && s.Secure && !s.SRTP {
			t.Fatalf("took RTP/SAVP without a key: %+v", s)
		}
	})
}

func FuzzDTMF(f *testing.F) {
	f.Add(uint32(0), []byte{1, 0x8a, 0, 160})
	f.Add(uint32(5), []byte{})
	f.Fuzz(func(t *testing.T, ts uint32, p []byte) {
		var d DTMFDetector
		digit, err := d.Packet(ts, p)
		if err == nil && digit == 0 {
			t.Fatal("first packet of an event gave no digit")
		}
		_, _ = ParseDTMFInfo("application/dtmf-relay", p)
	})
}

func FuzzParseWAV(f *testing.F) {
	f.Add(append(WAVHeader(1, 4), 1, 2, 3, 4))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEdata\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseWAV(b)
	})
}

func FuzzRTPHandle(f *testing.F) {
	f.Add([]byte{0x80, 8, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4, 0xd5, 0xd5})
	f.Add([]byte{0xa0, 101, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4, 1, 0x8a, 0, 160, 0, 0, 2})
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 41000, PortMax: 41100})
	if err != nil {
		f.Fatal(err)
	}
	a, _, from := testPair(f, e)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		var h rtp.Header
		out := make([]byte, 1500)
		a.handle(pkt, from, out, &h)
	})
}

// testPair bridges two endpoints whose far ends are two silent "phones"
// (plain sockets nobody reads), so relayed packets leave and do not come back.
// Tests feed packets to a as if they came from phone A: from = phoneA.
func testPair(tb testing.TB, e *Engine) (a, b *Endpoint, phoneA netip.AddrPort) {
	tb.Helper()
	var err error
	phones := make([]*net.UDPConn, 2)
	for i := range phones {
		if phones[i], err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
			tb.Fatal(err)
		}
	}
	if a, err = e.NewEndpoint(); err != nil {
		tb.Fatal(err)
	}
	if b, err = e.NewEndpoint(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		a.Close()
		b.Close()
		phones[0].Close()
		phones[1].Close()
	})
	pa := phones[0].LocalAddr().(*net.UDPAddr).AddrPort()
	pb := phones[1].LocalAddr().(*net.UDPAddr).AddrPort()
	a.SetSession(Session{Remote: pa, Codec: PCMA, PT: 8, TelephoneEvent: 101})
	b.SetSession(Session{Remote: pb, Codec: PCMU, PT: 0, TelephoneEvent: 101})
	Bridge(a, b)
	return a, b, pa
}

// relayPacket is a PCMA packet as a caller sends it, from b's address.
func relayPacket() []byte {
	p := make([]byte, 12+160)
	writeHeader(p, 8, false, 1, 160, 0x1234)
	for i := 12; i < len(p); i++ {
		p[i] = 0xD5
	}
	return p
}

func TestRelayAllocatesNothing(t *testing.T) {
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 41200, PortMax: 41300})
	if err != nil {
		t.Fatal(err)
	}
	a, b, from := testPair(t, e)
	pkt := relayPacket()
	out := make([]byte, 1500)
	var h rtp.Header
	seq := uint16(1)
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		a.handle(pkt, from, out, &h)
	})
	if allocs != 0 {
		t.Fatalf("relay path: %v allocations per packet, want 0", allocs)
	}
	if b.Sent.Load() == 0 {
		t.Fatal("nothing was relayed")
	}
}

func BenchmarkRelayPacket(b *testing.B) {
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 41400, PortMax: 41500})
	if err != nil {
		b.Fatal(err)
	}
	x, _, from := testPair(b, e)
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

func BenchmarkParseSDP(b *testing.B) {
	body := BuildSDP(Offer{Local: netip.MustParseAddrPort("127.0.0.1:20000"), Codecs: []Codec{PCMU, PCMA}, TelephoneEvent: 101})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ParseSDP(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildSDP(b *testing.B) {
	o := Offer{Local: netip.MustParseAddrPort("127.0.0.1:20000"), SessionID: 42, Codecs: []Codec{PCMU, PCMA}, TelephoneEvent: 101}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		o.Version = uint64(i)
		if len(BuildSDP(o)) == 0 {
			b.Fatal("empty SDP")
		}
	}
}

func BenchmarkDTMFDetect(b *testing.B) {
	var d DTMFDetector
	p := []byte{5, 0x8a, 0, 160}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_, _ = d.Packet(uint32(i/3), p)
	}
}

func TestRelayKeepsOneContinuousStream(t *testing.T) {
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 41600, PortMax: 41700})
	if err != nil {
		t.Fatal(err)
	}
	a, b, from := testPair(t, e)
	out := make([]byte, 1500)
	var h rtp.Header
	var seqs []uint16
	send := func(seq uint16, ts, ssrc uint32) {
		pkt := relayPacket()
		writeHeader(pkt, 8, false, seq, ts, ssrc)
		a.handle(pkt, from, out, &h)
		seqs = append(seqs, b.seq)
	}
	// A stream, the same recording replayed (sequence restarts), then a new SSRC.
	for i := 0; i < 236; i++ { // the 7 s sample SIPp replays
		send(uint16(1000+i), uint32(8000+160*i), 7)
	}
	for i := 0; i < 5; i++ {
		send(uint16(1000+i), uint32(8000+160*i), 7)
	}
	for i := 0; i < 5; i++ {
		send(uint16(60000+i), uint32(160*i), 9)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("outgoing sequence %v is not continuous at %d", seqs, i)
		}
	}
	// One lost packet stays a gap of one (loss is not hidden).
	send(uint16(60006), 160*6, 9)
	if got := seqs[len(seqs)-1] - seqs[len(seqs)-2]; got != 2 {
		t.Fatalf("gap of one lost packet became %d", got)
	}
}

func TestRelayTranscodesPCMAToPCMU(t *testing.T) {
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 41800, PortMax: 41900})
	if err != nil {
		t.Fatal(err)
	}
	a, b, from := testPair(t, e) // a speaks PCMA, b PCMU
	phoneB, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer phoneB.Close()
	s := b.Session()
	s.Remote = phoneB.LocalAddr().(*net.UDPAddr).AddrPort()
	b.SetSession(s)

	pkt := relayPacket()
	for i := 12; i < len(pkt); i++ {
		pkt[i] = EncodeALaw(int16((i - 12) * 100))
	}
	var h rtp.Header
	a.handle(pkt, from, make([]byte, 1500), &h)
	buf := make([]byte, 1500)
	_ = phoneB.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, _, err := phoneB.ReadFromUDP(buf)
	if err != nil {
		t.Fatal(err)
	}
	if buf[1]&0x7f != PayloadPCMU || n != len(pkt) {
		t.Fatalf("relayed PT %d, %d bytes", buf[1]&0x7f, n)
	}
	for i := 12; i < n; i++ {
		want := int(DecodeALaw(pkt[i]))
		got := int(DecodeULaw(buf[i]))
		if diff := got - want; diff > want/16+64 || diff < -(want/16+64) {
			t.Fatalf("sample %d: PCMA %d became PCMU %d", i-12, want, got)
		}
	}
}

func TestPortPoolReusesOldestFreedLast(t *testing.T) {
	p := newPortPool(20001, 20010) // even ports 20002..20008 (RTCP one above); 20010 has no RTCP port
	var got []int
	for {
		port, ok := p.get()
		if !ok {
			break
		}
		got = append(got, port)
	}
	// Every port once, in order from a random first one (a restart does not
	// hand out the ports its killed predecessor's calls were using first).
	sorted := slices.Sorted(slices.Values(got))
	if want := []int{20002, 20004, 20006, 20008}; !slices.Equal(sorted, want) {
		t.Fatalf("ports %v, want each of %v once", got, want)
	}
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+2 && !(got[i-1] == 20008 && got[i] == 20002) {
			t.Fatalf("ports %v, want them in order around the ring", got)
		}
	}
	p.put(20004)
	p.put(20002)
	if port, _ := p.get(); port != 20004 {
		t.Fatalf("reused %d, want the first freed, 20004", port)
	}
	p.put(20006)
	if port, _ := p.get(); port != 20002 {
		t.Fatalf("reused %d, want 20002", port)
	}
	if n := testing.AllocsPerRun(100, func() { port, _ := p.get(); p.put(port) }); n != 0 {
		t.Fatalf("get+put allocate %v times", n)
	}
}

// Digits sent into a relayed stream take their own sequence numbers: the
// relayed packets that follow continue after them, never reusing one.
func TestDTMFDoesNotReuseRelayedSequenceNumbers(t *testing.T) {
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 41600, PortMax: 41700})
	if err != nil {
		t.Fatal(err)
	}
	a, b, from := testPair(t, e)
	phoneB, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer phoneB.Close()
	b.SetSession(Session{Remote: phoneB.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: PCMU, PT: 0, TelephoneEvent: 101})
	pkt := relayPacket()
	out := make([]byte, 1500)
	var h rtp.Header
	seq := uint16(1)
	relay := func(n int) {
		for range n {
			seq++
			pkt[2], pkt[3] = byte(seq>>8), byte(seq)
			a.handle(pkt, from, out, &h)
		}
	}
	relay(5)
	if err := b.SendDTMF('5', 40*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	relay(5)
	seen := map[uint16]int{}
	buf := make([]byte, 1500)
	for i := 0; i < 5+5+5; i++ { // 5 relayed, 2 event + 3 end packets, 5 relayed
		_ = phoneB.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := phoneB.Read(buf)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if n < 12 {
			continue
		}
		s := uint16(buf[2])<<8 | uint16(buf[3])
		seen[s]++
		if seen[s] > 1 {
			t.Fatalf("sequence number %d sent twice (packet %d)", s, i)
		}
	}
}
