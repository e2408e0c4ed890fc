package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
)

// phase is the part of a run a call belongs to. A plain run has only the
// main phase; a run with Config.Hold first places the held calls, then the
// main calls as a surge while they are up, then the recovery calls.
type phase int

const (
	phaseMain phase = iota
	phaseHold
	phaseRecover
	phases
)

// PhaseReport is what one phase of an overload run measured. RTP counts
// both legs of each call: the caller's and the agent's.
type PhaseReport struct {
	Placed   int `json:"placed"`
	Answered int `json:"answered"` // connected to an agent
	// Refused503 got 503 to their INVITE; RetryAfter of them with a
	// Retry-After header.
	Refused503 int `json:"refused_503"`
	RetryAfter int `json:"refused_503_with_retry_after"`
	Failed     int `json:"failed"`
	// Dropped were connected to an agent and ended by the server before
	// the agent hung up.
	Dropped     int     `json:"dropped"`
	RTPSent     uint64  `json:"rtp_packets_sent"`
	RTPReceived uint64  `json:"rtp_packets_received"`
	RTPLost     uint64  `json:"rtp_packets_lost"`
	RTPLossPct  float64 `json:"rtp_loss_percent"`
	// MinReceived is the fewest RTP packets one leg received.
	MinReceived uint64 `json:"min_rtp_packets_received_per_leg"`
	// Seconds since the run began: first INVITE, last INVITE, and (for the
	// held calls) when all were connected and when the first ended.
	FirstAt     float64 `json:"first_invite_s"`
	LastAt      float64 `json:"last_invite_s"`
	AllUpAt     float64 `json:"all_connected_s,omitempty"`
	FirstEndAt  float64 `json:"first_end_s,omitempty"`
	legs        int
	firstEndSet bool
}

// OverloadReport is the held calls, the surge and the recovery of a run
// with Config.Hold.
type OverloadReport struct {
	Hold     PhaseReport `json:"hold"`
	Surge    PhaseReport `json:"surge"`
	Recovery PhaseReport `json:"recovery"`
}

// phaseOf is the phase of the call of caller user (the agent's side finds
// its call by the caller's number).
func (g *Generator) phaseOf(user string) phase {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.callPhase[user]
}

// refused counts a call refused with 503.
func (g *Generator) refused(ph phase, retryAfter bool) {
	g.refusals.Add(1)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.phase[ph].Refused503++
	if retryAfter {
		g.phase[ph].RetryAfter++
	}
}

// isRefusal reports whether err is a 503 answer to the INVITE, and whether
// it said when to retry.
func isRefusal(err error) (refused, retryAfter bool) {
	var p *sipgo.ErrDialogResponse
	var v sipgo.ErrDialogResponse
	switch {
	case errors.As(err, &p) && p != nil && p.Res != nil:
		return p.Res.StatusCode == 503, p.Res.GetHeader("Retry-After") != nil
	case errors.As(err, &v) && v.Res != nil:
		return v.Res.StatusCode == 503, v.Res.GetHeader("Retry-After") != nil
	}
	return false, false
}

// place starts count calls of phase ph at rate a second (Poisson arrivals,
// or evenly spaced), numbered from *next on, until ctx ends.
func (g *Generator) place(ctx context.Context, wg *sync.WaitGroup, rng *rand.Rand, ph phase, count int, rate float64, poisson bool, start time.Time, next *int) {
	at := time.Now()
	for i := 0; i < count && ctx.Err() == nil; i++ {
		gap := 1 / rate
		if poisson {
			gap = rng.ExpFloat64() / rate
		}
		at = at.Add(time.Duration(gap * float64(time.Second)))
		select {
		case <-time.After(time.Until(at)):
		case <-ctx.Done():
		}
		var patience time.Duration
		if g.cfg.Patience.Mean > 0 && ph == phaseMain {
			patience = g.cfg.Patience.Sample(rng)
		}
		n := *next
		*next++
		g.mu.Lock()
		p := &g.phase[ph]
		if p.Placed == 0 {
			p.FirstAt = time.Since(start).Seconds()
		}
		p.Placed++
		p.LastAt = time.Since(start).Seconds()
		g.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.call(ctx, n, patience, ph)
		}()
	}
}

// waitSettled waits until every call of phase ph placed so far is
// connected, refused or failed, or until d passes or ctx ends; it notes
// when all were connected.
func (g *Generator) waitSettled(ctx context.Context, ph phase, d time.Duration, start time.Time) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		g.mu.Lock()
		p := &g.phase[ph]
		if p.Answered+p.Refused503+p.Failed >= p.Placed {
			if p.Answered == p.Placed {
				p.AllUpAt = time.Since(start).Seconds()
			}
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-t.C:
		}
	}
}

// runOverload places the held calls, waits until they are up, then the
// surge, waits for the surge's calls to end, then the recovery calls, and
// waits for every call.
func (g *Generator) runOverload(ctx context.Context, rng *rand.Rand, start time.Time) {
	var held, surge, rest sync.WaitGroup
	next := 0
	g.place(ctx, &held, rng, phaseHold, g.cfg.Hold, g.cfg.HoldRate, false, start, &next)
	g.waitSettled(ctx, phaseHold, g.cfg.HoldFor, start)
	g.place(ctx, &surge, rng, phaseMain, g.cfg.Calls, g.cfg.CallsPerSecond, true, start, &next)
	surge.Wait()
	g.place(ctx, &rest, rng, phaseRecover, g.cfg.Recover, g.cfg.HoldRate, false, start, &next)
	rest.Wait()
	held.Wait()
	g.mu.Lock()
	hold, rec := g.phase[phaseHold], g.phase[phaseRecover]
	g.mu.Unlock()
	if g.cfg.Recover > 0 && hold.FirstEndAt > 0 && hold.FirstEndAt < rec.LastAt {
		g.note("a held call ended at %.1f s, before the last recovery call was placed at %.1f s: raise --hold-for", hold.FirstEndAt, rec.LastAt)
	}
}

// noteEnd is an agent's leg of phase ph ending: dropped says the server
// ended it before the agent hung up.
func (g *Generator) noteEnd(ph phase, dropped bool, start time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := &g.phase[ph]
	if dropped {
		p.Dropped++
	}
	if !p.firstEndSet {
		p.firstEndSet = true
		p.FirstEndAt = time.Since(start).Seconds()
	}
}

func (p *PhaseReport) finish() {
	if exp := p.RTPReceived + p.RTPLost; exp > 0 {
		p.RTPLossPct = float64(p.RTPLost) * 100 / float64(exp)
	}
}

// summary is the phase as two lines of the text report.
func (p PhaseReport) summary(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-9s placed %d (%.1f–%.1f s), answered %d, refused 503 %d (with Retry-After %d), failed %d, dropped by the server %d\n",
		name, p.Placed, p.FirstAt, p.LastAt, p.Answered, p.Refused503, p.RetryAfter, p.Failed, p.Dropped)
	fmt.Fprintf(&b, "%-9s RTP sent %d, received %d, lost %d (%.3f%%), fewest received on one leg %d", "",
		p.RTPSent, p.RTPReceived, p.RTPLost, p.RTPLossPct, p.MinReceived)
	if p.AllUpAt > 0 {
		fmt.Fprintf(&b, "; all connected at %.1f s", p.AllUpAt)
	}
	if p.FirstEndAt > 0 {
		fmt.Fprintf(&b, ", first ended at %.1f s", p.FirstEndAt)
	}
	b.WriteString("\n")
	return b.String()
}

// failCall counts a failed call of phase ph and keeps its error.
func (g *Generator) failCall(ph phase, format string, a ...any) {
	g.mu.Lock()
	g.phase[ph].Failed++
	g.mu.Unlock()
	g.fail(format, a...)
}

// note keeps a problem of the run that is no call's failure.
func (g *Generator) note(format string, a ...any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.rep.Errors) < 20 {
		g.rep.Errors = append(g.rep.Errors, fmt.Sprintf(format, a...))
	}
}
