package sim

import (
	"container/heap"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/switchboard/switchboard/internal/outbound"
)

// OutboundConfig is one simulated day of an outbound campaign: agents
// working one list (long enough never to run out), a network that answers
// with the given mix, and the real outbound.Pacer deciding the lines.
type OutboundConfig struct {
	Mode   outbound.Mode
	Pacer  outbound.PacerConfig // Mode is set from Mode
	Agents int
	Hours  float64
	// The network: the share of attempts a person answers, a machine
	// answers, and that are busy; the rest ring out unanswered.
	AnswerRate, MachineRate, BusyRate float64
	// AnswerAfter is the ring time before an answer; Ring is how long an
	// unanswered call rings (outbound.DefaultRing when zero).
	AnswerAfter Dist
	Ring        time.Duration
	// AMDTime is how long answering-machine detection takes after the
	// answer (a person's "hello?" and the silence after it): 2.5 s when
	// zero. A person then waits up to outbound.DropAfter for an agent.
	AMDTime time.Duration
	Talk    Dist
	WrapUp  time.Duration
	Seed    uint64
	// Tick is how often the pacer is asked besides after every event (1 s
	// when zero).
	Tick time.Duration
}

// OutboundResult is the day's totals.
type OutboundResult struct {
	Mode      string  `json:"mode"`
	Agents    int     `json:"agents"`
	Attempts  int     `json:"attempts"`
	Live      int     `json:"live"`
	Connected int     `json:"connected"`
	Dropped   int     `json:"dropped"`
	Machines  int     `json:"machines"`
	Abandon   float64 `json:"abandon_rate"`
	Occupancy float64 `json:"occupancy"`
	// ConnectsPerAgentHour is the agents' connected calls per logged-in hour.
	ConnectsPerAgentHour float64 `json:"connects_per_agent_hour"`
	// LinesPerAgent is the mean calls in flight (dialled, not yet
	// answered) per agent.
	LinesPerAgent float64 `json:"lines_per_agent"`
	// WorstHourAbandon is the highest abandonment rate of any hour.
	WorstHourAbandon float64 `json:"worst_hour_abandon_rate"`
}

type obKind int

const (
	obTick obKind = iota
	obRingEnd
	obDecided // AMD decided: a person waits for an agent, a machine hangs up
	obDrop    // a waiting person's DropAfter passed
	obTalkEnd
	obWrapEnd
)

type obEvent struct {
	at   time.Duration
	seq  uint64
	kind obKind
	id   int // the attempt, or the agent for obWrapEnd
}

type obHeap []obEvent

func (h obHeap) Len() int { return len(h) }
func (h obHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h obHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *obHeap) Push(x any)   { *h = append(*h, x.(obEvent)) }
func (h *obHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

type obAttempt struct {
	dialed  time.Duration
	outcome outbound.Outcome
	agent   int
	done    bool
}

type obRun struct {
	cfg                OutboundConfig
	rng                *rand.Rand
	pacer              *outbound.Pacer
	events             obHeap
	seq                uint64
	now                time.Duration
	attempts           []obAttempt
	free               []int           // free agents
	busySince          []time.Duration // per agent, when their call was connected; -1 free
	wrapEnd            []time.Duration // per agent, when their wrap-up ends
	waiting            []int           // attempts answered by a person, waiting
	inFlight           int
	res                OutboundResult
	busyTime           time.Duration
	flightArea         float64 // ∫ inFlight dt, seconds
	lastAt             time.Duration
	hourLive, hourDrop []int
}

// RunOutbound simulates one day of a campaign.
func RunOutbound(cfg OutboundConfig) (OutboundResult, error) {
	if cfg.Agents < 1 || cfg.Hours <= 0 {
		return OutboundResult{}, errors.New("simulate --outbound: agents and hours must be positive")
	}
	if cfg.AnswerRate <= 0 || cfg.MachineRate < 0 || cfg.BusyRate < 0 || cfg.AnswerRate+cfg.MachineRate+cfg.BusyRate > 1 {
		return OutboundResult{}, errors.New("simulate --outbound: answer rate > 0, machine and busy rates ≥ 0, all three summing to at most 1")
	}
	if cfg.Mode == outbound.Preview {
		return OutboundResult{}, errors.New("simulate --outbound: preview is paced by the agents, not the pacer; simulate progressive, power or predictive")
	}
	if err := cfg.Talk.Validate("talk time"); err != nil {
		return OutboundResult{}, err
	}
	if err := cfg.AnswerAfter.Validate("answer time"); err != nil {
		return OutboundResult{}, err
	}
	if cfg.Ring <= 0 {
		cfg.Ring = outbound.DefaultRing
	}
	if cfg.Ring < outbound.MinRing {
		return OutboundResult{}, fmt.Errorf("simulate --outbound: calls must ring at least %s", outbound.MinRing)
	}
	if cfg.AMDTime <= 0 {
		cfg.AMDTime = 2500 * time.Millisecond
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	cfg.Pacer.Mode = cfg.Mode
	if cfg.Pacer.Longest == 0 {
		cfg.Pacer.Longest = cfg.Ring + cfg.AMDTime
	}
	r := &obRun{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x51f15e)), pacer: outbound.NewPacer(cfg.Pacer)}
	r.busySince = make([]time.Duration, cfg.Agents)
	r.wrapEnd = make([]time.Duration, cfg.Agents)
	for a := range cfg.Agents {
		r.free = append(r.free, a)
		r.busySince[a] = -1
	}
	day := time.Duration(cfg.Hours * float64(time.Hour))
	hours := int(cfg.Hours + 0.999)
	r.hourLive, r.hourDrop = make([]int, hours), make([]int, hours)
	r.push(0, obTick, 0)
	for len(r.events) > 0 {
		e := heap.Pop(&r.events).(obEvent)
		r.advance(e.at)
		dialing := e.at < day
		switch e.kind {
		case obTick:
			if dialing {
				r.push(e.at+cfg.Tick, obTick, 0)
			}
		case obRingEnd:
			r.ringEnd(e.id)
		case obDecided:
			r.decided(e.id)
		case obDrop:
			r.dropIfWaiting(e.id)
		case obTalkEnd:
			a := r.attempts[e.id].agent
			r.wrapEnd[a] = e.at + cfg.WrapUp
			r.push(e.at+cfg.WrapUp, obWrapEnd, a)
		case obWrapEnd:
			r.pacer.Handled(r.now - r.busySince[e.id])
			r.busyTime += r.now - r.busySince[e.id]
			r.busySince[e.id] = -1
			r.free = append(r.free, e.id)
			r.serveWaiting()
		}
		if dialing {
			r.dial()
		}
	}
	res := r.res
	res.Mode, res.Agents = string(cfg.Mode), cfg.Agents
	if res.Live > 0 {
		res.Abandon = float64(res.Dropped) / float64(res.Live)
	}
	logged := time.Duration(cfg.Agents) * day
	res.Occupancy = r.busyTime.Seconds() / logged.Seconds()
	res.ConnectsPerAgentHour = float64(res.Connected) / (float64(cfg.Agents) * cfg.Hours)
	res.LinesPerAgent = r.flightArea / day.Seconds() / float64(cfg.Agents)
	for h := range hours {
		if r.hourLive[h] > 0 {
			res.WorstHourAbandon = max(res.WorstHourAbandon, float64(r.hourDrop[h])/float64(r.hourLive[h]))
		}
	}
	return res, nil
}

// obEpoch is the simulated day's start on the pacer's clock.
var obEpoch = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func (r *obRun) push(at time.Duration, k obKind, id int) {
	r.seq++
	heap.Push(&r.events, obEvent{at: at, seq: r.seq, kind: k, id: id})
}

func (r *obRun) advance(t time.Duration) {
	r.flightArea += float64(r.inFlight) * (t - r.lastAt).Seconds()
	r.now, r.lastAt = t, t
}

// dial asks the pacer and places its calls.
func (r *obRun) dial() {
	st := outbound.State{Now: obEpoch.Add(r.now), Free: len(r.free), Busy: r.cfg.Agents - len(r.free), InFlight: r.inFlight, Waiting: len(r.waiting)}
	for _, end := range r.wrapEnd {
		if end > r.now {
			st.FreeIn = append(st.FreeIn, end-r.now)
		}
	}
	n := r.pacer.Lines(st)
	for range n {
		id := len(r.attempts)
		u := r.rng.Float64()
		a := obAttempt{dialed: r.now, agent: -1}
		var ring time.Duration
		switch {
		case u < r.cfg.AnswerRate:
			a.outcome, ring = outbound.Human, min(r.cfg.AnswerAfter.Sample(r.rng), r.cfg.Ring)
		case u < r.cfg.AnswerRate+r.cfg.MachineRate:
			a.outcome, ring = outbound.Machine, min(r.cfg.AnswerAfter.Sample(r.rng), r.cfg.Ring)
		case u < r.cfg.AnswerRate+r.cfg.MachineRate+r.cfg.BusyRate:
			a.outcome, ring = outbound.Busy, 2*time.Second
		default:
			a.outcome, ring = outbound.NoAnswer, r.cfg.Ring
		}
		r.attempts = append(r.attempts, a)
		r.inFlight++
		r.res.Attempts++
		r.push(r.now+ring, obRingEnd, id)
	}
}

func (r *obRun) ringEnd(id int) {
	a := &r.attempts[id]
	if a.outcome.Answered() {
		r.push(r.now+r.cfg.AMDTime, obDecided, id) // still in flight while AMD listens
		return
	}
	r.inFlight--
	r.pacer.Attempted(a.outcome, obEpoch.Add(a.dialed), r.now-a.dialed)
	a.done = true
}

func (r *obRun) decided(id int) {
	a := &r.attempts[id]
	r.inFlight--
	r.pacer.Attempted(a.outcome, obEpoch.Add(a.dialed), r.now-a.dialed)
	if a.outcome == outbound.Machine {
		r.res.Machines++
		a.done = true
		return
	}
	r.waiting = append(r.waiting, id)
	r.push(r.now+outbound.DropAfter, obDrop, id)
	r.serveWaiting()
}

// serveWaiting gives free agents to the people waiting, first come first.
func (r *obRun) serveWaiting() {
	for len(r.waiting) > 0 && len(r.free) > 0 {
		id := r.waiting[0]
		r.waiting = r.waiting[1:]
		agent := r.free[0]
		r.free = r.free[1:]
		a := &r.attempts[id]
		a.agent, a.done = agent, true
		r.busySince[agent] = r.now
		r.pacer.Connected()
		r.res.Live++
		r.res.Connected++
		r.hourLive[r.hour()]++
		r.push(r.now+r.cfg.Talk.Sample(r.rng), obTalkEnd, id)
	}
}

func (r *obRun) dropIfWaiting(id int) {
	for i, w := range r.waiting {
		if w == id {
			r.waiting = append(r.waiting[:i], r.waiting[i+1:]...)
			r.pacer.Dropped()
			r.res.Live++
			r.res.Dropped++
			r.hourLive[r.hour()]++
			r.hourDrop[r.hour()]++
			return
		}
	}
}

func (r *obRun) hour() int {
	return min(int(r.now/time.Hour), len(r.hourLive)-1)
}
