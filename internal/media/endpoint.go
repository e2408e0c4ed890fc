package media

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

type outMode uint8

const (
	modeIdle outMode = iota
	modePlay
	modeRelay
	modeMix // frames come from a Monitor
)

// Endpoint is one RTP leg: a local port pair, the negotiated remote side,
// and one continuous outgoing stream (one SSRC, sequence and timestamp that
// run on across prompts, music and relayed audio).
type Endpoint struct {
	e     *Engine
	sock  rtpSocket
	rtcp  *net.UDPConn
	local netip.AddrPort
	port  int

	mu   sync.Mutex
	sess Session
	// outgoing stream
	ssrc     uint32
	seq      uint16
	ts       uint32
	lastSend time.Time
	sentAny  bool
	marker   bool
	mode     outMode
	// playback
	queue []*Sound
	frame int
	loop  *Sound
	done  chan struct{}
	// relay: offsets from the peer's incoming stream to ours
	relayInit bool
	inSSRC    uint32
	inSeq     uint16 // last incoming sequence number and timestamp relayed
	inTS      uint32
	seqOff    uint16
	tsOff     uint32

	// SRTP (srtp.go), under mu: our key, made on first use; the peer's
	// key's context, handed to the reader in source; our sealer, handed
	// to the senders through seal (nil: plain RTP).
	localKey    Crypto
	haveKey     bool
	plainOnly   bool
	requireSRTP bool
	open        *opener
	sealer      *sealer
	seal        atomic.Pointer[sealer]

	negotiated Session                // as the SDP gave it; sess.Remote is where we send
	signal     netip.Addr             // where the leg's SIP comes from, if the SIP layer said
	remote     atomic.Pointer[source] // snapshot for the reader
	peer       atomic.Pointer[Endpoint]
	tap        atomic.Pointer[func(Codec, []byte)]
	monTap     atomic.Pointer[tapFn]
	digits     chan byte
	// inband detects DTMF sent as tones in the audio while set
	// (DetectInband); saw4733: the far end sends RFC 4733 events or SIP
	// INFO, so tones in its audio are not taken for keys again.
	inband  atomic.Pointer[InbandDetector]
	saw4733 atomic.Bool
	closed  chan struct{}
	once    sync.Once

	// per-leg receive counters
	Received atomic.Uint64
	Sent     atomic.Uint64
	Lost     atomic.Uint64
	jitter   atomic.Uint64 // RFC 3550 interarrival jitter in samples, float64 bits
	maxSeq   uint16        // reader goroutine only
	haveSeq  bool
	dtmf     DTMFDetector // reader only
	at       time.Time    // reader only: when the packet being handled arrived (zero: now)
	rx       rxState      // how the socket is read (poller_*.go)
	// jitter state (reader goroutine only)
	lastArrival time.Time
	lastTS      uint32
	jit         float64
}

// Jitter is the RFC 3550 interarrival jitter of what this leg receives.
func (ep *Endpoint) Jitter() time.Duration {
	return time.Duration(math.Float64frombits(ep.jitter.Load()) / SampleRate * float64(time.Second))
}

// NewEndpoint binds a port pair and starts reading from it.
func (e *Engine) NewEndpoint() (*Endpoint, error) {
	sock, rtcp, port, err := e.bindPair()
	if err != nil {
		return nil, err
	}
	ep := &Endpoint{
		e:      e,
		sock:   sock,
		rtcp:   rtcp,
		port:   port,
		local:  netip.AddrPortFrom(e.ip, uint16(port)),
		ssrc:   rand.Uint32(),
		seq:    uint16(rand.Uint32()),
		ts:     rand.Uint32(),
		digits: make(chan byte, 32),
		closed: make(chan struct{}),
	}
	if err := e.attach(ep); err != nil {
		ep.sock.close()
		rtcp.Close()
		e.ports.put(port)
		return nil, fmt.Errorf("media: leg not read: %w", err)
	}
	e.active.Add(1)
	return ep, nil
}

// Local is the address to put in SDP.
func (ep *Endpoint) Local() netip.AddrPort { return ep.local }

// SetSession sets (or, on re-INVITE, changes) the negotiated remote side.
// A new remote address starts learning the peer's RTP source afresh (see
// source); the same address again (a session refresh, hold) keeps what was
// learned. An SRTP session switches the leg to SRTP both ways: what
// arrives is opened with s.Crypto, what leaves is sealed with LocalCrypto.
func (ep *Endpoint) SetSession(s Session) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	old := ep.remote.Load()
	s = ep.setSRTPLocked(s)
	ep.negotiated = s
	ep.sess = s
	if old != nil && old.sess.Remote == s.Remote {
		ep.publishLocked(old)
		return
	}
	ep.publishLocked(nil)
}

// SetSignalSource tells the leg the address its SIP messages come from. RTP
// from that address may be learned as the peer's source as readily as RTP
// from the SDP's, and when the two agree NAT is ruled out: nothing else is
// ever learned. Called after RTP was learned it only applies to the next
// SetSession with a new address.
func (ep *Endpoint) SetSignalSource(a netip.Addr) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.signal = a.Unmap()
	if old := ep.remote.Load(); old != nil && !old.locked.Load() {
		ep.publishLocked(old)
	}
}

// publishLocked hands the reader a new snapshot of the negotiated session,
// carrying over what keep had learned (nil: learn anew).
func (ep *Endpoint) publishLocked(keep *source) {
	src := &source{sess: ep.negotiated, signal: ep.signal, open: ep.open}
	sdpIP := src.sess.Remote.Addr()
	src.anyIP = !ep.signal.IsValid() || ep.signal != sdpIP
	if keep != nil {
		src.sendStart.Store(keep.sendStart.Load())
		if keep.locked.Load() {
			src.learned = keep.learned
			src.locked.Store(true)
			ep.sess.Remote = keep.learned
		}
	}
	ep.remote.Store(src)
}

// Session returns the negotiated remote side, as its SDP gave it.
func (ep *Endpoint) Session() Session {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.negotiated
}

// RTPSource is the address the peer's RTP was learned from, and false while
// nothing has been learned since the last change of address.
func (ep *Endpoint) RTPSource() (netip.AddrPort, bool) {
	src := ep.remote.Load()
	if src == nil || !src.locked.Load() {
		return netip.AddrPort{}, false
	}
	return src.learned, true
}

// Digits delivers DTMF digits received on this leg (RFC 4733 or injected from SIP INFO).
func (ep *Endpoint) Digits() <-chan byte { return ep.digits }

// SignalledDigit delivers a digit that arrived by signalling (SIP INFO):
// from then on, as after an RFC 4733 event, tones in the leg's audio are
// not taken for keys (a gateway sending both would give each key twice).
func (ep *Endpoint) SignalledDigit(d byte) {
	ep.saw4733.Store(true)
	ep.InjectDigit(d)
}

// InjectDigit delivers a digit on Digits.
func (ep *Endpoint) InjectDigit(d byte) {
	select {
	case ep.digits <- d:
	default:
	}
}

// DetectInband starts (on) or stops taking DTMF tones in the audio the leg
// receives for keys, delivered on Digits like RFC 4733 events: for
// gateways that send keys in band. Turn it on only while a menu listens
// (speech can look like a tone), and it stays off once the far end has
// sent an RFC 4733 event or a SIP INFO key (a gateway that sends both
// would give each key twice). Each start begins afresh.
func (ep *Endpoint) DetectInband(on bool) {
	if !on {
		ep.inband.Store(nil)
		return
	}
	ep.inband.Store(new(InbandDetector))
}

// Tap sets f to receive the payload of every audio packet that arrives
// (voicemail, recording); nil removes it. f runs on the goroutine that
// reads the leg — on Linux a poller shared by many legs — and must copy what
// it keeps and return at once, never waiting on IO or a lock held across IO.
func (ep *Endpoint) Tap(f func(c Codec, payload []byte)) {
	if f == nil {
		ep.tap.Store(nil)
		return
	}
	ep.tap.Store(&f)
}

// Done is closed when the endpoint is closed.
func (ep *Endpoint) Done() <-chan struct{} { return ep.closed }

// Play replaces whatever the leg sends with the given sounds, in order. The
// returned channel closes when they have all been sent, or when playback is
// stopped or replaced.
func (ep *Endpoint) Play(sounds ...*Sound) <-chan struct{} {
	ep.mu.Lock()
	ep.finishLocked()
	ep.queue = append(ep.queue[:0], sounds...)
	ep.frame = 0
	ep.done = make(chan struct{})
	done := ep.done
	ep.enterLocked(modePlay)
	ep.mu.Unlock()
	ep.e.startPlaying(ep)
	return done
}

// Loop sets a sound (music on hold) repeated once the queue of Play is empty.
// Nil stops the loop.
func (ep *Endpoint) Loop(s *Sound) {
	ep.mu.Lock()
	ep.loop = s
	if s != nil && ep.mode != modePlay {
		ep.queue = ep.queue[:0]
		ep.frame = 0
		ep.enterLocked(modePlay)
	}
	ep.mu.Unlock()
	if s != nil {
		ep.e.startPlaying(ep)
	}
}

// Stop ends playback; the leg sends nothing until played or bridged again.
func (ep *Endpoint) Stop() {
	ep.mu.Lock()
	ep.finishLocked()
	ep.loop = nil
	ep.enterLocked(modeIdle)
	ep.mu.Unlock()
	ep.e.stopPlaying(ep)
}

// Bridge connects two legs: each sends what the other receives.
func Bridge(a, b *Endpoint) {
	for _, ep := range []*Endpoint{a, b} {
		ep.mu.Lock()
		ep.finishLocked()
		ep.loop = nil
		ep.enterLocked(modeRelay)
		ep.mu.Unlock()
		ep.e.stopPlaying(ep)
	}
	a.peer.Store(b)
	b.peer.Store(a)
}

// Unbridge disconnects a leg from its peer, in both directions.
func (ep *Endpoint) Unbridge() {
	if p := ep.peer.Swap(nil); p != nil {
		p.peer.CompareAndSwap(ep, nil)
	}
}

// Close releases the ports; the leg's socket leaves its poller (or its
// reader goroutine ends).
func (ep *Endpoint) Close() {
	ep.once.Do(func() {
		ep.Unbridge()
		ep.Stop()
		close(ep.closed)
		ep.e.detach(ep)
		ep.sock.close()
		ep.rtcp.Close()
		ep.e.ports.put(ep.port)
		ep.e.active.Add(-1)
	})
}

// finishLocked closes the done channel of the current playback.
func (ep *Endpoint) finishLocked() {
	if ep.done != nil {
		close(ep.done)
		ep.done = nil
	}
	ep.queue = ep.queue[:0]
}

// enterLocked switches what the leg sends. The stream itself continues: the
// next packet carries the marker bit and a timestamp advanced by the real
// time that passed, so the far end's jitter buffer sees one talk spurt end
// and another begin.
func (ep *Endpoint) enterLocked(m outMode) {
	if ep.mode != m {
		ep.marker = true
		ep.relayInit = false
	}
	ep.mode = m
}

// advanceLocked moves the timestamp to now: one frame for a paced packet,
// the elapsed time after a pause.
func (ep *Endpoint) advanceLocked(now time.Time) {
	if !ep.sentAny {
		ep.sentAny = true
		ep.lastSend = now
		return
	}
	samples := uint32(FrameSamples)
	if gap := now.Sub(ep.lastSend); gap > 30*time.Millisecond {
		samples = uint32(gap.Round(20*time.Millisecond)/time.Millisecond) * 8
	}
	ep.ts += samples
	ep.lastSend = now
}

// playTick sends the next frame of playback; false means the leg no longer plays.
func (ep *Endpoint) playTick(now time.Time, buf []byte) bool {
	ep.mu.Lock()
	if ep.mode != modePlay {
		ep.mu.Unlock()
		return false
	}
	var snd *Sound
	for len(ep.queue) > 0 && ep.frame >= ep.queue[0].Frames() {
		ep.queue = ep.queue[1:]
		ep.frame = 0
	}
	switch {
	case len(ep.queue) > 0:
		snd = ep.queue[0]
	case ep.loop != nil:
		if ep.done != nil {
			close(ep.done)
			ep.done = nil
		}
		if ep.frame >= ep.loop.Frames() {
			ep.frame = 0
		}
		snd = ep.loop
	default:
		ep.finishLocked()
		ep.mode = modeIdle
		ep.mu.Unlock()
		return false
	}
	remote, codec := ep.sess.Remote, ep.sess.Codec
	if !remote.IsValid() || codec == CodecNone {
		ep.mu.Unlock()
		return true
	}
	ep.seq++
	ep.advanceLocked(now)
	ep.lastSend = now
	writeHeader(buf, ep.sess.PT, ep.marker, ep.seq, ep.ts, ep.ssrc)
	ep.marker = false
	copy(buf[12:], snd.frame(codec, ep.frame))
	ep.frame++
	ep.mu.Unlock()
	ep.send(buf[:12+FrameSamples], remote)
	return true
}

// send writes one RTP packet to the peer, sealed with SRTP when the leg
// encrypts: in place, so pkt needs srtpTagLen bytes of capacity beyond its
// length, and holds the SRTP packet afterwards. It must not be called with
// ep.mu held (lock order: mu, then a sealer's mu).
func (ep *Endpoint) send(pkt []byte, to netip.AddrPort) {
	if src := ep.remote.Load(); src != nil && src.sendStart.Load() == 0 {
		src.sendStart.CompareAndSwap(0, time.Now().UnixNano())
	}
	if s := ep.seal.Load(); s != nil {
		var err error
		if pkt, err = s.seal(pkt); err != nil {
			return
		}
	}
	if err := ep.sock.writeTo(pkt, to); err != nil {
		ep.e.Stats.SendFailed.Add(1)
		return
	}
	ep.Sent.Add(1)
	ep.e.Stats.PacketsOut.Add(1)
}

func writeHeader(b []byte, pt uint8, marker bool, seq uint16, ts, ssrc uint32) {
	b[0] = 0x80
	b[1] = pt & 0x7F
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
}

// read receives RTP on a goroutine of the leg's own until the endpoint
// closes, where no poller serves it (poller_*.go).
func (ep *Endpoint) read(c *net.UDPConn) {
	buf := make([]byte, 1500)
	out := make([]byte, 1500)
	var h rtp.Header
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			select {
			case <-ep.closed:
				return
			default:
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return
		}
		ep.handle(buf[:n], from, out, &h)
	}
}

// handle processes one received datagram: DTMF is detected here and audio
// is forwarded to the bridged peer. It allocates nothing.
func (ep *Endpoint) handle(pkt []byte, from netip.AddrPort, out []byte, h *rtp.Header) {
	src := ep.remote.Load()
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	// A packet from the SDP's exact address while another source is
	// learned may take its place (preferExact), once it has proved to be
	// RTP (and, with SRTP, authentic).
	exact := src != nil && src.locked.Load() && from != src.learned && from == src.sess.Remote
	if src == nil || (src.locked.Load() && from != src.learned && !exact) {
		ep.e.Stats.WrongSource.Add(1)
		return
	}
	hl, err := h.Unmarshal(pkt)
	if err != nil || h.Version != 2 {
		ep.e.Stats.Malformed.Add(1)
		return
	}
	if src.open != nil {
		var ok bool
		if pkt, ok = openSRTP(src.open, pkt, h); !ok {
			ep.e.Stats.SRTPFailed.Add(1)
			return
		}
	}
	if exact {
		if src = ep.preferExact(src, from); from != src.learned {
			ep.e.Stats.WrongSource.Add(1)
			return
		}
	}
	if !src.locked.Load() && !ep.learn(src, from) {
		ep.e.Stats.WrongSource.Add(1)
		return
	}
	sess := &src.sess
	payload := pkt[hl:]
	if h.Padding && len(payload) > 0 {
		pad := int(payload[len(payload)-1])
		if pad > len(payload) {
			ep.e.Stats.Malformed.Add(1)
			return
		}
		payload = payload[:len(payload)-pad]
	}
	ep.Received.Add(1)
	ep.e.Stats.PacketsIn.Add(1)
	ep.trackSeq(h.SequenceNumber)
	ep.trackJitter(h.Timestamp)

	peer := ep.peer.Load()
	switch {
	case sess.TelephoneEvent != 0 && h.PayloadType == sess.TelephoneEvent:
		ep.saw4733.Store(true)
		if d, err := ep.dtmf.Packet(h.Timestamp, payload); err == nil && d != 0 {
			ep.InjectDigit(d)
		}
		if peer != nil {
			peer.relay(h, payload, CodecNone, out, true)
		}
	case h.PayloadType == sess.PT:
		if t := ep.tap.Load(); t != nil {
			(*t)(sess.Codec, payload)
		}
		if d := ep.inband.Load(); d != nil && !ep.saw4733.Load() {
			var keys [4]byte
			for _, k := range d.FeedPayload(sess.Codec, payload, keys[:0]) {
				ep.InjectDigit(k)
			}
		}
		if t := ep.monTap.Load(); t != nil {
			t.f(sess.Codec, payload)
		}
		if peer != nil {
			peer.relay(h, payload, sess.Codec, out, false)
		}
	}
}

// learnWindow is how long after the leg starts sending RTP (the far end
// starts about when it has our SDP) a source that is neither the SDP's nor
// the signalling's address may still be learned.
const learnWindow = 10 * time.Second

// source is what the reader checks an arriving packet against: the
// negotiated session and the peer's RTP source, learned from its first
// packets (symmetric RTP, as Asterisk's comedia with strictrtp and
// rtpengine do). Until something is learned the leg sends to the SDP's
// address, so a phone that never sends still hears; once learned it sends
// there and accepts that exact address and port only, until SetSession
// names another address.
//
// The first source is chosen to make a hijack by a packet that races the
// phone's hard: the first valid RTP packet from the SDP's IP or the
// signalling's IP (any port: a NAT may map the port) is learned at once.
// A packet from any other address is learned only when NAT is possible —
// the signalling address is unknown or differs from the SDP's — and only
// within learnWindow of the leg's first packet out; after that only the two
// known IPs can be learned. When SIP and SDP agree, nothing else ever is.
type source struct {
	sess   Session    // as negotiated
	signal netip.Addr // invalid if unknown
	anyIP  bool       // NAT possible: any address may be learned in the window
	open   *opener    // the peer's SRTP key; nil for plain RTP

	sendStart atomic.Int64 // Unix ns of the first packet sent, 0 before
	locked    atomic.Bool  // learned is set; it never changes after (preferExact makes a new source)
	learned   netip.AddrPort
	lockedAt  time.Time // when learned was set
}

// eligible reports whether a packet from a may be learned as the source.
func (s *source) eligible(a netip.Addr, now time.Time) bool {
	switch {
	case a == s.sess.Remote.Addr(), s.signal.IsValid() && a == s.signal:
		return true
	case !s.anyIP:
		return false
	}
	start := s.sendStart.Load()
	return start == 0 || now.UnixNano()-start < int64(learnWindow)
}

// learn makes from the peer's RTP source if it may be; false drops the
// packet. It runs only until the first source is learned.
func (ep *Endpoint) learn(src *source, from netip.AddrPort) bool {
	if !src.eligible(from.Addr(), time.Now()) {
		return false
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.remote.Load() != src { // new signalling meanwhile: judge the next packet by it
		return false
	}
	if src.locked.Load() {
		return from == src.learned
	}
	src.learned, src.lockedAt = from, time.Now()
	src.locked.Store(true)
	ep.sess.Remote = from
	if from != src.sess.Remote {
		ep.e.log.Debug("media: RTP source differs from SDP", "local", ep.local, "sdp", src.sess.Remote, "source", from)
	}
	return true
}

// preferExact moves the learned source, once, to the SDP's exact address
// and port when the peer's stream arrives from there within learnWindow of
// learning another one: a stream that merely came from the same IP first —
// a call of a run that was killed, still sending to a port this run handed
// out again — must not keep the new call's caller unheard. The new source
// is a new snapshot (a source's learned address never changes). It returns
// the source to judge the packet by.
func (ep *Endpoint) preferExact(src *source, from netip.AddrPort) *source {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.remote.Load() != src || time.Since(src.lockedAt) > learnWindow {
		return src
	}
	next := &source{sess: src.sess, signal: src.signal, anyIP: src.anyIP, open: src.open, learned: from, lockedAt: time.Now()}
	next.sendStart.Store(src.sendStart.Load())
	next.locked.Store(true)
	ep.sess.Remote = from
	ep.remote.Store(next)
	ep.e.log.Debug("media: RTP source moved to the SDP's address", "local", ep.local, "was", src.learned, "now", from)
	return next
}

// trackJitter updates J += (|D| − J)/16, D the difference between the
// packets' spacing on arrival and in RTP time (RFC 3550 §6.4.1).
func (ep *Endpoint) trackJitter(ts uint32) {
	now := ep.at
	if now.IsZero() {
		now = time.Now()
	}
	if !ep.lastArrival.IsZero() {
		arrival := now.Sub(ep.lastArrival).Seconds() * SampleRate
		d := math.Abs(arrival - float64(int32(ts-ep.lastTS)))
		if d < 10*SampleRate { // a new talk spurt or stream, not jitter
			ep.jit += (d - ep.jit) / 16
			ep.jitter.Store(math.Float64bits(ep.jit))
		}
	}
	ep.lastArrival, ep.lastTS = now, ts
}

func (ep *Endpoint) trackSeq(seq uint16) {
	if !ep.haveSeq {
		ep.haveSeq, ep.maxSeq = true, seq
		return
	}
	diff := seq - ep.maxSeq
	if diff == 0 || diff > 0x8000 { // duplicate or reordered late packet
		return
	}
	if diff > 1 {
		ep.Lost.Add(uint64(diff - 1))
		ep.e.Stats.Lost.Add(uint64(diff - 1))
	}
	ep.maxSeq = seq
}

// relay sends a packet received on the peer out of this leg, rewritten into
// this leg's stream. from is the payload's codec (CodecNone for events).
func (ep *Endpoint) relay(h *rtp.Header, payload []byte, from Codec, out []byte, event bool) {
	if 12+len(payload)+srtpTagLen > len(out) {
		return
	}
	ep.mu.Lock()
	if ep.mode != modeRelay || !ep.sess.Remote.IsValid() {
		ep.mu.Unlock()
		return
	}
	pt := ep.sess.PT
	if event {
		if ep.sess.TelephoneEvent == 0 {
			ep.mu.Unlock()
			return
		}
		pt = ep.sess.TelephoneEvent
	}
	if !ep.relayInit || h.SSRC != ep.inSSRC || discontinuous(h.SequenceNumber-ep.inSeq, h.Timestamp-ep.inTS) {
		// A new incoming stream, or the same one restarted (a phone that
		// resets, a replayed recording): continue ours from where it stands.
		ep.advanceLocked(time.Now())
		ep.seqOff = ep.seq + 1 - h.SequenceNumber
		ep.tsOff = ep.ts - h.Timestamp
		ep.inSSRC = h.SSRC
		ep.relayInit = true
		ep.marker = true
	}
	ep.inSeq, ep.inTS = h.SequenceNumber, h.Timestamp
	seq := h.SequenceNumber + ep.seqOff
	ts := h.Timestamp + ep.tsOff
	if int16(seq-ep.seq) > 0 {
		ep.seq = seq
	}
	if int32(ts-ep.ts) > 0 {
		ep.ts = ts
		ep.sentAny = true
	}
	ep.lastSend = time.Now()
	marker := h.Marker || ep.marker
	ep.marker = false
	codec, remote, ssrc := ep.sess.Codec, ep.sess.Remote, ep.ssrc
	ep.mu.Unlock()

	writeHeader(out, pt, marker, seq, ts, ssrc)
	if event {
		copy(out[12:], payload)
	} else {
		ep.e.tc.Convert(out[12:], payload, from, codec)
	}
	ep.send(out[:12+len(payload)], remote)
}

// discontinuous reports whether an incoming packet jumped too far from the
// last one relayed to be the same stream: more than 100 packets back (beyond
// reordering), more than 3000 ahead (a minute of loss), or a timestamp more
// than a minute off either way.
func discontinuous(seqDelta uint16, tsDelta uint32) bool {
	d := int16(seqDelta)
	t := int32(tsDelta)
	return d < -100 || d > 3000 || t < -60*SampleRate || t > 60*SampleRate
}

// SendDTMF sends one digit as RFC 4733 telephone-events in the leg's stream:
// packets every 20 ms for dur, then the end packet three times. It blocks for
// about dur; the leg's other audio goes on meanwhile.
func (ep *Endpoint) SendDTMF(digit byte, dur time.Duration) error {
	code, ok := eventCode(digit)
	if !ok {
		return fmt.Errorf("%w: %q is not a DTMF digit", ErrDTMF, digit)
	}
	ep.mu.Lock()
	pt, remote := ep.sess.TelephoneEvent, ep.sess.Remote
	ep.advanceLocked(time.Now())
	start := ep.ts
	ep.mu.Unlock()
	if pt == 0 || !remote.IsValid() {
		return fmt.Errorf("%w: the far end did not negotiate telephone-event", ErrDTMF)
	}
	pkt := make([]byte, 16, 16+srtpTagLen)
	send := func(elapsed uint16, end, marker bool) {
		ep.mu.Lock()
		ep.seq++
		seq, ssrc := ep.seq, ep.ssrc
		// A relayed stream continues after these numbers, not over them
		// (one sequence number twice is one SRTP keystream twice, and the
		// far end drops the second as a replay).
		ep.relayInit = false
		ep.mu.Unlock()
		writeHeader(pkt, pt, marker, seq, start, ssrc)
		pkt[12] = code
		pkt[13] = 10 // volume −10 dBm0
		if end {
			pkt[13] |= 0x80
		}
		binary.BigEndian.PutUint16(pkt[14:], elapsed)
		ep.send(pkt, remote)
	}
	steps := max(int(dur/(20*time.Millisecond)), 1)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for i := 0; i < steps; i++ {
		send(uint16((i+1)*FrameSamples), false, i == 0)
		select {
		case <-t.C:
		case <-ep.closed:
			return nil
		}
	}
	for i := 0; i < 3; i++ {
		send(uint16(steps*FrameSamples), true, false)
	}
	return nil
}

func eventCode(d byte) (uint8, bool) {
	switch {
	case d >= '0' && d <= '9':
		return d - '0', true
	case d == '*':
		return 10, true
	case d == '#':
		return 11, true
	case d >= 'A' && d <= 'D':
		return 12 + d - 'A', true
	}
	return 0, false
}
