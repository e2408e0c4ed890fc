package overload

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock hands each of the monitor's sleeps to the test, which wakes it
// at the time it chooses.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	sleep chan chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.sleep <- ch
	return ch
}

// running is a monitor on a fake clock, waiting in its sleep.
type running struct {
	t       *testing.T
	m       *Monitor
	clk     *fakeClock
	pending chan time.Time
}

func start(t *testing.T, maxLag time.Duration) *running {
	t.Helper()
	clk := &fakeClock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC), sleep: make(chan chan time.Time)}
	m := New(Config{MaxLag: maxLag, Clock: clk})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	r := &running{t: t, m: m, clk: clk}
	r.pending = r.nextSleep()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
	return r
}

func (r *running) nextSleep() chan time.Time {
	r.t.Helper()
	select {
	case ch := <-r.clk.sleep:
		return ch
	case <-time.After(5 * time.Second):
		r.t.Fatal("the monitor did not go back to sleep")
		return nil
	}
}

// wake ends the pending sleep late by late and waits until the monitor
// has taken the measurement (it sleeps again).
func (r *running) wake(late time.Duration) {
	r.t.Helper()
	r.clk.mu.Lock()
	r.clk.now = r.clk.now.Add(Period + late)
	now := r.clk.now
	r.clk.mu.Unlock()
	r.pending <- now
	r.pending = r.nextSleep()
}

func TestMonitorShedsOnLastingLagWithHysteresis(t *testing.T) {
	type phase struct {
		late     time.Duration // every wake-up of the phase is this late
		wakes    int
		wantOver bool
	}
	tests := []struct {
		name   string
		maxLag time.Duration
		phases []phase
	}{
		{"on time is never overloaded", 40 * time.Millisecond, []phase{{0, 200, false}}},
		{"a little late, under the threshold", 40 * time.Millisecond, []phase{{30 * time.Millisecond, 200, false}}},
		{"one 100 ms stall is smoothed away", 40 * time.Millisecond, []phase{{0, 10, false}, {100 * time.Millisecond, 1, false}, {0, 50, false}}},
		{"lasting lag is overloaded", 40 * time.Millisecond, []phase{{60 * time.Millisecond, 100, true}}},
		{"a half-second freeze is overloaded at once", 40 * time.Millisecond, []phase{{500 * time.Millisecond, 1, true}}},
		{"stays overloaded between half and the threshold", 40 * time.Millisecond, []phase{
			{60 * time.Millisecond, 100, true}, {25 * time.Millisecond, 300, true}}},
		{"recovers once under half the threshold", 40 * time.Millisecond, []phase{
			{60 * time.Millisecond, 100, true}, {15 * time.Millisecond, 300, false}}},
		{"recovers, then overloaded again", 40 * time.Millisecond, []phase{
			{60 * time.Millisecond, 100, true}, {0, 300, false}, {80 * time.Millisecond, 100, true}}},
		{"a threshold of zero never refuses", 0, []phase{{500 * time.Millisecond, 20, false}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, tc.maxLag)
			for i, p := range tc.phases {
				for range p.wakes {
					r.wake(p.late)
				}
				if over, lag := r.m.Overloaded(); over != p.wantOver {
					t.Fatalf("after phase %d (%d wake-ups %v late): overloaded %v with lag %v, want %v", i, p.wakes, p.late, over, lag, p.wantOver)
				}
			}
		})
	}
}

// TestMonitorLagFollowsLateness: the lag reported is the lateness, once it
// has lasted a few time constants.
func TestMonitorLagFollowsLateness(t *testing.T) {
	tests := []struct {
		name string
		late time.Duration
	}{
		{"on time", 0},
		{"5 ms late", 5 * time.Millisecond},
		{"50 ms late", 50 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, 40*time.Millisecond)
			for range 500 {
				r.wake(tc.late)
			}
			if lag := r.m.Lag(); lag < tc.late-time.Millisecond || lag > tc.late+time.Millisecond {
				t.Fatalf("lag %v after lasting lateness of %v", lag, tc.late)
			}
		})
	}
}

func TestRealClockRunStopsWithItsContext(t *testing.T) {
	m := New(Config{MaxLag: 40 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
