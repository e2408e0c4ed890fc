package outbound

import (
	"container/heap"
	"math"
	"time"
)

// PacerConfig is what the pacer needs to know of a campaign.
type PacerConfig struct {
	Mode Mode
	// Ratio is power mode's lines per free agent (2 when zero).
	Ratio float64
	// AbandonTarget is the share of live answers that may be dropped
	// (DefaultAbandonTarget when zero).
	AbandonTarget float64
	// MaxRatio caps predictive mode's calls in progress per agent working
	// the campaign (10 when zero).
	MaxRatio float64
	// MaxLines caps the calls in progress (0: no cap but MaxRatio).
	MaxLines int
	// Warmup is the attempts predictive mode counts (whole cohorts, see
	// Pacer) before it trusts its estimates, dialling as progressive until
	// then (20 when zero); it also waits for 1 / AbandonTarget live
	// answers (34 at 3 %).
	Warmup int
	// Longest is how long an attempt may take from its dial until its fate
	// is known: the campaign's ring time and answering-machine detection
	// (DefaultRing and 5 s when zero). An attempt that takes longer is
	// counted after its cohort. See Pacer.
	Longest time.Duration
	// Unguarded lets power mode dial its ratio whatever the abandonment
	// rate. Only the simulator sets it, to show what a fixed-ratio dialer
	// does on the same traffic; campaigns are always guarded.
	Unguarded bool
}

func (c PacerConfig) withDefaults() PacerConfig {
	if c.Ratio <= 0 {
		c.Ratio = 2
	}
	if c.AbandonTarget <= 0 {
		c.AbandonTarget = DefaultAbandonTarget
	}
	if c.MaxRatio <= 0 {
		c.MaxRatio = 10
	}
	if c.Warmup <= 0 {
		c.Warmup = 20
	}
	if c.Longest <= 0 {
		c.Longest = DefaultRing + 5*time.Second
	}
	return c
}

// State is the campaign's situation at the moment the pacer is asked.
type State struct {
	// Now is the time of the question (the clock is the caller's: the
	// simulator's is virtual). Predictive mode needs it: with none, no
	// cohort is ever counted and it dials as progressive.
	Now time.Time
	// Free is the agents of the campaign ready for its next call.
	Free int
	// Busy is the agents on one of the campaign's calls, talking or in
	// wrap-up.
	Busy int
	// FreeIn is, for each busy agent whose end is known (in a wrap-up of
	// fixed length), the time until they are free: those free before a
	// call dialled now needs an agent count as available.
	FreeIn []time.Duration
	// InFlight is the calls dialled whose fate is not known yet: ringing,
	// or answered while answering-machine detection listens.
	InFlight int
	// Waiting is the people who answered and wait for an agent (for at
	// most DropAfter): each will take one of the Free agents.
	Waiting int
	// Rolling is the live answers and drops of the last RollingWindow,
	// this campaign's included (the store counts them). Zero: the
	// campaign's own figures are the only ones.
	Rolling Counts
}

// Counts is live answers and the drops among them.
type Counts struct {
	Live    int
	Dropped int
}

// Rate is the share of live answers dropped, 0 with none.
func (c Counts) Rate() float64 {
	if c.Live == 0 {
		return 0
	}
	return float64(c.Dropped) / float64(c.Live)
}

// Pacer decides how many calls a campaign dials now. It learns from the
// attempts it is told of: the share answered by a person, how long they
// ring before that, and how long an agent spends on a call (talk and
// wrap-up). The estimates are moving averages, so they follow the day.
//
// The share answered is measured on whole cohorts of dials: an attempt
// counts once it was dialled Longest ago, when every attempt dialled
// before it has ended (none outlasts Longest), in the order they were
// dialled. Counted as they end, the quick outcomes (busies, answers) come
// before the slow ones (no answer, after the full ring time), so the share
// swings with the dialling rate: low just when a burst of agents coming free follows a lull, which
// made the pacer dial several times too many lines at 100 agents (the
// simulator dropped 11 % of live answers in a campaign's first three
// minutes, 3.5 % over an hour, against a 3 % target).
//
// A Pacer is not safe for concurrent use: one owner (the campaign's
// goroutine, or the simulator) feeds it and asks it.
type Pacer struct {
	cfg PacerConfig

	attempts int         // attempts told of (Attempted)
	ended    attemptHeap // attempts ended whose cohort is not counted yet, oldest dial first
	counted  int         // attempts counted into liveRate
	liveRate float64     // moving average of the share of attempts answered live, over cohorts
	ring     float64     // moving average seconds from dial to a live answer
	handle   float64     // moving average seconds of an agent's call and wrap-up
	handled  int

	campaign Counts // this campaign's live answers and drops
	// gain scales the drop rate the model aims at: the model is only a
	// model, so every live answer moves the gain towards the rate that
	// keeps the real drops at setpoint × the target (integral control).
	gain float64
}

// An ended is an attempt that has ended: when it was dialled, and whether
// a person answered.
type ended struct {
	dialed time.Time
	live   bool
}

type attemptHeap []ended

func (h attemptHeap) Len() int           { return len(h) }
func (h attemptHeap) Less(i, j int) bool { return h[i].dialed.Before(h[j].dialed) }
func (h attemptHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *attemptHeap) Push(x any)        { *h = append(*h, x.(ended)) }
func (h *attemptHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// maxEnded bounds the attempts kept until their cohort counts (a clock
// that does not move, or one that jumps back, must not grow it).
const maxEnded = 50000

// estimate weights: an attempt moves the answer rate by 1/200, a live
// answer the ring time and a handled call the handle time by 1/20. Before
// that many are known the averages are plain means. The answer rate's is
// wide because at many agents the pacer dials close to what the estimate
// allows: over 50 attempts a 30 % rate is known to ±6.5 points, a fifth of
// itself, and a low reading is as many lines too many.
const (
	rateWindow   = 200
	handleWindow = 20
)

// The controller: the real drop rate is steered to setpoint × the target;
// a drop moves the gain down by about e^-gainStep, a connect up by
// e^(gainStep × setpoint × target). At or over guard × the target (over
// the campaign or the rolling window) the pacer dials as progressive,
// which only drops when an agent is taken away between the dial and the
// answer.
const (
	caution  = 1.0
	setpoint = 0.7
	guard    = 0.95
	gainStep = 0.4
	minGain  = 0.05
	maxGain  = 4
)

// NewPacer returns a pacer for a campaign.
func NewPacer(cfg PacerConfig) *Pacer {
	return &Pacer{cfg: cfg.withDefaults(), gain: 1}
}

// Config is the pacer's configuration, defaults filled in.
func (p *Pacer) Config() PacerConfig { return p.cfg }

// SetConfig changes the configuration (a campaign edited while it runs);
// what the pacer learnt is kept.
func (p *Pacer) SetConfig(cfg PacerConfig) { p.cfg = cfg.withDefaults() }

// Attempted tells the pacer how an attempt dialled at dialed ended on the
// network's side; ring is the time from the dial until the call needs an
// agent (answered and answering-machine detection done) or ended.
func (p *Pacer) Attempted(o Outcome, dialed time.Time, ring time.Duration) {
	p.attempts++
	if o.Live() {
		p.ring = average(p.ring, ring.Seconds(), p.campaign.Live+1, handleWindow)
	}
	heap.Push(&p.ended, ended{dialed: dialed, live: o.Live()})
	if p.ended.Len() > maxEnded {
		p.count(heap.Pop(&p.ended).(ended))
	}
}

// settle counts the cohorts of attempts dialled Longest or more before now.
func (p *Pacer) settle(now time.Time) {
	cut := now.Add(-p.cfg.Longest)
	for p.ended.Len() > 0 && !p.ended[0].dialed.After(cut) {
		p.count(heap.Pop(&p.ended).(ended))
	}
}

func (p *Pacer) count(e ended) {
	p.counted++
	live := 0.0
	if e.live {
		live = 1
	}
	p.liveRate = average(p.liveRate, live, p.counted, rateWindow)
}

// Connected counts a live answer given to an agent.
func (p *Pacer) Connected() {
	p.campaign.Live++
	p.steer(0)
}

// Dropped counts a live answer no agent took within DropAfter.
func (p *Pacer) Dropped() {
	p.campaign.Live++
	p.campaign.Dropped++
	p.steer(1)
}

func (p *Pacer) steer(drop float64) {
	p.gain *= math.Exp(gainStep * (setpoint*p.cfg.AbandonTarget - drop))
	p.gain = min(maxGain, max(minGain, p.gain))
}

// Handled tells the pacer how long an agent spent on a campaign call, from
// its connection to the end of wrap-up.
func (p *Pacer) Handled(d time.Duration) {
	p.handled++
	p.handle = average(p.handle, d.Seconds(), p.handled, handleWindow)
}

// Campaign is the campaign's live answers and drops so far.
func (p *Pacer) Campaign() Counts { return p.campaign }

// Seed sets the campaign's live answers and drops before this pacer (a
// restart, another node leading before): they count towards its guard.
func (p *Pacer) Seed(c Counts) { p.campaign = c }

// LiveRate is the estimated share of attempts a person answers, over the
// attempts counted by the last Lines.
func (p *Pacer) LiveRate() float64 { return p.liveRate }

func average(avg, x float64, n, window int) float64 {
	w := 1 / float64(min(n, window))
	return avg + w*(x-avg)
}

// Lines is how many new calls to dial now.
func (p *Pacer) Lines(st State) int {
	p.settle(st.Now)
	agents := st.Free + st.Busy
	ready := st.Free - st.Waiting // agents no answered call has claimed
	progressive := max(0, ready-st.InFlight)
	switch p.cfg.Mode {
	case Preview:
		return 0 // the agent dials
	case Progressive:
		return progressive
	case Power:
		if !p.cfg.Unguarded && p.overTarget(st) {
			return progressive
		}
		n := int(math.Round(p.cfg.Ratio*float64(max(0, ready)))) - st.InFlight
		return p.capped(max(0, n), st, agents)
	}
	// predictive: as progressive until the estimates are worth something
	// (Warmup whole cohorts counted) and the campaign has enough live
	// answers (1 / target) that one drop cannot put it over the target by
	// itself
	if p.counted < p.cfg.Warmup || p.liveRate <= 0 || p.handled == 0 ||
		float64(p.campaign.Live) < math.Ceil(1/p.cfg.AbandonTarget) {
		return progressive
	}
	headroom := p.headroom(st)
	if headroom <= 0 {
		return progressive
	}
	target := p.cfg.AbandonTarget * p.gain * min(1, 2*headroom)
	a := ready + p.soonFree(st.FreeIn)
	if a <= 0 {
		return 0
	}
	most := int(math.Ceil(p.cfg.MaxRatio * float64(agents)))
	if p.cfg.MaxLines > 0 {
		most = min(most, p.cfg.MaxLines)
	}
	// the largest n in flight whose expected drops stay under target: the
	// drop rate grows with n, so search for it
	lo, hi := st.InFlight, max(st.InFlight, most)
	q := p.cautious()
	if dropRate(lo, a, q) > target {
		return 0
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if dropRate(mid, a, q) <= target {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return max(progressive, lo-st.InFlight)
}

// cautious is the answer rate the pacer dials by: the estimate plus its
// standard error (a moving average over rateWindow attempts is about as
// sure as a mean of twice as many), so that a low reading early in a
// campaign, or a low stretch, does not dial as many lines too many.
func (p *Pacer) cautious() float64 {
	q := p.liveRate
	n := float64(min(p.counted, 2*rateWindow))
	return min(1, q+caution*math.Sqrt(q*(1-q)/n))
}

// capped keeps n within MaxLines and MaxRatio.
func (p *Pacer) capped(n int, st State, agents int) int {
	most := int(math.Ceil(p.cfg.MaxRatio * float64(agents)))
	if p.cfg.Mode == Power {
		most = max(most, int(math.Ceil(p.cfg.Ratio*float64(agents))))
	}
	if p.cfg.MaxLines > 0 {
		most = min(most, p.cfg.MaxLines)
	}
	return max(0, min(n, most-st.InFlight))
}

// headroom is how far under the target the worse of the campaign's and the
// rolling rate is, as a share of the target: 1 with no drops, 0 or less at
// or over it.
func (p *Pacer) headroom(st State) float64 {
	r := max(p.campaign.Rate(), st.Rolling.Rate())
	limit := guard * p.cfg.AbandonTarget
	return (limit - r) / limit
}

func (p *Pacer) overTarget(st State) bool { return p.headroom(st) <= 0 }

// soonFree is the busy agents sure to be free by the time a call dialled
// now needs an agent (the mean time from the dial to a live answer and
// its detection). Agents still talking are not counted: how long a call
// lasts is too uncertain to dial against (the simulator showed such a
// pacer dropping several times its target, whatever its gain).
func (p *Pacer) soonFree(freeIn []time.Duration) int {
	horizon := time.Duration(p.ring * float64(time.Second))
	n := 0
	for _, d := range freeIn {
		if d <= horizon {
			n++
		}
	}
	return n
}

// dropRate is the expected share of live answers dropped when n calls are
// in flight, each answered live with probability q, and a agents will take
// them: E[(X-a)+] / E[X] with X ~ Binomial(n, q).
func dropRate(n, a int, q float64) float64 {
	if n <= a || q <= 0 {
		return 0
	}
	if q >= 1 {
		return float64(n-a) / float64(n)
	}
	lq, lnq := math.Log(q), math.Log1p(-q)
	ln, _ := math.Lgamma(float64(n + 1))
	var excess float64
	for x := a + 1; x <= n; x++ {
		lx, _ := math.Lgamma(float64(x + 1))
		lnx, _ := math.Lgamma(float64(n - x + 1))
		pmf := math.Exp(ln - lx - lnx + float64(x)*lq + float64(n-x)*lnq)
		excess += float64(x-a) * pmf
		if pmf < 1e-12 && float64(x) > float64(n)*q {
			break // the tail adds nothing more
		}
	}
	return excess / (float64(n) * q)
}
