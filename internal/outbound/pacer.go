package outbound

import (
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
	// Warmup is the attempts predictive mode makes one per free agent, as
	// progressive, before it trusts its estimates (20 when zero); it also
	// waits for 1 / AbandonTarget live answers (34 at 3 %).
	Warmup int
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
	return c
}

// State is the campaign's situation at the moment the pacer is asked.
type State struct {
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
// A Pacer is not safe for concurrent use: one owner (the campaign's
// goroutine, or the simulator) feeds it and asks it.
type Pacer struct {
	cfg PacerConfig

	attempts int     // attempts told of (Attempted)
	liveRate float64 // moving average of the share of attempts answered live
	ring     float64 // moving average seconds from dial to a live answer
	handle   float64 // moving average seconds of an agent's call and wrap-up
	handled  int

	campaign Counts // this campaign's live answers and drops
	// gain scales the drop rate the model aims at: the model is only a
	// model, so every live answer moves the gain towards the rate that
	// keeps the real drops at setpoint × the target (integral control).
	gain float64
}

// estimate weights: an attempt moves the answer rate by 1/50, a live
// answer the ring time and a handled call the handle time by 1/20. Before
// that many are known the averages are plain means.
const (
	rateWindow   = 50
	handleWindow = 20
)

// The controller: the real drop rate is steered to setpoint × the target;
// a drop moves the gain down by about e^-gainStep, a connect up by
// e^(gainStep × setpoint × target). At or over guard × the target (over
// the campaign or the rolling window) the pacer dials as progressive,
// which only drops when an agent is taken away between the dial and the
// answer.
const (
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

// Attempted tells the pacer how an attempt ended on the network's side;
// ring is the time from the dial until the call needs an agent (answered
// and answering-machine detection done) or ended.
func (p *Pacer) Attempted(o Outcome, ring time.Duration) {
	p.attempts++
	live := 0.0
	if o.Live() {
		live = 1
		p.ring = average(p.ring, ring.Seconds(), p.campaign.Live+1, handleWindow)
	}
	p.liveRate = average(p.liveRate, live, p.attempts, rateWindow)
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

// LiveRate is the estimated share of attempts a person answers.
func (p *Pacer) LiveRate() float64 { return p.liveRate }

func average(avg, x float64, n, window int) float64 {
	w := 1 / float64(min(n, window))
	return avg + w*(x-avg)
}

// Lines is how many new calls to dial now.
func (p *Pacer) Lines(st State) int {
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
	// and the campaign has enough live answers (1 / target) that one drop
	// cannot put it over the target by itself; and while the calls in
	// flight are many beside the attempts resolved, the resolved ones are
	// the quick ones (busies, machines): the answer rate is not known yet
	if p.attempts < p.cfg.Warmup || p.liveRate <= 0 || p.handled == 0 ||
		float64(p.campaign.Live) < math.Ceil(1/p.cfg.AbandonTarget) || p.attempts < 2*st.InFlight {
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
	if dropRate(lo, a, p.liveRate) > target {
		return 0
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if dropRate(mid, a, p.liveRate) <= target {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return max(progressive, lo-st.InFlight)
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
