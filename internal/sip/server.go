// Package sip is Switchboard's SIP edge, on github.com/emiago/sipgo: the
// registrar with digest authentication, and the B2BUA legs — a caller's
// inbound dialog and the outbound dialogs to agents' phones. Each leg owns a
// media endpoint. It knows nothing of flows or queues: new calls and
// registrations are handed to a Handler.
package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/media"
)

// Handler receives what the SIP edge cannot decide alone.
type Handler interface {
	// Incoming is called, in its own goroutine, for every new INVITE that
	// passed authentication and offered usable media. The handler must
	// answer or reject the leg.
	Incoming(l *Leg)
	// Registration reports that a user's phone registered or went away.
	Registration(user string, registered bool)
	// Rejected reports a call refused before it reached Incoming (unusable
	// SDP, no media ports, a malformed or unsupported INVITE), so it still
	// leaves a record. An INVITE that failed authentication is not
	// reported: a guess is a security event, not a call.
	Rejected(r Rejection)
}

// Rejection describes a call the SIP edge refused on its own.
type Rejection struct {
	SIPCallID, Caller, Dialed, Source string
	Code                              int
	Reason                            string
}

func (s *Server) rejection(req *gosip.Request, code int, reason string) Rejection {
	r := Rejection{Source: s.origin(req), Code: code, Reason: reason, Dialed: req.Recipient.User}
	if c := req.CallID(); c != nil {
		r.SIPCallID = c.Value()
	}
	if f := req.From(); f != nil {
		r.Caller = f.Address.User
	}
	return r
}

// Config sets up the SIP edge.
type Config struct {
	// Listen is the host:port for UDP and TCP.
	Listen string
	Realm  string
	// Trusted sources (trunks) may call without authentication.
	Trusted []netip.Prefix
	// Proxies in front of the edge (Kamailio): their OriginHeader names
	// a request's real source (origin).
	Proxies []netip.Addr
	// NonceKey signs digest nonces: 32 bytes shared by the nodes of a
	// cluster, so a challenge from one is accepted by another. Empty: a
	// random key of this process (nonces die with it).
	NonceKey   []byte
	MinExpires time.Duration
	MaxExpires time.Duration
	// HA1 returns an agent's digest HA1: MD5(user:Realm:password) in
	// lowercase hex (config.DigestHA1), false for no such agent. The edge
	// never needs the password itself.
	HA1 func(user string) (ha1 string, ok bool)
	// AuthRequired names numbers that need an authenticated caller even
	// from a trusted source (feature codes act on the caller's identity).
	AuthRequired func(dialed string) bool
	// Trunks are kept registered with their carriers.
	Trunks []TrunkRegistration
	// TLS is SIP over TLS: the listener, and how servers Switchboard
	// connects to over TLS (trunks) are verified.
	TLS TLSConfig
	// SRTP is which legs encrypt their media (srtp.go).
	SRTP SRTPConfig
	// Edge limits what one source may cost the edge (edge.go).
	Edge EdgeConfig
	Log  *slog.Logger
}

// Server is the SIP edge.
type Server struct {
	cfg Config
	// gateways are the node's own user agents (the web caller's) whose
	// requests are trusted like a trunk's: exact source addresses.
	gateways sync.Map // netip.AddrPort → struct{}
	log      *slog.Logger
	media    *media.Engine
	handler  Handler
	auth     *authenticator
	reg      *registrar
	metrics  *Counters

	ua       *sipgo.UserAgent
	srv      *sipgo.Server
	dialogUA *sipgo.DialogUA
	host     string
	port     int

	// udp and tcp are bound by New and served by Run, on the same port.
	udp  net.PacketConn
	tcp  net.Listener
	addr netip.AddrPort
	// tls, when TLS is on, is bound by New and served by Run; its legs use
	// tlsDialogUA (Contact with transport=tls at tlsAddr).
	tls         net.Listener
	tlsAddr     netip.AddrPort
	tlsDialogUA *sipgo.DialogUA

	// rate, conns and junk limit what one source costs (edge.go): its
	// requests per second, its TCP and TLS connections, its junk; edge
	// counts what they shed.
	rate  *rateLimits
	conns *connLimits
	junk  *junkFilter
	edge  edgeCounters

	// draining is the shutdown gate: once set, new INVITEs are refused
	// with 503 before anything else looks at them.
	draining atomic.Bool

	// answered keeps the final responses of non-INVITE transactions over
	// UDP for Timer J, in place of the transactions (answered.go).
	answered *answered

	legs   sync.Map // SIP Call-ID → *Leg
	trunks trunkRegs
}

// listen binds UDP at addr and TCP on the same port. With port 0 the
// kernel picks the UDP port; if TCP cannot have the same one, another is
// tried.
func listen(addr string) (net.PacketConn, net.Listener, error) {
	for attempt := 0; ; attempt++ {
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("sip: listen udp %s: %w", addr, err)
		}
		if uc, ok := udp.(*net.UDPConn); ok {
			_ = uc.SetReadBuffer(4 << 20)
			_ = uc.SetWriteBuffer(4 << 20)
		}
		tcp, err := net.Listen("tcp", udp.LocalAddr().String())
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		_, port, _ := net.SplitHostPort(addr)
		if port != "0" || attempt >= 10 {
			return nil, nil, fmt.Errorf("sip: listen tcp %s: %w", addr, err)
		}
	}
}

// Addr is the address the SIP edge is bound to, for UDP and TCP alike.
func (s *Server) Addr() netip.AddrPort { return s.addr }

// Drain closes the shutdown gate: from now on every new INVITE is answered
// 503 Service Unavailable with a Retry-After, and the handler never sees it;
// OPTIONS is answered 503 too, so a dispatcher (Kamailio) probing this node
// moves new calls elsewhere. Dialogs in progress go on (BYE, re-INVITE,
// REFER). Drain is safe to call more than once.
func (s *Server) Drain() {
	if !s.draining.Swap(true) {
		s.log.Info("sip: draining: new calls are refused with 503")
	}
}

// Draining reports whether Drain was called.
func (s *Server) Draining() bool { return s.draining.Load() }

// retryAfter is what a refused caller is told to wait before trying again:
// about as long as a node takes to restart.
const retryAfter = "30"

// Close releases the sockets New bound, for a server whose Run was never
// called; after Run it does nothing harmful.
func (s *Server) Close() error {
	s.udp.Close()
	s.tcp.Close()
	if s.tls != nil {
		s.tls.Close()
	}
	s.ua.Close()
	return nil
}

// New builds the SIP edge and binds its UDP and TCP sockets on the same
// port, so a listen port of 0 works: Addr reports the port the kernel chose,
// and Contact headers and SDP use it. With cfg.TLS.Listen set it binds the
// TLS listener too (TLSAddr). Run serves on those sockets; Close releases
// them when Run is never called.
func New(cfg Config, eng *media.Engine, h Handler) (*Server, error) {
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("sip: listen address %q: %w", cfg.Listen, err)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	udp, tcp, err := listen(cfg.Listen)
	if err != nil {
		return nil, err
	}
	bound := udp.LocalAddr().(*net.UDPAddr).AddrPort()
	port := int(bound.Port())
	listenAddr := net.JoinHostPort(host, strconv.Itoa(port))
	s := &Server{
		cfg: cfg, log: cfg.Log, media: eng, handler: h,
		auth:    newAuthenticator(cfg.Realm, cfg.HA1, cfg.NonceKey),
		reg:     newRegistrar(cfg.MinExpires, cfg.MaxExpires),
		metrics: newCounters(),
		rate:    newRateLimits(cfg.Edge, cfg.Trusted),
		conns:   newConnLimits(cfg.Edge),
		host:    host, port: port,
		udp: udp, addr: bound,
		answered: newAnswered(gosip.Timer_J, maxAnswered),
	}
	s.conns.shed = s.shed
	s.conns.banned = func(a netip.Addr) bool { g := s.auth.guard; return g != nil && g.Banned(a) }
	s.tcp = s.conns.listener(tcp)
	s.junk = &junkFilter{s: s, listener: bound}
	if cfg.TLS.Listen != "" {
		if s.tls, s.tlsAddr, err = listenTLS(cfg.TLS.Listen, serverTLS(cfg.TLS.Certificate), s.conns.listener); err != nil {
			udp.Close()
			tcp.Close()
			return nil, err
		}
	}
	fail := func(err error) (*Server, error) {
		udp.Close()
		tcp.Close()
		if s.tls != nil {
			s.tls.Close()
		}
		return nil, err
	}
	// sipgo's own logging goes through sipgoLog (junk.go), so a flood of
	// what sipgo refuses writes a bounded log.
	sipgoLog := slog.New(newSIPgoLog(cfg.Log.Handler(), s)).With("component", "sipgo")
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("Switchboard"), sipgo.WithUserAgentHostname(host),
		sipgo.WithUserAgenTLSConfig(clientTLS(cfg.TLS.PinnedCAs)),
		sipgo.WithUserAgentTransportLayerOptions(gosip.WithTransportLayerLogger(sipgoLog),
			gosip.WithTransportLayerReadFilter(s.junk.filter)),
		sipgo.WithUserAgentTransactionLayerOptions(gosip.WithTransactionLayerLogger(sipgoLog),
			gosip.WithTransactionLayerUnhandledResponseHandler(func(r *gosip.Response) {
				sipgoLog.Debug("sip: response matching no transaction", "code", r.StatusCode, "source", r.Source())
			})))
	if err != nil {
		return fail(fmt.Errorf("sip: user agent: %w", err))
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(sipgoLog))
	if err != nil {
		ua.Close()
		return fail(fmt.Errorf("sip: server: %w", err))
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(host), sipgo.WithClientPort(port),
		sipgo.WithClientConnectionAddr(listenAddr), sipgo.WithClientLogger(sipgoLog))
	if err != nil {
		ua.Close()
		return fail(fmt.Errorf("sip: client: %w", err))
	}
	s.ua, s.srv = ua, srv
	s.dialogUA = &sipgo.DialogUA{
		Client:     client,
		ContactHDR: gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "switchboard", Host: host, Port: port}},
		// In-dialog requests (BYE, re-INVITE, NOTIFY) go where the peer's
		// INVITE or answer came from, not to its Contact, unless the
		// dialog is record-routed: a phone behind NAT names its LAN
		// address in its Contact, which cannot be reached.
		RewriteContact: true,
	}
	// Trunks over TLS need it with no TLS listener too (Contact port 0: none).
	if s.tlsDialogUA, err = newTLSDialogUA(ua, host, int(s.tlsAddr.Port()), sipgoLog); err != nil {
		ua.Close()
		return fail(err)
	}
	srv.OnRegister(s.absorbing(s.onRegister))
	srv.OnInvite(s.onInvite)
	srv.OnAck(s.onAck)
	srv.OnBye(s.absorbing(s.onBye))
	srv.OnCancel(s.absorbing(s.onCancel))
	srv.OnOptions(s.absorbing(s.onOptions))
	srv.OnInfo(s.absorbing(s.onInfo))
	srv.OnRefer(s.absorbing(s.onRefer))
	srv.OnNotify(s.absorbing(func(req *gosip.Request, tx gosip.ServerTransaction) {
		s.metrics.request("NOTIFY")
		if s.inDialog(req) == nil {
			s.noDialog(req, tx)
			return
		}
		s.respond(req, tx, 200, "OK", "")
	}))
	srv.OnUpdate(s.absorbing(func(req *gosip.Request, tx gosip.ServerTransaction) {
		// UPDATE is not supported, but one outside a dialog is told so
		// rather than that the method exists there.
		s.metrics.request("UPDATE")
		if s.inDialog(req) == nil {
			s.noDialog(req, tx)
			return
		}
		res := gosip.NewResponseFromRequest(req, 405, "Method Not Allowed", nil)
		res.AppendHeader(gosip.NewHeader("Allow", allowed))
		s.send(tx, res)
	}))
	srv.OnNoRoute(s.absorbing(func(req *gosip.Request, tx gosip.ServerTransaction) {
		s.metrics.request(req.Method.String())
		res := gosip.NewResponseFromRequest(req, 405, "Method Not Allowed", nil)
		res.AppendHeader(gosip.NewHeader("Allow", allowed))
		s.send(tx, res)
	}))
	return s, nil
}

// WaitListening waits until sipgo's transport layer holds the UDP listener
// at addr, so requests sent from that address reuse it (sipgo announces a
// listener before it pools it).
func WaitListening(ctx context.Context, ua *sipgo.UserAgent, addr string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		if c, err := ua.TransportLayer().GetConnection("udp", addr); err == nil && c != nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sip: UDP listener %s not ready after 5s", addr)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

const allowed = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REGISTER, REFER, NOTIFY"

// Metrics returns the SIP counters.
func (s *Server) Metrics() *Counters { return s.metrics }

// Run serves the sockets New bound until ctx ends, then hangs up the legs
// still up and closes them. ready is closed once both serve.
func (s *Server) Run(ctx context.Context, ready chan<- struct{}) error {
	udp, tcp := s.udp, s.tcp
	errc := make(chan error, 3)
	go func() { errc <- s.srv.ServeUDP(udp) }()
	go func() { errc <- s.srv.ServeTCP(tcp) }()
	transports := "udp,tcp"
	if s.tls != nil {
		go func() { errc <- s.srv.ServeTLS(s.tls) }()
		transports = "udp,tcp,tls"
	}
	go s.sweepRegistrations(ctx)
	var regs sync.WaitGroup
	for _, t := range s.cfg.Trunks {
		regs.Add(1)
		go func() { defer regs.Done(); s.keepRegistered(ctx, t) }()
	}
	defer regs.Wait()
	if err := WaitListening(ctx, s.ua, udp.LocalAddr().String()); err != nil {
		s.Close()
		return err
	}
	if s.tls != nil {
		s.log.Info("sip listening", "addr", s.addr.String(), "transports", transports, "tls_addr", s.tlsAddr.String())
	} else {
		s.log.Info("sip listening", "addr", s.addr.String(), "transports", transports)
	}
	if ready != nil {
		close(ready)
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.hangupAll()
	udp.Close()
	tcp.Close()
	if s.tls != nil {
		s.tls.Close()
	}
	s.ua.Close()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("sip: serve: %w", err)
	}
	return nil
}

func (s *Server) hangupAll() {
	var wg sync.WaitGroup
	s.legs.Range(func(_, v any) bool {
		l := v.(*Leg)
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.Hangup()
		}()
		return true
	})
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
	}
}

func (s *Server) send(tx gosip.ServerTransaction, res *gosip.Response) {
	s.metrics.response(res.StatusCode)
	if err := tx.Respond(res); err != nil {
		s.log.Debug("sip: respond", "code", res.StatusCode, "err", err)
	}
}

// respond answers with a status and, when given, a Warning-like reason header.
func (s *Server) respond(req *gosip.Request, tx gosip.ServerTransaction, code int, reason, detail string) {
	res := gosip.NewResponseFromRequest(req, code, reason, nil)
	if detail != "" {
		res.AppendHeader(gosip.NewHeader("Reason", fmt.Sprintf("SIP;cause=%d;text=%q", code, detail)))
	}
	s.send(tx, res)
}

// inDialog finds the leg an in-dialog request belongs to: its Call-ID, its
// From tag (the peer's) and To tag (ours) must be the leg's dialog's, and it
// must come from the dialog's peer. Anything else is nil, to be answered
// 481 with nothing changed: a request that only knows a Call-ID (seen in a
// log, a SIP trace, a Replaces header) cannot end a call or move its media.
func (s *Server) inDialog(req *gosip.Request) *Leg {
	cid := req.CallID()
	if cid == nil {
		return nil
	}
	v, ok := s.legs.Load(cid.Value())
	if !ok {
		return nil
	}
	l := v.(*Leg)
	d := l.dialog.Load()
	if d == nil {
		s.log.Info("sip: in-dialog request before the dialog exists", "sip_call_id", l.ID, "method", req.Method.String(),
			"source", req.Source())
		return nil
	}
	if err := d.match(req); err != nil {
		s.log.Warn("sip: in-dialog request refused", "sip_call_id", l.ID, "method", req.Method.String(),
			"source", req.Source(), "err", err)
		return nil
	}
	return l
}

// noDialog answers a request that matched no dialog.
func (s *Server) noDialog(req *gosip.Request, tx gosip.ServerTransaction) {
	s.respond(req, tx, 481, "Call/Transaction Does Not Exist", "")
}

// TrustGateway makes requests from addr (a user agent of the node's own,
// on loopback) trusted as a trunk's are: the web caller's calls reach the
// setup's numbers without credentials.
func (s *Server) TrustGateway(addr netip.AddrPort) { s.gateways.Store(addr, struct{}{}) }

func (s *Server) trusted(source string) bool {
	ap, err := netip.ParseAddrPort(source)
	if err != nil {
		return false
	}
	if _, ok := s.gateways.Load(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())); ok {
		return true
	}
	for _, p := range s.cfg.Trusted {
		if p.Contains(ap.Addr().Unmap()) {
			return true
		}
	}
	return false
}

func (s *Server) onInvite(req *gosip.Request, tx gosip.ServerTransaction) {
	s.metrics.request("INVITE")
	if to := req.To(); to != nil && to.Params.Has("tag") {
		s.onReInvite(req, tx)
		return
	}
	if s.screenInvite(req, tx) { // a banned source, one over its rate, or credentials signed for another request
		return
	}
	if s.draining.Load() {
		res := gosip.NewResponseFromRequest(req, 503, "Service Unavailable", nil)
		res.AppendHeader(gosip.NewHeader("Retry-After", retryAfter))
		s.send(tx, res)
		return
	}
	if req.Contact() == nil || req.CallID() == nil || req.From() == nil || req.To() == nil {
		s.respond(req, tx, 400, "Bad Request", "missing Contact, Call-ID, From or To")
		return
	}
	if _, dup := s.legs.Load(req.CallID().Value()); dup {
		s.respond(req, tx, 482, "Loop Detected", "")
		return
	}
	// Agents' phones authenticate; trunks are trusted by source address.
	authUser := ""
	hdr := headerValue(req, "Authorization")
	if hdr != "" || !s.trusted(s.origin(req)) || (s.cfg.AuthRequired != nil && s.cfg.AuthRequired(req.Recipient.User)) {
		u, err := s.auth.verify("INVITE", hdr)
		if err != nil {
			// A failed authentication is a guess, not a call: it becomes a
			// security event (challengeOrForbid tells the guard), not a record.
			s.challengeOrForbid(req, tx, err, u)
			return
		}
		authUser = u
	}
	offer, refused := checkInvite(req, s.replacedDialog)
	if refused != nil {
		s.log.Info("sip: refusing INVITE", "sip_call_id", req.CallID().Value(), "source", s.origin(req),
			"code", refused.code, "why", refused.detail)
		s.send(tx, refused.response(req))
		s.handler.Rejected(s.rejection(req, refused.code, refused.detail))
		return
	}
	if req.GetHeader("Replaces") != nil {
		s.log.Info("sip: INVITE with Replaces taken as a new call (replacing a dialog is not implemented)",
			"sip_call_id", req.CallID().Value(), "source", s.origin(req))
	}
	sess, err := media.ParseSDP(offer)
	if err != nil {
		s.log.Info("sip: rejecting INVITE with unusable SDP", "sip_call_id", req.CallID().Value(), "source", s.origin(req), "err", err)
		s.respond(req, tx, 488, "Not Acceptable Here", err.Error())
		s.handler.Rejected(s.rejection(req, 488, err.Error()))
		return
	}
	if s.refuseSRTP(req, tx, sess, authUser) { // the offer's media security against the peer's srtp policy (srtp.go)
		return
	}
	ep, err := s.media.NewEndpoint()
	if err != nil {
		s.log.Error("sip: no media for INVITE", "sip_call_id", req.CallID().Value(), "err", err)
		s.respond(req, tx, 503, "Service Unavailable", "no media ports")
		s.handler.Rejected(s.rejection(req, 503, err.Error()))
		return
	}
	ep.SetSession(sess)
	origin := s.origin(req)
	if src, err := netip.ParseAddrPort(origin); err == nil {
		ep.SetSignalSource(src.Addr()) // RTP from where the signalling came is learned at once (symmetric RTP)
	}
	dlg, err := s.dialogUAFor(req.Transport()).ReadInvite(req, tx)
	if err != nil {
		ep.Close()
		s.respond(req, tx, 400, "Bad Request", err.Error())
		return
	}
	l := newLeg(s, req.CallID().Value(), true, ep)
	l.srv = dlg
	l.AuthUser = authUser
	l.Dialed = req.Recipient.User
	l.Caller = req.From().Address.User
	l.CallerName = req.From().DisplayName
	l.Source = origin
	l.dialog.Store(&dialogID{callID: l.ID, local: tag(dlg.InviteRequest.To().Params), remote: tag(req.From().Params),
		peers: peerAddrs(req.Source(), req.Contact().Address.Host)})
	s.legs.Store(l.ID, l)
	s.conns.vouch(req.Source()) // a call's connection may stay quiet through the call
	l.watch(dlg.Context())
	s.send(tx, gosip.NewResponseFromRequest(req, 100, "Trying", nil))
	go s.handler.Incoming(l)
	// The transaction must stay open until the handler's final response is out.
	select {
	case <-l.final:
	case <-tx.Done():
	}
}

func (s *Server) onReInvite(req *gosip.Request, tx gosip.ServerTransaction) {
	l := s.inDialog(req)
	if l == nil {
		s.noDialog(req, tx)
		return
	}
	if len(req.Body()) > 0 {
		offer, refused := offerBody(req)
		if refused != nil {
			s.send(tx, refused.response(req))
			return
		}
		// The leg's SRTP policy holds for the dialog's life: a leg that
		// requires SRTP refuses a re-offer without it, and a plain leg
		// takes only the plain RTP of a re-offer (none: 488).
		required, plainOnly := l.ep.SRTPPolicy()
		parse := media.ParseSDP
		if plainOnly {
			parse = media.ParsePlainSDP
		}
		sess, err := parse(offer)
		if err == nil && required && !sess.SRTP {
			err = errors.New("this call requires SRTP, and the offer has no SRTP audio")
		}
		if err != nil {
			s.respond(req, tx, 488, "Not Acceptable Here", err.Error())
			return
		}
		l.ep.SetSession(sess)
		l.remoteHold(sess.Direction)
	}
	// A re-INVITE (session refresh, hold, new address) gets our current SDP,
	// unchanged but for a new version and the direction the offer implies.
	res := gosip.NewSDPResponseFromRequest(req, l.localSDP(true))
	s.metrics.response(200)
	if err := tx.Respond(res); err != nil {
		s.log.Debug("sip: re-INVITE respond", "err", err)
	}
}

func (s *Server) onAck(req *gosip.Request, tx gosip.ServerTransaction) {
	s.metrics.request("ACK")
	// An ACK from outside the dialog is dropped: ACKs are never answered.
	if l := s.inDialog(req); l != nil && l.srv != nil {
		_ = l.srv.ReadAck(req, tx)
	}
}

func (s *Server) onBye(req *gosip.Request, tx gosip.ServerTransaction) {
	s.metrics.request("BYE")
	l := s.inDialog(req)
	if l == nil {
		s.noDialog(req, tx)
		return
	}
	l.remoteEnded.Store(true)
	var err error
	if l.srv != nil {
		err = l.srv.ReadBye(req, tx)
	} else if cli := l.client(); cli != nil {
		err = cli.ReadBye(req, tx)
	}
	if err != nil {
		s.log.Debug("sip: BYE", "sip_call_id", l.ID, "err", err)
		s.respond(req, tx, 200, "OK", "")
	}
	s.metrics.response(200)
	l.end("remote hangup")
}

func (s *Server) onCancel(req *gosip.Request, tx gosip.ServerTransaction) {
	// A CANCEL that matched an INVITE transaction was answered by the
	// transaction layer; this one matched nothing.
	s.metrics.request("CANCEL")
	s.respond(req, tx, 481, "Call/Transaction Does Not Exist", "")
}

func (s *Server) onOptions(req *gosip.Request, tx gosip.ServerTransaction) {
	s.metrics.request("OPTIONS")
	if s.dropBanned(req) || s.overRate(req, rateOptions) {
		return
	}
	if s.draining.Load() {
		res := gosip.NewResponseFromRequest(req, 503, "Service Unavailable", nil)
		res.AppendHeader(gosip.NewHeader("Retry-After", retryAfter))
		s.send(tx, res)
		return
	}
	res := gosip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(gosip.NewHeader("Allow", allowed))
	res.AppendHeader(gosip.NewHeader("Accept", "application/sdp"))
	s.send(tx, res)
}

func (s *Server) onInfo(req *gosip.Request, tx gosip.ServerTransaction) {
	s.metrics.request("INFO")
	l := s.inDialog(req)
	if l == nil {
		s.noDialog(req, tx)
		return
	}
	ct := headerValue(req, "Content-Type")
	d, err := media.ParseDTMFInfo(ct, req.Body())
	if err != nil {
		s.log.Info("sip: unreadable INFO", "sip_call_id", l.ID, "content_type", ct, "err", err)
		s.respond(req, tx, 415, "Unsupported Media Type", err.Error())
		return
	}
	l.ep.SignalledDigit(d)
	s.send(tx, gosip.NewResponseFromRequest(req, 200, "OK", nil))
}
