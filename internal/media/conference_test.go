package media

import (
	"errors"
	"math"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// phone is the far end of one leg: a socket that sends a tone to the leg
// every 20 ms and decodes everything the leg sends it.
type phone struct {
	conn   *net.UDPConn
	frames chan []int16
	pkts   atomic.Int64
}

// newPhone opens a leg whose phone speaks codec and sends a tone at freq Hz
// (none if 0).
func newPhone(t *testing.T, e *Engine, codec Codec, freq float64) (*Endpoint, *phone) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := e.NewEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	ep.SetSession(Session{Remote: conn.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: codec, PT: codec.PayloadType(), TelephoneEvent: 101})
	ph := &phone{conn: conn, frames: make(chan []int16, 256)}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); ph.receive() }()
	go func() { defer wg.Done(); ph.speak(stop, ep.Local(), codec, freq) }()
	t.Cleanup(func() {
		close(stop)
		conn.Close()
		wg.Wait()
		ep.Close()
	})
	return ep, ph
}

func (ph *phone) receive() {
	buf := make([]byte, 1500)
	var h rtp.Header
	for {
		n, err := ph.conn.Read(buf)
		if err != nil {
			return
		}
		hl, err := h.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		ph.pkts.Add(1)
		codec := PCMU
		if h.PayloadType == PayloadPCMA {
			codec = PCMA
		}
		pcm := make([]int16, n-hl)
		Decode(codec, pcm, buf[hl:n])
		select {
		case ph.frames <- pcm:
		default:
		}
	}
}

func (ph *phone) speak(stop <-chan struct{}, to netip.AddrPort, codec Codec, freq float64) {
	if freq == 0 {
		return
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	pkt := make([]byte, 12+FrameSamples)
	pcm := make([]int16, FrameSamples)
	for i := 0; ; i++ {
		for k := range pcm {
			n := float64(i*FrameSamples + k)
			pcm[k] = int16(6000 * math.Sin(2*math.Pi*freq*n/SampleRate))
		}
		writeHeader(pkt, codec.PayloadType(), i == 0, uint16(i), uint32(i*FrameSamples), 0xC0FFEE)
		Encode(codec, pkt[12:], pcm)
		if _, err := ph.conn.WriteToUDPAddrPort(pkt, to); err != nil {
			return
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// listen returns the next n frames the phone hears, after dropping those
// already waiting and a few more (still in flight when the test changed
// the conference).
func (ph *phone) listen(t *testing.T, n int) []int16 {
	t.Helper()
	for len(ph.frames) > 0 {
		<-ph.frames
	}
	var pcm []int16
	for i := 0; i < n+5; i++ {
		select {
		case f := <-ph.frames:
			if i >= 5 {
				pcm = append(pcm, f...)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("heard only %d frames of %d", i, n+5)
		}
	}
	return pcm
}

// goertzel is the amplitude of the freq Hz component of pcm.
func goertzel(pcm []int16, freq float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/SampleRate)
	var s1, s2 float64
	for _, x := range pcm {
		s1, s2 = float64(x)+coeff*s1-s2, s1
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * math.Sqrt(max(power, 0)) / float64(len(pcm))
}

// assertHears checks that pcm carries each tone of want (sent at amplitude
// 6000) and none of not.
func assertHears(t *testing.T, who string, pcm []int16, want, not []float64) {
	t.Helper()
	amp := func(fs []float64) []int {
		var a []int
		for _, f := range fs {
			a = append(a, int(goertzel(pcm, f)))
		}
		return a
	}
	t.Logf("%s: amplitudes %v at %v Hz, %v at %v Hz", who, amp(want), want, amp(not), not)
	for _, f := range want {
		if a := goertzel(pcm, f); a < 2000 {
			t.Errorf("%s: %v Hz at amplitude %.0f, want it heard", who, f, a)
		}
	}
	for _, f := range not {
		if a := goertzel(pcm, f); a > 200 {
			t.Errorf("%s: %v Hz at amplitude %.0f, want it not heard", who, f, a)
		}
	}
}

const frames = 15 // 300 ms heard per check

func TestConferenceMixesOthersNotSelf(t *testing.T) {
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 42000, PortMax: 42100})
	if err != nil {
		t.Fatal(err)
	}
	ep1, ph1 := newPhone(t, e, PCMU, 440)
	ep2, ph2 := newPhone(t, e, PCMA, 1000)
	ep3, ph3 := newPhone(t, e, PCMU, 1800)
	c := NewConference()
	t.Cleanup(c.Stop)

	// A bridged call becomes a conference; a third party joins mid-call.
	Bridge(ep1, ep2)
	assertHears(t, "bridged 1", ph1.listen(t, frames), []float64{1000}, []float64{440, 1800})
	for _, ep := range []*Endpoint{ep1, ep2} {
		if err := c.Add(ep); err != nil {
			t.Fatal(err)
		}
	}
	assertHears(t, "two-party 1", ph1.listen(t, frames), []float64{1000}, []float64{440, 1800})
	assertHears(t, "two-party 2", ph2.listen(t, frames), []float64{440}, []float64{1000, 1800})
	if err := c.Add(ep3); err != nil {
		t.Fatal(err)
	}
	if c.Len() != 3 {
		t.Fatalf("Len %d, want 3", c.Len())
	}
	heard := make(chan []int16, 256)
	if err := c.TapHeard(ep1, func(codec Codec, p []byte) {
		pcm := make([]int16, len(p))
		Decode(codec, pcm, p)
		select {
		case heard <- pcm:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	assertHears(t, "member 1", ph1.listen(t, frames), []float64{1000, 1800}, []float64{440})
	assertHears(t, "member 2", ph2.listen(t, frames), []float64{440, 1800}, []float64{1000})
	assertHears(t, "member 3", ph3.listen(t, frames), []float64{440, 1000}, []float64{1800})
	var tapped []int16
	for len(tapped) < frames*FrameSamples {
		select {
		case f := <-heard:
			tapped = append(tapped, f...)
		case <-time.After(3 * time.Second):
			t.Fatal("TapHeard delivered nothing")
		}
	}
	assertHears(t, "what member 1 hears, tapped", tapped, []float64{1000, 1800}, []float64{440})

	t.Run("held member neither hears nor is heard", func(t *testing.T) {
		if err := c.Hold(ep1, true); err != nil {
			t.Fatal(err)
		}
		ph2.listen(t, 2) // a tick running during Hold has finished
		before := ph1.pkts.Load()
		assertHears(t, "member 2", ph2.listen(t, frames), []float64{1800}, []float64{440, 1000})
		assertHears(t, "member 3", ph3.listen(t, frames), []float64{1000}, []float64{440, 1800})
		if n := ph1.pkts.Load() - before; n > 1 {
			t.Errorf("held member was sent %d packets", n)
		}
		if err := c.Hold(ep1, false); err != nil {
			t.Fatal(err)
		}
		assertHears(t, "member 1 back", ph1.listen(t, frames), []float64{1000, 1800}, []float64{440})
	})

	t.Run("member leaves, the others go on and it can be bridged", func(t *testing.T) {
		c.Remove(ep3)
		if c.Len() != 2 {
			t.Fatalf("Len %d, want 2", c.Len())
		}
		assertHears(t, "member 1", ph1.listen(t, frames), []float64{1000}, []float64{440, 1800})
		assertHears(t, "member 2", ph2.listen(t, frames), []float64{440}, []float64{1000, 1800})
		ep4, ph4 := newPhone(t, e, PCMA, 2500)
		Bridge(ep3, ep4)
		assertHears(t, "removed 3 bridged", ph3.listen(t, frames), []float64{2500}, []float64{440, 1000, 1800})
		assertHears(t, "its new peer", ph4.listen(t, frames), []float64{1800}, []float64{440, 1000, 2500})
	})
}

func TestConferenceMembership(t *testing.T) {
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 42100, PortMax: 42200})
	if err != nil {
		t.Fatal(err)
	}
	eps := make([]*Endpoint, MaxConferenceSize+1)
	for i := range eps {
		if eps[i], err = e.NewEndpoint(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(eps[i].Close)
	}
	c := newConference() // ticked by hand
	for i, ep := range eps[:MaxConferenceSize] {
		if err := c.Add(ep); err != nil {
			t.Fatalf("Add %d: %v", i+1, err)
		}
	}
	if err := c.Add(eps[0]); err != nil {
		t.Fatalf("adding a member again: %v", err)
	}
	if err := c.Add(eps[MaxConferenceSize]); !errors.Is(err, ErrConferenceFull) {
		t.Fatalf("Add 7: %v, want ErrConferenceFull", err)
	}
	other := NewConference()
	defer other.Stop()
	if err := other.Add(eps[0]); !errors.Is(err, ErrInMixer) {
		t.Fatalf("Add a member of another conference: %v, want ErrInMixer", err)
	}
	if err := c.Hold(eps[MaxConferenceSize], true); !errors.Is(err, ErrNotMember) {
		t.Fatalf("Hold of a non-member: %v, want ErrNotMember", err)
	}
	if err := c.TapHeard(eps[MaxConferenceSize], nil); !errors.Is(err, ErrNotMember) {
		t.Fatalf("TapHeard of a non-member: %v, want ErrNotMember", err)
	}

	eps[5].Close() // a party hangs up
	c.tick()
	if c.Len() != MaxConferenceSize-1 {
		t.Fatalf("closed leg still a member: Len %d", c.Len())
	}
	if err := c.Add(eps[MaxConferenceSize]); err != nil {
		t.Fatalf("Add after a member left: %v", err)
	}

	c.Stop()
	if c.Len() != 0 {
		t.Fatalf("Len %d after Stop", c.Len())
	}
	if err := c.Add(eps[0]); !errors.Is(err, ErrConferenceStopped) {
		t.Fatalf("Add after Stop: %v, want ErrConferenceStopped", err)
	}
	for i, ep := range eps {
		ep.mu.Lock()
		mode := ep.mode
		ep.mu.Unlock()
		if mode == modeMix || ep.monTap.Load() != nil {
			t.Errorf("leg %d still mixed after Stop", i)
		}
	}
	if err := other.Add(eps[0]); err != nil {
		t.Fatalf("a leg freed by Stop cannot join another conference: %v", err)
	}
}

// mixRig is conferences of legs whose phones are one socket nobody reads,
// ticked by hand with a packet fed to every leg per tick as its reader would.
type mixRig struct {
	confs []*Conference
	legs  [][]*Endpoint
	from  netip.AddrPort
	pkt   []byte
	out   []byte
	h     rtp.Header
	seq   uint16
}

func newMixRig(tb testing.TB, e *Engine, confs, size int) *mixRig {
	tb.Helper()
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sink.Close() })
	r := &mixRig{from: sink.LocalAddr().(*net.UDPAddr).AddrPort(), pkt: make([]byte, 12+FrameSamples), out: make([]byte, 1500)}
	for i := 0; i < FrameSamples; i++ {
		r.pkt[12+i] = EncodeULaw(int16(6000 * math.Sin(2*math.Pi*1000*float64(i)/SampleRate)))
	}
	for i := 0; i < confs; i++ {
		c := newConference()
		tb.Cleanup(c.Stop)
		var legs []*Endpoint
		for k := 0; k < size; k++ {
			ep, err := e.NewEndpoint()
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(ep.Close)
			codec := []Codec{PCMU, PCMA}[k%2]
			ep.SetSession(Session{Remote: r.from, Codec: codec, PT: codec.PayloadType(), TelephoneEvent: 101})
			if err := c.Add(ep); err != nil {
				tb.Fatal(err)
			}
			legs = append(legs, ep)
		}
		r.confs = append(r.confs, c)
		r.legs = append(r.legs, legs)
	}
	return r
}

// tick is 20 ms of every conference: a packet in from each leg, then the mix out.
func (r *mixRig) tick() {
	r.seq++
	writeHeader(r.pkt, PayloadPCMU, false, r.seq, uint32(r.seq)*FrameSamples, 0x5EED)
	for i, c := range r.confs {
		for _, ep := range r.legs[i] {
			ep.handle(r.pkt, r.from, r.out, &r.h)
		}
		c.tick()
	}
}

func TestConferenceTickAllocatesNothing(t *testing.T) {
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 42200, PortMax: 42300})
	if err != nil {
		t.Fatal(err)
	}
	r := newMixRig(t, e, 1, 3)
	var tapped atomic.Int64
	if err := r.confs[0].TapHeard(r.legs[0][0], func(Codec, []byte) { tapped.Add(1) }); err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(200, r.tick); allocs != 0 {
		t.Fatalf("one conference tick: %v allocations, want 0", allocs)
	}
	if tapped.Load() == 0 || r.legs[0][1].Sent.Load() == 0 {
		t.Fatal("nothing was mixed")
	}
}

// BenchmarkConference3 is 20 ms of one three-party conference: three
// packets decoded, one mix, three frames encoded and sent.
func BenchmarkConference3(b *testing.B) {
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 42300, PortMax: 42400})
	if err != nil {
		b.Fatal(err)
	}
	r := newMixRig(b, e, 1, 3)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.tick()
	}
}

// BenchmarkConferences100 is 20 ms of 100 three-party conferences.
func BenchmarkConferences100(b *testing.B) {
	e, err := NewEngine(EngineConfig{IP: netip.MustParseAddr("127.0.0.1"), PortMin: 43000, PortMax: 45000})
	if err != nil {
		b.Fatal(err)
	}
	r := newMixRig(b, e, 100, 3)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.tick()
	}
}
