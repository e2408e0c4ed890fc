package loadgen

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/sim"
)

// Behavior is how the called party answers one call.
type Behavior string

// What a called number does.
const (
	// AnswerHuman: a person answers after the ring time, says "Hello?" and
	// waits, then talks until the talk time is up or the call is hung up.
	AnswerHuman Behavior = "human"
	// AnswerMachine: an answering machine plays its greeting and beep,
	// then records until hung up (at most 30 s).
	AnswerMachine Behavior = "machine"
	// Busy answers 486 Busy Here.
	Busy Behavior = "busy"
	// NoAnswer rings until the caller gives up (at most 2 minutes, then 480).
	NoAnswer Behavior = "no_answer"
	// Fail answers 404 Not Found (a number that does not exist).
	Fail Behavior = "fail"
)

// ParseBehavior reads a behavior's name.
func ParseBehavior(s string) (Behavior, error) {
	switch b := Behavior(s); b {
	case AnswerHuman, AnswerMachine, Busy, NoAnswer, Fail:
		return b, nil
	}
	return "", fmt.Errorf("unknown behavior %q (human, machine, busy, no_answer, fail)", s)
}

// CalleeConfig is the public network a campaign dials: the called party's
// mix of answers.
type CalleeConfig struct {
	// Listen is host:port to take calls on (UDP), e.g. the demo trunk's
	// 127.0.0.1:5080; RTPMin and RTPMax its media ports.
	Listen         string
	RTPMin, RTPMax int
	// The mix, for numbers not in Numbers: the shares answered by a
	// person, by a machine, and busy; the rest ring unanswered.
	AnswerRate, MachineRate, BusyRate float64
	// Ring is the time before an answer or a busy.
	Ring sim.Dist
	// Talk is how long a person stays on the line after answering, 4 s
	// at least (they hang up then, if the server has not).
	Talk sim.Dist
	// Numbers fixes the behavior of some numbers (tests).
	Numbers map[string]Behavior
	// Hello and Greeting are what a person and a machine say on answering
	// (the machine's ends with its beep).
	Hello, Greeting *media.Sound
	Seed            uint64
	Log             *slog.Logger
}

// CalleeCall is one call the called party took.
type CalleeCall struct {
	Number   string    `json:"number"`
	Behavior Behavior  `json:"behavior"`
	At       time.Time `json:"at"`
	Answered bool      `json:"answered"`
	// Rang is how long it rang before the answer, the busy or the cancel.
	Rang float64 `json:"rang_seconds"`
	// Heard is the seconds of sound (not silence) the server sent after the
	// answer: a dropped call's identification message, an agent's voice.
	Heard float64 `json:"heard_seconds"`
	// Seconds is how long the answered call lasted.
	Seconds float64 `json:"seconds"`
	// HungUpBy is "callee" or "server".
	HungUpBy string `json:"hung_up_by,omitempty"`
}

// CalleeReport is what the called party saw.
type CalleeReport struct {
	Calls      int              `json:"calls"`
	ByBehavior map[Behavior]int `json:"by_behavior"`
	// Concurrent is the most calls it had at once.
	Concurrent int          `json:"peak_concurrent_calls"`
	List       []CalleeCall `json:"list,omitempty"`
}

// minStay is the least a person stays on the line after answering.
const minStay = 4 * time.Second

// maxCalleeCalls bounds the calls a callee remembers.
const maxCalleeCalls = 100_000

// Callee is the called party: a SIP user agent that answers the calls a
// server places to the public network.
type Callee struct {
	cfg    CalleeConfig
	eng    *media.Engine
	srv    *sipgo.Server
	ua     *sipgo.UserAgent
	dialog *sipgo.DialogUA
	talk   *media.Sound

	mu     sync.Mutex
	rng    *rand.Rand
	calls  []CalleeCall
	dlgs   map[string]*sipgo.DialogServerSession
	active int
	peak   int
	byB    map[Behavior]int
}

// NewCallee builds a called party; Run takes calls.
func NewCallee(cfg CalleeConfig) (*Callee, error) {
	host, portS, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("callee: listen: %w", err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil, fmt.Errorf("callee: listen: %w", err)
	}
	port, _ := strconv.Atoi(portS)
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.AnswerRate < 0 || cfg.MachineRate < 0 || cfg.BusyRate < 0 || cfg.AnswerRate+cfg.MachineRate+cfg.BusyRate > 1 {
		return nil, fmt.Errorf("callee: the answer, machine and busy rates must be ≥ 0 and sum to at most 1")
	}
	if cfg.Hello == nil || cfg.Greeting == nil {
		return nil, fmt.Errorf("callee: a person's hello and a machine's greeting are needed")
	}
	if cfg.Ring.Mean <= 0 {
		cfg.Ring = sim.Dist{Kind: "constant", Mean: 2 * time.Second}
	}
	if cfg.Talk.Mean <= 0 {
		cfg.Talk = sim.Dist{Kind: "constant", Mean: 30 * time.Second}
	}
	eng, err := media.NewEngine(media.EngineConfig{IP: ip, PortMin: cfg.RTPMin, PortMax: cfg.RTPMax, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("switchboard-callee"), sipgo.WithUserAgentHostname(host))
	if err != nil {
		return nil, err
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(cfg.Log))
	if err != nil {
		return nil, err
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(host), sipgo.WithClientPort(port),
		sipgo.WithClientConnectionAddr(cfg.Listen), sipgo.WithClientLogger(cfg.Log))
	if err != nil {
		return nil, err
	}
	c := &Callee{cfg: cfg, eng: eng, srv: srv, ua: ua, talk: talkSound(),
		dialog: &sipgo.DialogUA{Client: client, ContactHDR: gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "callee", Host: host, Port: port}}},
		rng:    rand.New(rand.NewPCG(cfg.Seed, 0xca11ee)), dlgs: map[string]*sipgo.DialogServerSession{}, byB: map[Behavior]int{}}
	srv.OnInvite(c.onInvite)
	srv.OnAck(func(req *gosip.Request, tx gosip.ServerTransaction) {
		if d := c.dlg(req); d != nil {
			_ = d.ReadAck(req, tx)
		}
	})
	srv.OnBye(func(req *gosip.Request, tx gosip.ServerTransaction) {
		if d := c.dlg(req); d != nil {
			_ = d.ReadBye(req, tx)
			return
		}
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	})
	srv.OnOptions(func(req *gosip.Request, tx gosip.ServerTransaction) {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	return c, nil
}

// talkSound is a person talking, as far as a test can tell: a quiet
// 300 Hz tone in half-second bursts.
func talkSound() *media.Sound {
	pcm := make([]int16, 8000*2)
	for i := range pcm {
		if (i/4000)%2 == 0 {
			pcm[i] = int16(1500 * math.Sin(float64(i)*2*math.Pi*300/8000))
		}
	}
	return media.NewSound("callee-talk", pcm)
}

func (c *Callee) dlg(req *gosip.Request) *sipgo.DialogServerSession {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id := req.CallID(); id != nil {
		return c.dlgs[id.Value()]
	}
	return nil
}

// Run takes calls until ctx ends, then hangs up what is left.
func (c *Callee) Run(ctx context.Context) error {
	mctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.eng.Run(mctx) }()
	err := c.srv.ListenAndServe(ctx, "udp", c.cfg.Listen)
	c.mu.Lock()
	for _, d := range c.dlgs {
		_ = d.Close()
	}
	c.mu.Unlock()
	stop()
	<-done
	c.ua.Close()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Report is what the callee saw so far.
func (c *Callee) Report(withList bool) CalleeReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := CalleeReport{Calls: len(c.calls), ByBehavior: map[Behavior]int{}, Concurrent: c.peak}
	for b, n := range c.byB {
		r.ByBehavior[b] = n
	}
	if withList {
		r.List = append([]CalleeCall(nil), c.calls...)
	}
	return r
}

// Calls is the calls taken so far.
func (c *Callee) Calls() []CalleeCall { return c.Report(true).List }

func (c *Callee) behavior(number string) (Behavior, time.Duration, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ring, talk := c.cfg.Ring.Sample(c.rng), c.cfg.Talk.Sample(c.rng)
	if b, ok := c.cfg.Numbers[number]; ok {
		return b, ring, talk
	}
	u := c.rng.Float64()
	switch {
	case u < c.cfg.AnswerRate:
		return AnswerHuman, ring, talk
	case u < c.cfg.AnswerRate+c.cfg.MachineRate:
		return AnswerMachine, ring, talk
	case u < c.cfg.AnswerRate+c.cfg.MachineRate+c.cfg.BusyRate:
		return Busy, ring, talk
	}
	return NoAnswer, ring, talk
}

func (c *Callee) onInvite(req *gosip.Request, tx gosip.ServerTransaction) {
	number := req.Recipient.User
	b, ring, talk := c.behavior(number)
	rec := CalleeCall{Number: number, Behavior: b, At: time.Now()}
	switch b {
	case Fail:
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 404, "Not Found", nil))
		c.note(rec)
		return
	}
	sess, err := media.ParseSDP(req.Body())
	if err != nil {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	dlg, err := c.dialog.ReadInvite(req, tx)
	if err != nil {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	cid := req.CallID().Value()
	c.mu.Lock()
	c.dlgs[cid] = dlg
	c.active++
	c.peak = max(c.peak, c.active)
	c.mu.Unlock()
	final := make(chan struct{}) // the INVITE's final response went out
	go c.serve(dlg, cid, sess, b, ring, talk, rec, final)
	// Keep the INVITE transaction until its final response is out.
	select {
	case <-final:
	case <-dlg.Context().Done():
	}
}

// serve plays one call out; final is closed once the INVITE has its final
// response.
func (c *Callee) serve(dlg *sipgo.DialogServerSession, cid string, sess media.Session, b Behavior, ring, talk time.Duration, rec CalleeCall, final chan struct{}) {
	var once sync.Once
	responded := func() { once.Do(func() { close(final) }) }
	defer responded()
	defer func() {
		c.mu.Lock()
		delete(c.dlgs, cid)
		c.active--
		c.mu.Unlock()
		_ = dlg.Close()
	}()
	_ = dlg.Respond(180, "Ringing", nil)
	t0 := time.Now()
	wait := ring
	if b == NoAnswer {
		wait = 2 * time.Minute
	}
	select {
	case <-time.After(wait):
	case <-dlg.Context().Done(): // cancelled while ringing
		rec.Rang = time.Since(t0).Seconds()
		c.note(rec)
		return
	}
	rec.Rang = time.Since(t0).Seconds()
	switch b {
	case Busy:
		_ = dlg.Respond(486, "Busy Here", nil)
		responded()
		c.note(rec)
		return
	case NoAnswer:
		_ = dlg.Respond(480, "Temporarily Unavailable", nil)
		responded()
		c.note(rec)
		return
	}
	ep, err := c.eng.NewEndpoint()
	if err != nil {
		_ = dlg.Respond(503, "Service Unavailable", nil)
		responded()
		c.note(rec)
		return
	}
	defer ep.Close()
	ep.SetSession(sess)
	var heard heardCounter
	ep.Tap(heard.tap)
	answer := media.BuildSDP(media.Offer{Local: ep.Local(), SessionID: rand.Uint64() >> 1, Codecs: []media.Codec{sess.Codec},
		TelephoneEvent: sess.TelephoneEvent})
	err = dlg.RespondSDP(answer)
	responded()
	if err != nil {
		c.note(rec)
		return
	}
	rec.Answered = true
	answered := time.Now()
	stay := max(talk, minStay) // a person says hello and waits a moment at least
	if b == AnswerMachine {
		stay = 30 * time.Second
		ep.Play(c.cfg.Greeting)
	} else {
		greeted := ep.Play(c.cfg.Hello)
		go func() { // after a pause (AMD hears the silence), the person talks
			select {
			case <-greeted:
			case <-dlg.Context().Done():
				return
			}
			select {
			case <-time.After(3 * time.Second):
				ep.Loop(c.talk)
			case <-dlg.Context().Done():
			}
		}()
	}
	select {
	case <-time.After(stay):
		rec.HungUpBy = "callee"
		bctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = dlg.Bye(bctx)
		cancel()
	case <-dlg.Context().Done():
		rec.HungUpBy = "server"
	}
	ep.Tap(nil)
	rec.Seconds = time.Since(answered).Seconds()
	rec.Heard = heard.seconds()
	c.note(rec)
}

func (c *Callee) note(r CalleeCall) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byB[r.Behavior]++
	if len(c.calls) < maxCalleeCalls {
		c.calls = append(c.calls, r)
	}
}

// heardCounter counts the audio packets with sound in them (above about
// -40 dBFS), and their length.
type heardCounter struct {
	mu      sync.Mutex
	samples int
	pcm     [320]int16
}

func (h *heardCounter) tap(codec media.Codec, payload []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := min(len(payload), len(h.pcm))
	media.Decode(codec, h.pcm[:n], payload[:n])
	var sum int64
	for _, s := range h.pcm[:n] {
		sum += int64(s) * int64(s)
	}
	if n > 0 && sum/int64(n) > 100*100 {
		h.samples += n
	}
}

func (h *heardCounter) seconds() float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return float64(h.samples) / 8000
}
