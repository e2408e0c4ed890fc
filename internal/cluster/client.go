package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/store"
)

// ClientConfig is what a node's Client needs.
type ClientConfig struct {
	Node string
	// Key authenticates the nodes to each other (the same for all).
	Key string
	// Local rings the node's agents for the node's calls: the call
	// manager. Engine makes an ACD of the setup for a leader, Sink
	// records its events (the manager's NewEngine and ACDEvent).
	Local  acd.Offerer
	Engine func(offerer acd.Offerer, sink func(acd.Event)) (*acd.ACD, error)
	Sink   func(acd.Event)
	// Registered tells whether an agent's phone is registered with any
	// node (the shared registrations), for a new leader's device states.
	Registered func(agent string) bool
	// AgentStates reads each agent's last state in the cluster, and Peers
	// the nodes alive with their HTTP addresses, for a new leader.
	AgentStates func(ctx context.Context) ([]store.AgentLastState, error)
	Peers       func(ctx context.Context) (map[string]string, error)
	// Wait bounds how long a call into the ACD waits for a leader to be
	// reachable (default 10 s): longer than a change of leader takes.
	Wait time.Duration
	Log  *slog.Logger
	// Serve, if set, serves the node's own endpoints under PathNode
	// (with the cluster's key checked).
	Serve http.Handler
}

// Client is a node's way to the cluster's one ACD: every call of the
// node's manager goes to the leader (over HTTP, or in-process when this
// node leads), and the leader's offers for the node's calls come back to
// the manager. It implements the call manager's Distributor, and keeps the
// node's side of the ACD's state (the ledger) for a new leader.
type Client struct {
	cfg  ClientConfig
	peer *peer
	// long carries the requests of Request.
	long *http.Client
	led  *ledger
	// run tells this run of the node from an earlier one (its start, ns).
	run int64

	mu sync.Mutex
	// started: calls before Start (the node restoring its own state at
	// start) are not sent: the leader rebuilds agents' states itself.
	started bool
	// leader is where calls go: its name, HTTP address and epoch; seen is
	// the newest epoch any message has shown (older leaders are refused).
	leader     string
	leaderHTTP string
	epoch      int64
	seen       int64
	// lead is this node's leadership, while it leads.
	lead *Leader
	// changed is closed and replaced when the leader changes (or the
	// client starts), waking the calls waiting for one.
	changed chan struct{}
}

// agentOps are the calls dropped before Start: the node restoring its
// phones' registrations at start tells of devices and logins the
// cluster's ACD has already (a new leader reads them itself).
var agentOps = map[string]bool{"set_reachable": true, "login": true, "logout": true, "restore": true, "set_available": true}

// repeatable are the calls that may be sent again when it is not known
// whether the leader got them (a timeout, a reset): reading, or setting
// a value. The others (an answer, a hangup, a reservation, a toggle) are
// sent again only when they certainly did not arrive.
var repeatable = map[string]bool{
	"position": true, "wait": true, "staffing": true, "length": true, "agent": true, "agents": true, "queue": true, "queues": true,
	"set_reachable": true, "login": true, "logout": true, "set_available": true, "set_hold": true, "set_callback": true,
	"set_priority": true, "keep_retired": true, "restore": true, "request_away": true, "request_logout": true,
	"enqueue": true, "enqueue_restored": true, "report": true,
}

// ending are the calls that free an agent or take a call out: they wait
// longer for a new leader.
var ending = map[string]bool{"abandon": true, "withdraw": true, "call_ended": true, "release": true, "declined": true}

// notDelivered reports whether err proves the request never reached a
// leader that acted on it.
func notDelivered(err error) bool {
	var op *net.OpError
	return errors.Is(err, ErrNoLeader) || errors.Is(err, errNotReady) || errors.Is(err, errNeedReport) ||
		errors.Is(err, ErrStaleEpoch) || (errors.As(err, &op) && op.Op == "dial")
}

// NewClient returns a node's client; Start it once the node serves.
func NewClient(cfg ClientConfig) *Client {
	if cfg.Wait <= 0 {
		cfg.Wait = 10 * time.Second
	}
	return &Client{cfg: cfg, peer: newPeer(cfg.Key), long: newLongClient(), led: newLedger(time.Now), run: time.Now().UnixNano(), changed: make(chan struct{})}
}

// Start lets calls go to the leader; the calls of the node's calls made
// before (callbacks restored at start) wait for it.
func (c *Client) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.started = true
	close(c.changed)
	c.changed = make(chan struct{})
}

// SetLeader is the leader the member read from the store: calls go there.
func (c *Client) SetLeader(name, http string, epoch int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch < c.seen || (name == c.leader && http == c.leaderHTTP && epoch == c.epoch) {
		return
	}
	c.leader, c.leaderHTTP, c.epoch = name, http, epoch
	c.seen = max(c.seen, epoch)
	close(c.changed)
	c.changed = make(chan struct{})
}

// Leading is this node taking the lease with epoch: it rebuilds the ACD
// from every node's report and then serves it (in the background: the
// member's heartbeat goes on meanwhile).
func (c *Client) Leading(epoch int64) {
	l := newLeader(c, epoch)
	c.mu.Lock()
	old := c.lead
	c.lead = l
	c.leader, c.leaderHTTP, c.epoch = c.cfg.Node, "", epoch
	c.seen = max(c.seen, epoch)
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	if old != nil {
		old.stop()
	}
	go l.takeOver()
}

// NotLeading is this node losing (or giving up) the lease.
func (c *Client) NotLeading() {
	c.mu.Lock()
	l := c.lead
	c.lead = nil
	if c.leader == c.cfg.Node {
		c.leader = ""
	}
	c.mu.Unlock()
	if l != nil {
		l.stop()
	}
}

// NodeLost is the leader's note that a node's heartbeat stopped: its calls
// leave the ACD and its agents' calls end.
func (c *Client) NodeLost(node string) {
	c.mu.Lock()
	l := c.lead
	c.mu.Unlock()
	if l != nil {
		l.nodeLost(node)
	}
}

// Epoch is the epoch of the leader calls go to, and whether this node
// leads with it.
func (c *Client) Epoch() (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch, c.lead != nil
}

// call sends one operation to the leader and waits for its answer,
// through a change of leader (bounded by Wait).
func (c *Client) call(op string, req acdRequest) (acdResponse, error) {
	wait := c.cfg.Wait
	if ending[op] {
		wait *= 3
	}
	deadline := time.Now().Add(wait)
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		started, lead, addr, seen, changed := c.started, c.lead, c.leaderHTTP, c.seen, c.changed
		if lead != nil && lead.epoch < seen {
			lead = nil // this node heard of a newer leader than itself
		}
		c.mu.Unlock()
		if !started {
			if agentOps[op] {
				return acdResponse{}, errNotStarted
			}
			select { // until Start (a leader known meanwhile wakes it too: it waits again)
			case <-changed:
			case <-time.After(time.Minute):
				return acdResponse{}, fmt.Errorf("%w: %s before the node started", ErrNoLeader, op)
			}
			deadline = time.Now().Add(wait)
			continue
		}
		req.Epoch, req.Node, req.Run = seen, c.cfg.Node, c.run
		var (
			res acdResponse
			err error
		)
		switch {
		case lead != nil:
			res, err = lead.serve(op, req)
		case addr != "":
			ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
			err = c.peer.post(ctx, addr, pathACD+op, req, &res)
			cancel()
		default:
			err = ErrNoLeader
		}
		if err == nil {
			return res, nil
		}
		if errors.Is(err, errNeedReport) && addr != "" {
			// The leader did not have this node's calls: give them, then ask again.
			rep := c.led.report(c.cfg.Node, c.run)
			ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
			rerr := c.peer.post(ctx, addr, pathACD+"report", acdRequest{Epoch: seen, Node: c.cfg.Node, Run: c.run, Report: &rep}, &acdResponse{})
			cancel()
			if rerr == nil {
				continue
			}
			err = rerr
		}
		if !notDelivered(err) && !repeatable[op] {
			return acdResponse{}, fmt.Errorf("cluster: %s: %w", op, err) // it may have been carried out: not again
		}
		if time.Now().After(deadline) {
			return acdResponse{}, fmt.Errorf("%w: %s: %w", ErrNoLeader, op, err)
		}
		if attempt == 0 || attempt%20 == 0 {
			c.cfg.Log.Info("cluster: the ACD's leader did not answer; trying again", "op", op, "err", err)
		}
		select { // a new leader, or a little later
		case <-changed:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// errNotStarted: a call before Start, dropped.
var errNotStarted = errors.New("cluster: not started")

// quiet is err, or nil for a call made before Start.
func quiet(err error) error {
	if errors.Is(err, errNotStarted) {
		return nil
	}
	return err
}

func (c *Client) do(op string, req acdRequest) error {
	res, err := c.call(op, req)
	if err != nil {
		return quiet(err)
	}
	return res.err()
}

// The Distributor's calls.

func (c *Client) Enqueue(callID, queueName string, priority int) error {
	return c.enqueue("enqueue", callID, queueName, priority, time.Now())
}

func (c *Client) EnqueueRestored(callID, queueName string, priority int, queuedAt time.Time) error {
	return c.enqueue("enqueue_restored", callID, queueName, priority, queuedAt)
}

// enqueue is Enqueue (at: now) and EnqueueRestored: the call is in the
// ledger once the leader has it.
func (c *Client) enqueue(op, callID, queueName string, priority int, at time.Time) error {
	err := c.do(op, acdRequest{CallID: callID, Queue: queueName, Priority: priority, At: at})
	if err != nil && strings.Contains(err.Error(), "already queued") {
		err = nil // sent again after a timeout: the leader had it
	}
	if err == nil {
		c.led.enqueued(callID, queueName, priority, at)
	}
	return err
}

func (c *Client) Abandon(callID, reason string) error {
	c.led.left(callID)
	return c.do("abandon", acdRequest{CallID: callID, Reason: reason})
}

func (c *Client) Withdraw(callID, reason string) error {
	c.led.left(callID)
	return c.do("withdraw", acdRequest{CallID: callID, Reason: reason})
}

func (c *Client) Move(callID, queueName, reason string) error {
	err := c.do("move", acdRequest{CallID: callID, Queue: queueName, Reason: reason})
	if err == nil {
		c.led.moved(callID, queueName)
	}
	return err
}

func (c *Client) SetPriority(callID string, priority int) error {
	err := c.do("set_priority", acdRequest{CallID: callID, Priority: priority})
	if err == nil {
		c.led.changeWaiting(callID, func(w *WaitingEntry) { w.Priority = priority })
	}
	return err
}

func (c *Client) SetCallback(callID string, on bool) error {
	err := c.do("set_callback", acdRequest{CallID: callID, On: on})
	if err == nil {
		c.led.changeWaiting(callID, func(w *WaitingEntry) { w.Callback = on })
	}
	return err
}

func (c *Client) KeepRetired(q acd.QueueConfig, members []string) {
	if err := c.do("keep_retired", acdRequest{QueueCfg: &q, Members: members}); err != nil {
		c.cfg.Log.Warn("cluster: keep retired queue", "queue", q.Name, "err", err)
	}
}

func (c *Client) Position(callID string) int {
	res, err := c.call("position", acdRequest{CallID: callID})
	if err != nil {
		return 0
	}
	return res.N[0]
}

func (c *Client) Wait(callID string) (acd.WaitInfo, error) {
	res, err := c.call("wait", acdRequest{CallID: callID})
	if err != nil {
		return acd.WaitInfo{}, quiet(err)
	}
	return res.Wait, res.err()
}

func (c *Client) Staffing(queueName string) (loggedIn, staffed, free int, err error) {
	res, err := c.call("staffing", acdRequest{Queue: queueName})
	if err != nil {
		return 0, 0, 0, quiet(err)
	}
	return res.N[0], res.N[1], res.N[2], res.err()
}

func (c *Client) Length(queueName string) int {
	res, err := c.call("length", acdRequest{Queue: queueName})
	if err != nil {
		return 0
	}
	return res.N[0]
}

func (c *Client) Answered(offerID uint64) error {
	err := c.do("answered", acdRequest{OfferID: offerID})
	if err == nil {
		c.led.answered(offerID)
	} else {
		c.led.offerEnded(offerID)
	}
	return err
}

func (c *Client) Declined(offerID uint64, reason string) error {
	c.led.offerEnded(offerID)
	return c.do("declined", acdRequest{OfferID: offerID, Reason: reason})
}

func (c *Client) CallEnded(agentID string) error {
	c.led.callEnded(agentID, false)
	return c.do("call_ended", acdRequest{AgentID: agentID})
}

func (c *Client) Reserve(agentID, callID string) error {
	err := c.do("reserve", acdRequest{AgentID: agentID, CallID: callID})
	if err == nil {
		c.led.reserved(agentID, callID)
	}
	return err
}

func (c *Client) Release(agentID string) error {
	c.led.callEnded(agentID, true)
	return c.do("release", acdRequest{AgentID: agentID})
}

func (c *Client) SetHold(agentID string, on bool) error {
	c.led.held(agentID, on)
	return c.do("set_hold", acdRequest{AgentID: agentID, On: on})
}

func (c *Client) SetReachable(agentID string, reachable bool) error {
	c.led.setReachable(agentID, reachable)
	return c.do("set_reachable", acdRequest{AgentID: agentID, On: reachable})
}

func (c *Client) Login(agentID string) error { return c.do("login", acdRequest{AgentID: agentID}) }

func (c *Client) Logout(agentID string) error { return c.do("logout", acdRequest{AgentID: agentID}) }

func (c *Client) SetAvailable(agentID string) error {
	return c.do("set_available", acdRequest{AgentID: agentID})
}

func (c *Client) Toggle(agentID string) (acd.AgentState, error) {
	res, err := c.call("toggle", acdRequest{AgentID: agentID})
	if err != nil {
		return "", quiet(err)
	}
	return res.State, res.err()
}

func (c *Client) RequestAway(agentID, reason string) (bool, error) {
	res, err := c.call("request_away", acdRequest{AgentID: agentID, Reason: reason})
	if err != nil {
		return false, quiet(err)
	}
	return res.Bool, res.err()
}

func (c *Client) RequestLogout(agentID string) (bool, error) {
	res, err := c.call("request_logout", acdRequest{AgentID: agentID})
	if err != nil {
		return false, quiet(err)
	}
	return res.Bool, res.err()
}

func (c *Client) ExtendWrapUp(agentID string, d time.Duration) error {
	return c.do("extend_wrap_up", acdRequest{AgentID: agentID, Duration: d})
}

func (c *Client) Restore(agentID string, s acd.AgentState, reason string) error {
	return c.do("restore", acdRequest{AgentID: agentID, State: s, Reason: reason})
}

// Reconfigure applies a reload to the cluster's ACD when this node leads;
// a follower's reload changes its own setup only (the leader's setup
// decides the queues: reload every node).
func (c *Client) Reconfigure(queues []acd.QueueConfig, agents []acd.AgentConfig) ([]string, error) {
	c.mu.Lock()
	l := c.lead
	c.mu.Unlock()
	if l == nil {
		return nil, nil
	}
	return l.reconfigure(queues, agents)
}

func (c *Client) Agent(id string) (acd.AgentView, bool) {
	res, err := c.call("agent", acdRequest{AgentID: id})
	if err != nil || res.Agent == nil {
		return acd.AgentView{}, false
	}
	return res.Agent.view(), true
}

func (c *Client) Agents() []acd.AgentView {
	res, err := c.call("agents", acdRequest{})
	if err != nil {
		return nil
	}
	out := make([]acd.AgentView, 0, len(res.Agents))
	for _, a := range res.Agents {
		out = append(out, a.view())
	}
	return out
}

func (c *Client) Queue(name string) (acd.QueueView, bool) {
	res, err := c.call("queue", acdRequest{Queue: name})
	if err != nil || res.Queue == nil {
		return acd.QueueView{}, false
	}
	return *res.Queue, true
}

func (c *Client) Queues() []acd.QueueView {
	res, err := c.call("queues", acdRequest{})
	if err != nil {
		return nil
	}
	return res.QueuesV
}

// The node's side of the leader's messages.

// Handler serves the inter-node endpoints (mount it at PathPrefix).
func (c *Client) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+pathACD+"{op}", c.serveACD)
	mux.HandleFunc("POST "+pathOffer, c.serveOffer)
	mux.HandleFunc("POST "+pathReport, c.serveReport)
	if c.cfg.Serve != nil {
		mux.Handle(PathNode, c.cfg.Serve)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.peer.authorized(r) {
			http.Error(w, "not a node of this cluster", http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// serveACD is the leader's side of a node's call into the ACD.
func (c *Client) serveACD(w http.ResponseWriter, r *http.Request) {
	var req acdRequest
	if !decode(w, r, &req) {
		return
	}
	c.mu.Lock()
	l := c.lead
	c.mu.Unlock()
	if l == nil {
		http.Error(w, "not the leader", http.StatusServiceUnavailable)
		return
	}
	res, err := l.serve(r.PathValue("op"), req)
	switch {
	case errors.Is(err, errNotReady):
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
	case errors.Is(err, ErrStaleEpoch):
		http.Error(w, err.Error(), http.StatusConflict)
	case errors.Is(err, errNeedReport):
		http.Error(w, err.Error(), http.StatusPreconditionRequired)
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
	default:
		reply(w, res)
	}
}

// fresh reports whether a leader's message of epoch may be acted on: not
// older than the newest seen (then it is the newest seen).
func (c *Client) fresh(epoch int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch < c.seen {
		return false
	}
	c.seen = epoch
	return true
}

// freshOr409 is fresh, answering 409 for a stale epoch.
func (c *Client) freshOr409(w http.ResponseWriter, epoch int64) bool {
	if c.fresh(epoch) {
		return true
	}
	http.Error(w, fmt.Sprintf("epoch %d is older than the leader's", epoch), http.StatusConflict)
	return false
}

func (c *Client) serveOffer(w http.ResponseWriter, r *http.Request) {
	var m offerMessage
	if !decode(w, r, &m) {
		return
	}
	if !c.freshOr409(w, m.Epoch) {
		return
	}
	c.deliver(m.Offer, m.Cancel)
	reply(w, struct{}{})
}

// deliver hands a leader's decision for one of this node's calls to the
// manager, noting it in the ledger first.
func (c *Client) deliver(o acd.Offer, cancel bool) {
	if cancel {
		c.led.offerEnded(o.ID)
		c.cfg.Local.CancelOffer(o)
		return
	}
	c.led.offered(o)
	c.cfg.Local.Offer(o)
}

type reportRequest struct {
	Epoch  int64  `json:"epoch"`
	Leader string `json:"leader"`
	HTTP   string `json:"http"`
}

func (c *Client) serveReport(w http.ResponseWriter, r *http.Request) {
	var m reportRequest
	if !decode(w, r, &m) {
		return
	}
	if !c.freshOr409(w, m.Epoch) {
		return
	}
	c.SetLeader(m.Leader, m.HTTP, m.Epoch) // calls go to the new leader from now on
	reply(w, c.led.report(c.cfg.Node, c.run))
}
