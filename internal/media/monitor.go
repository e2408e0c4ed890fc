package media

import (
	"sync"
	"time"
)

// wireBufs hold mixed frames while they are sealed and sent.
var wireBufs = sync.Pool{New: func() any { return new([12 + FrameSamples + srtpTagLen]byte) }}

// MonitorMode is how a supervisor joins a call.
type MonitorMode int

// Monitor modes.
const (
	Listen  MonitorMode = iota // the supervisor hears both; nobody hears the supervisor
	Whisper                    // the agent also hears the supervisor; the caller does not
	Barge                      // everyone hears everyone
)

func (m MonitorMode) String() string {
	return [...]string{"listen", "whisper", "barge"}[m]
}

// Monitor mixes a bridged call for a supervisor's leg. It decodes only
// these legs' audio (taps), mixes every 20 ms, and sends each listener the
// sum of what they should hear; the caller–agent relay is left as it is
// wherever nobody else must be heard (so listening costs the call nothing).
type Monitor struct {
	caller, agent, sup *Endpoint

	mu   sync.Mutex
	mode MonitorMode
	in   [3][]int16 // decoded audio waiting to be mixed: caller, agent, supervisor
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// maxMixBacklog bounds each participant's waiting audio (200 ms).
const maxMixBacklog = 10 * FrameSamples

// NewMonitor starts mixing caller and agent (bridged) for sup in mode.
func NewMonitor(caller, agent, sup *Endpoint, mode MonitorMode) *Monitor {
	m := &Monitor{caller: caller, agent: agent, sup: sup, stop: make(chan struct{}), done: make(chan struct{})}
	for i, ep := range []*Endpoint{caller, agent, sup} {
		ep.monTap.Store(&tapFn{f: func(c Codec, p []byte) { m.add(i, c, p) }})
	}
	sup.setMixed(true)
	m.SetMode(mode)
	go m.run()
	return m
}

type tapFn struct{ f func(Codec, []byte) }

func (m *Monitor) add(i int, c Codec, payload []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.in[i])
	m.in[i] = append(m.in[i], make([]int16, len(payload))...)
	Decode(c, m.in[i][n:], payload)
	if over := len(m.in[i]) - maxMixBacklog; over > 0 {
		m.in[i] = append(m.in[i][:0], m.in[i][over:]...)
	}
}

// SetMode switches between listen, whisper and barge.
func (m *Monitor) SetMode(mode MonitorMode) {
	m.mu.Lock()
	m.mode = mode
	m.mu.Unlock()
	m.agent.setMixed(mode != Listen) // the agent hears the mix once the supervisor speaks to them
	m.caller.setMixed(mode == Barge) // the caller only when barging
}

// Mode is the current mode.
func (m *Monitor) Mode() MonitorMode {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mode
}

func (m *Monitor) run() {
	defer close(m.done)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	var w monitorWork
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		m.tick(&w)
	}
}

// monitorWork is a monitor's buffers for one tick.
type monitorWork struct {
	frame [3][FrameSamples]int16
	out   [FrameSamples]int16
	pkt   [12 + FrameSamples]byte
}

// tick mixes and sends one 20 ms frame to each party that hears the mix.
func (m *Monitor) tick(w *monitorWork) {
	m.mu.Lock()
	mode := m.mode
	for i := range m.in {
		k := copy(w.frame[i][:], m.in[i])
		clear(w.frame[i][k:])
		m.in[i] = m.in[i][:copy(m.in[i], m.in[i][k:])]
	}
	m.mu.Unlock()
	out := w.out[:]
	mix(out, w.frame[0][:], w.frame[1][:]) // the supervisor hears caller and agent
	m.sup.sendPCM(out, &w.pkt)
	if mode != Listen {
		mix(out, w.frame[0][:], w.frame[2][:]) // the agent: caller and supervisor
		m.agent.sendPCM(out, &w.pkt)
	}
	if mode == Barge {
		mix(out, w.frame[1][:], w.frame[2][:]) // the caller: agent and supervisor
		m.caller.sendPCM(out, &w.pkt)
	}
}

// mix sums two frames into out, clipping.
func mix(out, a, b []int16) {
	for i := range out {
		s := int32(a[i]) + int32(b[i])
		out[i] = int16(max(min(s, 32767), -32768))
	}
}

// Stop ends the monitor and gives the call back its plain relay.
func (m *Monitor) Stop() {
	m.once.Do(func() {
		close(m.stop)
		<-m.done
		for _, ep := range []*Endpoint{m.caller, m.agent, m.sup} {
			ep.monTap.Store(nil)
		}
		m.caller.setMixed(false)
		m.agent.setMixed(false)
	})
}

// setMixed switches the leg between relaying its peer's packets and
// sending frames a mixer gives it.
func (ep *Endpoint) setMixed(on bool) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	switch {
	case on && ep.mode == modeRelay, on && ep.mode == modeIdle:
		ep.enterLocked(modeMix)
	case !on && ep.mode == modeMix:
		if ep.peer.Load() != nil {
			ep.enterLocked(modeRelay)
		} else {
			ep.enterLocked(modeIdle)
		}
	}
}

// sendPCM sends one 20 ms frame in the leg's stream, if it is in mixed
// mode, building the packet in buf.
func (ep *Endpoint) sendPCM(pcm []int16, buf *[12 + FrameSamples]byte) {
	ep.encodeSend(buf, pcm, false)
}

// encodeSend encodes one frame in the leg's codec into buf[12:] and sends
// buf if the leg is in mixed mode. With always it encodes even a frame it
// cannot send (in PCMU before a codec is negotiated), for a tap of what the
// leg hears. It returns the codec buf[12:] holds, CodecNone if nothing.
func (ep *Endpoint) encodeSend(buf *[12 + FrameSamples]byte, pcm []int16, always bool) Codec {
	ep.mu.Lock()
	codec := ep.sess.Codec
	send := ep.mode == modeMix && ep.sess.Remote.IsValid() && codec != CodecNone
	if !send && !always {
		ep.mu.Unlock()
		return CodecNone
	}
	if codec == CodecNone {
		codec = PCMU
	}
	if send {
		ep.seq++
		ep.advanceLocked(time.Now())
		writeHeader(buf[:], ep.sess.PT, ep.marker, ep.seq, ep.ts, ep.ssrc)
		ep.marker = false
	}
	Encode(codec, buf[12:], pcm)
	remote := ep.sess.Remote
	ep.mu.Unlock()
	switch {
	case send && ep.seal.Load() != nil:
		// Sealing works in place and buf[12:] must stay what the leg
		// hears (a conference's tap reads it), so the packet is copied.
		wire := wireBufs.Get().(*[12 + FrameSamples + srtpTagLen]byte)
		n := copy(wire[:], buf[:])
		ep.send(wire[:n], remote)
		wireBufs.Put(wire)
	case send:
		ep.send(buf[:], remote)
	}
	return codec
}
