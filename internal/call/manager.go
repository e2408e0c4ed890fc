// Package call owns calls: one Call is a caller's leg, the flow it runs, its
// place in the ACD and the agent leg it is bridged to. It is the only place
// a call's life is decided, and it turns every step into an event and a call
// record in the store.
package call

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/flow"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/sip"
	"github.com/switchboard/switchboard/internal/store"
	"github.com/switchboard/switchboard/internal/voicemail"
)

// Dialer rings an agent's phone (the SIP edge).
type Dialer interface {
	Dial(ctx context.Context, d sip.DialRequest) (*sip.Leg, error)
	Registered(user string) (sip.Binding, bool)
	DialTrunk(ctx context.Context, d sip.TrunkDial) (*sip.Leg, error)
	NewLocalLeg(name string) (*sip.Leg, error)
}

// Softphones are agents' browser phones: when an agent's desktop has one
// connected, calls ring there instead of on a SIP phone.
type Softphones interface {
	// Has reports whether user's softphone can be rung from here (in a
	// cluster, through another node too); HasHere whether it is connected
	// with this node, the device this node vouches for.
	Has(user string) bool
	HasHere(user string) bool
	Ring(ctx context.Context, user, caller string, ep *media.Endpoint) (<-chan struct{}, error)
	Hangup(user string)
}

// SetSoftphones connects the browser phones.
func (m *Manager) SetSoftphones(p Softphones) { m.phones = p }

// dialAgent rings an agent: on the desktop's softphone when one is
// connected (the desktop wins), else on the registered SIP phone.
// ringing, if set, is called when a SIP phone starts ringing.
func (m *Manager) dialAgent(ctx context.Context, user, number, name string, ringing ...func()) (*sip.Leg, error) {
	if m.phones == nil || !m.phones.Has(user) {
		d := sip.DialRequest{User: user, CallerID: number, CallerName: name}
		if len(ringing) > 0 {
			d.Ringing = ringing[0]
		}
		return m.dialer.Dial(ctx, d)
	}
	leg, err := m.dialer.NewLocalLeg("webrtc-" + user)
	if err != nil {
		return nil, err
	}
	who := number
	if name != "" {
		who = name + " <" + number + ">"
	}
	done, err := m.phones.Ring(ctx, user, who, leg.Media())
	if err != nil {
		leg.Hangup()
		return nil, fmt.Errorf("softphone %s: %w", user, err)
	}
	leg.OnEnd(func() { m.phones.Hangup(user) })
	go func() { // the desktop hangs up or goes away: the leg ends
		select {
		case <-done:
			leg.Hangup()
		case <-leg.Done():
		}
	}()
	return leg, nil
}

// Mailboxes stores voicemail messages (and has them emailed).
type Mailboxes interface {
	Save(ctx context.Context, m voicemail.Message) (store.Voicemail, error)
}

// Recorder persists call records, queue segments and events.
type Recorder interface {
	SaveCall(r store.CallRecord)
	SaveSegment(s store.QueueSegment)
	AppendEvent(e store.Event)
}

// Manager runs every call of the node.
type Manager struct {
	// setup is the setup in force: replaced whole by Apply, read whole by
	// config and agent (never a field of it changed in place).
	setup atomic.Pointer[setup]
	log   *slog.Logger
	// acd is where the manager's queue work goes: engine, or in a
	// cluster the leader's ACD (SetDistributor).
	acd Distributor
	// engine is the node's own ACD: it decides alone on one node, and for
	// the cluster while the node leads.
	engine *acd.ACD
	sounds *media.Library
	rec    Recorder
	dialer Dialer
	vm     Mailboxes
	recs   Recordings
	recIdx RecordingIndex
	speech Speech
	phones Softphones
	hours  *flow.Calendar

	ctx  context.Context
	wake chan struct{}

	mu      sync.Mutex
	closing bool // once set, no new call starts (admit)
	// tokens and refilled are the new-call rate's bucket (limits.max_calls_per_second).
	tokens   float64
	refilled time.Time
	calls    map[string]*Call
	offers   map[uint64]context.CancelFunc
	// monitors are the supervisors' desktop monitors running, by user.
	monitors map[string]monitorRun
	outcomes map[string]uint64
	// overload is the lag monitor (SetOverload); refused counts admission's
	// refusals by reason.
	overload Overload
	refused  map[Refusal]uint64
	// wg counts the goroutines of calls, offers and monitors; Add only
	// under mu while not closing.
	wg sync.WaitGroup
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// NewManager wires the ACD to the configured queues and agents.
func NewManager(ctx context.Context, cfg *config.Config, sounds *media.Library, rec Recorder, log *slog.Logger) (*Manager, error) {
	m := &Manager{
		log: log, sounds: sounds, rec: rec, ctx: ctx,
		hours: flow.NewCalendar(cfg.Hours),
		wake:  make(chan struct{}, 1), calls: map[string]*Call{}, tokens: max(cfg.Limits.MaxCallsPerSecond, 1), refilled: time.Now(), offers: map[uint64]context.CancelFunc{}, outcomes: map[string]uint64{},
		monitors: map[string]monitorRun{},
	}
	m.setup.Store(newSetup(cfg))
	for _, name := range cfg.Sounds() {
		if _, ok := sounds.Get(name); !ok {
			return nil, fmt.Errorf("sound %q is used by the setup but not in the sounds directory", name)
		}
	}
	engine, err := m.NewEngine(m, m.ACDEvent)
	if err != nil {
		return nil, err
	}
	m.engine, m.acd = engine, engine
	return m, nil
}

// NewEngine makes an ACD with the queues and agents of the setup in
// force, whose decisions go to offerer and its events to sink: the
// manager's own, or a cluster leader's.
func (m *Manager) NewEngine(offerer acd.Offerer, sink func(acd.Event)) (*acd.ACD, error) {
	cfg := m.config()
	a := acd.New(realClock{}, offerer, sink)
	for _, q := range cfg.Queues {
		qc, err := queueConfig(q)
		if err != nil {
			return nil, err
		}
		a.AddQueue(qc)
	}
	for _, ag := range cfg.Agents {
		if err := a.AddAgent(acd.AgentConfig{ID: ag.Extension, Queues: ag.Queues, Skills: ag.Skills}); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// SetDistributor sends the manager's queue work to d (the cluster's ACD)
// instead of the node's own engine. Call it before the first call.
func (m *Manager) SetDistributor(d Distributor) { m.acd = d }

// Engine is the node's own ACD.
func (m *Manager) Engine() *acd.ACD { return m.engine }

// queueConfig turns a configured queue into the ACD's view of it.
func queueConfig(q config.Queue) (acd.QueueConfig, error) {
	strategy, err := acd.ParseStrategy(q.Strategy)
	if err != nil {
		return acd.QueueConfig{}, fmt.Errorf("queue %q: %w", q.Name, err)
	}
	qc := acd.QueueConfig{Name: q.Name, RingTimeout: q.RingTimeout, WrapUp: q.WrapUp, Strategy: strategy,
		Priority: q.Priority, Skills: q.Skills, MissedToAway: q.MissedToAway}
	for _, e := range q.Escalation {
		qc.Escalations = append(qc.Escalations, acd.Escalation{After: e.After, MinProficiency: e.MinProficiency, AddQueues: e.AddQueues})
	}
	return qc, nil
}

// setup is one setup and what is derived from it, replaced together.
type setup struct {
	cfg    *config.Config
	agents map[string]config.Agent // by extension
}

func newSetup(cfg *config.Config) *setup {
	s := &setup{cfg: cfg, agents: make(map[string]config.Agent, len(cfg.Agents))}
	for _, a := range cfg.Agents {
		s.agents[a.Extension] = a
	}
	return s
}

// config is the setup in force now. A call takes it once per step that
// needs it, so a reload applies to the next step of every call.
func (m *Manager) config() *config.Config { return m.setup.Load().cfg }

// agent is the agent with extension ext in the setup in force.
func (m *Manager) agent(ext string) (config.Agent, bool) {
	a, ok := m.setup.Load().agents[ext]
	return a, ok
}

// Calendar is the business hours with their manual overrides.
func (m *Manager) Calendar() *flow.Calendar { return m.hours }

// SetDialer connects the SIP edge (built after the manager, which is its handler).
func (m *Manager) SetDialer(d Dialer) { m.dialer = d }

// SetVoicemail connects message storage.
func (m *Manager) SetVoicemail(vm Mailboxes) { m.vm = vm }

// ACD is the distributor the manager uses, for the API.
func (m *Manager) ACD() Distributor { return m.acd }

// Outcomes counts ended calls by outcome since start.
func (m *Manager) Outcomes() map[string]uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]uint64, len(m.outcomes))
	for k, v := range m.outcomes {
		out[k] = v
	}
	return out
}

func (m *Manager) countOutcome(o string) {
	m.mu.Lock()
	m.outcomes[o]++
	m.mu.Unlock()
}

// Active returns the number of calls in progress.
func (m *Manager) Active() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.calls)
}

// Run drives the ACD's timers until ctx ends, then waits for calls to finish.
func (m *Manager) Run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next, ok := m.engine.NextDeadline()
		wait := time.Hour
		if ok {
			wait = max(time.Until(next), 0)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			m.Shutdown()
			m.wg.Wait()
			// Agents are logged out with the server, so reports do not
			// charge the time it is down to their state before the stop.
			// (Not in a cluster: the agents stay with the other nodes.)
			if m.acd == Distributor(m.engine) {
				m.engine.LogoutAll("server stopped")
			}
			return
		case <-m.wake:
		case <-timer.C:
			m.engine.Tick()
		}
	}
}

// Shutdown closes the gate: no new call, offer or monitor starts from now
// on. Calls in progress end with the context they run under.
func (m *Manager) Shutdown() {
	m.mu.Lock()
	m.closing = true
	m.mu.Unlock()
}

// admit registers a new call unless shutdown has begun, the node is at
// its capacity or it lags (why says which, and Refused counts it); on true
// the caller must call m.wg.Done when the call is over.
func (m *Manager) admit(c *Call) (ok bool, why string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return m.refuse(RefusedShutdown, "shutting down")
	}
	lim := m.config().Limits
	if lim.MaxCalls > 0 && len(m.calls) >= lim.MaxCalls {
		return m.refuse(RefusedMaxCalls, fmt.Sprintf("at capacity (%d calls)", lim.MaxCalls))
	}
	// Before the rate's bucket, so a call refused for lag takes no token.
	if why, over := m.lagging(); over {
		return m.refuse(RefusedLag, why)
	}
	if r := lim.MaxCallsPerSecond; r > 0 {
		now := time.Now()
		m.tokens = min(m.tokens+now.Sub(m.refilled).Seconds()*r, max(r, 1))
		m.refilled = now
		if m.tokens < 1 {
			return m.refuse(RefusedRate, fmt.Sprintf("over %.0f new calls a second", r))
		}
		m.tokens--
	}
	m.calls[c.ID] = c
	m.wg.Add(1)
	return true, ""
}

func (m *Manager) isClosing() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closing
}

// goTracked starts f as a goroutine of the manager, unless shutdown has begun.
func (m *Manager) goTracked(f func()) bool {
	m.mu.Lock()
	if m.closing {
		m.mu.Unlock()
		return false
	}
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		f()
	}()
	return true
}

func (m *Manager) forget(c *Call) {
	m.mu.Lock()
	delete(m.calls, c.ID)
	m.mu.Unlock()
}

// poke makes Run look at the ACD's deadlines again.
func (m *Manager) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// command runs f on a live call's goroutine.
func (m *Manager) command(callID, op string, f func(c *Call) error) error {
	c := m.call(callID)
	if c == nil {
		return fmt.Errorf("%w: %s", ErrUnknownCall, callID)
	}
	err := c.do(op, f)
	if err == ErrUnknownCall {
		return fmt.Errorf("%w: %s", ErrUnknownCall, callID)
	}
	return err
}

// dialWhile places an outbound leg with dial, for at most timeout, while a
// party waits; if gone closes first the attempt is cancelled, a leg that
// answered regardless is hung up, and errWaiterGone is returned.
func dialWhile(ctx context.Context, timeout time.Duration, gone <-chan struct{}, dial func(context.Context) (*sip.Leg, error)) (*sip.Leg, error) {
	return dialTaking(ctx, timeout, gone, nil, dial)
}

// dial is dialWhile on the call's goroutine: commands keep being taken
// (and answered) while the leg rings.
func (c *Call) dial(ctx context.Context, timeout time.Duration, gone <-chan struct{}, dial func(context.Context) (*sip.Leg, error)) (*sip.Leg, error) {
	return dialTaking(ctx, timeout, gone, c, dial)
}

func dialTaking(ctx context.Context, timeout time.Duration, gone <-chan struct{}, c *Call, dial func(context.Context) (*sip.Leg, error)) (*sip.Leg, error) {
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		leg *sip.Leg
		err error
	}
	res := make(chan result, 1)
	go func() {
		l, err := dial(dctx)
		res <- result{l, err}
	}()
	var cmds chan *command
	if c != nil {
		cmds = c.cmds
		c.dialCancel = cancel // a hang-up from the API stops the dial
		defer func() { c.dialCancel = nil }()
	}
	for {
		select {
		case r := <-res:
			return r.leg, r.err
		case k := <-cmds:
			c.exec(k)
		case <-gone:
			cancel()
			if r := <-res; r.leg != nil {
				r.leg.Hangup()
			}
			return nil, errWaiterGone
		case <-ctx.Done():
			// The call's time is up or the node stops: the dial is cancelled
			// and not waited for (a far end that never answers the CANCEL
			// must not hold a shutdown); a leg that answers meanwhile is hung up.
			cancel()
			go func() {
				if r := <-res; r.leg != nil {
					r.leg.Hangup()
				}
			}()
			return nil, fmt.Errorf("dial: %w", ctx.Err())
		}
	}
}

// dialTrunk calls a number over the named outbound trunk ("" for the
// first), presenting callerID (the trunk's own caller ID wins when set).
func (m *Manager) dialTrunk(ctx context.Context, trunk, number, callerID, callerName string) (*sip.Leg, error) {
	t, ok := m.config().OutboundTrunk(trunk)
	if !ok {
		return nil, ErrNoTrunk
	}
	ob := t.Outbound
	if ob.CallerID != "" {
		callerID = ob.CallerID
	}
	return m.dialer.DialTrunk(ctx, sip.TrunkDial{Host: ob.Host, Transport: ob.Transport, Number: number, CallerID: callerID,
		CallerName: callerName, Username: ob.Username, Password: ob.Password})
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

func (m *Manager) event(kind event.Kind, callID, agent, queue, detail string) {
	m.rec.AppendEvent(store.Event{At: time.Now(), Kind: kind, CallID: callID, Agent: agent, Queue: queue, Detail: detail})
}

// acdEvent stores an ACD event and keeps the call record's offer time.
// ACDEvent records an event of the ACD: the sink of the node's engine,
// and in a cluster of the leader's.
func (m *Manager) ACDEvent(e acd.Event) {
	m.rec.AppendEvent(store.Event{At: e.At, Kind: e.Kind, CallID: e.CallID, Agent: e.AgentID, Queue: e.Queue, Detail: e.Detail,
		State: string(e.State), Reason: e.Reason})
	if e.Kind == acd.EventOffered {
		if c := m.call(e.CallID); c != nil {
			c.update(func(r *store.CallRecord) {
				if r.OfferedAt == nil {
					t := e.At
					r.OfferedAt = &t
				}
			})
		}
	}
	m.poke()
}

func (m *Manager) call(id string) *Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls[id]
}

// Registration follows an agent's phone registering or going away: the
// phone is reachable or not (device state: an unreachable agent is not
// offered calls), and agents configured so are logged in or out (a
// logout during a call waits for its end).
func (m *Manager) Registration(user string, registered bool) {
	a, ok := m.agent(user)
	if !ok {
		return
	}
	reachable := registered || (m.phones != nil && m.phones.HasHere(user))
	if err := m.acd.SetReachable(user, reachable); err != nil {
		m.log.Warn("agent device state", "agent", user, "err", err)
	}
	if a.LoginOnRegister {
		var err error
		if registered {
			err = m.acd.Login(user)
		} else {
			err = m.acd.Logout(user)
		}
		if err != nil {
			m.log.Warn("agent login on registration", "agent", user, "err", err)
		}
	}
	m.poke()
}

// DeviceChanged recomputes whether an agent can be reached: a registered
// SIP phone or a connected browser softphone. Call it when either changes.
func (m *Manager) DeviceChanged(user string) {
	if _, ok := m.agent(user); !ok {
		return
	}
	reachable := m.phones != nil && m.phones.HasHere(user)
	if !reachable && m.dialer != nil {
		_, reachable = m.dialer.Registered(user)
	}
	if err := m.acd.SetReachable(user, reachable); err != nil {
		m.log.Warn("agent device state", "agent", user, "err", err)
	}
	m.poke()
}

// Rejected records a call the SIP edge refused.
func (m *Manager) Rejected(r sip.Rejection) {
	now := time.Now()
	id := newID()
	m.rec.SaveCall(store.CallRecord{ID: id, Caller: r.Caller, Dialed: r.Dialed, Source: r.Source, ArrivedAt: now, EndedAt: &now,
		Outcome: string(event.OutcomeRejected), HangupBy: string(event.BySystem), Reason: fmt.Sprintf("%d %s", r.Code, r.Reason), SIPCall: r.SIPCallID})
	m.event(event.Rejected, id, "", "", fmt.Sprintf("%d %s", r.Code, r.Reason))
	m.event(event.Ended, id, "", "", string(event.OutcomeRejected))
	m.countOutcome(string(event.OutcomeRejected))
	m.log.Info("call rejected", "call", id, "caller", r.Caller, "dialed", r.Dialed, "code", r.Code, "reason", r.Reason)
}

// Offer rings an agent for a queued call (acd.Offerer). The ACD delivers
// an offer's CancelOffer after its Offer, so a cancelled offer's context
// is cancelled before its phone is dialled and it never rings.
func (m *Manager) Offer(o acd.Offer) {
	if c := m.call(o.CallID); c != nil { // (the sink did too, but in a cluster it is another node's)
		c.mu.Lock()
		first := c.rec.OfferedAt == nil
		c.mu.Unlock()
		if first {
			now := time.Now()
			c.update(func(r *store.CallRecord) {
				if r.OfferedAt == nil {
					r.OfferedAt = &now
				}
			})
		}
	}
	ctx, cancel := context.WithTimeout(m.ctx, o.Timeout+5*time.Second)
	m.mu.Lock()
	m.offers[o.ID] = cancel
	m.mu.Unlock()
	started := m.goTracked(func() {
		defer func() {
			m.mu.Lock()
			delete(m.offers, o.ID)
			m.mu.Unlock()
			cancel()
		}()
		m.ring(ctx, o)
	})
	if !started {
		cancel()
		m.mu.Lock()
		delete(m.offers, o.ID)
		m.mu.Unlock()
		_ = m.acd.Declined(o.ID, "shutting down")
	}
}

// CancelOffer stops ringing an agent (acd.Offerer).
func (m *Manager) CancelOffer(o acd.Offer) {
	m.mu.Lock()
	cancel := m.offers[o.ID]
	m.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func (m *Manager) ring(ctx context.Context, o acd.Offer) {
	c := m.call(o.CallID)
	if c == nil {
		// Not a call of this node (any more): out of the ACD, not to the
		// next agent (in a cluster, a call of this node's previous run).
		_ = m.acd.Withdraw(o.CallID, "call gone")
		_ = m.acd.Declined(o.ID, "call gone")
		return
	}
	log := m.log.With("call", c.ID, "agent", o.AgentID, "queue", o.Queue)
	if ctx.Err() != nil {
		log.Info("offer withdrawn before ringing")
		return // the ACD cancelled it already and knows
	}
	log.Info("offering call")
	c.mu.Lock()
	number, name := c.view.Presenting, c.view.Name
	c.mu.Unlock()
	leg, err := m.dialAgent(ctx, o.AgentID, number, name)
	if err != nil {
		if ctx.Err() != nil {
			log.Info("offer withdrawn", "reason", err)
			return // the ACD cancelled it (timeout, caller left); it knows already
		}
		log.Info("offer failed", "err", err)
		if errors.Is(err, sip.ErrNotRegistered) {
			// The phone cannot be reached: the agent is not offered calls
			// until it registers again.
			if rerr := m.acd.SetReachable(o.AgentID, false); rerr != nil {
				log.Debug("device state", "err", rerr)
			}
		}
		if derr := m.acd.Declined(o.ID, err.Error()); derr != nil {
			log.Debug("decline", "err", derr)
		}
		m.poke()
		return
	}
	if err := m.acd.Answered(o.ID); err != nil {
		log.Info("agent answered a withdrawn offer; hanging up", "err", err)
		leg.Hangup()
		return
	}
	m.poke()
	if err := c.deliver("answer", func(c *Call) error { return c.agentAnswered(leg, o.AgentID) }); err != nil {
		// The caller left between the ACD's decision and now.
		log.Info("call gone when the agent answered", "err", err)
		leg.Hangup()
		_ = m.acd.CallEnded(o.AgentID)
		m.poke()
	}
}

// agentOrZero is the agent with extension ext, or the zero Agent.
func (m *Manager) agentOrZero(ext string) config.Agent {
	a, _ := m.agent(ext)
	return a
}
