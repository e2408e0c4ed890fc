// Package loadgen plays both sides of a call center against a SIP server
// over real SIP (sipgo) and RTP (the media package): agents that register
// with digest auth, answer after a ring delay, talk for a sampled handle
// time and hang up; callers that arrive as a Poisson process, press IVR
// digits as RFC 4733 events, talk, and abandon after a sampled patience.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/sim"
	sbsip "github.com/switchboard/switchboard/internal/sip"
)

// Config is one load run.
type Config struct {
	// Target is the SIP server's host:port; Local the address to use here.
	Target string
	Local  string
	// SIPPort is this generator's SIP port (agents' Contact and callers' source).
	SIPPort        int
	RTPMin, RTPMax int
	// Agents to register and play; with none the callee answers (any SIP
	// server) and callers hang up themselves after the handle time.
	Agents, FirstExt int
	PasswordPrefix   string
	Number, Digits   string
	CallsPerSecond   float64
	Calls            int
	RingDelay        time.Duration
	Handle           sim.Dist
	Patience         sim.Dist // zero mean: callers never abandon
	// GreetingWait is how long a caller listens before pressing the digits.
	GreetingWait time.Duration
	Threshold    time.Duration
	Sound        *media.Sound
	Log          *slog.Logger
	Seed         uint64
	// RegisterExpiry is the registration lifetime the agents ask for
	// (DefaultRegisterExpiry when zero); they re-register at about half of
	// what the server grants, like a real phone, for as long as the run lasts.
	RegisterExpiry time.Duration
	// Hold, when set, makes the run an overload run: Hold calls are placed
	// first, HoldRate a second, and their agents talk for HoldFor; once
	// they are connected the Calls come at CallsPerSecond as a surge; once
	// the surge's calls have ended, Recover calls are placed at HoldRate.
	Hold     int
	HoldRate float64
	HoldFor  time.Duration
	Recover  int
	// AgentsFor, with Calls 0, makes the run agents only: they stay
	// registered this long and answer what the server offers them (the
	// calls of an outbound campaign).
	AgentsFor time.Duration
}

// Report is what a run measured.
type Report struct {
	Placed    int `json:"placed"`
	Answered  int `json:"answered"` // connected to an agent
	Abandoned int `json:"abandoned"`
	Failed    int `json:"failed"`
	// Refused503 got 503 to their INVITE (not counted in Failed);
	// RetryAfter of them with a Retry-After header.
	Refused503  int         `json:"refused_503"`
	RetryAfter  int         `json:"refused_503_with_retry_after"`
	Setup       Percentiles `json:"setup_latency_ms"`
	Wait        Percentiles `json:"wait_ms"`
	ServiceLvl  float64     `json:"service_level"`
	RTPSent     uint64      `json:"rtp_packets_sent"`
	RTPReceived uint64      `json:"rtp_packets_received"`
	RTPLost     uint64      `json:"rtp_packets_lost"`
	RTPLossPct  float64     `json:"rtp_loss_percent"`
	JitterMs    float64     `json:"jitter_ms_mean"`
	JitterMaxMs float64     `json:"jitter_ms_max"`
	PeakActive  int         `json:"peak_concurrent_calls"`
	// CallSeconds is the time the server carried the answered calls, each
	// from its 200 OK to its end, summed.
	CallSeconds float64       `json:"call_seconds"`
	Registered  int           `json:"agents_registered"`
	Duration    time.Duration `json:"-"`
	Seconds     float64       `json:"duration_seconds"`
	Errors      []string      `json:"errors,omitempty"`
	// AgentCalls is the calls the agents answered.
	AgentCalls int `json:"agent_calls"`
	// Overload is the phases of a run with Config.Hold.
	Overload *OverloadReport `json:"overload,omitempty"`
}

// Percentiles of a distribution, in milliseconds.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Progress is a live snapshot.
type Progress struct {
	Placed, Active, Connected, Answered, Abandoned, Failed, Refused int
}

// Generator runs a load.
type Generator struct {
	cfg    Config
	eng    *media.Engine
	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	dialog *sipgo.DialogUA

	mu       sync.Mutex
	legs     map[string]*agentLeg // SIP Call-ID → agent leg
	callers  map[string]*sipgo.DialogClientSession
	rng      *rand.Rand // under mu
	waiting  map[string]chan struct{}
	rep      Report
	setups   []float64
	waits    []float64
	within   int
	jitters  []float64
	active   atomic.Int64
	conn     atomic.Int64
	peak     atomic.Int64
	placed   atomic.Int64
	answered atomic.Int64
	agentAns atomic.Int64
	abandons atomic.Int64
	failed   atomic.Int64
	refusals atomic.Int64
	// callNanos sums the time the server carried each answered call, from
	// its 200 OK to the call's end (call-seconds).
	callNanos atomic.Int64
	// phase and callPhase are under mu: each phase's figures, and the
	// phase of each call in progress by the caller's number.
	phase     [phases]PhaseReport
	callPhase map[string]phase
	start     time.Time // when placing began, set before the first call
}

type agentLeg struct {
	dlg *sipgo.DialogServerSession
	ep  *media.Endpoint
}

// New prepares a generator.
func New(cfg Config) (*Generator, error) {
	ip, err := netip.ParseAddr(cfg.Local)
	if err != nil {
		return nil, fmt.Errorf("load: local address: %w", err)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	eng, err := media.NewEngine(media.EngineConfig{IP: ip, PortMin: cfg.RTPMin, PortMax: cfg.RTPMax, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	listen := net.JoinHostPort(cfg.Local, strconv.Itoa(cfg.SIPPort))
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("switchboard-load"), sipgo.WithUserAgentHostname(cfg.Local))
	if err != nil {
		return nil, err
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(cfg.Log))
	if err != nil {
		return nil, err
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(cfg.Local), sipgo.WithClientPort(cfg.SIPPort),
		sipgo.WithClientConnectionAddr(listen), sipgo.WithClientLogger(cfg.Log))
	if err != nil {
		return nil, err
	}
	g := &Generator{cfg: cfg, eng: eng, ua: ua, srv: srv, client: client,
		dialog: &sipgo.DialogUA{Client: client, ContactHDR: gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "load", Host: cfg.Local, Port: cfg.SIPPort}}},
		legs:   map[string]*agentLeg{}, callPhase: map[string]phase{}, waiting: map[string]chan struct{}{}, callers: map[string]*sipgo.DialogClientSession{},
		rng: rand.New(rand.NewPCG(cfg.Seed, 99))}
	srv.OnInvite(g.onInvite)
	srv.OnAck(func(req *gosip.Request, tx gosip.ServerTransaction) {
		if l := g.leg(req); l != nil {
			_ = l.dlg.ReadAck(req, tx)
		}
	})
	srv.OnBye(g.onBye)
	srv.OnOptions(func(req *gosip.Request, tx gosip.ServerTransaction) {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	return g, nil
}

// Snapshot returns live counters.
func (g *Generator) Snapshot() Progress {
	return Progress{Placed: int(g.placed.Load()), Active: int(g.active.Load()), Connected: int(g.conn.Load()),
		Answered: int(g.answered.Load()), Abandoned: int(g.abandons.Load()), Failed: int(g.failed.Load()), Refused: int(g.refusals.Load())}
}

func (g *Generator) leg(req *gosip.Request) *agentLeg {
	g.mu.Lock()
	defer g.mu.Unlock()
	if cid := req.CallID(); cid != nil {
		return g.legs[cid.Value()]
	}
	return nil
}

func (g *Generator) fail(format string, a ...any) {
	g.failed.Add(1)
	g.mu.Lock()
	if len(g.rep.Errors) < 20 {
		g.rep.Errors = append(g.rep.Errors, fmt.Sprintf(format, a...))
	}
	g.mu.Unlock()
}

// Run registers the agents, places the calls, waits for them to end (or
// ctx), and returns the report.
func (g *Generator) Run(ctx context.Context) (Report, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	udp, err := net.ListenPacket("udp", net.JoinHostPort(g.cfg.Local, strconv.Itoa(g.cfg.SIPPort)))
	if err != nil {
		return Report{}, fmt.Errorf("load: listen: %w", err)
	}
	if uc, ok := udp.(*net.UDPConn); ok {
		_ = uc.SetReadBuffer(8 << 20)
		_ = uc.SetWriteBuffer(8 << 20)
	}
	go func() { _ = g.srv.ServeUDP(udp) }()
	defer func() { udp.Close(); g.ua.Close() }()
	if err := sbsip.WaitListening(ctx, g.ua, udp.LocalAddr().String()); err != nil {
		return Report{}, err
	}
	go g.eng.Run(ctx)

	expiry := g.cfg.RegisterExpiry
	if expiry <= 0 {
		expiry = DefaultRegisterExpiry
	}
	regCtx, stopRefresh := context.WithCancel(ctx)
	var refreshers sync.WaitGroup
	defer func() { stopRefresh(); refreshers.Wait() }()
	registered, err := g.registerAll(ctx, int(expiry/time.Second), func(ext string, granted time.Duration) {
		refreshers.Add(1)
		go func() {
			defer refreshers.Done()
			g.keepRegistered(regCtx, ext, int(expiry/time.Second), granted)
		}()
	})
	g.rep.Registered = registered
	if err != nil {
		return g.rep, err
	}
	start := time.Now()
	g.mu.Lock()
	g.start = start
	g.mu.Unlock()
	rng := rand.New(rand.NewPCG(g.cfg.Seed, 77))
	switch {
	case g.cfg.Calls == 0 && g.cfg.AgentsFor > 0:
		select { // agents only: they answer what comes
		case <-time.After(g.cfg.AgentsFor):
		case <-ctx.Done():
		}
	case g.cfg.Hold > 0:
		g.runOverload(ctx, rng, start)
	default:
		var wg sync.WaitGroup
		next := 0
		g.place(ctx, &wg, rng, phaseMain, g.cfg.Calls, g.cfg.CallsPerSecond, true, start, &next)
		wg.Wait()
	}
	g.rep.Duration = time.Since(start)
	stopRefresh()
	refreshers.Wait()
	_, _ = g.registerAll(context.Background(), 0, nil)
	return g.finish(), nil
}

var errNoCodec = errors.New("no usable SDP")
