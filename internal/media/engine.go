// Package media owns RTP: port allocation, G.711 codecs, SDP offer/answer,
// RFC 4733 DTMF, playing sounds and relaying audio between two legs. It knows
// nothing of SIP, calls or queues.
//
// Timing: one pacer goroutine ticks every 20 ms and sends the next frame of
// every endpoint that is playing a sound; relayed audio is forwarded as it
// arrives, rewritten in place, without decoding (PCMU↔PCMA by table when
// the legs differ), by the poller that reads the receiving endpoint's
// socket: on Linux a few pollers each drain many legs' sockets per wake-up
// (poller_linux.go), elsewhere a goroutine per leg.
//
// Addresses: RTP is symmetric. Each leg learns where the peer's RTP really
// comes from (behind NAT, not the SDP's address), sends there, and accepts
// nothing else until new signalling; see source in endpoint.go.
package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// yieldEvery is how many packets a loop that serves many legs (the pacer,
// a poller) handles before it lets other goroutines run: a tick's work at
// a thousand calls takes milliseconds, and the scheduler would otherwise
// leave a SIP request waiting on a busy core for up to its 10 ms slice.
const yieldEvery = 64

// Stats are process-wide RTP counters.
type Stats struct {
	PacketsIn   atomic.Uint64
	PacketsOut  atomic.Uint64
	Lost        atomic.Uint64 // gaps in received sequence numbers
	WrongSource atomic.Uint64 // dropped: not from the peer's learned RTP source, or not one that may be learned
	Malformed   atomic.Uint64 // dropped: not RTP
	SRTPFailed  atomic.Uint64 // dropped: on an SRTP leg, failed authentication (tampered, replayed, wrong key or plain RTP)
	Late        atomic.Uint64 // pacer ticks that ran behind
	SendFailed  atomic.Uint64 // not sent: the socket's buffer was full, or another error
	RecvFailed  atomic.Uint64 // receive calls that failed other than on an empty socket
}

// Engine allocates RTP endpoints and paces their playback.
type Engine struct {
	ip    netip.Addr
	ports *portPool
	tc    *Transcoder
	log   *slog.Logger
	Stats Stats

	mu      sync.Mutex
	playing map[*Endpoint]struct{}
	wake    chan struct{}
	active  atomic.Int64
	polls   *pollers // the RTP readers (poller_*.go)
}

// EngineConfig sets where RTP is bound.
type EngineConfig struct {
	IP               netip.Addr
	PortMin, PortMax int
	Log              *slog.Logger
	// ReaderPerLeg reads each leg's socket on a goroutine of its own, as
	// the engine did before its pollers: for benchmarks that compare the two.
	ReaderPerLeg bool
}

// NewEngine prepares an engine; Run must be running for playback.
func NewEngine(c EngineConfig) (*Engine, error) {
	if !c.IP.IsValid() {
		return nil, errors.New("media: no IP to bind")
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	e := &Engine{
		ip:      c.IP,
		ports:   newPortPool(c.PortMin, c.PortMax),
		tc:      NewTranscoder(),
		log:     c.Log,
		playing: map[*Endpoint]struct{}{},
		wake:    make(chan struct{}, 1),
	}
	if !c.ReaderPerLeg {
		e.polls = newPollers(min(runtime.GOMAXPROCS(0), 4))
	}
	return e, nil
}

// Active reports how many endpoints are open.
func (e *Engine) Active() int64 { return e.active.Load() }

// IP is the address the endpoints bind and offer.
func (e *Engine) IP() netip.Addr { return e.ip }

// Run paces playback until ctx ends. One goroutine serves every endpoint.
func (e *Engine) Run(ctx context.Context) {
	const tick = 20 * time.Millisecond
	var (
		scratch = make([]byte, 12+FrameSamples, 12+FrameSamples+srtpTagLen)
		list    []*Endpoint
		ticker  *time.Ticker
		next    time.Time
	)
	defer func() {
		if ticker != nil {
			ticker.Stop()
		}
	}()
	for {
		e.mu.Lock()
		idle := len(e.playing) == 0
		e.mu.Unlock()
		if idle {
			if ticker != nil {
				ticker.Stop()
				ticker = nil
			}
			select {
			case <-ctx.Done():
				return
			case <-e.wake:
				continue
			}
		}
		if ticker == nil {
			ticker = time.NewTicker(tick)
			next = time.Now().Add(tick)
		}
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			if now.Sub(next) > tick {
				e.Stats.Late.Add(1)
			}
			next = now.Add(tick)
		}
		e.mu.Lock()
		list = list[:0]
		for ep := range e.playing {
			list = append(list, ep)
		}
		e.mu.Unlock()
		now := time.Now()
		for i, ep := range list {
			if !ep.playTick(now, scratch) {
				e.mu.Lock()
				delete(e.playing, ep)
				e.mu.Unlock()
			}
			if i%yieldEvery == yieldEvery-1 {
				runtime.Gosched() // see yieldEvery
			}
		}
		clear(list)
	}
}

func (e *Engine) startPlaying(ep *Endpoint) {
	e.mu.Lock()
	e.playing[ep] = struct{}{}
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *Engine) stopPlaying(ep *Endpoint) {
	e.mu.Lock()
	delete(e.playing, ep)
	e.mu.Unlock()
}

// portPool hands out even RTP ports (RTCP on the odd one above), oldest
// freed first: a ring of the free ports, so a just-closed port is the last
// to be reused (late packets of an old call reach no new one). Neither get
// nor put allocates.
type portPool struct {
	mu   sync.Mutex
	ring []int // capacity: every port of the range
	head int   // index of the next port to hand out
	n    int   // free ports in the ring
}

func newPortPool(min, max int) *portPool {
	if min%2 == 1 {
		min++
	}
	p := &portPool{}
	for port := min; port+1 <= max; port += 2 {
		p.ring = append(p.ring, port)
	}
	p.n = len(p.ring)
	// A random first port: a run that follows a killed one does not hand
	// out the ports its predecessor's calls were using, which their peers
	// may still be sending to.
	if len(p.ring) > 0 {
		p.head = rand.IntN(len(p.ring))
	}
	return p
}

func (p *portPool) get() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == 0 {
		return 0, false
	}
	port := p.ring[p.head]
	p.head = (p.head + 1) % len(p.ring)
	p.n--
	return port, true
}

// put returns a port at the back of the ring.
func (p *portPool) put(port int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == len(p.ring) {
		return // not ours: the pool is full
	}
	p.ring[(p.head+p.n)%len(p.ring)] = port
	p.n++
}

// ErrNoPorts means the RTP port range is exhausted.
var ErrNoPorts = errors.New("media: no free RTP ports")

// bindPair binds an RTP/RTCP pair, skipping ports another process holds.
// The RTCP socket only holds its port: nothing reads it.
func (e *Engine) bindPair() (rtp rtpSocket, rtcp *net.UDPConn, port int, err error) {
	for tries := 0; tries < 64; tries++ {
		port, ok := e.ports.get()
		if !ok {
			return nil, nil, 0, ErrNoPorts
		}
		rtp, err1 := e.bindRTP(port)
		if err1 != nil {
			e.ports.put(port)
			continue
		}
		rtcp, err2 := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(e.ip, uint16(port+1))))
		if err2 != nil {
			rtp.close()
			e.ports.put(port)
			continue
		}
		return rtp, rtcp, port, nil
	}
	return nil, nil, 0, fmt.Errorf("%w: 64 ports in a row were taken", ErrNoPorts)
}
