// Package security keeps password guessers and floods out of the SIP edge:
// it counts failed authentications per source address and bans a source
// that fails too often within a window; it limits how fast each source may
// send (RateLimiter); it turns what the edge sheds — requests over a rate,
// unparseable messages, connections over a cap — into sampled events, one
// per source per interval however hard it floods; and it keeps per-kind
// counts and a bounded sample of recent security events. It is pure — no
// sockets, no logging, no SIP: time comes from an injected Clock and every
// event goes to an injected callback, which the node turns into a log line.
package security

import (
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Clock tells the time; tests give a fake one.
type Clock interface{ Now() time.Time }

// SystemClock is the real time.
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }

// Settings configure a Guard.
type Settings struct {
	// BanAfter failures within BanWindow ban a source for BanFor; 0 never bans.
	BanAfter  int
	BanWindow time.Duration
	BanFor    time.Duration
	// Exempt sources (trusted trunks) are never banned; their failures are
	// still events.
	Exempt []netip.Prefix
	// Recent is how many events the sample keeps (DefaultRecent when 0).
	Recent int
	// MaxSources bounds how many sources' failures, and how many sources'
	// shed reports, are tracked at once (DefaultMaxSources when 0), so a
	// flood from many addresses cannot grow memory without end.
	MaxSources int
	// ReportEvery is how often at most a source's shed occurrences of one
	// kind are reported as an event (DefaultReportEvery when 0).
	ReportEvery time.Duration
}

// Defaults of Settings.
const (
	DefaultRecent      = 256
	DefaultMaxSources  = 100_000
	DefaultReportEvery = time.Minute
)

// Ban is a banned source.
type Ban struct {
	Source netip.Addr `json:"source"`
	Since  time.Time  `json:"since"`
	Until  time.Time  `json:"until"`
	// Failures is how many failures within the window caused it.
	Failures int `json:"failures"`
}

// Report is the counts of events since start and the recent ones.
type Report struct {
	Counts map[EventKind]uint64 `json:"counts"`
	// Dropped counts requests from banned sources left unanswered.
	Dropped uint64 `json:"dropped"`
	// Shed counts every request, datagram or connection shed, by the kind
	// of the (sampled) events that report them: rate_limited, malformed,
	// connection_limit.
	Shed   map[EventKind]uint64 `json:"shed"`
	Recent []Event              `json:"recent"`
}

// Guard decides which sources are banned. It is safe for concurrent use;
// its lock is held only for map and slice work.
type Guard struct {
	set    Settings
	clock  Clock
	notify func(Event)

	mu      sync.Mutex
	fails   map[netip.Addr][]time.Time // failures within the window, oldest first
	bans    map[netip.Addr]Ban
	counts  map[EventKind]uint64
	dropped uint64
	shed    map[EventKind]uint64
	// reports are the shed occurrences not yet reported, by source and kind.
	reports map[shedKey]shedReport
	ring    []Event
	next    int // where the next event goes in ring once it is full

	// The last full sweep of each table: a full table is swept at most
	// once per interval and otherwise makes room by evicting one entry,
	// so a flood of new sources costs O(1) each, not a scan.
	failsSwept, reportsSwept time.Time
	// newReports counts the first reports of new sources this interval
	// (from newReportsAt): beyond maxNewReports they are counted in
	// Report.Shed only, so rotating sources cannot buy a log line each.
	newReports   int
	newReportsAt time.Time
}

// maxNewReports is how many sources not seen before get a shed event (and
// a log line) per ReportEvery.
const maxNewReports = 100

// Key is the address a source is counted, limited and banned as: an IPv4
// address itself, an IPv6 address its /64 (one host is given a whole /64
// and could otherwise take a fresh address for every guess).
func Key(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return a
}

type shedKey struct {
	source netip.Addr
	kind   EventKind
}

// shedReport is a source's last event of one shed kind and what it shed since.
type shedReport struct {
	at      time.Time
	pending uint64
}

// New builds a Guard; notify, when not nil, is called (outside the Guard's
// lock) with every event recorded.
func New(set Settings, clock Clock, notify func(Event)) *Guard {
	if set.Recent <= 0 {
		set.Recent = DefaultRecent
	}
	if set.MaxSources <= 0 {
		set.MaxSources = DefaultMaxSources
	}
	if set.ReportEvery <= 0 {
		set.ReportEvery = DefaultReportEvery
	}
	if notify == nil {
		notify = func(Event) {}
	}
	return &Guard{set: set, clock: clock, notify: notify,
		fails: map[netip.Addr][]time.Time{}, bans: map[netip.Addr]Ban{}, counts: map[EventKind]uint64{},
		shed: map[EventKind]uint64{}, reports: map[shedKey]shedReport{}}
}

// Exempt reports whether a source may never be banned.
func (g *Guard) Exempt(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range g.set.Exempt {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Banned reports whether a is banned now; each true answer counts as a
// dropped request.
func (g *Guard) Banned(a netip.Addr) bool {
	a = Key(a)
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	b, ok := g.bans[a]
	if !ok {
		return false
	}
	if !now.Before(b.Until) {
		delete(g.bans, a)
		return false
	}
	g.dropped++
	return true
}

// Fail records a failure event (its At is set from the clock). A kind that
// counts toward a ban (see EventKind.Counts) from a source not exempt bans
// it on the BanAfter-th failure within BanWindow; Fail then reports true
// and records a ban event too.
func (g *Guard) Fail(ev Event) (banned bool) {
	exempt := g.Exempt(ev.Source)
	ev.Source = Key(ev.Source)
	ev.At = g.clock.Now()
	out := []Event{ev}
	g.mu.Lock()
	g.record(ev)
	if ev.Kind.Counts() && g.set.BanAfter > 0 && ev.Source.IsValid() && !exempt {
		if n := g.count(ev.Source, ev.At); n >= g.set.BanAfter {
			delete(g.fails, ev.Source)
			g.pruneBans(ev.At)
			b := Ban{Source: ev.Source, Since: ev.At, Until: ev.At.Add(g.set.BanFor), Failures: n}
			g.bans[ev.Source] = b
			ban := Event{At: ev.At, Kind: KindBan, Source: ev.Source, Until: b.Until, Detail: ev.Kind.String()}
			g.record(ban)
			out = append(out, ban)
			banned = true
		}
	}
	g.mu.Unlock()
	for _, e := range out {
		g.notify(e)
	}
	return banned
}

// count adds a failure of a at now and returns how many fall within the window.
func (g *Guard) count(a netip.Addr, now time.Time) int {
	ts, tracked := g.fails[a]
	if !tracked && len(g.fails) >= g.set.MaxSources {
		g.pruneFails(now)
	}
	from := now.Add(-g.set.BanWindow)
	keep := slices.IndexFunc(ts, func(t time.Time) bool { return t.After(from) })
	if keep < 0 {
		ts = ts[:0]
	} else {
		ts = ts[keep:]
	}
	ts = append(ts, now)
	g.fails[a] = ts
	return len(ts)
}

// pruneFails forgets sources whose last failure left the window and, if
// the table is still full, one more source, so a new one has room.
func (g *Guard) pruneFails(now time.Time) {
	if now.Sub(g.failsSwept) >= g.set.BanWindow {
		g.failsSwept = now
		from := now.Add(-g.set.BanWindow)
		for a, ts := range g.fails {
			if len(ts) == 0 || !ts[len(ts)-1].After(from) {
				delete(g.fails, a)
			}
		}
	}
	for a := range g.fails {
		if len(g.fails) < g.set.MaxSources {
			break
		}
		delete(g.fails, a)
	}
}

func (g *Guard) pruneBans(now time.Time) {
	for a, b := range g.bans {
		if !now.Before(b.Until) {
			delete(g.bans, a)
		}
	}
}

// record counts ev and keeps it in the ring of recent events.
func (g *Guard) record(ev Event) {
	g.counts[ev.Kind]++
	if len(g.ring) < g.set.Recent {
		g.ring = append(g.ring, ev)
		return
	}
	g.ring[g.next] = ev
	g.next = (g.next + 1) % len(g.ring)
}

// Shed records that something from ev.Source was shed (ev.Kind is
// rate_limited, malformed or connection_limit) and counts it in
// Report.Shed. The first occurrence from a source is recorded as an event
// at once; the following ones only once ReportEvery has passed since that
// source's last event of the kind, as one event whose Count covers them
// all. So a flood costs one event (and one log line) per source and kind
// per interval. Shed reports whether it recorded an event.
func (g *Guard) Shed(ev Event) (reported bool) {
	ev.Source = Key(ev.Source)
	now := g.clock.Now()
	key := shedKey{ev.Source, ev.Kind}
	g.mu.Lock()
	g.shed[ev.Kind]++
	r, seen := g.reports[key]
	if seen && now.Sub(r.at) < g.set.ReportEvery {
		r.pending++
		g.reports[key] = r
		g.mu.Unlock()
		return false
	}
	if !seen {
		if now.Sub(g.newReportsAt) >= g.set.ReportEvery {
			g.newReports, g.newReportsAt = 0, now
		}
		if g.newReports >= maxNewReports {
			g.mu.Unlock()
			return false
		}
		g.newReports++
		if len(g.reports) >= g.set.MaxSources {
			g.pruneReports(now)
		}
	}
	ev.At, ev.Count = now, r.pending+1
	g.reports[key] = shedReport{at: now}
	g.record(ev)
	g.mu.Unlock()
	g.notify(ev)
	return true
}

// pruneReports forgets sources whose last report is older than the
// interval (their next occurrence is reported at once anyway, only the
// count of the unreported ones is lost) and, if the table is still full,
// one more, so a new source has room.
func (g *Guard) pruneReports(now time.Time) {
	if now.Sub(g.reportsSwept) >= g.set.ReportEvery {
		g.reportsSwept = now
		for k, r := range g.reports {
			if now.Sub(r.at) >= g.set.ReportEvery {
				delete(g.reports, k)
			}
		}
	}
	for k := range g.reports {
		if len(g.reports) < g.set.MaxSources {
			break
		}
		delete(g.reports, k)
	}
}

// Bans lists the bans in force, soonest to end first.
func (g *Guard) Bans() []Ban {
	now := g.clock.Now()
	g.mu.Lock()
	g.pruneBans(now)
	out := make([]Ban, 0, len(g.bans))
	for _, b := range g.bans {
		out = append(out, b)
	}
	g.mu.Unlock()
	slices.SortFunc(out, func(x, y Ban) int { return x.Until.Compare(y.Until) })
	return out
}

// Lift ends a's ban and forgets its failures; it reports whether a was banned.
func (g *Guard) Lift(a netip.Addr) bool {
	a = Key(a)
	now := g.clock.Now()
	g.mu.Lock()
	b, ok := g.bans[a]
	ok = ok && now.Before(b.Until)
	delete(g.bans, a)
	delete(g.fails, a)
	ev := Event{At: now, Kind: KindLift, Source: a}
	if ok {
		g.record(ev)
	}
	g.mu.Unlock()
	if ok {
		g.notify(ev)
	}
	return ok
}

// Events returns the counts and the recent events, oldest first.
func (g *Guard) Events() Report {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := Report{Counts: make(map[EventKind]uint64, len(g.counts)), Dropped: g.dropped,
		Shed: make(map[EventKind]uint64, len(g.shed)), Recent: make([]Event, 0, len(g.ring))}
	for k, v := range g.counts {
		r.Counts[k] = v
	}
	for k, v := range g.shed {
		r.Shed[k] = v
	}
	r.Recent = append(r.Recent, g.ring[g.next:]...)
	r.Recent = append(r.Recent, g.ring[:g.next]...)
	return r
}
