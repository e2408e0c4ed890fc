package acd

// The outbox carries the ACD's decisions out in the order they were made.
// Every method that decides appends to it under a.mu; whoever releases the
// lock becomes the drainer if nobody is draining, and delivers until the
// outbox is empty, with the lock released around each batch. So there is
// one drainer at a time, items reach the Offerer and the sink in the order
// decided (an offer's CancelOffer never overtakes its Offer, events keep
// their sequence), no Offerer or sink call is made with a.mu held, and an
// Offerer that calls back into the ACD from Offer (a phone that fails at
// once) does not deadlock: its decisions join the outbox and the drainer
// up its stack delivers them next.

type outKind uint8

const (
	outEvent outKind = iota
	outOffer
	outCancel
)

type outItem struct {
	kind  outKind
	offer Offer
	event Event
}

func (a *ACD) sendOffer(o Offer)  { a.out = append(a.out, outItem{kind: outOffer, offer: o}) }
func (a *ACD) sendCancel(o Offer) { a.out = append(a.out, outItem{kind: outCancel, offer: o}) }

func (a *ACD) emit(e Event) {
	if a.quiet {
		return
	}
	e.At = a.clock.Now()
	a.out = append(a.out, outItem{kind: outEvent, event: e})
}

// unlock releases the lock and, unless another goroutine is draining
// already, delivers the outbox until it is empty. Items added by another
// goroutine while this one drains are delivered by this one, so a method
// may return before its own decisions have reached the Offerer (they are on
// their way, in order, by the goroutine draining).
func (a *ACD) unlock() {
	if a.draining || len(a.out) == 0 {
		a.mu.Unlock()
		return
	}
	a.draining = true
	done := false
	defer func() {
		if !done { // the Offerer or the sink panicked: let the next caller drain
			a.mu.Lock()
			a.draining = false
			a.mu.Unlock()
		}
	}()
	for len(a.out) > 0 {
		batch := a.out
		a.out, a.spare = a.spare[:0], nil
		a.mu.Unlock()
		a.deliver(batch)
		clear(batch) // drop the strings it holds
		a.mu.Lock()
		a.spare = batch[:0]
	}
	a.draining = false
	done = true
	a.mu.Unlock()
}

func (a *ACD) deliver(batch []outItem) {
	for i := range batch {
		it := &batch[i]
		switch it.kind {
		case outEvent:
			a.sink(it.event)
		case outOffer:
			a.offerer.Offer(it.offer)
		case outCancel:
			a.offerer.CancelOffer(it.offer)
		}
	}
}
