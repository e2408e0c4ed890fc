package security

import (
	"net/netip"
	"sync"
	"time"
)

// Rate is a token bucket: a source may do a thing PerSecond times a
// second on average, and Burst times in a row after a quiet spell. A zero
// PerSecond does not limit.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Limits reports whether r limits anything.
func (r Rate) Limits() bool { return r.PerSecond > 0 }

// refill is how long an empty bucket takes to fill again.
func (r Rate) refill() time.Duration {
	return time.Duration(float64(r.burst()) / r.PerSecond * float64(time.Second))
}

func (r Rate) burst() int { return max(r.Burst, 1) }

// MaxRateClasses is how many classes (kinds of request) a RateLimiter
// tells apart.
const MaxRateClasses = 4

// RateLimiter keeps a token bucket per source address and class, as
// Kamailio's pike does per source. The table of sources is bounded: a
// source whose buckets have refilled is forgotten (a new one starts full,
// so nothing changes for it), and when the table is full after that, an
// arbitrary source is forgotten to make room — a flood from more
// addresses than the table holds loosens the limit for some of them but
// never grows memory. It is safe for concurrent use.
type RateLimiter struct {
	rates [MaxRateClasses]Rate
	idle  time.Duration // a source untouched this long has full buckets
	max   int
	clock Clock

	mu        sync.Mutex
	sources   map[netip.Addr]buckets
	lastSweep time.Time
}

// buckets are one source's tokens per class, as of at.
type buckets struct {
	tokens [MaxRateClasses]float64
	at     time.Time
}

// NewRateLimiter limits class i to rates[i] (at most MaxRateClasses; the
// rest are ignored) for each of at most maxSources sources
// (DefaultMaxSources when 0).
func NewRateLimiter(rates []Rate, maxSources int, clock Clock) *RateLimiter {
	if maxSources <= 0 {
		maxSources = DefaultMaxSources
	}
	l := &RateLimiter{max: maxSources, clock: clock, sources: map[netip.Addr]buckets{}}
	for i, r := range rates[:min(len(rates), MaxRateClasses)] {
		l.rates[i] = r
		if r.Limits() {
			l.idle = max(l.idle, r.refill())
		}
	}
	return l
}

// Allow takes a token of class from a's bucket and reports whether there
// was one.
func (l *RateLimiter) Allow(a netip.Addr, class int) bool {
	if class < 0 || class >= MaxRateClasses || !l.rates[class].Limits() {
		return true
	}
	a = Key(a)
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, seen := l.sources[a]
	if !seen {
		// A full scan at most once per idle interval; between them a full
		// table makes room by evicting one source, so each new source
		// costs O(1) however many there are.
		if now.Sub(l.lastSweep) >= l.idle {
			l.sweep(now)
		}
		for victim := range l.sources {
			if len(l.sources) < l.max {
				break
			}
			delete(l.sources, victim)
		}
		for i, r := range l.rates {
			b.tokens[i] = float64(r.burst())
		}
	} else {
		elapsed := now.Sub(b.at).Seconds()
		for i, r := range l.rates {
			if r.Limits() && elapsed > 0 {
				b.tokens[i] = min(float64(r.burst()), b.tokens[i]+elapsed*r.PerSecond)
			}
		}
	}
	b.at = now
	ok := b.tokens[class] >= 1
	if ok {
		b.tokens[class]--
	}
	l.sources[a] = b
	return ok
}

// sweep forgets the sources whose buckets have refilled.
func (l *RateLimiter) sweep(now time.Time) {
	l.lastSweep = now
	for a, b := range l.sources {
		if now.Sub(b.at) >= l.idle {
			delete(l.sources, a)
		}
	}
}

// Sources is how many sources the limiter tracks now.
func (l *RateLimiter) Sources() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sources)
}
