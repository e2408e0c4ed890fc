// Package overload measures the node's own lag: how late a goroutine that
// sleeps for a short period wakes up. When the process is starved of CPU or
// the Go scheduler has more runnable goroutines than it can run on time,
// every goroutine is late alike, the media pacer's among them, so this lag
// is what the calls already up suffer. The monitor smooths the lateness and
// says, with hysteresis, when the node should refuse new work. It knows
// nothing of calls, SIP or media.
package overload

import (
	"context"
	"log/slog"
	"math"
	"sync/atomic"
	"time"
)

const (
	// Period is how long the monitor sleeps between two measurements, the
	// media pacer's tick.
	Period = 20 * time.Millisecond
	// Smoothing is the time constant of the lag's moving average: a stall
	// weighs by how long it lasted, so one short pause (a GC, a page
	// fault) does not refuse calls while lateness that lasts does.
	Smoothing = 500 * time.Millisecond
)

// Clock is the time the monitor sleeps on.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real time.
type SystemClock struct{}

// Now is time.Now.
func (SystemClock) Now() time.Time { return time.Now() }

// After is time.After.
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Config is a monitor's threshold and what it runs on.
type Config struct {
	// MaxLag is the smoothed lag above which the node is overloaded; it
	// stays overloaded until the lag is under half of MaxLag again. Zero:
	// never overloaded (the lag is still measured).
	MaxLag time.Duration
	// Clock defaults to SystemClock.
	Clock Clock
	// Log gets a line when the node becomes overloaded and when it recovers.
	Log *slog.Logger
}

// Monitor measures the lag on the goroutine that calls Run; any goroutine
// may read it.
type Monitor struct {
	cfg Config
	// Written only by Run's goroutine.
	lag  atomic.Int64 // smoothed lateness, nanoseconds
	over atomic.Bool
}

// New returns a monitor; it measures nothing until Run.
func New(cfg Config) *Monitor {
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Monitor{cfg: cfg}
}

// Lag is the smoothed lateness of the monitor's wake-ups.
func (m *Monitor) Lag() time.Duration { return time.Duration(m.lag.Load()) }

// Overloaded reports whether the node is overloaded, and its lag.
func (m *Monitor) Overloaded() (bool, time.Duration) { return m.over.Load(), m.Lag() }

// Run measures until ctx ends. Call it once, from the goroutine that owns
// the monitor.
func (m *Monitor) Run(ctx context.Context) {
	clk := m.cfg.Clock
	d := detector{maxLag: m.cfg.MaxLag, resume: m.cfg.MaxLag / 2, tau: Smoothing}
	last := clk.Now()
	for {
		tick := clk.After(Period)
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		now := clk.Now()
		changed := d.observe(max(now.Sub(last.Add(Period)), 0), now.Sub(last))
		last = now
		m.lag.Store(int64(d.lag()))
		m.over.Store(d.over)
		if !changed {
			continue
		}
		if d.over {
			m.cfg.Log.Warn("node lagging: refusing new calls", "lag", d.lag().Round(time.Millisecond), "max_lag", d.maxLag)
		} else {
			m.cfg.Log.Info("node lag back down: taking new calls", "lag", d.lag().Round(time.Millisecond), "resume_below", d.resume)
		}
	}
}

// detector is the moving average of lateness and the overloaded state
// with its hysteresis: on above maxLag, off under resume.
type detector struct {
	maxLag, resume, tau time.Duration
	avg                 float64 // nanoseconds
	over                bool
}

// observe adds one wake-up, late by late, elapsed after the previous one,
// and reports whether the overloaded state changed.
func (d *detector) observe(late, elapsed time.Duration) (changed bool) {
	a := 1 - math.Exp(-float64(elapsed)/float64(d.tau))
	d.avg += a * (float64(late) - d.avg)
	was := d.over
	switch lag := d.lag(); {
	case !d.over && d.maxLag > 0 && lag > d.maxLag:
		d.over = true
	case d.over && lag < d.resume:
		d.over = false
	}
	return d.over != was
}

func (d *detector) lag() time.Duration { return time.Duration(d.avg) }
