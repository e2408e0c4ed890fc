package media

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// MaxConferenceSize is how many legs one conference mixes.
const MaxConferenceSize = 6

// maxConfBacklog bounds each member's audio waiting to be mixed (80 ms).
// Tighter than a monitor's: the members talk to each other, and a phone
// whose clock runs fast would otherwise build up to the cap in delay; audio
// older than this after a network stall is dropped rather than heard late.
const maxConfBacklog = 4 * FrameSamples

// Conference errors.
var (
	// ErrConferenceFull means Add was given a seventh leg.
	ErrConferenceFull = errors.New("media: conference full")
	// ErrConferenceStopped means Add was called after Stop.
	ErrConferenceStopped = errors.New("media: conference stopped")
	// ErrInMixer means the leg is already in another conference or a Monitor.
	ErrInMixer = errors.New("media: leg already in a mixer")
	// ErrNotMember means the leg is not in this conference.
	ErrNotMember = errors.New("media: leg not in the conference")
)

// Conference mixes up to MaxConferenceSize legs: every 20 ms each member is
// sent, in its own codec, the sum of what every other member not on hold
// said. Only members' audio is decoded (through the same mixer tap a Monitor
// uses); legs outside conferences keep their zero-copy relay.
//
// A member leg sends nothing but the mix: Add unbridges it and stops its
// playback, Remove gives it back idle, ready for Bridge or Play.
type Conference struct {
	// tickMu is held through a tick, so that once Remove, Hold or TapHeard
	// returns no tick still uses what they changed. It also guards w.
	tickMu sync.Mutex
	w      mixWork

	mu      sync.Mutex
	members []*member
	stopped bool

	running bool
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// member is one leg of a conference and the audio it sent, decoded.
type member struct {
	ep    *Endpoint
	tap   *tapFn
	held  atomic.Bool
	heard atomic.Pointer[func(Codec, []byte)]

	mu   sync.Mutex
	in   [maxConfBacklog]int16
	n    int
	gone bool
}

// mixWork is one tick's working set, reused so a tick allocates nothing.
type mixWork struct {
	n     int
	m     [MaxConferenceSize]*member
	frame [MaxConferenceSize][FrameSamples]int16
	sum   [FrameSamples]int32
	out   [FrameSamples]int16
	pkt   [12 + FrameSamples]byte
}

// NewConference starts an empty conference; its one goroutine mixes every
// 20 ms until Stop.
func NewConference() *Conference {
	c := newConference()
	c.running = true
	go c.run()
	return c
}

// newConference makes a conference nothing ticks (benchmarks tick it).
func newConference() *Conference {
	return &Conference{
		members: make([]*member, 0, MaxConferenceSize),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
}

// Add puts a leg in the conference. A bridged leg is unbridged first (its
// former peer then hears nothing until it is added or bridged too), and
// whatever the leg was playing stops. Adding a member again does nothing.
func (c *Conference) Add(ep *Endpoint) error {
	m := &member{ep: ep}
	m.tap = &tapFn{f: m.add}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.stopped:
		return ErrConferenceStopped
	case c.findLocked(ep) >= 0:
		return nil
	case len(c.members) >= MaxConferenceSize:
		return ErrConferenceFull
	case !ep.monTap.CompareAndSwap(nil, m.tap):
		return ErrInMixer
	}
	ep.Unbridge()
	ep.joinMix()
	c.members = append(c.members, m)
	return nil
}

// Remove takes a leg out of the conference and leaves it idle (neither
// mixed nor relayed), ready to be bridged or played to. Removing a leg that
// is not a member does nothing. Once Remove returns the conference sends
// nothing more on the leg and no longer calls its TapHeard function.
func (c *Conference) Remove(ep *Endpoint) {
	c.tickMu.Lock()
	defer c.tickMu.Unlock()
	c.mu.Lock()
	m := c.detachLocked(ep)
	c.mu.Unlock()
	if m != nil {
		m.release()
	}
}

// Hold puts a member on hold (on) or takes it off. A held member is neither
// heard nor hears: the others go on talking among themselves, and its leg is
// sent nothing, so the call layer may play music to it meanwhile. Hold(ep,
// false) takes the leg back from any playback, so it is also how a prompt
// played to a member ends.
func (c *Conference) Hold(ep *Endpoint, on bool) error {
	c.tickMu.Lock()
	defer c.tickMu.Unlock()
	m := c.member(ep)
	if m == nil {
		return ErrNotMember
	}
	m.held.Store(on)
	if on {
		m.mu.Lock()
		m.n = 0
		m.mu.Unlock()
		return nil
	}
	ep.joinMix()
	return nil
}

// TapHeard sets f to receive, every tick, what the member hears (the mix of
// every other member not on hold), encoded in the member's codec; nil
// removes it. A recording taps the caller's leg (Endpoint.Tap) for one
// channel and TapHeard for the other. f runs on the conference's goroutine,
// must copy what it keeps, return at once and not call the conference. It
// is not called while the member is held, nor after the member is removed.
func (c *Conference) TapHeard(ep *Endpoint, f func(c Codec, payload []byte)) error {
	c.tickMu.Lock()
	defer c.tickMu.Unlock()
	m := c.member(ep)
	if m == nil {
		return ErrNotMember
	}
	if f == nil {
		m.heard.Store(nil)
	} else {
		m.heard.Store(&f)
	}
	return nil
}

// Len is the number of members, held ones included.
func (c *Conference) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.members)
}

// Stop ends the mixing and removes every member (each left idle, as by
// Remove). Add fails afterwards.
func (c *Conference) Stop() {
	c.once.Do(func() {
		close(c.stop)
		if c.running {
			<-c.done
		}
		c.tickMu.Lock()
		defer c.tickMu.Unlock()
		c.mu.Lock()
		c.stopped = true
		ms := c.members
		c.members = nil
		c.mu.Unlock()
		for _, m := range ms {
			m.release()
		}
	})
}

func (c *Conference) run() {
	defer close(c.done)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.tick()
		}
	}
}

// tick sends every member not on hold one frame: the sum of all of them
// less its own. Members whose leg was closed leave. It allocates nothing.
func (c *Conference) tick() {
	c.tickMu.Lock()
	defer c.tickMu.Unlock()
	w := &c.w
	w.n = 0
	c.mu.Lock()
	for i := 0; i < len(c.members); {
		m := c.members[i]
		select {
		case <-m.ep.closed:
			c.detachLocked(m.ep)
			m.release()
			continue
		default:
		}
		if !m.held.Load() {
			w.m[w.n] = m
			w.n++
		}
		i++
	}
	c.mu.Unlock()

	clear(w.sum[:])
	for k := 0; k < w.n; k++ {
		f := &w.frame[k]
		w.m[k].take(f)
		for i, s := range f {
			w.sum[i] += int32(s)
		}
	}
	for k := 0; k < w.n; k++ {
		f := &w.frame[k]
		for i, s := range w.sum {
			w.out[i] = int16(max(min(s-int32(f[i]), 32767), -32768))
		}
		heard := w.m[k].heard.Load()
		if codec := w.m[k].ep.encodeSend(&w.pkt, w.out[:], heard != nil); heard != nil && codec != CodecNone {
			(*heard)(codec, w.pkt[12:])
		}
	}
	clear(w.m[:w.n]) // keep no removed member alive
}

func (c *Conference) member(ep *Endpoint) *member {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := c.findLocked(ep); i >= 0 {
		return c.members[i]
	}
	return nil
}

func (c *Conference) findLocked(ep *Endpoint) int {
	for i, m := range c.members {
		if m.ep == ep {
			return i
		}
	}
	return -1
}

// detachLocked takes ep's member out of the list and returns it (nil if
// ep is not a member); the caller releases it.
func (c *Conference) detachLocked(ep *Endpoint) *member {
	i := c.findLocked(ep)
	if i < 0 {
		return nil
	}
	m := c.members[i]
	c.members = slices.Delete(c.members, i, i+1) // zeroes the freed slot
	return m
}

// release gives the leg back: no more taps into the mix, and idle.
func (m *member) release() {
	m.ep.monTap.CompareAndSwap(m.tap, nil)
	m.mu.Lock()
	m.gone = true
	m.n = 0
	m.mu.Unlock()
	m.heard.Store(nil)
	m.ep.setMixed(false)
}

// add decodes audio the member sent (the leg's mixer tap, on its reader
// goroutine), dropping the oldest beyond maxConfBacklog.
func (m *member) add(c Codec, payload []byte) {
	if m.held.Load() {
		return
	}
	if len(payload) > len(m.in) {
		payload = payload[len(payload)-len(m.in):]
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone {
		return
	}
	if over := m.n + len(payload) - len(m.in); over > 0 {
		m.n = copy(m.in[:], m.in[over:m.n])
	}
	Decode(c, m.in[m.n:], payload)
	m.n += len(payload)
}

// take moves the member's next frame into dst, silence where it sent none.
func (m *member) take(dst *[FrameSamples]int16) {
	m.mu.Lock()
	k := copy(dst[:], m.in[:m.n])
	m.n = copy(m.in[:], m.in[k:m.n])
	m.mu.Unlock()
	clear(dst[k:])
}

// joinMix stops whatever the leg plays and has it send a mixer's frames.
func (ep *Endpoint) joinMix() {
	ep.mu.Lock()
	ep.finishLocked()
	ep.loop = nil
	ep.enterLocked(modeMix)
	ep.mu.Unlock()
	ep.e.stopPlaying(ep)
}
