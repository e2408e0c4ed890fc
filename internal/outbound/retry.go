package outbound

import (
	"time"
)

// Rule is what happens to a contact after an attempt with some outcome or
// disposition: tried again after Retry (up to the campaign's attempts),
// or finished (Retry zero and not Final: finished; Final: finished
// whatever the attempts left).
type Rule struct {
	Retry time.Duration
	Final bool
	// DNC puts the number on the internal do-not-call list (a "do not
	// call me" disposition).
	DNC bool
}

// DefaultRules are VICIdial-like lead recycling: busy again in 10
// minutes, no answer in 2 hours, a machine in 4 hours, a dropped call (the
// person heard the identification message) in an hour, a call the network
// could not place in 30 minutes; a number that does not exist is not
// tried again.
var DefaultRules = map[string]Rule{
	string(Busy):     {Retry: 10 * time.Minute},
	string(NoAnswer): {Retry: 2 * time.Hour},
	string(Machine):  {Retry: 4 * time.Hour},
	"dropped":        {Retry: time.Hour},
	string(Failed):   {Retry: 30 * time.Minute},
	string(Invalid):  {Final: true},
}

// Next is when a contact is tried again after an attempt whose outcome
// (or, when an agent talked to them, disposition) is key, having been
// tried attempts times out of max. ok is false when the contact is done.
// An unknown key with no rule is done: a call an agent handled ends the
// contact unless its disposition says otherwise.
func Next(rules map[string]Rule, key string, attempts, max int, now time.Time) (at time.Time, ok bool) {
	r, found := rules[key]
	if !found {
		r, found = DefaultRules[key]
	}
	if !found || r.Final || r.Retry <= 0 || attempts >= max {
		return time.Time{}, false
	}
	return now.Add(r.Retry), true
}
