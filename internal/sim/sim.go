// Package sim is a discrete-event simulation of a contact center that
// drives the real acd package with a virtual clock: Poisson arrivals (with
// an optional per-interval profile), sampled handle times and patience,
// agents who answer every offer at once. It reports the same metrics, with
// the same definitions, as the reports.
package sim

import (
	"cmp"
	"container/heap"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/switchboard/switchboard/internal/acd"
)

// Dist is a distribution of durations.
type Dist struct {
	Kind  string // exponential, lognormal, constant
	Mean  time.Duration
	Sigma float64 // lognormal: standard deviation of the underlying normal
}

// Sample draws one duration.
func (d Dist) Sample(r *rand.Rand) time.Duration {
	m := d.Mean.Seconds()
	var s float64
	switch d.Kind {
	case "constant":
		s = m
	case "lognormal":
		mu := math.Log(m) - d.Sigma*d.Sigma/2
		s = math.Exp(mu + d.Sigma*r.NormFloat64())
	default:
		s = r.ExpFloat64() * m
	}
	return time.Duration(s * float64(time.Second))
}

// Validate reports a distribution that cannot be sampled.
func (d Dist) Validate(name string) error {
	switch d.Kind {
	case "exponential", "constant", "":
	case "lognormal":
		if !(d.Sigma > 0) {
			return fmt.Errorf("%s: lognormal needs a sigma > 0", name)
		}
	default:
		return fmt.Errorf("%s: unknown distribution %q (exponential, lognormal, constant)", name, d.Kind)
	}
	if d.Mean <= 0 {
		return fmt.Errorf("%s: mean must be > 0", name)
	}
	return nil
}

// Config is one simulated day.
type Config struct {
	ArrivalsPerHour float64
	// Profile weights each interval's arrival rate; it is scaled so its mean
	// is 1 (the day still averages ArrivalsPerHour). Empty means flat.
	Profile  []float64
	Interval time.Duration
	Hours    float64
	Agents   int
	Handle   Dist
	// Patience of callers; a zero mean means nobody abandons.
	Patience     Dist
	Threshold    time.Duration
	ShortAbandon time.Duration
	WrapUp       time.Duration
	Seed         uint64
	// Strategy is the queues' routing strategy (longest idle when empty).
	Strategy acd.Strategy
	// Groups split the agents by skill: each group is a queue needing its
	// skill, staffed by its agents, and gets its share of the calls. Empty:
	// one group of Agents taking every call.
	Groups []Group
	// OverflowAfter, when set, lets a call waiting this long go to the
	// other groups' agents too (an escalation step adding their queues).
	OverflowAfter time.Duration
}

// Group is agents with one skill and the share of calls that need it.
type Group struct {
	Name   string  `json:"name"`
	Agents int     `json:"agents"`
	Share  float64 `json:"share"`
}

// GroupRow is a group's totals for the day.
type GroupRow struct {
	Name string `json:"name"`
	Row
}

// Row is the metrics of an interval, or of the whole day.
type Row struct {
	Start          string   `json:"start,omitempty"`
	Offered        int      `json:"offered"`
	Answered       int      `json:"answered"`
	Abandoned      int      `json:"abandoned"`
	ShortAbandoned int      `json:"short_abandoned"`
	ServiceLevel   float64  `json:"service_level"`
	PWait          float64  `json:"p_wait"`
	ASASeconds     float64  `json:"asa_seconds"`
	AHTSeconds     float64  `json:"aht_seconds"`
	Occupancy      float64  `json:"occupancy"`
	AbandonRate    *float64 `json:"abandon_rate,omitempty"`

	within, waited   int
	waitSum, handleS float64
	busy, capacity   float64
}

// Result is a simulated day.
type Result struct {
	Agents    int        `json:"agents"`
	Strategy  string     `json:"strategy"`
	Total     Row        `json:"total"`
	Intervals []Row      `json:"intervals"`
	Groups    []GroupRow `json:"groups,omitempty"`
	// AgentCallsMin and Max are the fewest and most calls one agent answered.
	AgentCallsMin int `json:"agent_calls_min"`
	AgentCallsMax int `json:"agent_calls_max"`
	// Events is how many simulation events were processed.
	Events int `json:"events"`
}

type evKind uint8

const (
	evArrival evKind = iota
	evAnswer
	evEnd
	evAbandon
)

type event struct {
	at   time.Time
	seq  uint64
	kind evKind
	call int
	// offer for evAnswer
	offer acd.Offer
}

type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

type vclock struct{ now time.Time }

func (c *vclock) Now() time.Time { return c.now }

type simCall struct {
	group    int
	arrived  time.Time
	handle   time.Duration
	answered bool
	done     bool
	agent    string
}

type runner struct {
	cfg    Config
	rng    *rand.Rand
	clock  *vclock
	acd    *acd.ACD
	events eventHeap
	seq    uint64
	calls  []simCall
	ids    []string
	start  time.Time
	n      int
}

func (r *runner) push(e event) {
	r.seq++
	e.seq = r.seq
	heap.Push(&r.events, e)
}

// Offer: a simulated agent answers at once (acd.Offerer).
func (r *runner) Offer(o acd.Offer) {
	r.push(event{at: r.clock.now, kind: evAnswer, offer: o})
}

// CancelOffer: nothing rings in a simulation.
func (r *runner) CancelOffer(acd.Offer) {}

// Run simulates one day.
func Run(cfg Config) (Result, error) {
	if len(cfg.Groups) == 0 {
		cfg.Groups = []Group{{Name: "sim", Agents: cfg.Agents, Share: 1}}
	}
	cfg.Agents = 0
	shares := 0.0
	for _, g := range cfg.Groups {
		if g.Agents < 1 || g.Share <= 0 || g.Name == "" {
			return Result{}, fmt.Errorf("simulate: group %q needs a name, agents and a share above 0", g.Name)
		}
		cfg.Agents += g.Agents
		shares += g.Share
	}
	if cfg.ArrivalsPerHour <= 0 || cfg.Agents < 1 || cfg.Hours <= 0 {
		return Result{}, errors.New("simulate: arrivals, agents and hours must be positive")
	}
	if err := cfg.Handle.Validate("handle time"); err != nil {
		return Result{}, err
	}
	if cfg.Patience.Mean > 0 {
		if err := cfg.Patience.Validate("patience"); err != nil {
			return Result{}, err
		}
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Minute
	}
	start := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	r := &runner{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), clock: &vclock{now: start}, start: start}
	r.acd = acd.New(r.clock, r, nil)
	r.acd.Seed(cfg.Seed)
	names := make([]string, len(cfg.Groups))
	for i, g := range cfg.Groups {
		names[i] = g.Name
	}
	for _, g := range cfg.Groups {
		qc := acd.QueueConfig{Name: g.Name, RingTimeout: time.Minute, WrapUp: cfg.WrapUp, Strategy: cfg.Strategy,
			Skills: map[string]int{g.Name: 1}}
		if cfg.OverflowAfter > 0 && len(cfg.Groups) > 1 {
			var others []string
			for _, n := range names {
				if n != g.Name {
					others = append(others, n)
				}
			}
			qc.Escalations = []acd.Escalation{{After: cfg.OverflowAfter, AddQueues: others}}
		}
		r.acd.AddQueue(qc)
	}
	agentGroup := map[string]int{}
	for gi, g := range cfg.Groups {
		for j := 0; j < g.Agents; j++ {
			id := "a" + strconv.Itoa(len(agentGroup))
			// Proficiency varies across a group (it orders best_proficiency).
			skills := map[string]int{g.Name: 1 + j%10}
			if err := r.acd.AddAgent(acd.AgentConfig{ID: id, Queues: []string{g.Name}, Skills: skills}); err != nil {
				return Result{}, err
			}
			agentGroup[id] = gi
			_ = r.acd.Login(id)
		}
	}
	groups := make([]GroupRow, len(cfg.Groups))
	for i, g := range cfg.Groups {
		groups[i].Name = g.Name
		groups[i].capacity = float64(g.Agents) * cfg.Hours * 3600
	}
	answeredBy := map[string]int{}
	end := start.Add(time.Duration(cfg.Hours * float64(time.Hour)))
	nIntervals := int(math.Ceil(float64(end.Sub(start)) / float64(cfg.Interval)))
	rows := make([]Row, nIntervals)
	weights := profile(cfg.Profile, nIntervals)

	// Arrivals: a Poisson process whose rate is constant within an interval.
	t := start
	for i := 0; i < nIntervals; i++ {
		ivEnd := start.Add(time.Duration(i+1) * cfg.Interval)
		if ivEnd.After(end) {
			ivEnd = end
		}
		rate := cfg.ArrivalsPerHour * weights[i] / 3600 // per second
		if t.Before(start.Add(time.Duration(i) * cfg.Interval)) {
			t = start.Add(time.Duration(i) * cfg.Interval)
		}
		for rate > 0 {
			t = t.Add(time.Duration(r.rng.ExpFloat64() / rate * float64(time.Second)))
			if !t.Before(ivEnd) {
				t = ivEnd
				break
			}
			r.push(event{at: t, kind: evArrival, call: len(r.calls)})
			g := 0
			if len(cfg.Groups) > 1 {
				g = pickGroup(cfg.Groups, shares, r.rng.Float64())
			}
			r.calls = append(r.calls, simCall{arrived: t, group: g})
		}
	}
	r.ids = make([]string, len(r.calls))
	for i := range r.ids {
		r.ids[i] = "c" + strconv.Itoa(i)
	}

	interval := func(at time.Time) *Row {
		i := int(at.Sub(start) / cfg.Interval)
		return &rows[min(max(i, 0), nIntervals-1)]
	}
	for r.events.Len() > 0 {
		e := heap.Pop(&r.events).(event)
		r.advance(e.at)
		r.n++
		switch e.kind {
		case evArrival:
			c := &r.calls[e.call]
			c.handle = cfg.Handle.Sample(r.rng)
			interval(c.arrived).Offered++
			groups[c.group].Offered++
			if cfg.Patience.Mean > 0 {
				r.push(event{at: e.at.Add(cfg.Patience.Sample(r.rng)), kind: evAbandon, call: e.call})
			}
			_ = r.acd.Enqueue(r.ids[e.call], names[c.group], 0)
		case evAnswer:
			idx, _ := strconv.Atoi(e.offer.CallID[1:])
			c := &r.calls[idx]
			if err := r.acd.Answered(e.offer.ID); err != nil {
				continue
			}
			c.answered, c.agent = true, e.offer.AgentID
			answeredBy[c.agent]++
			wait := e.at.Sub(c.arrived)
			for _, row := range []*Row{interval(c.arrived), &groups[c.group].Row} {
				row.Answered++
				row.waitSum += wait.Seconds()
				row.handleS += c.handle.Seconds()
				if wait <= cfg.Threshold {
					row.within++
				}
				if wait > 0 {
					row.waited++
				}
			}
			addBusy(rows, start, cfg.Interval, e.at, e.at.Add(c.handle+cfg.WrapUp))
			// Only the part within the day counts, as for the intervals (a
			// call answered after the end adds nothing).
			if d := min(c.handle+cfg.WrapUp, end.Sub(e.at)); d > 0 {
				groups[agentGroup[c.agent]].busy += d.Seconds()
			}
			r.push(event{at: e.at.Add(c.handle), kind: evEnd, call: idx})
		case evEnd:
			c := &r.calls[e.call]
			c.done = true
			_ = r.acd.CallEnded(c.agent)
		case evAbandon:
			c := &r.calls[e.call]
			if c.answered {
				continue
			}
			if err := r.acd.Abandon(r.ids[e.call], "patience"); err != nil {
				continue
			}
			for _, row := range []*Row{interval(c.arrived), &groups[c.group].Row} {
				row.waited++
				if e.at.Sub(c.arrived) < cfg.ShortAbandon {
					row.ShortAbandoned++
				} else {
					row.Abandoned++
				}
			}
		}
	}
	for i := range rows {
		rows[i].Start = start.Add(time.Duration(i) * cfg.Interval).Format("15:04")
		rows[i].capacity = float64(cfg.Agents) * cfg.Interval.Seconds()
	}
	res := Result{Agents: cfg.Agents, Events: r.n, Strategy: string(cmp.Or(cfg.Strategy, acd.LongestIdle))}
	res.AgentCallsMin = math.MaxInt
	for id := range agentGroup {
		res.AgentCallsMin = min(res.AgentCallsMin, answeredBy[id])
		res.AgentCallsMax = max(res.AgentCallsMax, answeredBy[id])
	}
	if len(cfg.Groups) > 1 {
		for i := range groups {
			groups[i].finish(cfg.Patience.Mean > 0)
		}
		res.Groups = groups
	}
	var total Row
	for i := range rows {
		total.add(rows[i])
		rows[i].finish(cfg.Patience.Mean > 0)
	}
	total.finish(cfg.Patience.Mean > 0)
	res.Total, res.Intervals = total, rows
	return res, nil
}

// advance runs the ACD's own timers (wrap-up) up to t, then sets the clock to t.
func (r *runner) advance(t time.Time) {
	for i := 0; i < 1_000_000; i++ {
		next, ok := r.acd.NextDeadline()
		if !ok || next.After(t) {
			break
		}
		r.clock.now = next
		r.acd.Tick()
	}
	r.clock.now = t
}

// pickGroup chooses a call's group by the groups' shares, given u in [0, 1).
func pickGroup(groups []Group, total, u float64) int {
	x := u * total
	for i, g := range groups {
		if x < g.Share {
			return i
		}
		x -= g.Share
	}
	return len(groups) - 1
}

func profile(p []float64, n int) []float64 {
	w := make([]float64, n)
	if len(p) == 0 {
		for i := range w {
			w[i] = 1
		}
		return w
	}
	sum := 0.0
	for i := range w {
		w[i] = p[i%len(p)]
		sum += w[i]
	}
	if sum <= 0 {
		return w
	}
	for i := range w {
		w[i] *= float64(n) / sum
	}
	return w
}

// addBusy spreads an agent's busy time over the intervals it overlaps.
func addBusy(rows []Row, start time.Time, iv time.Duration, from, to time.Time) {
	for i := int(from.Sub(start) / iv); i < len(rows) && i >= 0; i++ {
		a := start.Add(time.Duration(i) * iv)
		b := a.Add(iv)
		lo, hi := maxTime(a, from), minTime(b, to)
		if !hi.After(lo) {
			break
		}
		rows[i].busy += hi.Sub(lo).Seconds()
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (t *Row) add(r Row) {
	t.Offered += r.Offered
	t.Answered += r.Answered
	t.Abandoned += r.Abandoned
	t.ShortAbandoned += r.ShortAbandoned
	t.within += r.within
	t.waited += r.waited
	t.waitSum += r.waitSum
	t.handleS += r.handleS
	t.busy += r.busy
	t.capacity += r.capacity
}

// finish computes the rates, with the report definitions: short abandons
// leave both sides of the service level; abandonment counts the others
// against every call offered.
func (t *Row) finish(patience bool) {
	if d := t.Offered - t.ShortAbandoned; d > 0 {
		t.ServiceLevel = float64(t.within) / float64(d)
	}
	if t.Offered > 0 {
		t.PWait = float64(t.waited) / float64(t.Offered)
		if patience {
			ab := float64(t.Abandoned) / float64(t.Offered)
			t.AbandonRate = &ab
		}
	}
	if t.Answered > 0 {
		t.ASASeconds = t.waitSum / float64(t.Answered)
		t.AHTSeconds = t.handleS / float64(t.Answered)
	}
	if t.capacity > 0 {
		t.Occupancy = math.Min(1, t.busy/t.capacity)
	}
}
