package acd

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// lockedClock is a fake clock that goroutines may share.
type lockedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *lockedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *lockedClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// orderLog is an Offerer and a sink that checks the order of what arrives.
type orderLog struct {
	acd *ACD

	mu       sync.Mutex
	offered  map[uint64]bool
	canceled map[uint64]bool
	events   map[string]string // call → "offered:agent" between the event and its Offer
	lastAt   time.Time
	todo     []Offer // offers for the phones to answer or refuse
	errs     []string
	inside   int // deliveries running at once
}

func (l *orderLog) fail(format string, args ...any) {
	if len(l.errs) < 10 {
		l.errs = append(l.errs, fmt.Sprintf(format, args...))
	}
}

func (l *orderLog) enter() {
	l.mu.Lock()
	l.inside++
	if l.inside > 1 {
		l.fail("two deliveries at once")
	}
}

func (l *orderLog) leave() { l.inside--; l.mu.Unlock() }

func (l *orderLog) Offer(o Offer) {
	l.enter()
	if l.offered[o.ID] {
		l.fail("offer %d twice", o.ID)
	}
	if l.canceled[o.ID] {
		l.fail("offer %d after its cancel", o.ID)
	}
	if l.events[o.CallID] != "offered:"+o.AgentID {
		l.fail("offer %d of %s to %s without its offered event just before (%q)", o.ID, o.CallID, o.AgentID, l.events[o.CallID])
	}
	l.offered[o.ID] = true
	l.todo = append(l.todo, o)
	l.leave()
	// The lock is not held: calling back in does not deadlock.
	_, _ = l.acd.Agent(o.AgentID)
}

func (l *orderLog) CancelOffer(o Offer) {
	l.enter()
	defer l.leave()
	if !l.offered[o.ID] {
		l.fail("cancel of offer %d before the offer", o.ID)
	}
	if l.canceled[o.ID] {
		l.fail("offer %d cancelled twice", o.ID)
	}
	l.canceled[o.ID] = true
}

func (l *orderLog) sink(e Event) {
	l.enter()
	defer l.leave()
	if e.At.Before(l.lastAt) {
		l.fail("event %s of %s at %s after one at %s: out of order", e.Kind, e.CallID, e.At.Format(time.StampMilli), l.lastAt.Format(time.StampMilli))
	}
	l.lastAt = e.At
	if e.CallID != "" {
		l.events[e.CallID] = string(e.Kind) + ":" + e.AgentID
	}
}

func (l *orderLog) take() (Offer, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.todo) == 0 {
		return Offer{}, false
	}
	o := l.todo[0]
	l.todo = l.todo[1:]
	return o, true
}

// TestDecisionsArriveInOrder drives one ACD from several goroutines at once
// (callers queueing and hanging up, phones answering and refusing, agents
// going away and back, the clock ticking) and checks that offers, cancels
// and events reach the Offerer and the sink one at a time and in the order
// the ACD made them: no cancel before its offer, no offer before its event,
// event times never going back.
func TestDecisionsArriveInOrder(t *testing.T) {
	clk := &lockedClock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	l := &orderLog{offered: map[uint64]bool{}, canceled: map[uint64]bool{}, events: map[string]string{}}
	a := New(clk, l, l.sink)
	l.acd = a
	a.AddQueue(QueueConfig{Name: "q", RingTimeout: 3 * time.Second, RetryPause: time.Second})
	agents := []string{"A", "B", "C", "D"}
	for _, id := range agents {
		if err := a.AddAgent(AgentConfig{ID: id, Queues: []string{"q"}}); err != nil {
			t.Fatal(err)
		}
		_ = a.Login(id)
	}
	const callers, calls = 3, 200
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < callers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < calls; i++ {
				id := fmt.Sprintf("g%d-%d", g, i)
				_ = a.Enqueue(id, "q", i%3)
				if i%4 == 0 {
					_ = a.Abandon(id, "caller hung up")
				}
			}
		}()
	}
	var helpers sync.WaitGroup
	helpers.Add(3)
	go func() { // the phones
		defer helpers.Done()
		n := 0
		for {
			select {
			case <-stop:
				return
			default:
			}
			o, ok := l.take()
			if !ok {
				_, _ = a.NextDeadline() // something else to do than spin on the log
				continue
			}
			n++
			switch n % 3 {
			case 0:
				_ = a.Declined(o.ID, "486 Busy Here")
			default:
				if a.Answered(o.ID) == nil {
					_ = a.CallEnded(o.AgentID)
				}
			}
		}
	}()
	go func() { // the clock
		defer helpers.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			clk.Advance(100 * time.Millisecond)
			a.Tick()
		}
	}()
	go func() { // a supervisor
		defer helpers.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := agents[i%len(agents)]
			_ = a.SetAway(id, "brb")
			_ = a.SetReachable(id, i%3 != 0)
			_ = a.SetAvailable(id)
			_ = a.SetReachable(id, true)
		}
	}()
	wg.Wait()
	close(stop)
	helpers.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.errs {
		t.Error(e)
	}
	if len(l.offered) == 0 {
		t.Fatal("no offers made")
	}
}

// lockCheck is an Offerer and sink that fail when called with the ACD's lock held.
type lockCheck struct {
	t   *testing.T
	acd *ACD
	n   int
}

func (l *lockCheck) check(what string) {
	l.n++
	if !l.acd.mu.TryLock() {
		l.t.Errorf("%s delivered with the ACD's lock held", what)
		return
	}
	l.acd.mu.Unlock()
}

func (l *lockCheck) Offer(o Offer) {
	l.check("offer")
	_ = l.acd.Declined(o.ID, "480 not registered") // a phone that fails at once, from inside Offer
}
func (l *lockCheck) CancelOffer(Offer) { l.check("cancel") }

func TestDeliveredWithoutTheLock(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	l := &lockCheck{t: t}
	a := New(clk, l, func(Event) { l.check("event") })
	l.acd = a
	a.AddQueue(QueueConfig{Name: "q", RingTimeout: 15 * time.Second})
	for _, id := range []string{"A", "B"} {
		_ = a.AddAgent(AgentConfig{ID: id, Queues: []string{"q"}})
		_ = a.Login(id)
	}
	_ = a.Enqueue("c1", "q", 0) // offered to A, declined inside Offer, offered to B, declined
	if v, _ := a.Queue("q"); v.Waiting != 1 || v.Ringing != 0 {
		t.Fatalf("queue %+v, want c1 waiting after both phones failed", v)
	}
	_ = a.Abandon("c1", "caller hung up")
	if l.n < 6 {
		t.Fatalf("%d deliveries, want offers and events", l.n)
	}
}
