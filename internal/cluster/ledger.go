package cluster

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
)

// Report is one node's calls as the cluster's ACD knows them: what a new
// leader rebuilds the ACD from, with the original queue times and order.
type Report struct {
	Node string `json:"node"`
	// Run is the node's run (its start, in ns).
	Run     int64          `json:"run"`
	Waiting []WaitingEntry `json:"waiting"`
	Offers  []RingingEntry `json:"offers"`
	OnCall  []AgentEntry   `json:"on_call"`
	// Reachable is the device state the node last gave each agent it
	// told of (a phone that registered or went away here, a browser
	// softphone connected here).
	Reachable map[string]bool `json:"reachable"`
}

// WaitingEntry is a call of the node waiting in a queue.
type WaitingEntry struct {
	CallID   string `json:"call_id"`
	Queue    string `json:"queue"`
	Priority int    `json:"priority"`
	// First is when the call first entered a queue (its place in line);
	// QueuedAt when it entered this one (its wait and escalations).
	First    time.Time `json:"first"`
	QueuedAt time.Time `json:"queued_at"`
	Callback bool      `json:"callback,omitempty"`
}

// RingingEntry is an agent's phone ringing for a call of the node.
type RingingEntry struct {
	Offer    acd.Offer `json:"offer"`
	Deadline time.Time `json:"deadline"`
}

// AgentEntry is an agent on a call of the node: from Queue, or direct
// (Queue empty: reserved for the call).
type AgentEntry struct {
	AgentID    string    `json:"agent_id"`
	CallID     string    `json:"call_id"`
	Queue      string    `json:"queue,omitempty"`
	AnsweredAt time.Time `json:"answered_at"`
	Hold       bool      `json:"hold,omitempty"`
}

// ledger is what a node has told the cluster's ACD and the ACD has told
// it, still standing: its side of the ACD's state, kept so that a new
// leader can be given it. The Client keeps it; it is safe for concurrent use.
type ledger struct {
	mu        sync.Mutex
	now       func() time.Time
	waiting   map[string]WaitingEntry
	offers    map[uint64]RingingEntry
	onCall    map[string]AgentEntry // by agent
	reachable map[string]bool
}

func newLedger(now func() time.Time) *ledger {
	return &ledger{now: now, waiting: map[string]WaitingEntry{}, offers: map[uint64]RingingEntry{},
		onCall: map[string]AgentEntry{}, reachable: map[string]bool{}}
}

func (l *ledger) enqueued(callID, queue string, priority int, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if at.IsZero() {
		at = l.now()
	}
	l.waiting[callID] = WaitingEntry{CallID: callID, Queue: queue, Priority: priority, First: at, QueuedAt: at}
}

// left forgets a call that left its queue, and its offers.
func (l *ledger) left(callID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.waiting, callID)
	for id, o := range l.offers {
		if o.Offer.CallID == callID {
			delete(l.offers, id)
		}
	}
}

func (l *ledger) moved(callID, queue string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w, ok := l.waiting[callID]; ok {
		w.Queue, w.QueuedAt = queue, l.now()
		l.waiting[callID] = w
	}
}

func (l *ledger) changeWaiting(callID string, f func(*WaitingEntry)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w, ok := l.waiting[callID]; ok {
		f(&w)
		l.waiting[callID] = w
	}
}

func (l *ledger) offered(o acd.Offer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.offers[o.ID] = RingingEntry{Offer: o, Deadline: l.now().Add(o.Timeout)}
}

func (l *ledger) offerEnded(id uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.offers, id)
}

// answered: the offer's agent is on its call, which left the queue.
func (l *ledger) answered(id uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	o, ok := l.offers[id]
	if !ok {
		return
	}
	delete(l.offers, id)
	delete(l.waiting, o.Offer.CallID)
	for oid, other := range l.offers { // ring-all: the others stop
		if other.Offer.CallID == o.Offer.CallID {
			delete(l.offers, oid)
		}
	}
	l.onCall[o.Offer.AgentID] = AgentEntry{AgentID: o.Offer.AgentID, CallID: o.Offer.CallID, Queue: o.Offer.Queue, AnsweredAt: l.now()}
}

func (l *ledger) reserved(agentID, callID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.onCall[agentID] = AgentEntry{AgentID: agentID, CallID: callID, AnsweredAt: l.now()}
}

// callEnded: a queue call of the agent ended (direct is false) or a
// reservation was released (direct is true).
func (l *ledger) callEnded(agentID string, direct bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.onCall[agentID]; ok && (e.Queue == "") == direct {
		delete(l.onCall, agentID)
	}
}

func (l *ledger) held(agentID string, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.onCall[agentID]; ok {
		e.Hold = on
		l.onCall[agentID] = e
	}
}

func (l *ledger) setReachable(agentID string, r bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reachable[agentID] = r
}

// report is the ledger now, in a stable order.
func (l *ledger) report(node string, run int64) Report {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := Report{Node: node, Run: run, Reachable: maps.Clone(l.reachable)}
	for _, k := range slices.Sorted(maps.Keys(l.waiting)) {
		r.Waiting = append(r.Waiting, l.waiting[k])
	}
	for _, k := range slices.Sorted(maps.Keys(l.offers)) {
		r.Offers = append(r.Offers, l.offers[k])
	}
	for _, k := range slices.Sorted(maps.Keys(l.onCall)) {
		r.OnCall = append(r.OnCall, l.onCall[k])
	}
	return r
}
