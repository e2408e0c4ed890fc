// Package outbound is the domain of outbound campaigns: contact lists and
// their import, do-not-call lists, calling windows in the contact's local
// time, retry rules by outcome, and the pacer that decides how many calls a
// campaign dials now (preview, progressive, power, predictive) while the
// share of live answers dropped stays under the legal target.
//
// It is pure domain, like acd: no sockets, no SQL, and time is given by the
// caller, so the same code runs for real campaigns, in deterministic tests
// and in the discrete-event simulator (switchboard simulate --outbound).
package outbound

import (
	"fmt"
	"time"
)

// Mode is how a campaign dials.
type Mode string

// The dialing modes.
const (
	// Preview: the agent sees the next contact, then dials or skips it.
	Preview Mode = "preview"
	// Progressive: one call per free agent, the moment the agent is free.
	Progressive Mode = "progressive"
	// Power: a fixed number of lines per free agent.
	Power Mode = "power"
	// Predictive: as many lines as the measured answer rate, talk and
	// wrap-up times and the agents about to be free call for, under the
	// abandonment target.
	Predictive Mode = "predictive"
)

// ParseMode reads a mode's name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Preview, Progressive, Power, Predictive:
		return m, nil
	}
	return "", fmt.Errorf("unknown dialing mode %q (preview, progressive, power, predictive)", s)
}

// Outcome is how one attempt ended on the network's side.
type Outcome string

// The outcomes of an attempt.
const (
	// Human: a person answered (live); the call needs an agent.
	Human Outcome = "human"
	// Machine: an answering machine answered (AMD said so).
	Machine Outcome = "machine"
	// Unknown: answered, and AMD could not tell within its time; treated as
	// a person (connected to an agent), as regulators expect.
	Unknown Outcome = "unknown"
	// NoAnswer: it rang for the ring time and nobody answered.
	NoAnswer Outcome = "no_answer"
	// Busy: the number was busy (486, 600).
	Busy Outcome = "busy"
	// Failed: the network could not place the call (5xx, no route): the
	// contact is tried again later.
	Failed Outcome = "failed"
	// Invalid: the number does not exist (404, 410, 484, 604): never again.
	Invalid Outcome = "invalid_number"
)

// Live reports whether the outcome is an answer by a person (or one AMD
// could not tell from a person): the calls that need an agent and that the
// abandonment rate is counted over.
func (o Outcome) Live() bool { return o == Human || o == Unknown }

// Answered reports whether the call was answered at all.
func (o Outcome) Answered() bool { return o == Human || o == Machine || o == Unknown }

// Defaults from the US FTC Telemarketing Sales Rule (16 CFR 310.4(b)(4))
// and the UK Ofcom persistent-misuse policy, where they agree.
const (
	// DefaultAbandonTarget is the share of live answers that may be
	// dropped (no agent within DropAfter), over the campaign and over a
	// rolling 30 days: 3 %.
	DefaultAbandonTarget = 0.03
	// DropAfter is how long a person who answered may wait for an agent
	// after their greeting before the call counts as abandoned and they
	// hear the campaign's identification message (TSR: 2 s).
	DropAfter = 2 * time.Second
	// MinRing is the least time an unanswered call rings (TSR: 15 s or
	// four rings; Ofcom: 15 s).
	MinRing = 15 * time.Second
	// DefaultRing is how long a call rings before it counts as no answer.
	DefaultRing = 25 * time.Second
	// RollingWindow is the period the rolling abandonment rate covers.
	RollingWindow = 30 * 24 * time.Hour
)
