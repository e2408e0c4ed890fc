// Package webrtc is the browser softphone: each agent desktop keeps one
// WebRTC peer connection (github.com/pion/webrtc/v4, PCMU, DTLS-SRTP, ICE
// on host candidates) with Switchboard, and calls reach it like a phone.
//
// The media plane stays the one every SIP leg uses: a call's browser leg is
// an ordinary RTP endpoint whose far end is a loopback socket of the
// phone, which carries the packets to and from the peer connection. So
// bridging, transcoding, hold music and recording work unchanged.
package webrtc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	pion "github.com/pion/webrtc/v4"

	"github.com/pion/rtp"

	"github.com/switchboard/switchboard/internal/media"
)

// Errors of ringing a browser.
var (
	ErrNoPhone  = errors.New("webrtc: no softphone connected")
	ErrRejected = errors.New("webrtc: rejected on the desktop")
	ErrBusy     = errors.New("webrtc: the softphone is on another call")
)

// Phones are the connected softphones, by agent.
type Phones struct {
	log *slog.Logger
	api *pion.API
	// shimIP is where each phone's shim socket binds: loopback, or the
	// node's media address when calls of other nodes reach it (SetShimIP).
	shimIP netip.Addr
	// changed, if set, is told of a softphone connected or gone.
	changed func(user string)

	mu     sync.Mutex
	byUser map[string]*Phone
}

// NewPhones prepares the WebRTC stack: PCMU only, host candidates on loopback
// and the machine's interfaces, UDP.
func NewPhones(log *slog.Logger) (*Phones, error) {
	m := &pion.MediaEngine{}
	if err := m.RegisterCodec(pion.RTPCodecParameters{
		RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypePCMU, ClockRate: 8000, Channels: 1},
		PayloadType:        0,
	}, pion.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("webrtc: codec: %w", err)
	}
	se := pion.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	return &Phones{log: log, api: pion.NewAPI(pion.WithMediaEngine(m), pion.WithSettingEngine(se)), byUser: map[string]*Phone{},
		shimIP: netip.AddrFrom4([4]byte{127, 0, 0, 1})}, nil
}

// SetShimIP binds the phones' shims (their RTP sockets towards a call's
// endpoint) to ip: the node's own media address, so a call held by
// another node can send its audio here (RingRemote). Call it before the
// first Connect.
func (ps *Phones) SetShimIP(ip netip.Addr) { ps.shimIP = ip }

// ShimIP is where the phones' shims bind.
func (ps *Phones) ShimIP() netip.Addr { return ps.shimIP }

// OnChange makes f be told, by user, of every softphone connected,
// disconnected or dropped (its connection failed). Call it before the
// first Connect.
func (ps *Phones) OnChange(f func(user string)) { ps.changed = f }

func (ps *Phones) notify(user string) {
	if ps.changed != nil {
		ps.changed(user)
	}
}

// Phone is one agent's softphone.
type Phone struct {
	user  string
	pc    *pion.PeerConnection
	out   *pion.TrackLocalStaticRTP
	shim  *net.UDPConn
	log   *slog.Logger
	done  chan struct{}
	close sync.Once

	mu      sync.Mutex
	target  netip.AddrPort // the call leg's RTP endpoint, while a call is up
	ringing chan bool      // answer (true) or reject (false), while ringing
	onCall  bool
	caller  string
}

// Connect answers a desktop's SDP offer with a new peer connection for
// user, replacing any earlier one; it waits for ICE gathering, so the
// answer holds every candidate.
func (ps *Phones) Connect(ctx context.Context, user, offer string) (string, error) {
	pc, err := ps.api.NewPeerConnection(pion.Configuration{})
	if err != nil {
		return "", fmt.Errorf("webrtc: %w", err)
	}
	out, err := pion.NewTrackLocalStaticRTP(pion.RTPCodecCapability{MimeType: pion.MimeTypePCMU, ClockRate: 8000, Channels: 1}, "audio", "switchboard")
	if err != nil {
		pc.Close()
		return "", fmt.Errorf("webrtc: %w", err)
	}
	if _, err := pc.AddTrack(out); err != nil {
		pc.Close()
		return "", fmt.Errorf("webrtc: %w", err)
	}
	shim, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ps.shimIP, 0)))
	if err != nil {
		pc.Close()
		return "", fmt.Errorf("webrtc: %w", err)
	}
	p := &Phone{user: user, pc: pc, out: out, shim: shim, log: ps.log.With("agent", user, "component", "softphone"), done: make(chan struct{})}
	pc.OnTrack(func(tr *pion.TrackRemote, _ *pion.RTPReceiver) { go p.fromBrowser(tr) })
	pc.OnConnectionStateChange(func(s pion.PeerConnectionState) {
		p.log.Info("softphone connection", "state", s.String())
		if s == pion.PeerConnectionStateFailed || s == pion.PeerConnectionStateClosed {
			ps.drop(p)
		}
	})
	if err := pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeOffer, SDP: offer}); err != nil {
		p.shutdown()
		return "", fmt.Errorf("webrtc: offer: %w", err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		p.shutdown()
		return "", fmt.Errorf("webrtc: answer: %w", err)
	}
	gathered := pion.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		p.shutdown()
		return "", fmt.Errorf("webrtc: answer: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		p.shutdown()
		return "", ctx.Err()
	}
	go p.toBrowser()
	ps.mu.Lock()
	old := ps.byUser[user]
	ps.byUser[user] = p
	ps.mu.Unlock()
	if old != nil {
		old.shutdown()
	}
	ps.notify(user)
	return pc.LocalDescription().SDP, nil
}

// Disconnect closes a user's softphone.
func (ps *Phones) Disconnect(user string) {
	ps.mu.Lock()
	p := ps.byUser[user]
	delete(ps.byUser, user)
	ps.mu.Unlock()
	if p != nil {
		p.shutdown()
		ps.notify(user)
	}
}

func (ps *Phones) drop(p *Phone) {
	ps.mu.Lock()
	mine := ps.byUser[p.user] == p
	if mine {
		delete(ps.byUser, p.user)
	}
	ps.mu.Unlock()
	p.shutdown()
	if mine {
		ps.notify(p.user)
	}
}

// Has reports whether user's desktop has a softphone connected.
func (ps *Phones) Has(user string) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	_, ok := ps.byUser[user]
	return ok
}

// HasHere is Has: these are the phones of this node.
func (ps *Phones) HasHere(user string) bool { return ps.Has(user) }

// Status is a softphone's state for its desktop.
type Status struct {
	Connected bool   `json:"connected"`
	Ringing   bool   `json:"ringing"`
	OnCall    bool   `json:"on_call"`
	Caller    string `json:"caller,omitempty"`
}

// Status reports user's softphone.
func (ps *Phones) Status(user string) Status {
	ps.mu.Lock()
	p := ps.byUser[user]
	ps.mu.Unlock()
	if p == nil {
		return Status{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return Status{Connected: true, Ringing: p.ringing != nil, OnCall: p.onCall, Caller: p.caller}
}

// Respond answers (true) or rejects (false) the call ringing on user's desktop.
func (ps *Phones) Respond(user string, answer bool) error {
	ps.mu.Lock()
	p := ps.byUser[user]
	ps.mu.Unlock()
	if p == nil {
		return ErrNoPhone
	}
	p.mu.Lock()
	ch := p.ringing
	p.mu.Unlock()
	if ch == nil {
		return errors.New("webrtc: nothing is ringing")
	}
	select {
	case ch <- answer:
		return nil
	default:
		return errors.New("webrtc: already answered")
	}
}

// Ring offers a call to user's desktop and waits for Answer or Reject, or
// ctx's end. On answer it returns ep, the call's RTP endpoint, wired to the
// browser; done is closed when the desktop hangs up or disconnects.
func (ps *Phones) Ring(ctx context.Context, user, caller string, ep *media.Endpoint) (done <-chan struct{}, err error) {
	p, err := ps.ring(ctx, user, caller)
	if err != nil {
		return nil, err
	}
	ep.SetSession(media.Session{Remote: p.shimAddr(), Codec: media.PCMU, PT: 0})
	p.connect(ep.Local())
	return p.done, nil
}

// RingRemote is Ring for a call another node holds: target is that call's
// RTP endpoint there (PCMU). On answer the browser's audio goes to target
// from shim, the address the endpoint must send to; done is closed when
// the desktop hangs up or disconnects. The caller ends it with Hangup.
func (ps *Phones) RingRemote(ctx context.Context, user, caller string, target netip.AddrPort) (shim netip.AddrPort, done <-chan struct{}, err error) {
	if !target.IsValid() {
		return netip.AddrPort{}, nil, errors.New("webrtc: no RTP address to send to")
	}
	p, err := ps.ring(ctx, user, caller)
	if err != nil {
		return netip.AddrPort{}, nil, err
	}
	p.connect(target)
	return p.shimAddr(), p.done, nil
}

// ring offers a call to user's desktop and waits for Answer or Reject, or
// ctx's end; on answer the phone's caller is set and it is not ringing.
func (ps *Phones) ring(ctx context.Context, user, caller string) (_ *Phone, err error) {
	ps.mu.Lock()
	p := ps.byUser[user]
	ps.mu.Unlock()
	if p == nil {
		return nil, ErrNoPhone
	}
	ch := make(chan bool, 1)
	p.mu.Lock()
	if p.ringing != nil || p.onCall {
		p.mu.Unlock()
		return nil, ErrBusy
	}
	p.ringing, p.caller = ch, caller
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.ringing = nil
		if err != nil {
			p.caller = ""
		}
		p.mu.Unlock()
	}()
	select {
	case ok := <-ch:
		if !ok {
			return nil, ErrRejected
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.done:
		return nil, ErrNoPhone
	}
	return p, nil
}

func (p *Phone) shimAddr() netip.AddrPort { return p.shim.LocalAddr().(*net.UDPAddr).AddrPort() }

// connect sends the browser's audio to target from now on: the phone is
// on a call.
func (p *Phone) connect(target netip.AddrPort) {
	p.mu.Lock()
	p.target, p.onCall = target, true
	p.mu.Unlock()
}

// Hangup ends the call on user's softphone (the connection stays).
func (ps *Phones) Hangup(user string) {
	ps.mu.Lock()
	p := ps.byUser[user]
	ps.mu.Unlock()
	if p == nil {
		return
	}
	p.mu.Lock()
	p.target, p.onCall, p.caller = netip.AddrPort{}, false, ""
	p.mu.Unlock()
}

// toBrowser sends what the call's endpoint sends to the shim on to the
// browser; packets from anywhere else are dropped.
func (p *Phone) toBrowser() {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, from, err := p.shim.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		if !fromEndpoint(from, target) || pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		if err := p.out.WriteRTP(&pkt); err != nil && !errors.Is(err, net.ErrClosed) {
			p.log.Debug("softphone: write", "err", err)
		}
	}
}

// fromEndpoint reports whether a packet from from comes from the call's
// endpoint at target: its port, and its address unless the endpoint is
// bound to all of the machine's (then any of them).
func fromEndpoint(from, target netip.AddrPort) bool {
	if !target.IsValid() || from.Port() != target.Port() {
		return false
	}
	a, t := from.Addr().Unmap(), target.Addr().Unmap()
	return a == t || t.IsUnspecified() || (a.IsLoopback() && t.IsLoopback())
}

// fromBrowser sends the browser's audio to the call's endpoint, from the
// shim's address (the endpoint's far end).
func (p *Phone) fromBrowser(tr *pion.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		_ = tr.SetReadDeadline(time.Now().Add(time.Minute))
		n, _, err := tr.Read(buf)
		if err != nil {
			select {
			case <-p.done:
				return
			default:
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		if target.IsValid() {
			_, _ = p.shim.WriteToUDPAddrPort(buf[:n], target)
		}
	}
}

func (p *Phone) shutdown() {
	p.close.Do(func() {
		close(p.done)
		_ = p.pc.Close()
		_ = p.shim.Close()
	})
}
