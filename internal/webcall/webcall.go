// Package webcall is the web caller's gateway: a visitor's browser (the
// "call us" page, WebRTC) calls a number of the setup like any caller.
// Each browser call becomes a real SIP call: the gateway, a SIP user
// agent on loopback, sends an INVITE to the node's own SIP listener with
// an RTP socket of its own as the media, and relays that socket to and
// from the peer connection. So the call meets the SIP edge, the IVR, the
// queues and the call record exactly as a call from a trunk does.
package webcall

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"

	"github.com/switchboard/switchboard/internal/media"
	sbsip "github.com/switchboard/switchboard/internal/sip"
)

// Errors of Start.
var (
	ErrFull     = errors.New("webcall: the web caller is at its limit of calls")
	ErrNoCall   = errors.New("webcall: no such call")
	ErrRefused  = errors.New("webcall: the call was refused")
	ErrBadDigit = errors.New("webcall: digits are 0-9, *, # and A-D")
	ErrBadOffer = errors.New("webcall: the browser's offer")
	// ErrNotConnected: keys were sent before the call was answered.
	ErrNotConnected = errors.New("webcall: the call is not connected")
)

// Config is the gateway's: the node's SIP address it calls, and how many
// web calls it carries at most.
type Config struct {
	// Server is the node's SIP listener (UDP).
	Server netip.AddrPort
	// MaxCalls bounds the web calls up at once.
	MaxCalls int
	Log      *slog.Logger
}

// Gateway carries the web calls.
type Gateway struct {
	cfg    Config
	api    *pion.API
	conn   net.PacketConn
	addr   netip.AddrPort
	ua     *sipgo.UserAgent
	dialog *sipgo.DialogUA
	log    *slog.Logger

	mu     sync.Mutex
	calls  map[string]*Call
	closed bool
	wg     sync.WaitGroup // the calls' dial goroutines
}

// Call is one browser's call.
type Call struct {
	ID    string
	pc    *pion.PeerConnection
	out   *pion.TrackLocalStaticRTP
	shim  *net.UDPConn
	dlg   atomic[*sipgo.DialogClientSession]
	done  chan struct{}
	close sync.Once

	mu     sync.Mutex
	target netip.AddrPort
	state  string // calling, connected, ended
	reason string
}

// atomic is a value read and set under a mutex (sipgo's session pointer).
type atomic[T any] struct {
	mu sync.Mutex
	v  T
}

func (a *atomic[T]) load() T   { a.mu.Lock(); defer a.mu.Unlock(); return a.v }
func (a *atomic[T]) store(v T) { a.mu.Lock(); a.v = v; a.mu.Unlock() }

// New starts the gateway's SIP user agent on a loopback UDP socket of its
// own: Addr is where its INVITEs come from (the node trusts it).
func New(cfg Config) (*Gateway, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxCalls <= 0 {
		cfg.MaxCalls = 20
	}
	m := &pion.MediaEngine{}
	if err := m.RegisterCodec(pion.RTPCodecParameters{
		RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypePCMU, ClockRate: 8000, Channels: 1},
		PayloadType:        0,
	}, pion.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("webcall: codec: %w", err)
	}
	se := pion.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("webcall: listen: %w", err)
	}
	addr := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("switchboard-webcall"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("webcall: user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		conn.Close()
		ua.Close()
		return nil, fmt.Errorf("webcall: sip server: %w", err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(int(addr.Port())),
		sipgo.WithClientConnectionAddr(addr.String()), sipgo.WithClientLogger(quiet))
	if err != nil {
		conn.Close()
		ua.Close()
		return nil, fmt.Errorf("webcall: sip client: %w", err)
	}
	g := &Gateway{cfg: cfg, api: pion.NewAPI(pion.WithMediaEngine(m), pion.WithSettingEngine(se)), conn: conn, addr: addr, ua: ua,
		log: cfg.Log.With("component", "webcall"), calls: map[string]*Call{},
		dialog: &sipgo.DialogUA{Client: client, ContactHDR: gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "web", Host: "127.0.0.1", Port: int(addr.Port())}}}}
	srv.OnBye(func(req *gosip.Request, tx gosip.ServerTransaction) {
		c := g.byCallID(req.CallID().Value())
		if c == nil {
			_ = tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
			return
		}
		if d := c.dlg.load(); d != nil {
			_ = d.ReadBye(req, tx)
		}
		g.end(c, "hung up by the other side")
	})
	ok := func(req *gosip.Request, tx gosip.ServerTransaction) {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
	}
	srv.OnOptions(ok)
	srv.OnNotify(ok)
	srv.OnInfo(ok)
	go func() { _ = srv.ServeUDP(conn) }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sbsip.WaitListening(ctx, ua, addr.String()); err != nil {
		conn.Close()
		ua.Close()
		return nil, fmt.Errorf("webcall: %w", err)
	}
	return g, nil
}

// Addr is the gateway's SIP address: where its calls come from.
func (g *Gateway) Addr() netip.AddrPort { return g.addr }

// Close hangs up every web call and stops the user agent.
func (g *Gateway) Close() {
	g.mu.Lock()
	g.closed = true
	calls := make([]*Call, 0, len(g.calls))
	for _, c := range g.calls {
		calls = append(calls, c)
	}
	g.mu.Unlock()
	for _, c := range calls {
		g.Hangup(c.ID)
	}
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select { // their BYEs and CANCELs sent
	case <-done:
	case <-time.After(6 * time.Second):
	}
	g.conn.Close()
	g.ua.Close()
}

func (g *Gateway) byCallID(callID string) *Call {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.calls {
		if d := c.dlg.load(); d != nil && d.InviteRequest.CallID().Value() == callID {
			return c
		}
	}
	return nil
}

// Start answers a browser's SDP offer and calls number for it, from
// source (the visitor's address, shown as the caller's name), with at
// most maxCalls web calls up (0: the gateway's MaxCalls). It returns once
// the answer is ready; the SIP call is made only once the browser's media
// has connected (an offer whose media never comes makes no call), and
// then goes on without the request (State tells how it does).
func (g *Gateway) Start(ctx context.Context, number, source, offer string, maxCalls int) (id, answer string, err error) {
	if maxCalls <= 0 {
		maxCalls = g.cfg.MaxCalls
	}
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("webcall: id: %w", err)
	}
	c := &Call{ID: "w" + hex.EncodeToString(b), done: make(chan struct{}), state: "calling"}
	// Everything the call holds exists before it is registered, so that
	// ending it (a Close at the same time) closes all of it.
	if c.pc, err = g.api.NewPeerConnection(pion.Configuration{}); err != nil {
		return "", "", fmt.Errorf("webcall: peer connection: %w", err)
	}
	if c.shim, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0))); err != nil {
		_ = c.pc.Close()
		return "", "", fmt.Errorf("webcall: rtp socket: %w", err)
	}
	g.mu.Lock()
	if g.closed || g.active() >= maxCalls {
		g.mu.Unlock()
		_ = c.pc.Close()
		_ = c.shim.Close()
		return "", "", ErrFull
	}
	g.calls[c.ID] = c
	g.mu.Unlock()
	fail := func(err error) (string, string, error) {
		g.end(c, err.Error())
		return "", "", err
	}
	if c.out, err = pion.NewTrackLocalStaticRTP(pion.RTPCodecCapability{MimeType: pion.MimeTypePCMU, ClockRate: 8000, Channels: 1}, "audio", "switchboard"); err != nil {
		return fail(fmt.Errorf("webcall: track: %w", err))
	}
	if _, err := c.pc.AddTrack(c.out); err != nil {
		return fail(fmt.Errorf("webcall: track: %w", err))
	}
	media := make(chan struct{})
	var connected sync.Once
	c.pc.OnTrack(func(tr *pion.TrackRemote, _ *pion.RTPReceiver) { go c.fromBrowser(tr) })
	c.pc.OnConnectionStateChange(func(s pion.PeerConnectionState) {
		switch s {
		case pion.PeerConnectionStateConnected:
			connected.Do(func() { close(media) })
		case pion.PeerConnectionStateFailed, pion.PeerConnectionStateClosed:
			g.Hangup(c.ID)
		}
	})
	if err := c.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(fmt.Errorf("%w: %v", ErrBadOffer, err))
	}
	sdp, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return fail(fmt.Errorf("%w: %v", ErrBadOffer, err))
	}
	gathered := pion.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(sdp); err != nil {
		return fail(fmt.Errorf("webcall: answer: %w", err))
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return fail(fmt.Errorf("webcall: gathering candidates: %w", ctx.Err()))
	}
	go c.toBrowser()
	g.mu.Lock()
	if g.closed { // the gateway is closing: no call out now
		g.mu.Unlock()
		return fail(ErrFull)
	}
	g.wg.Add(1) // under g.mu, as Close sets closed before it waits
	g.mu.Unlock()
	go func() {
		defer g.wg.Done()
		g.dial(c, number, source, media)
	}()
	g.log.Info("web call", "call", c.ID, "number", number, "source", source)
	return c.ID, c.pc.LocalDescription().SDP, nil
}

// mediaWait bounds how long a web call waits for the browser's media to
// connect before it is given up (and no SIP call made).
const mediaWait = 15 * time.Second

// dial waits for the browser's media, sends the call's INVITE and follows
// the call until either side ends it; it sends the BYE when the visitor
// (or the gateway's Close) ended an answered call.
func (g *Gateway) dial(c *Call, number, source string, media <-chan struct{}) {
	select {
	case <-media:
	case <-c.done:
		return
	case <-time.After(mediaWait):
		g.end(c, "the browser's media did not connect")
		return
	}
	select {
	case <-c.done: // ended as its media came: no call out
		return
	default:
	}
	local := c.shim.LocalAddr().(*net.UDPAddr).AddrPort()
	body := sdpOffer(local)
	from := &gosip.FromHeader{DisplayName: "Web caller " + source, Address: gosip.Uri{Scheme: "sip", User: "web", Host: "127.0.0.1", Port: int(g.addr.Port())},
		Params: gosip.NewParams()}
	from.Params.Add("tag", gosip.GenerateTagN(12))
	to := gosip.Uri{Scheme: "sip", User: number, Host: g.cfg.Server.Addr().String(), Port: int(g.cfg.Server.Port())}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go func() {
		select {
		case <-c.done: // the visitor hung up while it rang: the INVITE is cancelled
			cancel()
		case <-ctx.Done():
		}
	}()
	dlg, err := g.dialog.Invite(ctx, to, body, from, gosip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		g.end(c, "the call could not be made: "+err.Error())
		return
	}
	defer dlg.Close()
	c.dlg.store(dlg)
	bye := func() {
		bctx, bcancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = dlg.Bye(bctx)
		bcancel()
	}
	if err := dlg.WaitAnswer(ctx, sipgo.AnswerOptions{}); err != nil {
		var refused *sipgo.ErrDialogResponse
		switch {
		case dlg.InviteResponse != nil && dlg.InviteResponse.IsSuccess():
			// Answered as the visitor hung up (the 200 crossed the
			// CANCEL, or came before any 1xx): acknowledged and hung up.
			_ = dlg.Ack(context.Background())
			bye()
			g.end(c, "hung up by the visitor")
		case errors.As(err, &refused):
			g.end(c, fmt.Sprintf("%d %s", refused.Res.StatusCode, refused.Res.Reason))
		default:
			g.end(c, "no answer: "+err.Error())
		}
		return
	}
	if err := dlg.Ack(context.Background()); err != nil {
		g.end(c, "ACK: "+err.Error())
		bye()
		return
	}
	sess, err := mediaSession(dlg.InviteResponse.Body())
	if err != nil {
		g.end(c, "the answer's SDP: "+err.Error())
		bye()
		return
	}
	c.mu.Lock()
	ended := c.state == "ended"
	if !ended {
		c.target, c.state = sess, "connected"
	}
	c.mu.Unlock()
	if ended { // hung up as it was answered
		bye()
		return
	}
	select {
	case <-dlg.Context().Done():
		g.end(c, "hung up by the other side")
	case <-c.done:
		bye()
	}
}

// DTMF sends digits to the call as SIP INFO (application/dtmf-relay), one
// at a time.
func (g *Gateway) DTMF(ctx context.Context, id, digits string) error {
	c := g.call(id)
	if c == nil {
		return ErrNoCall
	}
	d := c.dlg.load()
	if d == nil || c.State() != "connected" {
		return ErrNotConnected
	}
	for _, r := range digits {
		if !strings.ContainsRune("0123456789*#ABCD", r) {
			return ErrBadDigit
		}
	}
	for _, r := range digits {
		req := gosip.NewRequest(gosip.INFO, d.InviteRequest.Recipient)
		req.AppendHeader(gosip.NewHeader("Content-Type", "application/dtmf-relay"))
		req.SetBody([]byte(fmt.Sprintf("Signal=%c\r\nDuration=160\r\n", r)))
		res, err := d.Do(ctx, req)
		if err != nil {
			return fmt.Errorf("webcall: INFO: %w", err)
		}
		if res.StatusCode >= 300 {
			return fmt.Errorf("webcall: INFO: %d %s", res.StatusCode, res.Reason)
		}
	}
	return nil
}

// State is the call's state (calling, connected, ended) and, once it
// ended, why.
func (g *Gateway) State(id string) (state, reason string, ok bool) {
	c := g.call(id)
	if c == nil {
		return "", "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state, c.reason, true
}

// State is the call's state.
func (c *Call) State() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Hangup ends the call: its INVITE cancelled or a BYE sent (by dial),
// and the peer connection closed.
func (g *Gateway) Hangup(id string) {
	if c := g.call(id); c != nil {
		g.end(c, "hung up by the visitor")
	}
}

// call is the call id, ended or not (an ended one is kept a minute, so
// the page can read why).
func (g *Gateway) call(id string) *Call {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[id]
}

// end marks c ended (once), closes its media and forgets it a minute later.
func (g *Gateway) end(c *Call, reason string) {
	c.close.Do(func() {
		c.mu.Lock()
		c.state, c.reason = "ended", reason
		c.mu.Unlock()
		close(c.done)
		if c.pc != nil {
			_ = c.pc.Close()
		}
		if c.shim != nil {
			_ = c.shim.Close()
		}
		g.log.Info("web call ended", "call", c.ID, "reason", reason)
		time.AfterFunc(time.Minute, func() {
			g.mu.Lock()
			delete(g.calls, c.ID)
			g.mu.Unlock()
		})
	})
}

// active is how many web calls are not ended (g.mu held).
func (g *Gateway) active() int {
	n := 0
	for _, c := range g.calls {
		if c.State() != "ended" {
			n++
		}
	}
	return n
}

// toBrowser relays what the call's endpoint sends to the shim to the
// browser; packets from anywhere else are dropped.
func (c *Call) toBrowser() {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, from, err := c.shim.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		c.mu.Lock()
		target := c.target
		c.mu.Unlock()
		if !target.IsValid() || from.Port() != target.Port() || pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		_ = c.out.WriteRTP(&pkt)
	}
}

// fromBrowser relays the browser's audio to the call's endpoint.
func (c *Call) fromBrowser(tr *pion.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		_ = tr.SetReadDeadline(time.Now().Add(time.Minute))
		n, _, err := tr.Read(buf)
		if err != nil {
			select {
			case <-c.done:
				return
			default:
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return
		}
		c.mu.Lock()
		target := c.target
		c.mu.Unlock()
		if target.IsValid() {
			_, _ = c.shim.WriteToUDPAddrPort(buf[:n], target)
		}
	}
}

// sdpOffer is the INVITE's offer: PCMU and telephone-event at local.
func sdpOffer(local netip.AddrPort) []byte {
	return media.BuildSDP(media.Offer{Local: local, SessionID: uint64(time.Now().UnixNano()) >> 1, Version: 1,
		Codecs: []media.Codec{media.PCMU}, TelephoneEvent: media.DefaultTelephoneEvent, Direction: "sendrecv"})
}

// mediaSession is where the answer's SDP says to send RTP.
func mediaSession(body []byte) (netip.AddrPort, error) {
	s, err := media.ParseSDP(body)
	return s.Remote, err
}
