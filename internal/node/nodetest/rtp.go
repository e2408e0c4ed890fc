package nodetest

import (
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/switchboard/switchboard/internal/media"
)

// RTP is one side's audio: a UDP socket, a sender of 20 ms PCMU packets (a
// tone or silence, and RFC 4733 digits on request) and a receiver that
// counts packets and keeps the last second of decoded audio.
type RTP struct {
	conn *net.UDPConn
	ssrc uint32

	mu     sync.Mutex
	remote netip.AddrPort // zero until the SDP answer names it
	toneHz float64
	digits []byte
	inband []byte  // keys to play as tones in the audio (SendInbandDTMF)
	speech []int16 // audio to send before the tone (Play)
	heard  []int16 // ring of the last second, next write at heardAt
	at     int

	sent, received atomic.Uint64
	stop           chan struct{}
	stopOnce       sync.Once
	wg             sync.WaitGroup
}

const (
	sampleRate   = 8000
	frameSamples = 160 // 20 ms
	teventPT     = media.DefaultTelephoneEvent
)

func newRTP() (*RTP, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	r := &RTP{conn: c, ssrc: rand.Uint32(), heard: make([]int16, sampleRate), stop: make(chan struct{})}
	r.wg.Add(2)
	go r.send()
	go r.receive()
	return r, nil
}

// Local is the address the socket is bound to (what the SDP offers).
func (r *RTP) Local() netip.AddrPort { return r.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// SetRemote starts sending to addr.
func (r *RTP) SetRemote(addr netip.AddrPort) {
	r.mu.Lock()
	r.remote = addr
	r.mu.Unlock()
}

// SetTone makes the sender play a sine at hz (0: silence).
func (r *RTP) SetTone(hz float64) {
	r.mu.Lock()
	r.toneHz = hz
	r.mu.Unlock()
}

// SendDTMF queues digits to be sent as RFC 4733 events, one after another.
func (r *RTP) SendDTMF(digits string) {
	r.mu.Lock()
	r.digits = append(r.digits, digits...)
	r.mu.Unlock()
}

// SendInbandDTMF queues digits to be played as DTMF tones in the audio
// (100 ms of each key's pair, 60 ms of silence), as a gateway that sends
// no RFC 4733 events does.
func (r *RTP) SendInbandDTMF(digits string) {
	r.mu.Lock()
	r.inband = append(r.inband, digits...)
	r.mu.Unlock()
}

// Play queues 8 kHz samples (speech) to send, before the tone goes on.
func (r *RTP) Play(pcm []int16) {
	r.mu.Lock()
	r.speech = append(r.speech, pcm...)
	r.mu.Unlock()
}

// Sent and Received count RTP packets.
func (r *RTP) Sent() uint64     { return r.sent.Load() }
func (r *RTP) Received() uint64 { return r.received.Load() }

// ToneLevel is the share (0 to 1) of the last second's received energy at
// hz: near 1 for that pure tone, near 0 for silence or another tone.
func (r *RTP) ToneLevel(hz float64) float64 {
	r.mu.Lock()
	s := make([]int16, len(r.heard))
	copy(s, r.heard[r.at:])
	copy(s[len(r.heard)-r.at:], r.heard[:r.at])
	r.mu.Unlock()
	return Goertzel(s, hz, sampleRate)
}

// Goertzel returns the share of the energy of samples (at rate Hz) that
// lies at hz: |X(hz)|² / (N/2 · Σx²), 1 for a pure tone at hz.
func Goertzel(samples []int16, hz, rate float64) float64 {
	n := len(samples)
	if n == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*hz/rate)
	var s1, s2, energy float64
	for _, v := range samples {
		x := float64(v)
		energy += x * x
		s0 := x + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	if energy == 0 {
		return 0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return power / (float64(n) / 2 * energy)
}

func (r *RTP) close() {
	r.stopOnce.Do(func() {
		close(r.stop)
		r.conn.Close()
	})
	r.wg.Wait()
}

// send writes one packet every 20 ms to the remote, once it is known.
func (r *RTP) send() {
	defer r.wg.Done()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	var (
		seq      = uint16(rand.Uint32())
		ts       = rand.Uint32()
		phase    float64
		pcm      = make([]int16, frameSamples)
		payload  = make([]byte, frameSamples)
		buf      = make([]byte, 12+frameSamples)
		digit    byte
		digitAt  int // packets of the current digit sent
		digitTS  uint32
		newDigit = true
		key      byte // the in-band key playing, and its packets sent
		keyAt    int
		keyT     float64
	)
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		r.mu.Lock()
		remote, hz := r.remote, r.toneHz
		if digit == 0 && len(r.digits) > 0 {
			digit, r.digits = r.digits[0], r.digits[1:]
			digitAt, digitTS, newDigit = 0, ts, true
		}
		if key == 0 && len(r.inband) > 0 {
			key, r.inband, keyAt, keyT = r.inband[0], r.inband[1:], 0, 0
		}
		var said []int16
		if digit == 0 && key == 0 && len(r.speech) > 0 {
			n := min(frameSamples, len(r.speech))
			said = append(said, r.speech[:n]...)
			r.speech = r.speech[n:]
		}
		r.mu.Unlock()
		ts += frameSamples
		seq++
		if !remote.IsValid() {
			continue
		}
		h := rtp.Header{Version: 2, SequenceNumber: seq, SSRC: r.ssrc}
		var body []byte
		if digit != 0 {
			// 100 ms of event, then the end packet three times; a
			// 60 ms gap (silence) follows before the next digit.
			const tone, ends, gap = 5, 3, 3
			switch {
			case digitAt < tone+ends:
				h.PayloadType, h.Timestamp, h.Marker = teventPT, digitTS, newDigit
				newDigit = false
				dur := uint16(min(digitAt+1, tone) * frameSamples)
				flags := byte(10) // volume -10 dBm0
				if digitAt >= tone {
					flags |= 0x80
				}
				body = []byte{eventCode(digit), flags, byte(dur >> 8), byte(dur)}
			default:
				h.PayloadType, h.Timestamp = 0, ts
				body = silence(payload)
			}
			digitAt++
			if digitAt >= tone+ends+gap {
				digit = 0
			}
		} else if key != 0 {
			// 100 ms of the key's two tones, then 60 ms of silence
			h.PayloadType, h.Timestamp = 0, ts
			lo, hi := keyTones(key)
			for i := range pcm {
				pcm[i] = 0
				if keyAt < 5 {
					pcm[i] = int16(3000*math.Sin(2*math.Pi*lo*keyT) + 3000*math.Sin(2*math.Pi*hi*keyT))
					keyT += 1.0 / sampleRate
				}
			}
			media.Encode(media.PCMU, payload, pcm)
			body = payload
			if keyAt++; keyAt >= 8 {
				key = 0
			}
		} else if said != nil {
			h.PayloadType, h.Timestamp = 0, ts
			for i := range pcm {
				pcm[i] = 0
				if i < len(said) {
					pcm[i] = said[i]
				}
			}
			media.Encode(media.PCMU, payload, pcm)
			body = payload
		} else {
			h.PayloadType, h.Timestamp = 0, ts
			for i := range pcm {
				pcm[i] = 0
				if hz > 0 {
					pcm[i] = int16(8000 * math.Sin(phase))
					phase += 2 * math.Pi * hz / sampleRate
				}
			}
			phase = math.Mod(phase, 2*math.Pi)
			media.Encode(media.PCMU, payload, pcm)
			body = payload
		}
		n, err := h.MarshalTo(buf)
		if err != nil {
			continue
		}
		n += copy(buf[n:], body)
		if _, err := r.conn.WriteToUDPAddrPort(buf[:n], remote); err == nil {
			r.sent.Add(1)
		}
	}
}

func silence(p []byte) []byte {
	for i := range p {
		p[i] = 0xFF // μ-law zero
	}
	return p
}

// keyTones are a DTMF key's row and column frequencies.
func keyTones(d byte) (row, col float64) {
	keys := [4]string{"123A", "456B", "789C", "*0#D"}
	for r, k := range keys {
		if c := strings.IndexByte(k, d); c >= 0 {
			return [4]float64{697, 770, 852, 941}[r], [4]float64{1209, 1336, 1477, 1633}[c]
		}
	}
	return 0, 0
}

// eventCode is the RFC 4733 event for a DTMF key.
func eventCode(d byte) byte {
	switch {
	case d >= '0' && d <= '9':
		return d - '0'
	case d == '*':
		return 10
	case d == '#':
		return 11
	case d >= 'A' && d <= 'D':
		return 12 + d - 'A'
	}
	return 0
}

// receive counts packets and keeps the decoded PCMU audio.
func (r *RTP) receive() {
	defer r.wg.Done()
	buf := make([]byte, 1500)
	pcm := make([]int16, 1500)
	var h rtp.Header
	for {
		n, _, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		hl, err := h.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		r.received.Add(1)
		if h.PayloadType != 0 {
			continue
		}
		p := buf[hl:n]
		media.Decode(media.PCMU, pcm[:len(p)], p)
		r.mu.Lock()
		for _, s := range pcm[:len(p)] {
			r.heard[r.at] = s
			r.at = (r.at + 1) % len(r.heard)
		}
		r.mu.Unlock()
	}
}
