package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/store"
)

// Leader is the cluster's one ACD while this node holds the lease: it
// serves the nodes' calls into it, sends each offer to the node that
// holds the call, and follows which node holds what, so that a node's
// death takes exactly its calls out.
type Leader struct {
	c     *Client
	epoch int64

	mu    sync.Mutex
	ready bool
	done  bool
	// engine is the ACD (nil until the takeover built it); owner is the
	// node of each call it knows; offers the call and node of each offer
	// standing (a cancel goes where its offer went, even once the call
	// has left the ACD); agentOn the call each agent is on and its node.
	engine  *acd.ACD
	owner   map[string]string
	offers  map[uint64]offerAt
	agentOn map[string]agentOnCall
	// reach is each agent's device state as each node gave it: the agent
	// can be reached when any node says so (a phone registered through
	// one, a browser connected to another; a phone not found by a third
	// does not make it unreachable).
	reach map[string]map[string]bool
	// out is each node's queue of decisions, delivered in order.
	out map[string]chan delivery
	// runs is the run (start time) of each node whose calls the ACD
	// holds, from its report: a request from another run of the node (it
	// restarted) or from a node that never reported is answered "report
	// first" (errNeedReport). lostEarly are nodes found lost before the
	// takeover was done.
	runs      map[string]int64
	lostEarly []string
	// addrs caches the nodes' HTTP addresses (refreshed at addrsAt).
	addrs   map[string]string
	addrsAt time.Time
	// reachMu makes each device-state change one step (computed and
	// applied in order).
	reachMu sync.Mutex

	wake chan struct{}
	quit chan struct{}
}

type offerAt struct{ call, node string }

type agentOnCall struct {
	call, node string
	direct     bool
}

type delivery struct {
	offer  acd.Offer
	cancel bool
}

// outboxSize bounds the decisions waiting for one node.
const outboxSize = 4096

func newLeader(c *Client, epoch int64) *Leader {
	return &Leader{c: c, epoch: epoch, owner: map[string]string{}, offers: map[uint64]offerAt{}, agentOn: map[string]agentOnCall{},
		reach: map[string]map[string]bool{}, runs: map[string]int64{}, out: map[string]chan delivery{}, wake: make(chan struct{}, 1), quit: make(chan struct{})}
}

// offerBase puts an epoch's offer IDs above every earlier epoch's.
func offerBase(epoch int64) uint64 { return uint64(epoch) << 40 }

// takeOver builds the ACD: the setup's queues and agents, then every live
// node's report (calls waiting, phones ringing, agents on calls), then
// the agents' last states and device states; then it serves.
func (l *Leader) takeOver() {
	log := l.c.cfg.Log.With("epoch", l.epoch)
	started := time.Now()
	engine, err := l.c.cfg.Engine(l, l.c.cfg.Sink)
	if err != nil {
		log.Error("cluster: the ACD could not be built; not leading", "err", err)
		return
	}
	engine.StartOffersAt(offerBase(l.epoch))
	// The agents' last states first (each agent's, or all start logged out).
	states, err := l.agentStates()
	if err != nil {
		log.Warn("cluster: agents' states not read; they start logged out", "err", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reports := l.gather(ctx)

	l.mu.Lock()
	if l.done {
		l.mu.Unlock()
		return
	}
	l.engine = engine
	l.mu.Unlock()
	// Not under l.mu: the engine's decisions come back through Offer.
	// Nothing is served until ready.
	restored := l.restoreCalls(reports)
	l.restoreAgents(states)
	l.mu.Lock()
	if l.done {
		l.mu.Unlock()
		return
	}
	l.ready = true
	lost := l.lostEarly
	l.lostEarly = nil
	l.mu.Unlock()
	for _, node := range lost {
		l.nodeLost(node)
	}
	log.Info("cluster: leading the ACD", "nodes_reported", len(reports), "calls_restored", restored,
		"took", time.Since(started).Round(time.Millisecond))
	go l.run()
}

// agentStates reads the agents' last states, trying twice.
func (l *Leader) agentStates() ([]store.AgentLastState, error) {
	var err error
	for range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var states []store.AgentLastState
		states, err = l.c.cfg.AgentStates(ctx)
		cancel()
		if err == nil {
			return states, nil
		}
	}
	return nil, err
}

// gather asks every live node for its report (this one's from its ledger).
func (l *Leader) gather(ctx context.Context) []Report {
	reports := []Report{l.c.led.report(l.c.cfg.Node, l.c.run)}
	peers, err := l.c.cfg.Peers(ctx)
	if err != nil {
		l.c.cfg.Log.Warn("cluster: nodes not read for the takeover", "err", err)
		return reports
	}
	self := peers[l.c.cfg.Node]
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for _, name := range slices.Sorted(maps.Keys(peers)) {
		if name == l.c.cfg.Node {
			continue
		}
		wg.Add(1)
		go func(name, addr string) {
			defer wg.Done()
			var r Report
			if err := l.c.peer.post(ctx, addr, pathReport, reportRequest{Epoch: l.epoch, Leader: l.c.cfg.Node, HTTP: self}, &r); err != nil {
				l.c.cfg.Log.Warn("cluster: a node's calls not reported to the new leader", "node", name, "err", err)
				return
			}
			r.Node = name
			mu.Lock()
			reports = append(reports, r)
			mu.Unlock()
		}(name, peers[name])
	}
	wg.Wait()
	return reports
}

// restoreCalls puts reports into the engine — agents on calls, calls
// waiting in their original order, phones ringing — and notes each node's
// run and device states (applied by the caller: applyReach). It returns
// the calls it restored. Not under l.mu:
// the engine's decisions come back through Offer.
func (l *Leader) restoreCalls(reports []Report) int {
	log := l.c.cfg.Log
	e := l.engine
	type waiting struct {
		WaitingEntry
		node string
	}
	var all []waiting
	for _, r := range reports {
		l.mu.Lock()
		l.runs[r.Node] = r.Run
		for agent, ok := range r.Reachable {
			l.noteReach(agent, r.Node, ok)
		}
		l.mu.Unlock()
		for _, a := range r.OnCall {
			if err := e.RestoreOnCall(a.AgentID, a.CallID, a.Queue, a.AnsweredAt, a.Hold); err != nil {
				log.Warn("cluster: an agent's call not restored", "node", r.Node, "agent", a.AgentID, "call", a.CallID, "err", err)
				continue
			}
			l.mu.Lock()
			l.agentOn[a.AgentID] = agentOnCall{call: a.CallID, node: r.Node, direct: a.Queue == ""}
			l.mu.Unlock()
		}
		for _, w := range r.Waiting {
			all = append(all, waiting{w, r.Node})
		}
	}
	slices.SortFunc(all, func(x, y waiting) int {
		return cmp.Or(x.First.Compare(y.First), cmp.Compare(x.node, y.node), cmp.Compare(x.CallID, y.CallID))
	})
	n := 0
	for _, w := range all {
		l.own(w.CallID, w.node)
		if err := e.EnqueueRestored(w.CallID, w.Queue, w.Priority, w.QueuedAt); err != nil {
			log.Warn("cluster: a waiting call not restored", "node", w.node, "call", w.CallID, "err", err)
			continue
		}
		if w.Callback {
			_ = e.SetCallback(w.CallID, true)
		}
		n++
	}
	for _, r := range reports {
		for _, o := range r.Offers {
			if err := e.RestoreOffer(o.Offer, o.Deadline); err != nil {
				// The node's phone rings for nothing: it stops.
				log.Warn("cluster: a ringing offer not restored; cancelled", "node", r.Node, "offer", o.Offer.ID, "err", err)
				l.send(r.Node, delivery{offer: o.Offer, cancel: true})
				continue
			}
			l.mu.Lock()
			l.offers[o.Offer.ID] = offerAt{call: o.Offer.CallID, node: r.Node}
			l.mu.Unlock()
		}
	}
	return n
}

// restoreAgents sets every agent's device state (reached by a node that
// reported, or registered with any) and then its last state in the
// cluster: the free ones become available and take the waiting calls.
func (l *Leader) restoreAgents(states []store.AgentLastState) {
	e := l.engine
	for _, v := range e.Agents() {
		l.applyReach(v.ID)
	}
	for _, s := range states {
		st := acd.AgentState(s.State)
		switch st {
		case acd.Away, acd.LoggedOut:
		case "":
			continue
		default: // available, or with a call (ringing, on it, wrapping up): free unless restored busy
			st = acd.Available
		}
		if err := e.Restore(s.Agent, st, s.Reason); err != nil && !errors.Is(err, acd.ErrAgentBusy) && !errors.Is(err, acd.ErrUnknownAgent) {
			l.c.cfg.Log.Warn("cluster: an agent's state not restored", "agent", s.Agent, "state", s.State, "err", err)
		}
	}
}

// applyReach gives the engine an agent's device state: reached by any
// node, or registered with any.
func (l *Leader) applyReach(agent string) {
	l.reachMu.Lock()
	defer l.reachMu.Unlock()
	l.mu.Lock()
	ok := l.reachable(agent)
	l.mu.Unlock()
	if !ok && l.c.cfg.Registered != nil {
		ok = l.c.cfg.Registered(agent)
	}
	_ = l.engine.SetReachable(agent, ok)
}

// run drives the engine's timers until the leadership ends.
func (l *Leader) run() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next, ok := l.engine.NextDeadline()
		wait := time.Hour
		if ok {
			wait = max(time.Until(next), 0)
		}
		timer.Reset(wait)
		select {
		case <-l.quit:
			return
		case <-l.wake:
		case <-timer.C:
			l.engine.Tick()
		}
	}
}

func (l *Leader) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *Leader) isDone() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.done
}

// stop ends the leadership: no call is served, no decision sent.
func (l *Leader) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return
	}
	l.done, l.ready = true, false
	close(l.quit)
}

// Offer sends an offer to the node that holds its call (acd.Offerer).
func (l *Leader) Offer(o acd.Offer) {
	l.mu.Lock()
	node, ok := l.owner[o.CallID]
	if ok {
		l.offers[o.ID] = offerAt{call: o.CallID, node: node}
	}
	l.mu.Unlock()
	if !ok {
		l.c.cfg.Log.Warn("cluster: an offer for a call of no known node", "call", o.CallID, "offer", o.ID)
		go func() { _ = l.engine.Declined(o.ID, "call of no known node") }()
		return
	}
	l.send(node, delivery{offer: o})
}

// CancelOffer stops the ringing at the call's node (acd.Offerer).
func (l *Leader) CancelOffer(o acd.Offer) {
	l.mu.Lock()
	node := l.offers[o.ID].node
	if node == "" {
		node = l.owner[o.CallID]
	}
	delete(l.offers, o.ID)
	l.mu.Unlock()
	if node != "" {
		l.send(node, delivery{offer: o, cancel: true})
	}
}

// send queues a decision for node: this node's go to the manager at once
// (the engine delivers one at a time, in order), another's to its queue,
// delivered in order by a goroutine of its own.
func (l *Leader) send(node string, d delivery) {
	if l.isDone() {
		return // a leadership that ended decides nothing
	}
	if node == l.c.cfg.Node {
		if l.c.fresh(l.epoch) { // not when this node has heard of a newer leader
			l.c.deliver(d.offer, d.cancel)
		}
		return
	}
	l.mu.Lock()
	q, ok := l.out[node]
	if !ok && !l.done {
		q = make(chan delivery, outboxSize)
		l.out[node] = q
		go l.deliverTo(node, q)
	}
	l.mu.Unlock()
	if q == nil {
		return
	}
	select {
	case q <- d:
	default:
		l.c.cfg.Log.Error("cluster: too many decisions waiting for a node; offer dropped", "node", node, "offer", d.offer.ID)
		if !d.cancel {
			go func() { _ = l.engine.Declined(d.offer.ID, "node not keeping up") }()
		}
	}
}

// deliverTo posts node's decisions in order until the leadership ends. An
// offer the node cannot be told of is declined, so the agent is free for
// another call (a node that is gone loses its calls anyway).
func (l *Leader) deliverTo(node string, q chan delivery) {
	for {
		select {
		case <-l.quit:
			return
		case d := <-q:
			addr, err := l.addrOf(node)
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
				err = l.c.peer.post(ctx, addr, pathOffer, offerMessage{Epoch: l.epoch, Offer: d.offer, Cancel: d.cancel}, nil)
				cancel()
			}
			if err != nil {
				l.forgetAddr(node)
				l.c.cfg.Log.Warn("cluster: a node not told of an offer", "node", node, "offer", d.offer.ID, "cancel", d.cancel, "err", err)
				if !d.cancel {
					_ = l.engine.Declined(d.offer.ID, "node unreachable")
				}
			}
		}
	}
}

// addrOf is node's HTTP address, from the cache or (at most twice a
// second) the store.
func (l *Leader) addrOf(node string) (string, error) {
	l.mu.Lock()
	addr, ok := l.addrs[node]
	stale := time.Since(l.addrsAt) > 500*time.Millisecond
	l.mu.Unlock()
	if ok {
		return addr, nil
	}
	if !stale {
		return "", fmt.Errorf("cluster: node %s is not alive", node)
	}
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	peers, err := l.c.cfg.Peers(ctx)
	if err != nil {
		return "", err
	}
	l.mu.Lock()
	l.addrs, l.addrsAt = peers, time.Now()
	l.mu.Unlock()
	if addr, ok = peers[node]; !ok {
		return "", fmt.Errorf("cluster: node %s is not alive", node)
	}
	return addr, nil
}

func (l *Leader) forgetAddr(node string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.addrs, node)
}

// nodeLost takes a dead node's calls out of the ACD and frees the agents
// on them.
func (l *Leader) nodeLost(node string) {
	l.mu.Lock()
	if !l.ready {
		if !l.done {
			l.lostEarly = append(l.lostEarly, node)
		}
		l.mu.Unlock()
		return
	}
	delete(l.runs, node)
	var calls []string
	for call, n := range l.owner {
		if n == node {
			calls = append(calls, call)
		}
	}
	var agents []string
	var direct []bool
	for agent, on := range l.agentOn {
		if on.node == node {
			agents = append(agents, agent)
			direct = append(direct, on.direct)
			delete(l.agentOn, agent)
		}
	}
	for _, call := range calls {
		delete(l.owner, call)
	}
	var reached []string // agents the lost node had a word on
	for agent, by := range l.reach {
		if _, ok := by[node]; ok {
			delete(by, node)
			reached = append(reached, agent)
		}
	}
	e := l.engine
	l.mu.Unlock()
	slices.Sort(reached)
	for _, agent := range reached {
		l.applyReach(agent)
	}
	slices.Sort(calls)
	for _, call := range calls {
		_ = e.Withdraw(call, "node lost")
	}
	for i, agent := range agents {
		if direct[i] {
			_ = e.Release(agent)
		} else {
			_ = e.CallEnded(agent)
		}
	}
	if len(calls)+len(agents) > 0 {
		l.c.cfg.Log.Warn("cluster: a lost node's calls taken out of the ACD", "node", node, "calls", len(calls), "agents_freed", len(agents))
	}
	l.poke()
}

func (l *Leader) reconfigure(queues []acd.QueueConfig, agents []acd.AgentConfig) ([]string, error) {
	l.mu.Lock()
	e := l.engine
	l.mu.Unlock()
	if e == nil {
		return nil, nil
	}
	return e.Reconfigure(queues, agents)
}

// serve carries out one node's call into the ACD.
func (l *Leader) serve(op string, req acdRequest) (acdResponse, error) {
	l.mu.Lock()
	ready, e := l.ready, l.engine
	l.mu.Unlock()
	if !ready {
		return acdResponse{}, errNotReady
	}
	if req.Epoch > l.epoch {
		return acdResponse{}, fmt.Errorf("%w: the node has seen epoch %d, this leader's is %d", ErrStaleEpoch, req.Epoch, l.epoch)
	}
	defer l.poke()
	if req.Node != l.c.cfg.Node {
		l.mu.Lock()
		run, known := l.runs[req.Node]
		l.mu.Unlock()
		if known && run != req.Run {
			l.nodeLost(req.Node) // it restarted: its previous run's calls are gone
			known = false
		}
		if op == "report" {
			if !known && req.Report != nil {
				r := *req.Report
				r.Node, r.Run = req.Node, req.Run
				n := l.restoreCalls([]Report{r})
				for agent := range r.Reachable {
					l.applyReach(agent)
				}
				l.c.cfg.Log.Info("cluster: a node's calls reported late", "node", req.Node, "calls_restored", n)
			}
			return acdResponse{}, nil
		}
		if !known {
			return acdResponse{}, errNeedReport
		}
	}
	var (
		res acdResponse
		err error
	)
	switch op {
	case "enqueue", "enqueue_restored":
		l.own(req.CallID, req.Node)
		if op == "enqueue" {
			err = e.Enqueue(req.CallID, req.Queue, req.Priority)
		} else {
			err = e.EnqueueRestored(req.CallID, req.Queue, req.Priority, req.At)
		}
	case "abandon":
		err = e.Abandon(req.CallID, req.Reason)
		l.disown(req.CallID)
	case "withdraw":
		err = e.Withdraw(req.CallID, req.Reason)
		l.disown(req.CallID)
	case "move":
		err = e.Move(req.CallID, req.Queue, req.Reason)
	case "set_priority":
		err = e.SetPriority(req.CallID, req.Priority)
	case "set_callback":
		err = e.SetCallback(req.CallID, req.On)
	case "keep_retired":
		if req.QueueCfg != nil {
			e.KeepRetired(*req.QueueCfg, req.Members)
		}
	case "position":
		res.N[0] = e.Position(req.CallID)
	case "wait":
		res.Wait, err = e.Wait(req.CallID)
	case "staffing":
		res.N[0], res.N[1], res.N[2], err = e.Staffing(req.Queue)
	case "length":
		res.N[0] = e.Length(req.Queue)
	case "answered":
		l.mu.Lock()
		call := l.offers[req.OfferID].call
		l.mu.Unlock()
		agent, _ := e.OfferAgent(req.OfferID)
		err = e.Answered(req.OfferID)
		if err == nil {
			l.mu.Lock()
			delete(l.offers, req.OfferID)
			if agent != "" {
				l.agentOn[agent] = agentOnCall{call: call, node: req.Node}
			}
			l.mu.Unlock()
			l.disown(call)
		}
	case "declined":
		err = e.Declined(req.OfferID, req.Reason)
		l.mu.Lock()
		delete(l.offers, req.OfferID)
		l.mu.Unlock()
	case "call_ended":
		err = e.CallEnded(req.AgentID)
		l.offCall(req.AgentID)
	case "reserve":
		err = e.Reserve(req.AgentID, req.CallID)
		if err == nil {
			l.mu.Lock()
			l.agentOn[req.AgentID] = agentOnCall{call: req.CallID, node: req.Node, direct: true}
			l.mu.Unlock()
		}
	case "release":
		err = e.Release(req.AgentID)
		l.offCall(req.AgentID)
	case "set_hold":
		err = e.SetHold(req.AgentID, req.On)
	case "set_reachable":
		l.mu.Lock()
		l.noteReach(req.AgentID, req.Node, req.On)
		l.mu.Unlock()
		l.applyReach(req.AgentID)
	case "login":
		err = e.Login(req.AgentID)
	case "logout":
		err = e.Logout(req.AgentID)
	case "set_available":
		err = e.SetAvailable(req.AgentID)
	case "toggle":
		res.State, err = e.Toggle(req.AgentID)
	case "request_away":
		res.Bool, err = e.RequestAway(req.AgentID, req.Reason)
	case "request_logout":
		res.Bool, err = e.RequestLogout(req.AgentID)
	case "extend_wrap_up":
		err = e.ExtendWrapUp(req.AgentID, req.Duration)
	case "restore":
		err = e.Restore(req.AgentID, req.State, req.Reason)
	case "agent":
		if v, ok := e.Agent(req.AgentID); ok {
			w := toWire(l.locateAgent(v))
			res.Agent = &w
		}
	case "agents":
		for _, v := range e.Agents() {
			res.Agents = append(res.Agents, toWire(l.locateAgent(v)))
		}
	case "queue":
		if v, ok := e.Queue(req.Queue); ok {
			v = l.locateQueue(v)
			res.Queue = &v
		}
	case "queues":
		res.QueuesV = e.Queues()
		for i, v := range res.QueuesV {
			res.QueuesV[i] = l.locateQueue(v)
		}
	default:
		return acdResponse{}, fmt.Errorf("cluster: no ACD operation %q", op)
	}
	if err != nil {
		return errorResponse(err), nil
	}
	return res, nil
}

// locateAgent adds to an agent's view the node that holds its call.
func (l *Leader) locateAgent(v acd.AgentView) acd.AgentView {
	if v.CallID == "" {
		return v
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	v.CallNode = l.owner[v.CallID] // ringing: the call still waits
	if on, ok := l.agentOn[v.ID]; ok && on.call == v.CallID {
		v.CallNode = on.node
	}
	return v
}

// locateQueue adds to a queue's view the node that holds each call, in
// its waiting calls and its agents'.
func (l *Leader) locateQueue(v acd.QueueView) acd.QueueView {
	calls := slices.Clone(v.Calls)
	l.mu.Lock()
	for i := range calls {
		calls[i].Node = l.owner[calls[i].ID]
	}
	l.mu.Unlock()
	v.Calls = calls
	agents := slices.Clone(v.Agents)
	for i := range agents {
		agents[i] = l.locateAgent(agents[i])
	}
	v.Agents = agents
	return v
}

// noteReach records node's word on agent's device (under l.mu).
func (l *Leader) noteReach(agent, node string, on bool) {
	by := l.reach[agent]
	if by == nil {
		by = map[string]bool{}
		l.reach[agent] = by
	}
	by[node] = on
}

// reachable is whether any node says agent can be reached (under l.mu).
func (l *Leader) reachable(agent string) bool { return anyTrue(l.reach[agent]) }

func anyTrue(m map[string]bool) bool {
	for _, v := range m {
		if v {
			return true
		}
	}
	return false
}

func (l *Leader) own(call, node string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.owner[call] = node
}

func (l *Leader) disown(call string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.owner, call)
}

func (l *Leader) offCall(agent string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.agentOn, agent)
}
