// Package node builds, starts and stops one Switchboard node from a
// config: the store, the media engine, webhooks, the call manager, the SIP
// edge, voicemail, recordings, the API with its browser pages and softphones,
// metrics and the HTTP listener. It owns their order — built in sequence and
// closed in reverse if a later part fails, stopped in a fixed order behind one
// shutdown gate — and reports the addresses it bound, so a node listening on
// port 0 can run inside a test. It decides nothing about calls.
package node

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/internal/api"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/cluster"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/overload"
	"github.com/switchboard/switchboard/internal/recording"
	"github.com/switchboard/switchboard/internal/security"
	"github.com/switchboard/switchboard/internal/sip"
	"github.com/switchboard/switchboard/internal/store"
	"github.com/switchboard/switchboard/internal/voicemail"
	"github.com/switchboard/switchboard/internal/webhook"
	"github.com/switchboard/switchboard/internal/webrtc"
)

// DefaultShutdownTimeout bounds how long Run waits, once shutdown begins,
// for calls to end and components to stop before it returns anyway.
const DefaultShutdownTimeout = 10 * time.Second

// ErrShutdownTimeout is returned by Run when components were still running
// when the shutdown timeout passed.
var ErrShutdownTimeout = errors.New("node: shutdown timed out")

// Option adjusts how a node is built.
type Option func(*options)

type options struct {
	sounds          *media.Library
	shutdownTimeout time.Duration
	drainGrace      time.Duration
	lagClock        overload.Clock
	setup           Setup
}

// WithSounds gives the node its sound library instead of loading the
// setup's sounds directory (or the embedded demo sounds).
func WithSounds(l *media.Library) Option { return func(o *options) { o.sounds = l } }

// WithShutdownTimeout replaces DefaultShutdownTimeout.
func WithShutdownTimeout(d time.Duration) Option {
	return func(o *options) { o.shutdownTimeout = d }
}

// WithDrainGrace lets calls in progress go on for up to d once the gate
// has closed, so a node taken out of a cluster loses none that end by then;
// the calls still up after d are hung up. The default is 0: hang up at once.
func WithDrainGrace(d time.Duration) Option {
	return func(o *options) { o.drainGrace = d }
}

// WithLagClock gives the lag monitor (limits.max_lag) the clock it sleeps
// on; a test passes one whose wake-ups come late, standing in for a
// starved node.
func WithLagClock(c overload.Clock) Option { return func(o *options) { o.lagClock = c } }

// Node is one running Switchboard.
type Node struct {
	cfg  *config.Config
	log  *slog.Logger
	opts options

	st    *store.Store
	eng   *media.Engine
	hooks *webhook.Dispatcher
	hub   *api.Hub
	mgr   *call.Manager
	lag   *overload.Monitor // nil unless limits.max_lag is set
	sip   *sip.Server
	guard *security.Guard
	vm    *voicemail.Service
	recs  *recording.Service
	// speech is speech analytics (speech.go); nil when off.
	speech *speechService
	api    *api.Server
	phones *webrtc.Phones
	// softphones are the phones as calls ring them, here or on other nodes.
	softphones *clusterPhones
	// acd is the way to the cluster's one ACD, on a shared store (nil on
	// a store of its own: the manager's engine decides alone).
	acd     *cluster.Client
	httpLn  net.Listener
	httpSrv *http.Server
	// httpsLn and httpsSrv serve the API and pages over HTTPS when the
	// setup has server.tls (https.go); nil otherwise.
	httpsLn  net.Listener
	httpsSrv *http.Server

	// live is the setup in force once a reload has applied one (current);
	// edge is what the SIP edge checks from it (applySIP); reloadMu makes
	// reloads one at a time.
	live     atomic.Pointer[config.Config]
	edge     atomic.Pointer[edgeSetup]
	reloadMu sync.Mutex
	// version is the version of the setup in force (store.ConfigVersion).
	version atomic.Int64
	// sounds is the call manager's library: prompts uploaded are added to it.
	sounds *media.Library
	// startVersion is the stored version storedSetup chose to start with (0: the file's).
	startVersion int64

	// calls is the context every call runs under (given to the manager):
	// shutdown cancels it after closing the gate, so no call outlives Run.
	calls       context.Context
	cancelCalls context.CancelFunc
	// closers release what New built, most recent first.
	closers []func()

	ready    chan struct{} // closed when SIP and HTTP serve
	stop     chan struct{} // closed by Shutdown
	stopOnce sync.Once
	done     chan struct{} // closed when Run has returned
	running  atomic.Bool
	closed   sync.Once
	started  time.Time // when New was called
	// dialer dials the outbound campaigns (dialer.go).
	dialer *dialer
}

// New builds every part of a node, in order, and binds its SIP and HTTP
// sockets; nothing serves until Run. If a part fails, what was built before
// it is closed again.
func New(cfg *config.Config, log *slog.Logger, opts ...Option) (*Node, error) {
	n := &Node{cfg: cfg, log: log, opts: options{shutdownTimeout: DefaultShutdownTimeout},
		ready: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{}), started: time.Now().UTC()}
	for _, o := range opts {
		o(&n.opts)
	}
	if n.log == nil {
		n.log = slog.Default()
	}
	if err := n.build(); err != nil {
		n.release()
		return nil, err
	}
	return n, nil
}

// onClose registers f to run when the node is released, before everything
// registered earlier.
func (n *Node) onClose(f func()) { n.closers = append(n.closers, f) }

// release runs the closers, most recent first, once.
func (n *Node) release() {
	n.closed.Do(func() {
		for i := len(n.closers) - 1; i >= 0; i-- {
			n.closers[i]()
		}
	})
}

// Close releases a node whose Run was never called (Run releases it itself).
func (n *Node) Close() error {
	if !n.running.Load() {
		n.release()
	}
	return nil
}

func (n *Node) build() error {
	cfg, log := n.cfg, n.log
	mediaIP, err := netip.ParseAddr(cfg.Server.MediaIP)
	if err != nil {
		return fmt.Errorf("server.media_ip: %w", err)
	}
	n.st, err = store.New(StoreOptions(cfg), log)
	if err != nil {
		return err
	}
	n.onClose(func() { n.st.Flush(); n.st.Close() })
	if err := n.storedSetup(); err != nil {
		return err
	}
	cfg = n.cfg
	sounds, err := n.loadSounds(cfg)
	if err != nil {
		return err
	}
	n.sounds = sounds
	if n.st.Shared() {
		if err := n.joinCluster(); err != nil {
			return err
		}
	}
	if err := n.recover(); err != nil {
		return err
	}

	n.eng, err = media.NewEngine(media.EngineConfig{IP: mediaIP, PortMin: cfg.Server.RTPPortMin, PortMax: cfg.Server.RTPPortMax, Log: log})
	if err != nil {
		return err
	}
	n.hooks = webhook.New(cfg.Webhooks, webhook.DefaultSettings, log)
	n.hub = &api.Hub{}

	n.calls, n.cancelCalls = context.WithCancel(context.Background())
	n.onClose(n.cancelCalls)
	n.mgr, err = call.NewManager(n.calls, cfg, sounds, n.events(), log)
	if err != nil {
		return err
	}
	n.watchLag()
	n.dialer = newDialer(n)
	if n.st.Shared() {
		if err := n.joinACD(); err != nil {
			return err
		}
	}

	sipCfg := n.sipConfig()
	if sipCfg.TLS, err = n.sipTLS(); err != nil {
		return err
	}
	if n.st.Shared() {
		// One nonce key for the cluster: a phone challenged by one node
		// may answer to another (Kamailio picks a node per request).
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		sipCfg.NonceKey, err = n.st.SharedSecret(ctx, "sip_nonce_key", 32)
		cancel()
		if err != nil {
			return fmt.Errorf("node: the cluster's nonce key: %w", err)
		}
	}
	if n.sip, err = sip.New(sipCfg, n.eng, n.mgr); err != nil {
		return err
	}
	n.onClose(func() { n.sip.Close() })
	// Only security.exempt is exempt, not every trunk's inbound sources:
	// the demo trusts all of loopback, and must still ban a guesser there.
	// Every security event is a log line a fail2ban filter can read (see
	// security.LogMessage).
	sec := cfg.Security
	n.guard = security.New(security.Settings{BanAfter: sec.BanAfter, BanWindow: sec.BanWindow, BanFor: sec.BanFor,
		Exempt: sec.Exempt, Recent: sec.RecentEvents, ReportEvery: sec.ReportEvery},
		security.SystemClock{}, func(ev security.Event) { log.Warn(security.LogMessage, ev.LogAttrs()...) })
	n.sip.Protect(n.guard)
	n.mgr.SetDialer(n.sip)

	n.vm = voicemail.New(filepath.Join(cfg.Server.DataDir, "voicemail"), cfg.Voicemail.SMTP, n.st, log)
	n.mgr.SetVoicemail(n.vm)
	n.recs = recording.New(filepath.Join(cfg.Server.DataDir, "recordings"), log)
	n.mgr.SetRecordings(n.recs, n.st)
	if n.speech = n.newSpeech(); n.speech != nil {
		n.mgr.SetSpeech(n.speech)
	}
	n.indexOrphans()
	n.restore() // registrations, agents' states, hours overrides (recover.go)

	n.recordStartVersion()
	if err := n.buildAPI(); err != nil {
		return err
	}
	n.api.Security = n.guard
	n.restoreCallbacks()

	n.httpLn, err = net.Listen("tcp", cfg.Server.HTTPListen)
	if err != nil {
		return fmt.Errorf("listen http %s: %w", cfg.Server.HTTPListen, err)
	}
	n.onClose(func() { n.httpLn.Close() })
	n.httpSrv = &http.Server{Handler: n.api, ReadHeaderTimeout: 10 * time.Second}
	return n.buildHTTPS()
}

// watchLag runs the lag monitor from now until the node is released, when
// limits.max_lag is set; the call manager refuses new calls while it says
// the node is overloaded.
func (n *Node) watchLag() {
	maxLag := n.cfg.Limits.MaxLag
	if maxLag <= 0 {
		return
	}
	mon := overload.New(overload.Config{MaxLag: maxLag, Clock: n.opts.lagClock, Log: n.log})
	n.lag = mon
	n.mgr.SetOverload(mon)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		mon.Run(ctx)
	}()
	n.onClose(func() { stop(); <-done })
}

// AdmissionCollector exports to Prometheus the new calls admission refused,
// by reason, and the lag monitor's lag when limits.max_lag is set.
func (n *Node) AdmissionCollector() prometheus.Collector {
	return &admissionCollector{n: n,
		refused: prometheus.NewDesc("switchboard_calls_refused_total",
			"New calls refused with 503 by admission, by reason (max_calls, max_calls_per_second, max_lag, shutdown).", []string{"reason"}, nil),
		lag: prometheus.NewDesc("switchboard_lag_seconds", "The node's own lag: how late a goroutine sleeping 20 ms wakes, averaged (limits.max_lag).", nil, nil),
	}
}

type admissionCollector struct {
	n            *Node
	refused, lag *prometheus.Desc
}

func (c *admissionCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.refused; ch <- c.lag }

func (c *admissionCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.n.mgr.Refused()
	for _, why := range []call.Refusal{call.RefusedMaxCalls, call.RefusedRate, call.RefusedLag, call.RefusedShutdown} {
		ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(r[why]), string(why)) // zero included: no gaps in dashboards
	}
	if c.n.lag != nil {
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, c.n.lag.Lag().Seconds())
	}
}

// sipConfig derives the SIP edge's settings: trusted trunk sources, trunk
// registrations and the agents' passwords.
func (n *Node) sipConfig() sip.Config {
	cfg, log := n.cfg, n.log
	var (
		trusted []netip.Prefix
		regs    []sip.TrunkRegistration
	)
	for _, t := range cfg.Trunks {
		for _, src := range t.InboundSources {
			p, _ := config.ParseSource(src) // validated at load
			trusted = append(trusted, p)
		}
		if o := t.Outbound; o != nil && o.Register {
			regs = append(regs, sip.TrunkRegistration{Name: t.Name, Host: o.Host, Transport: o.Transport,
				Username: o.Username, Password: o.Password, Expires: o.Expires})
			// A registered trunk's calls come from its carrier: identified by
			// the registration's host.
			if ps, err := hostPrefixes(o.Host); err == nil {
				trusted = append(trusted, ps...)
			} else {
				log.Warn("trunk host does not resolve; its inbound calls will need authentication", "trunk", t.Name, "host", o.Host, "err", err)
			}
		}
	}
	n.applySIP(cfg)
	return sip.Config{
		Listen: cfg.Server.SIPListen, Realm: cfg.Server.Realm, Trusted: trusted, Proxies: cfg.Node.ProxyAddrs(),
		MinExpires: cfg.Server.RegisterMinExpires, MaxExpires: cfg.Server.RegisterMaxExpires,
		// Both follow the setup in force (applySIP, on every reload).
		HA1: func(u string) (string, bool) { h, ok := n.edge.Load().ha1s[u]; return h, ok },
		// A trusted source (a trunk's address) reaches the setup's numbers
		// without credentials; everything else — extensions, feature codes,
		// and numbers that lead nowhere — is challenged alike, so whether
		// an extension exists cannot be learned from the answer.
		AuthRequired: func(dialed string) bool {
			_, number := n.edge.Load().numbers[dialed]
			return !number
		},
		Trunks: regs,
		SRTP:   n.srtpConfig(),
		Edge:   n.edgeConfig(),
		Log:    log,
	}
}

// sipTLS loads SIP over TLS: the listener's certificate (the self-signed
// one in the data directory, created at first start, when the setup names
// none) and the CAs trunks with tls_ca are pinned to.
func (n *Node) sipTLS() (sip.TLSConfig, error) {
	s := n.cfg.Server
	tc := sip.TLSConfig{Listen: s.SIPTLSListen, PinnedCAs: map[string][]*x509.Certificate{}}
	for _, t := range n.cfg.Trunks {
		if o := t.Outbound; o != nil && o.TLSCA != "" {
			cas, err := sip.LoadCAs(o.TLSCA)
			if err != nil {
				return tc, fmt.Errorf("trunk %q: %w", t.Name, err)
			}
			host, _, _ := net.SplitHostPort(o.Host) // validated at load
			host = strings.ToLower(host)
			tc.PinnedCAs[host] = append(tc.PinnedCAs[host], cas...)
		}
	}
	if tc.Listen == "" {
		return tc, nil
	}
	certFile, keyFile, selfSigned := s.TLSFiles()
	host, _, _ := net.SplitHostPort(tc.Listen)
	cert, created, err := sip.LoadCertificate(certFile, keyFile, selfSigned, host)
	if err != nil {
		return tc, err
	}
	if created {
		n.log.Info("created a self-signed certificate for SIP over TLS", "cert", certFile, "key", keyFile)
	}
	tc.Certificate = cert
	return tc, nil
}

// lookup resolves a trunk's host, bounded so a dead resolver cannot hold
// the start up.
// hostPrefixes are the addresses of host:port, each as a one-address
// prefix: the address itself, or what its name resolves to.
func hostPrefixes(hostport string) ([]netip.Prefix, error) {
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return []netip.Prefix{netip.PrefixFrom(ap.Addr().Unmap(), ap.Addr().Unmap().BitLen())}, nil
	}
	ips, err := lookup(hostport)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, 0, len(ips))
	for _, ip := range ips {
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out, nil
}

func lookup(hostport string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		h = hostport
	}
	return net.DefaultResolver.LookupNetIP(ctx, "ip", h)
}

// SIPAddr is the address the SIP edge is bound to (UDP and TCP).
func (n *Node) SIPAddr() netip.AddrPort { return n.sip.Addr() }

// SIPTLSAddr is the address SIP over TLS is bound to; invalid when the
// setup has no sip_tls_listen.
func (n *Node) SIPTLSAddr() netip.AddrPort { return n.sip.TLSAddr() }

// HTTPAddr is the address the HTTP API is bound to (with server.tls, the
// listener that redirects to HTTPS).
func (n *Node) HTTPAddr() netip.AddrPort {
	return n.httpLn.Addr().(*net.TCPAddr).AddrPort()
}

// HTTPSAddr is the address HTTPS is bound to; invalid when the setup has
// no server.tls.
func (n *Node) HTTPSAddr() netip.AddrPort {
	if n.httpsLn == nil {
		return netip.AddrPort{}
	}
	return n.httpsLn.Addr().(*net.TCPAddr).AddrPort()
}

// Config is the setup in force: the one the node was built from, or
// the last one a reload applied.
func (n *Node) Config() *config.Config { return n.current() }

// Ready is closed once the node serves SIP and HTTP.
func (n *Node) Ready() <-chan struct{} { return n.ready }

// Done is closed once Run has returned.
func (n *Node) Done() <-chan struct{} { return n.done }

// Shutdown begins the shutdown Run performs when its context ends: new
// INVITEs are refused with 503 from this moment on. It does not wait; Done
// is closed when Run has returned.
func (n *Node) Shutdown() {
	n.sip.Drain()
	n.stopOnce.Do(func() { close(n.stop) })
}

// Draining reports whether shutdown has begun.
func (n *Node) Draining() bool { return n.sip.Draining() }

func numbers(cfg *config.Config) string {
	var s []string
	for _, x := range cfg.Numbers {
		s = append(s, x.Number+"→"+x.Flow)
	}
	return strings.Join(s, ",")
}

// StoreOptions are the store cfg names, written as cfg's node.
func StoreOptions(cfg *config.Config) store.Options {
	return store.Options{Driver: cfg.Store.Driver, Dir: cfg.Server.DataDir, DSN: cfg.Store.DSN, Node: cfg.Node.Name}
}
