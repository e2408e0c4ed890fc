package api

import (
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/security"
)

// Login throttling: after a few free failures, a user name from one
// address, or an address whatever the names, must wait before its next
// attempt, the wait doubling with each further failure up to throttleMax.
// While it waits every attempt — right password or not — is refused with
// 429 and Retry-After, so a guesser gets a handful of tries a minute
// instead of thousands a second. The user's count is per address, so a
// guesser elsewhere cannot lock the real user out. A success clears both.
const (
	freeUserFailures = 5  // per user name, before the first wait
	freeAddrFailures = 20 // per source address (an office behind one NAT)
	throttleBase     = time.Second
	throttleMax      = 5 * time.Minute
	// throttleForget drops a key that has not failed for this long.
	throttleForget = 30 * time.Minute
	// throttleKeys bounds the table: beyond it the stalest of a sample of
	// keys not waiting go first.
	throttleKeys = 10000
)

// throttle counts failed logins per key ("user:1001", "addr:192.0.2.7").
type throttle struct {
	mu   sync.Mutex
	now  func() time.Time
	keys map[string]*strikes
}

type strikes struct {
	failures int
	until    time.Time // no attempt before this
	last     time.Time
}

func newThrottle(now func() time.Time) *throttle {
	if now == nil {
		now = time.Now
	}
	return &throttle{now: now, keys: map[string]*strikes{}}
}

// throttledError is a login refused unheard, to be retried after Retry.
type throttledError struct{ Retry time.Duration }

func (e *throttledError) Error() string {
	return fmt.Sprintf("too many failed logins: try again in %d s", retrySeconds(e.Retry))
}

func retrySeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

// userKey and addrKey name what is throttled: a user name from one
// address, and an address (IPv6 by its /64, which one host holds).
func userKey(user string, r *http.Request) string { return "user:" + user + "@" + clientAddr(r) }

func addrKey(r *http.Request) string { return "addr:" + clientAddr(r) }

func clientAddr(r *http.Request) string {
	host := sourceIP(r)
	if a, err := netip.ParseAddr(host); err == nil {
		return security.Key(a).String()
	}
	return host
}

// wait is how long the longest-blocked of keys must still wait (0: go on).
func (t *throttle) wait(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var longest time.Duration
	for _, k := range keys {
		if s, ok := t.keys[k]; ok && s.until.After(now) {
			longest = max(longest, s.until.Sub(now))
		}
	}
	return longest
}

// fail counts a failed attempt against each key.
func (t *throttle) fail(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.expire(now)
	for _, k := range keys {
		s, ok := t.keys[k]
		if !ok {
			s = &strikes{}
			t.keys[k] = s
		}
		s.failures++
		s.last = now
		free := freeAddrFailures
		if len(k) > 5 && k[:5] == "user:" {
			free = freeUserFailures
		}
		if over := s.failures - free; over > 0 {
			d := throttleMax
			if over < 20 {
				d = min(throttleMax, throttleBase<<(over-1))
			}
			s.until = now.Add(d)
		}
	}
}

// ok clears the keys after a successful login.
func (t *throttle) ok(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		delete(t.keys, k)
	}
}

// expire forgets quiet keys, and the stalest ones when the table is full.
func (t *throttle) expire(now time.Time) {
	if len(t.keys) < throttleKeys {
		return
	}
	for k, s := range t.keys {
		if now.Sub(s.last) > throttleForget && !s.until.After(now) {
			delete(t.keys, k)
		}
	}
	for len(t.keys) >= throttleKeys { // still full: the stalest of a sample, not waiting if possible
		var victim string
		var oldest time.Time
		waiting := true
		n := 0
		for k, s := range t.keys {
			w := s.until.After(now)
			if victim == "" || (waiting && !w) || (w == waiting && s.last.Before(oldest)) {
				victim, oldest, waiting = k, s.last, w
			}
			if n++; n >= 64 {
				break
			}
		}
		delete(t.keys, victim)
	}
}

// writeThrottled answers 429 with Retry-After.
func writeThrottled(w http.ResponseWriter, e *throttledError) {
	w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(e.Retry)))
	writeError(w, http.StatusTooManyRequests, e.Error())
}
