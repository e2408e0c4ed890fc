package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/media"
)

// Leg is one SIP dialog of a call with its media endpoint: the caller's
// inbound leg or an outbound leg to an agent's phone.
type Leg struct {
	s       *Server
	ID      string // SIP Call-ID
	Inbound bool
	// Who and what (inbound legs).
	Caller, CallerName, Dialed, Source string
	// AuthUser is the digest-authenticated user of an inbound leg from a phone.
	AuthUser string

	ep  *media.Endpoint
	srv *sipgo.DialogServerSession
	// cli is set once an outbound INVITE went out, while the leg is already
	// findable by its Call-ID: read it with client().
	cli atomic.Pointer[sipgo.DialogClientSession]
	// dialog is what an in-dialog request must carry to reach the leg; nil
	// until the dialog exists (an outbound leg before its answer).
	dialog atomic.Pointer[dialogID]

	sdpID      uint64
	sdpVersion atomic.Uint64

	final       chan struct{} // closed once a final response went out (inbound)
	finalOnce   sync.Once
	answered    atomic.Bool
	remoteEnded atomic.Bool
	done        chan struct{}
	endOnce     sync.Once
	byeOnce     sync.Once
	holdFn      atomic.Pointer[func(bool)]
	endFn       atomic.Pointer[func()]
	referFn     atomic.Pointer[func(Transfer) error]
	referMu     sync.Mutex // held while a REFER is answered and while a NOTIFY goes out
	notesOnce   sync.Once
	notes       chan referNote
	held        atomic.Bool
	endReason   atomic.Value // string
}

func newLeg(s *Server, id string, inbound bool, ep *media.Endpoint) *Leg {
	return &Leg{s: s, ID: id, Inbound: inbound, ep: ep, sdpID: rand.Uint64() >> 1,
		final: make(chan struct{}), done: make(chan struct{})}
}

// OnHold registers f, called when the far end puts the call on hold (a
// re-INVITE offering sendonly or inactive) or takes it off hold.
func (l *Leg) OnHold(f func(on bool)) { l.holdFn.Store(&f) }

// remoteHold notes the direction a re-INVITE offered and reports a change.
func (l *Leg) remoteHold(direction string) {
	on := direction == media.SendOnly || direction == media.Inactive
	if l.held.Swap(on) == on {
		return
	}
	if f := l.holdFn.Load(); f != nil {
		(*f)(on)
	}
}

// OnEnd registers f, called once when the leg ends, however it ends.
func (l *Leg) OnEnd(f func()) { l.endFn.Store(&f) }

// NewLocalLeg makes a leg that is no SIP dialog: a browser softphone's. It
// has an RTP endpoint like any leg and ends when Hangup is called.
func (s *Server) NewLocalLeg(name string) (*Leg, error) {
	ep, err := s.media.NewEndpoint()
	if err != nil {
		return nil, fmt.Errorf("sip: local leg %s: %w", name, err)
	}
	l := newLeg(s, fmt.Sprintf("local-%s-%016x", name, rand.Uint64()), false, ep)
	l.answered.Store(true)
	s.legs.Store(l.ID, l)
	return l, nil
}

// Media is the leg's RTP endpoint.
func (l *Leg) Media() *media.Endpoint { return l.ep }

// Answered reports whether the leg is established (an inbound leg answered).
func (l *Leg) Answered() bool { return l.answered.Load() }

// client is the dialog of an outbound leg (nil for an inbound one).
func (l *Leg) client() *sipgo.DialogClientSession { return l.cli.Load() }

// Done is closed when the leg has ended, whoever ended it.
func (l *Leg) Done() <-chan struct{} { return l.done }

// EndedByRemote reports whether the far end hung up (BYE or CANCEL).
func (l *Leg) EndedByRemote() bool { return l.remoteEnded.Load() }

// EndReason says why the leg ended.
func (l *Leg) EndReason() string {
	if v, ok := l.endReason.Load().(string); ok {
		return v
	}
	return ""
}

// localSDP is the leg's answer to the session its endpoint has: the
// offer's profile mirrored and, on an SRTP leg, our key under the tag of
// the offer's accepted a=crypto line. bump makes it a new version (a
// re-INVITE's answer).
func (l *Leg) localSDP(bump bool) []byte {
	v := l.sdpVersion.Load()
	if bump {
		v = l.sdpVersion.Add(1)
	}
	l.applySRTPPolicy(!bump)
	sess := l.ep.Session()
	o := media.Offer{Local: l.ep.Local(), SessionID: l.sdpID, Version: v, Codecs: []media.Codec{sess.Codec},
		TelephoneEvent: sess.TelephoneEvent, Direction: media.AnswerDirection(sess.Direction), Declined: sess.Declined,
		Secure: sess.Secure, SRTP: sess.SRTP}
	if sess.SRTP {
		o.Crypto = l.ep.LocalCrypto(sess.Crypto.Tag)
	}
	if sess.Codec == media.CodecNone {
		o.Codecs = []media.Codec{media.PCMU, media.PCMA}
		o.TelephoneEvent = media.DefaultTelephoneEvent
	}
	return media.BuildSDP(o)
}

// Answer accepts an inbound leg with an SDP answer and waits for the ACK.
func (l *Leg) Answer() error {
	if !l.Inbound || l.srv == nil {
		return errors.New("sip: answer on an outbound leg")
	}
	defer l.finalOnce.Do(func() { close(l.final) })
	select {
	case <-l.done:
		return fmt.Errorf("sip: answer %s: leg already ended (%s)", l.ID, l.EndReason())
	default:
	}
	l.s.metrics.response(200)
	l.answered.Store(true)
	if err := l.srv.RespondSDP(l.localSDP(false)); err != nil {
		l.end("answer failed")
		return fmt.Errorf("sip: answer %s: %w", l.ID, err)
	}
	return nil
}

// Ringing sends 180 on an inbound leg.
func (l *Leg) Ringing() {
	if l.srv != nil && !l.answered.Load() {
		l.s.metrics.response(180)
		_ = l.srv.Respond(180, "Ringing", nil)
	}
}

// Reject refuses an inbound leg that was not answered. The leg ends at
// once; the response and its ACK finish in the background (the transaction
// layer retransmits until the ACK or its timer), so a caller that never ACKs
// delays nothing.
func (l *Leg) Reject(code int, reason string) { l.reject(code, reason) }

// RejectRetry refuses an inbound leg that was not answered, telling the
// caller when to try again (503 with Retry-After, seconds).
func (l *Leg) RejectRetry(code int, reason string, retryAfter int) {
	l.reject(code, reason, gosip.NewHeader("Retry-After", strconv.Itoa(retryAfter)))
}

func (l *Leg) reject(code int, reason string, headers ...gosip.Header) {
	if l.srv == nil || l.answered.Load() {
		return
	}
	sent := false
	l.finalOnce.Do(func() {
		sent = true
		l.s.metrics.response(code)
		go func() {
			defer close(l.final)
			if err := l.srv.Respond(code, reason, nil, headers...); err != nil {
				l.s.log.Debug("sip: reject", "sip_call_id", l.ID, "err", err)
			}
		}()
	})
	if sent {
		l.end(fmt.Sprintf("rejected %d %s", code, reason))
	}
}

// byeWait bounds how long a hang-up waits for the far end's answer to its
// BYE: the leg is over either way, and a shutdown must not wait on a peer
// that has gone.
const byeWait = 3 * time.Second

// Hangup ends the leg from this side: BYE when established, a final error
// response when an inbound leg was never answered.
func (l *Leg) Hangup() {
	select {
	case <-l.done:
		return
	default:
	}
	if l.Inbound && !l.answered.Load() {
		l.Reject(480, "Temporarily Unavailable")
		return
	}
	// The BYE goes out in the background (bounded by byeWait), so the
	// call hanging up never waits on the far end; the leg ends after it.
	l.byeOnce.Do(func() {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), byeWait)
			defer cancel()
			var err error
			switch {
			case l.srv != nil:
				err = l.srv.Bye(ctx)
			case l.client() != nil:
				err = l.client().Bye(ctx)
			}
			if err != nil {
				l.s.log.Debug("sip: BYE", "sip_call_id", l.ID, "err", err)
			}
			l.end("local hangup")
		}()
	})
}

// watch ends the leg when its dialog ends (BYE either way, CANCEL, or a
// transaction that timed out). It costs no goroutine per leg: the check
// runs when ctx is done, and does nothing if the leg ended first.
func (l *Leg) watch(ctx context.Context) {
	context.AfterFunc(ctx, func() {
		select {
		case <-l.done:
			return
		default:
		}
		if errors.Is(context.Cause(ctx), gosip.ErrTransactionCanceled) {
			l.remoteEnded.Store(true)
			l.end("cancelled")
			return
		}
		l.end("dialog ended")
	})
}

func (l *Leg) end(reason string) {
	l.endOnce.Do(func() {
		if f := l.endFn.Load(); f != nil {
			defer (*f)()
		}
		l.endReason.Store(reason)
		l.s.legs.Delete(l.ID)
		l.ep.Close()
		close(l.done)
		if l.srv != nil {
			_ = l.srv.Close()
		}
		if cli := l.client(); cli != nil {
			_ = cli.Close()
		}
	})
}

// dialogID identifies a leg's dialog for the requests its peer sends in
// it (BYE, re-INVITE, UPDATE, INFO, REFER, NOTIFY, ACK): the Call-ID, both
// tags seen from our side, and the addresses the peer signals from.
type dialogID struct {
	callID string
	// local is our tag: the To tag of every request the peer sends.
	// remote is the peer's: their From tag.
	local, remote string
	// peers are the IP addresses the peer's requests may come from: where
	// the dialog's first request or answer came from (for a trunk or a
	// proxy, the address it came through), its Contact, and for a phone
	// the address it registered from. Only the IP is compared: a phone may
	// send from another port than the one it registered or answered from.
	peers []netip.Addr
}

var (
	errForeignDialog = errors.New("sip: Call-ID or tags name no dialog of this leg")
	errForeignSource = errors.New("sip: request from an address that is not the dialog's peer")
)

// match checks an in-dialog request against the dialog: Call-ID, From
// tag (the peer's) and To tag (ours) must all be the dialog's, and the
// request must come from one of the peer's addresses.
func (d *dialogID) match(req *gosip.Request) error {
	cid, from, to := req.CallID(), req.From(), req.To()
	if cid == nil || from == nil || to == nil {
		return errForeignDialog
	}
	fromTag, toTag := tag(from.Params), tag(to.Params)
	if cid.Value() != d.callID || fromTag != d.remote || toTag != d.local || d.local == "" {
		return fmt.Errorf("%w: Call-ID %q From tag %q To tag %q", errForeignDialog, cid.Value(), fromTag, toTag)
	}
	src, ok := sourceIP(req.Source())
	if !ok {
		return fmt.Errorf("%w: %q", errForeignSource, req.Source())
	}
	if !slices.Contains(d.peers, src) {
		return fmt.Errorf("%w: %s", errForeignSource, src)
	}
	return nil
}

// peerAddrs collects the IP addresses among hostports and bare hosts
// (a host:port, an IP, or a host name, which is left out: it is not
// resolved), without duplicates.
func peerAddrs(hosts ...string) []netip.Addr {
	var out []netip.Addr
	for _, h := range hosts {
		a, ok := sourceIP(h)
		if !ok {
			a, ok = hostIP(h)
		}
		if ok && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// sourceIP is the IP of a host:port (a message's source).
// behindNAT reports whether a phone whose Contact host is contactHost and
// whose REGISTER came from source is behind NAT: the Contact is an IP
// address other than the source's (a name is taken as reachable).
func behindNAT(contactHost, source string) bool {
	contact, ok := hostIP(contactHost)
	if !ok {
		return false
	}
	src, ok := sourceIP(source)
	return ok && contact != src
}

func sourceIP(hostport string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// hostIP is the IP of a URI's host part, bracketed for IPv6 or not.
func hostIP(host string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func tag(p gosip.HeaderParams) string {
	t, _ := p.Get("tag")
	return t
}

// ErrNotRegistered means the user has no registered phone.
var ErrNotRegistered = errors.New("sip: not registered")

// DialError is a final non-2xx answer to an outbound INVITE.
type DialError struct {
	Code   int
	Reason string
}

func (e *DialError) Error() string { return fmt.Sprintf("sip: %d %s", e.Code, e.Reason) }

// DialRequest says whom to ring and how to present the call.
type DialRequest struct {
	User       string
	CallerID   string
	CallerName string
	// Ringing is called on the first 180/183.
	Ringing func()
}

// Dial rings a registered user's phone and returns the established leg.
// Cancelling ctx before the answer sends CANCEL.
func (s *Server) Dial(ctx context.Context, d DialRequest) (*Leg, error) {
	b, ok := s.binding(d.User)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotRegistered, d.User)
	}
	return s.invite(ctx, outbound{target: *b.Contact.Clone(), transport: b.Transport, registeredFrom: b.Source, route: b.Path,
		toUser: d.User, callerID: d.CallerID, callerName: d.CallerName, ringing: d.Ringing, srtp: s.cfg.SRTP.agentOut(d.User)})
}

// TrunkDial says where an outbound trunk is and whom to call over it.
type TrunkDial struct {
	// Host is the carrier's host:port; Transport udp or tcp.
	Host, Transport string
	Number          string
	CallerID        string
	CallerName      string
	// Username and Password answer a digest challenge.
	Username, Password string
	Ringing            func()
}

// DialTrunk calls a number over an outbound trunk: INVITE sip:Number@Host.
func (s *Server) DialTrunk(ctx context.Context, d TrunkDial) (*Leg, error) {
	var target gosip.Uri
	if err := gosip.ParseUri("sip:"+d.Number+"@"+d.Host, &target); err != nil {
		return nil, fmt.Errorf("sip: trunk dial %s: %w", d.Number, err)
	}
	return s.invite(ctx, outbound{target: target, transport: d.Transport, toUser: d.Number, callerID: d.CallerID,
		callerName: d.CallerName, username: d.Username, password: d.Password, ringing: d.Ringing, srtp: s.cfg.SRTP.trunkOut(d.Host)})
}

// outbound is one INVITE Switchboard sends.
type outbound struct {
	target               gosip.Uri
	transport            string
	toUser               string
	callerID, callerName string
	username, password   string
	ringing              func()
	// registeredFrom is where the phone registered from: a peer address of
	// the dialog as much as the answer's source.
	registeredFrom string
	// route is the phone's Path: the INVITE goes through these proxies.
	route []string
	// srtp is the peer's policy: required offers RTP/SAVP with our key
	// and needs SRTP in the answer; anything else offers plain RTP.
	srtp SRTPPolicy
}

func (s *Server) invite(ctx context.Context, d outbound) (*Leg, error) {
	ep, err := s.media.NewEndpoint()
	if err != nil {
		return nil, fmt.Errorf("sip: dial %s: %w", d.toUser, err)
	}
	callID := gosip.CallIDHeader(fmt.Sprintf("sb-%016x@%s", rand.Uint64(), s.host))
	l := newLeg(s, string(callID), false, ep)
	o := media.Offer{Local: ep.Local(), SessionID: l.sdpID, Codecs: []media.Codec{media.PCMU, media.PCMA},
		TelephoneEvent: media.DefaultTelephoneEvent}
	secure := d.srtp == SRTPRequired
	if secure {
		o.Secure, o.SRTP, o.Crypto = true, true, ep.LocalCrypto(1)
	}
	offer := media.BuildSDP(o)

	req := gosip.NewRequest(gosip.INVITE, d.target)
	if d.transport != "" {
		req.SetTransport(strings.ToUpper(d.transport))
	}
	req.AppendHeader(&callID)
	caller := d.callerID
	if caller == "" {
		caller = "anonymous"
	}
	from := &gosip.FromHeader{DisplayName: d.callerName, Address: gosip.Uri{Scheme: "sip", User: caller, Host: s.host, Port: s.port},
		Params: gosip.NewParams()}
	localTag := gosip.GenerateTagN(16)
	from.Params.Add("tag", localTag)
	req.AppendHeader(from)
	req.AppendHeader(&gosip.ToHeader{Address: gosip.Uri{Scheme: "sip", User: d.toUser, Host: d.target.Host, Port: d.target.Port}, Params: gosip.NewParams()})
	req.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(offer)

	for _, r := range d.route {
		req.AppendHeader(gosip.NewHeader("Route", r))
	}

	s.legs.Store(l.ID, l)
	s.metrics.request("INVITE-out")
	if len(d.route) == 0 && d.registeredFrom != "" && (strings.EqualFold(d.transport, "tls") || behindNAT(d.target.Host, d.registeredFrom)) {
		// The connection the phone registered over (TLS), or the address
		// its REGISTER came from when its Contact names another IP (a
		// phone behind NAT names its LAN address, which cannot be reached).
		req.SetDestination(d.registeredFrom)
	}
	dlg, err := s.dialogUAFor(d.transport).WriteInvite(ctx, req)
	if err != nil {
		l.end("invite failed")
		return nil, fmt.Errorf("sip: dial %s: %w", d.toUser, err)
	}
	l.cli.Store(dlg)
	rang := false
	err = dlg.WaitAnswer(ctx, sipgo.AnswerOptions{Username: d.username, Password: d.password, OnResponse: func(r *gosip.Response) error {
		s.metrics.response(r.StatusCode)
		if (r.StatusCode == 180 || r.StatusCode == 183) && !rang && d.ringing != nil {
			rang = true
			d.ringing()
		}
		return nil
	}})
	if err != nil {
		var de *sipgo.ErrDialogResponse
		if errors.As(err, &de) {
			l.end("refused")
			return nil, &DialError{Code: de.Res.StatusCode, Reason: de.Res.Reason}
		}
		l.end("no answer")
		if ctx.Err() != nil {
			return nil, fmt.Errorf("sip: dial %s: %w", d.toUser, context.Cause(ctx))
		}
		return nil, fmt.Errorf("sip: dial %s: %w", d.toUser, err)
	}
	// From now on the phone (or trunk) may send requests in the dialog.
	res := dlg.InviteResponse
	peers := []string{res.Source(), d.target.Host, d.registeredFrom}
	if c := res.Contact(); c != nil {
		peers = append(peers, c.Address.Host)
	}
	remoteTag := ""
	if to := res.To(); to != nil {
		remoteTag = tag(to.Params)
	}
	l.dialog.Store(&dialogID{callID: l.ID, local: localTag, remote: remoteTag, peers: peerAddrs(peers...)})
	// An answer takes what was offered: SRTP only when we offered our key.
	parse := media.ParsePlainSDP
	if secure {
		parse = media.ParseSDP
	}
	sess, perr := parse(res.Body())
	if perr == nil && secure && !sess.SRTP {
		perr = fmt.Errorf("%w: SRTP is required and the answer has none", media.ErrNoCrypto)
	}
	if err := dlg.Ack(context.Background()); err != nil {
		s.log.Debug("sip: ACK", "sip_call_id", l.ID, "err", err)
	}
	if perr != nil {
		s.log.Warn("sip: far end answered with unusable SDP", "sip_call_id", l.ID, "to", d.toUser, "err", perr)
		l.Hangup()
		return nil, fmt.Errorf("sip: dial %s: answer: %w", d.toUser, perr)
	}
	if secure {
		ep.RequireSRTP() // a re-INVITE without a key does not make the leg plain
	} else {
		ep.PlainOnly() // a later best-effort offer of SRTP (re-INVITE) stays plain too
	}
	ep.SetSession(sess)
	if src, err := netip.ParseAddrPort(dlg.InviteResponse.Source()); err == nil {
		ep.SetSignalSource(src.Addr())
	}
	l.answered.Store(true)
	l.watch(dlg.Context())
	return l, nil
}
