package acd

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// AgentView is an agent's live state.
type AgentView struct {
	ID     string     `json:"id"`
	State  AgentState `json:"state"`
	Reason string     `json:"reason,omitempty"`
	Since  time.Time  `json:"since"`
	CallID string     `json:"call_id,omitempty"`
	// CallNode is the node that holds CallID, in a cluster: the cluster's
	// leader sets it; the ACD itself knows nothing of nodes.
	CallNode string        `json:"call_node,omitempty"`
	Queues   []string      `json:"queues"`
	Answered int           `json:"answered_today"`
	InState  time.Duration `json:"-"`
	// TalkSeconds today, and seconds spent in each state today (the
	// current one up to now).
	TalkSeconds  float64            `json:"talk_seconds_today"`
	StateSeconds map[string]float64 `json:"state_seconds_today"`
	Skills       map[string]int     `json:"skills,omitempty"`
	// WrapUpUntil is when wrap-up ends (in wrap-up only).
	WrapUpUntil *time.Time `json:"wrap_up_until,omitempty"`
	// PendingState is the state asked for during a call (away, logged_out),
	// applied when the call and its wrap-up end; PendingReason the away reason.
	PendingState  AgentState `json:"pending_state,omitempty"`
	PendingReason string     `json:"pending_reason,omitempty"`
	// Reachable is the phone's device state. Unreachable is set when the
	// agent is logged in but their phone cannot be reached: whatever State
	// says, they are not offered calls.
	Reachable   bool `json:"reachable"`
	Unreachable bool `json:"unreachable,omitempty"`
}

// QueueView is a queue's live state.
type QueueView struct {
	Name               string   `json:"name"`
	Strategy           Strategy `json:"strategy"`
	Waiting            int      `json:"waiting"`
	Ringing            int      `json:"ringing"`
	LongestWaitSeconds float64  `json:"longest_wait_seconds"`
	// EstimatedWaitSeconds is the wait a caller joining now can expect
	// (EstimatedWaitKnown is false, and the figure 0, with no agent
	// staffed); CallbacksPending counts the waiting calls whose callers
	// hung up to be called back.
	EstimatedWaitSeconds float64       `json:"estimated_wait_seconds"`
	EstimatedWaitKnown   bool          `json:"estimated_wait_known"`
	CallbacksPending     int           `json:"callbacks_pending"`
	HandleTimeSeconds    float64       `json:"handle_time_seconds"`
	AgentsLoggedIn       int           `json:"agents_logged_in"`
	AgentsStaffed        int           `json:"agents_staffed"`
	Calls                []WaitingCall `json:"calls"`
	Agents               []AgentView   `json:"agents"`
}

func (a *ACD) viewAgent(ag *agent, now time.Time) AgentView {
	a.rollDay(ag)
	v := AgentView{ID: ag.id, State: ag.state, Reason: ag.reason, Since: ag.since, CallID: ag.callID,
		Answered: ag.answered, InState: now.Sub(ag.since), Skills: ag.skills, StateSeconds: map[string]float64{},
		PendingState: ag.pending, PendingReason: ag.pendingReason,
		Reachable: !ag.unreachable, Unreachable: ag.unreachable && ag.state != LoggedOut}
	talk := ag.talk
	if !ag.answeredAt.IsZero() {
		talk += now.Sub(ag.answeredAt)
	}
	v.TalkSeconds = talk.Seconds()
	for st, d := range ag.inState {
		v.StateSeconds[string(st)] = d.Seconds()
	}
	v.StateSeconds[string(ag.state)] += sinceToday(ag.since, now).Seconds()
	if ag.offer != nil {
		v.CallID = ag.offer.CallID
	}
	if ag.state == WrapUp {
		until := ag.wrapUntil
		v.WrapUpUntil = &until
	}
	for _, q := range ag.queues {
		v.Queues = append(v.Queues, q.cfg.Name)
	}
	return v
}

func (a *ACD) sortedAgents() []*agent {
	out := make([]*agent, 0, len(a.agents))
	for _, ag := range a.agents {
		out = append(out, ag)
	}
	slices.SortFunc(out, func(x, y *agent) int { return strings.Compare(x.id, y.id) })
	return out
}

func sortOffers(os []*offerState) {
	slices.SortFunc(os, func(x, y *offerState) int {
		switch {
		case x.ID < y.ID:
			return -1
		case x.ID > y.ID:
			return 1
		}
		return 0
	})
}

// Agents returns every agent's state, by ID.
func (a *ACD) Agents() []AgentView {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.clock.Now()
	var out []AgentView
	for _, ag := range a.sortedAgents() {
		out = append(out, a.viewAgent(ag, now))
	}
	return out
}

// Agent returns one agent's state.
func (a *ACD) Agent(id string) (AgentView, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ag, ok := a.agents[id]
	if !ok {
		return AgentView{}, false
	}
	return a.viewAgent(ag, a.clock.Now()), true
}

// Queues returns every queue's state, by name.
func (a *ACD) Queues() []QueueView {
	a.mu.Lock()
	defer a.mu.Unlock()
	names := slices.Sorted(maps.Keys(a.queues))
	out := make([]QueueView, 0, len(names))
	for _, n := range names {
		out = append(out, a.viewQueue(a.queues[n]))
	}
	return out
}

// Queue returns one queue's state.
func (a *ACD) Queue(name string) (QueueView, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	q, ok := a.queues[name]
	if !ok {
		return QueueView{}, false
	}
	return a.viewQueue(q), true
}

func (a *ACD) viewQueue(q *queue) QueueView {
	now := a.clock.Now()
	v := QueueView{Name: q.cfg.Name, Strategy: q.cfg.Strategy, Agents: []AgentView{}, Calls: []WaitingCall{}}
	for i, c := range q.calls {
		v.Calls = append(v.Calls, WaitingCall{ID: c.id, Position: i + 1, Priority: c.priority, WaitSeconds: now.Sub(c.queuedAt).Seconds(),
			Ringing: c.state == callRinging, Callback: c.callback})
		if c.state == callRinging {
			v.Ringing++
		}
		v.Waiting++
		if c.callback {
			v.CallbacksPending++
		}
		if w := now.Sub(c.queuedAt).Seconds(); w > v.LongestWaitSeconds {
			v.LongestWaitSeconds = w
		}
	}
	if est, ok := a.estimate(q, len(q.calls)+1); ok {
		v.EstimatedWaitSeconds, v.EstimatedWaitKnown = est.Seconds(), true
	}
	v.HandleTimeSeconds = q.handleTime().Seconds()
	v.AgentsLoggedIn, v.AgentsStaffed, _ = a.staffing(q)
	for _, ag := range q.agents {
		v.Agents = append(v.Agents, a.viewAgent(ag, now))
	}
	return v
}

// Position is a queued call's place in line (1 is next), 0 if not queued.
func (a *ACD) Position(callID string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.calls[callID]
	if !ok {
		return 0
	}
	return slices.Index(c.q.calls, c) + 1
}
