package acd

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"
)

// ReasonRemoved is the reason an agent removed from the setup is logged
// out with.
const ReasonRemoved = "removed from the setup"

// Reconfigure replaces the queues and agents with a new setup's, without
// touching a call: queues and agents keep their calls, states, offers and
// counters.
//
//   - A queue in queues is added, or its settings replaced (strategy, ring
//     timeout, wrap-up, skills... apply to the next decision).
//   - A queue not in queues is retired: it takes no part in new setups, but
//     the calls waiting in it stay, in order, and are still offered to the
//     agents who were its members, until the last one has left; then it is
//     gone. A retired queue named again in a later setup is simply live
//     again.
//   - An agent in agents is added (logged out), or its queues and skills
//     replaced, keeping the retired queues it was a member of; one removed
//     by an earlier setup and still on its call stays, as it was.
//   - An agent not in agents is taken out of every queue at once (no new
//     offer; an offer ringing is withdrawn and its call offered again) and
//     logged out with ReasonRemoved: now when it is free, away or logged
//     out, after its call and wrap-up otherwise. Once logged out it is
//     gone. Removed lists those agents.
//
// Nothing changes when an agent names a queue that is not in queues: the
// error says which.
func (a *ACD) Reconfigure(queues []QueueConfig, agents []AgentConfig) (removed []string, err error) {
	a.mu.Lock()
	defer a.unlock()
	live := make(map[string]QueueConfig, len(queues))
	for _, c := range queues {
		live[c.Name] = normalize(c)
	}
	for _, c := range agents {
		for _, name := range c.Queues {
			if _, ok := live[name]; !ok {
				return nil, fmt.Errorf("agent %q: %w %q", c.ID, ErrUnknownQueue, name)
			}
		}
	}

	for _, name := range slices.Sorted(maps.Keys(live)) {
		if q, ok := a.queues[name]; ok {
			q.cfg, q.retired = live[name], false
		} else {
			a.queues[name] = &queue{cfg: live[name]}
		}
	}
	for name, q := range a.queues {
		if _, ok := live[name]; !ok {
			q.retired = true
		}
	}

	wanted := make(map[string]AgentConfig, len(agents))
	for _, c := range agents {
		wanted[c.ID] = c
	}
	for _, c := range agents {
		ag, ok := a.agents[c.ID]
		if !ok {
			ag = &agent{id: c.ID, state: LoggedOut, since: a.clock.Now(), inState: map[AgentState]time.Duration{}}
			a.agents[c.ID] = ag
		}
		if ag.removed { // put back before its call ended: it stays
			ag.removed = false
			if ag.pending == LoggedOut && ag.pendingReason == ReasonRemoved {
				a.clearPending(ag)
			}
		}
		ag.skills = c.Skills
		var qs []*queue
		for _, name := range c.Queues {
			qs = append(qs, a.queues[name])
		}
		for _, q := range ag.queues {
			if q.retired && !slices.Contains(qs, q) {
				qs = append(qs, q)
			}
		}
		a.setMembership(ag, qs)
	}
	for _, id := range slices.Sorted(maps.Keys(a.agents)) {
		if _, ok := wanted[id]; ok {
			continue
		}
		ag := a.agents[id]
		removed = append(removed, id)
		ag.removed = true
		a.setMembership(ag, nil)
		if ag.state == LoggedOut {
			a.forget(ag)
			continue
		}
		a.request(ag, LoggedOut, ReasonRemoved)
	}
	for _, q := range a.queues {
		a.retireIfEmpty(q)
	}
	a.linkBorrowers()
	for _, ag := range a.sortedAgents() {
		a.dispatchAgent(ag)
	}
	return removed, nil
}

// normalize fills a queue's defaults and sorts its escalation steps.
func normalize(c QueueConfig) QueueConfig {
	if c.RetryPause == 0 {
		c.RetryPause = DefaultRetryPause
	}
	if c.Strategy == "" {
		c.Strategy = LongestIdle
	}
	c.Escalations = slices.Clone(c.Escalations)
	slices.SortStableFunc(c.Escalations, func(x, y Escalation) int { return cmp.Compare(x.After, y.After) })
	return c
}

// setMembership makes qs the agent's queues, in that order, updating the
// queues' member lists.
func (a *ACD) setMembership(ag *agent, qs []*queue) {
	for _, q := range ag.queues {
		if !slices.Contains(qs, q) {
			q.agents = slices.DeleteFunc(q.agents, func(x *agent) bool { return x == ag })
		}
	}
	for _, q := range qs {
		if !slices.Contains(q.agents, ag) {
			q.agents = append(q.agents, ag)
		}
	}
	ag.queues = qs
}

// retireIfEmpty removes a retired queue once no call waits in it.
func (a *ACD) retireIfEmpty(q *queue) {
	if !q.retired || len(q.calls) > 0 || a.queues[q.cfg.Name] != q {
		return
	}
	delete(a.queues, q.cfg.Name)
	for _, ag := range slices.Clone(q.agents) {
		a.setMembership(ag, slices.DeleteFunc(slices.Clone(ag.queues), func(x *queue) bool { return x == q }))
	}
	delete(a.borrowers, q)
}

// forget drops a removed agent once it is logged out.
func (a *ACD) forget(ag *agent) {
	if a.agents[ag.id] != ag {
		return
	}
	delete(a.agents, ag.id)
	delete(a.timed, ag)
}

// KeepRetired makes sure a queue a reload removed can still take a call
// that was on its way there (an IVR flow of the setup the call arrived
// with): when no queue of that name exists it is made again, retired, with
// c as its settings and those of members still defined as its agents, and
// goes once its last call has left. A queue that exists is left alone.
func (a *ACD) KeepRetired(c QueueConfig, members []string) {
	a.mu.Lock()
	defer a.unlock()
	if _, ok := a.queues[c.Name]; ok {
		return
	}
	q := &queue{cfg: normalize(c), retired: true}
	a.queues[c.Name] = q
	for _, id := range members {
		if ag, ok := a.agents[id]; ok && !ag.removed {
			a.setMembership(ag, append(slices.Clone(ag.queues), q))
		}
	}
	a.linkBorrowers()
}
