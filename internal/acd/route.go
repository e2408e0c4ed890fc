package acd

import (
	"fmt"
	"slices"
	"time"
)

// Strategy is how a queue picks among the agents who can take a call.
type Strategy string

// Routing strategies.
const (
	LongestIdle     Strategy = "longest_idle"     // the agent free the longest
	RoundRobin      Strategy = "round_robin"      // the next agent after the last one offered, in list order
	FewestCalls     Strategy = "fewest_calls"     // the fewest calls answered today
	LeastTalkTime   Strategy = "least_talk_time"  // the least talk time today
	Random          Strategy = "random"           // any, at random
	Linear          Strategy = "linear"           // always the first free agent in list order
	RingAll         Strategy = "ring_all"         // every free agent at once; the first to answer takes it
	BestProficiency Strategy = "best_proficiency" // the highest proficiency in the queue's skills
)

// Strategies lists every strategy.
var Strategies = []Strategy{LongestIdle, RoundRobin, FewestCalls, LeastTalkTime, Random, Linear, RingAll, BestProficiency}

// ParseStrategy checks a strategy name.
func ParseStrategy(s string) (Strategy, error) {
	if s == "" {
		return LongestIdle, nil
	}
	if slices.Contains(Strategies, Strategy(s)) {
		return Strategy(s), nil
	}
	return "", fmt.Errorf("acd: unknown strategy %q (one of %v)", s, Strategies)
}

// free reports whether an agent can be offered a call now.
func (a *ACD) free(ag *agent, now time.Time) bool {
	return ag.state == Available && ag.offer == nil && !ag.direct && !ag.unreachable && !now.Before(ag.restUntil)
}

// member reports whether ag may take calls of q at escalation level lvl:
// a member of q with the required skills (minimums lowered by the steps
// taken), or an agent of a queue that a step added.
func (a *ACD) member(q *queue, ag *agent, lvl int) bool {
	if slices.Contains(ag.queues, q) && a.skilled(q, ag, lvl) {
		return true
	}
	for _, step := range q.cfg.Escalations[:lvl] {
		for _, name := range step.AddQueues {
			if other := a.queues[name]; other != nil && slices.Contains(ag.queues, other) {
				return true
			}
		}
	}
	return false
}

func (a *ACD) skilled(q *queue, ag *agent, lvl int) bool {
	if len(q.cfg.Skills) == 0 {
		return true
	}
	floor := 0
	for _, step := range q.cfg.Escalations[:lvl] {
		if step.MinProficiency > 0 {
			floor = step.MinProficiency
		}
	}
	for skill, min := range q.cfg.Skills {
		if floor > 0 && floor < min {
			min = floor
		}
		if ag.skills[skill] < min {
			return false
		}
	}
	return true
}

// proficiency is an agent's total proficiency in a queue's skills.
func proficiency(q *queue, ag *agent) int {
	n := 0
	for skill := range q.cfg.Skills {
		n += ag.skills[skill]
	}
	return n
}

// candidates lists, in the queue's order, the agents who may take calls of q
// at level lvl: its members, then the agents of queues that steps added.
func (a *ACD) candidates(q *queue, lvl int, visit func(i int, ag *agent) bool) {
	i := 0
	for _, ag := range q.agents {
		if a.skilled(q, ag, lvl) {
			if !visit(i, ag) {
				return
			}
		}
		i++
	}
	if lvl == 0 {
		return
	}
	seen := map[*agent]bool{}
	for _, step := range q.cfg.Escalations[:lvl] {
		for _, name := range step.AddQueues {
			other := a.queues[name]
			if other == nil || other == q {
				continue
			}
			for _, ag := range other.agents {
				if seen[ag] || slices.Contains(ag.queues, q) {
					continue
				}
				seen[ag] = true
				if !visit(i, ag) {
					return
				}
				i++
			}
		}
	}
}

// pick chooses the agent for a call of q at level lvl by the queue's
// strategy, among the free ones; nil when none is free. For ring-all it
// returns every free one.
func (a *ACD) pick(q *queue, lvl int, now time.Time) []*agent {
	var best *agent
	bestIdx, n := -1, 0
	var all []*agent
	better := func(x, y *agent) bool { // longest idle, then ID: the tie-break of every strategy
		return x.idleSince.Before(y.idleSince) || (x.idleSince.Equal(y.idleSince) && x.id < y.id)
	}
	s := q.cfg.Strategy
	a.candidates(q, lvl, func(i int, ag *agent) bool {
		if !a.free(ag, now) {
			return true
		}
		switch s {
		case RingAll:
			all = append(all, ag)
			return true
		case Linear:
			best = ag
			return false
		case RoundRobin:
			// the first free at or after rrNext, else the first free at all
			if best == nil || (bestIdx < q.rrNext && i >= q.rrNext) {
				best, bestIdx = ag, i
			}
			return true
		case Random:
			n++ // reservoir sampling: each free agent equally likely
			if a.rng.IntN(n) == 0 {
				best = ag
			}
			return true
		case FewestCalls:
			a.rollDay(ag)
			if best == nil || ag.answered < best.answered || (ag.answered == best.answered && better(ag, best)) {
				best = ag
			}
			return true
		case LeastTalkTime:
			a.rollDay(ag)
			if best == nil || ag.talk < best.talk || (ag.talk == best.talk && better(ag, best)) {
				best = ag
			}
			return true
		case BestProficiency:
			if best == nil {
				best = ag
				return true
			}
			p, bp := proficiency(q, ag), proficiency(q, best)
			if p > bp || (p == bp && better(ag, best)) {
				best = ag
			}
			return true
		default: // LongestIdle
			if best == nil || better(ag, best) {
				best = ag
			}
			return true
		}
	})
	if s == RingAll {
		return all
	}
	if best == nil {
		return nil
	}
	if s == RoundRobin {
		q.rrNext = bestIdx + 1
	}
	return []*agent{best}
}

// dispatchQueue offers the queue's waiting calls, in service order, to the
// agents its strategy picks, while any can take them. The candidates only
// grow with a call's escalation level, so once a call at level L finds
// nobody, no call at a level up to L is tried again.
func (a *ACD) dispatchQueue(q *queue) {
	now := a.clock.Now()
	failed := -1
	for _, c := range slices.Clone(q.calls) {
		if c.state != callWaiting || c.level <= failed {
			continue
		}
		agents := a.pick(q, c.level, now)
		if len(agents) == 0 {
			failed = c.level
			continue
		}
		for _, ag := range agents {
			a.offer(c, ag)
		}
	}
}

// dispatchAgent gives a newly free agent the most urgent call it may take:
// from the highest-priority queue, then the highest call priority, then
// the longest waiting. A ring-all call already ringing others rings this
// agent too.
func (a *ACD) dispatchAgent(ag *agent) {
	now := a.clock.Now()
	if !a.free(ag, now) {
		return
	}
	var best *call
	consider := func(q *queue) {
		for _, c := range q.calls {
			if c.state != callWaiting && q.cfg.Strategy != RingAll {
				continue
			}
			if !a.member(q, ag, c.level) {
				continue
			}
			if best == nil || urgent(c, best) {
				best = c
			}
			return // calls are in service order: the first one it may take
		}
	}
	for _, q := range ag.queues {
		consider(q)
	}
	for _, q := range a.borrowersOf(ag) {
		consider(q)
	}
	if best == nil {
		return
	}
	if best.state == callWaiting && best.q.cfg.Strategy != RingAll {
		// The strategy may prefer another free agent; this one is free either way.
		agents := a.pick(best.q, best.level, now)
		if len(agents) > 0 {
			a.offer(best, agents[0])
			if agents[0] != ag {
				a.dispatchAgent(ag)
			}
			return
		}
	}
	a.offer(best, ag)
}

// urgent orders calls across queues: queue priority, call priority, wait.
func urgent(x, y *call) bool {
	if x.q.cfg.Priority != y.q.cfg.Priority {
		return x.q.cfg.Priority > y.q.cfg.Priority
	}
	if x.priority != y.priority {
		return x.priority > y.priority
	}
	return x.queuedAt.Before(y.queuedAt)
}

// borrowers are the queues (other than the agent's own) whose escalation
// steps may add the agent's queues.
func (a *ACD) borrowersOf(ag *agent) []*queue {
	var out []*queue
	for _, q := range ag.queues {
		for _, b := range a.borrowers[q] {
			if !slices.Contains(ag.queues, b) && !slices.Contains(out, b) {
				out = append(out, b)
			}
		}
	}
	return out
}

func (a *ACD) offer(c *call, ag *agent) {
	a.nextOID++
	o := &offerState{
		Offer:    Offer{ID: a.nextOID, CallID: c.id, AgentID: ag.id, Queue: c.q.cfg.Name, Timeout: c.q.cfg.RingTimeout},
		deadline: a.clock.Now().Add(c.q.cfg.RingTimeout),
		agent:    ag,
		call:     c,
	}
	a.offers[o.ID] = o
	c.offers = append(c.offers, o)
	c.state = callRinging
	ag.offer = o
	a.setAgentState(ag, Ringing, "")
	a.emit(Event{Kind: EventOffered, CallID: c.id, AgentID: ag.id, Queue: c.q.cfg.Name})
	a.sendOffer(o.Offer)
}
