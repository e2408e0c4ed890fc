package call

import (
	"context"
	"time"
)

// State is where a call stands. The call's goroutine owns it: it changes
// only there, in order.
type State string

// States of a call.
const (
	StateNew             State = "new"
	StateIVR             State = "ivr"
	StateQueued          State = "queued"
	StateRinging         State = "ringing" // an extension rings for the caller
	StateConnected       State = "connected"
	StateHeld            State = "held"
	StateConsulting      State = "consulting"
	StateConference      State = "conference"
	StateCallbackPending State = "callback_pending"
	StateVoicemail       State = "voicemail"
	StateEnded           State = "ended"
)

// Phrase says the state in words, for errors: "the call is in a consultation".
func (s State) Phrase() string {
	switch s {
	case StateNew, StateIVR:
		return "in the IVR"
	case StateQueued:
		return "waiting in a queue"
	case StateRinging:
		return "ringing an extension"
	case StateConnected:
		return "connected"
	case StateHeld:
		return "on hold"
	case StateConsulting:
		return "in a consultation"
	case StateConference:
		return "in a conference"
	case StateCallbackPending:
		return "waiting for a callback"
	case StateVoicemail:
		return "leaving a voicemail"
	}
	return "ended"
}

// Commands are what the call's agent may do in state s, by the API's names
// (POST /api/v1/calls/{id}/<name>), as the commands' own checks allow:
// hold and resume (setHold), dtmf (SendDigits: connected only), transfer
// and consult (startTransfer, startConsult: connected or held), conference
// (addParty: talking, not consulting), consult/complete and merge (with the
// consulted party answered) and consult/cancel (consulting), leave and
// remove (a conference), hangup; and, by the call's recording rec (a Rec*
// value), recording/pause while it records, recording/resume while it is
// paused and recording/start (connected or held) where the queue records
// on demand. In a conference hold and resume are both listed: each takes
// the agent out of the mix or back, as the agent's party's held says.
func (s State) Commands(consultAnswered bool, rec string) []string {
	var cmds []string
	switch s {
	case StateConnected:
		cmds = []string{"hangup", "hold", "dtmf", "transfer", "consult", "conference"}
	case StateHeld:
		cmds = []string{"hangup", "resume", "transfer", "consult", "conference"}
	case StateConsulting:
		if consultAnswered {
			cmds = []string{"hangup", "consult/complete", "merge", "consult/cancel"}
		} else {
			cmds = []string{"hangup", "consult/cancel"}
		}
	case StateConference:
		cmds = []string{"hangup", "hold", "resume", "conference", "leave", "remove"}
	default:
		return []string{}
	}
	switch {
	case rec == RecOn:
		cmds = append(cmds, "recording/pause")
	case rec == RecPaused:
		cmds = append(cmds, "recording/resume")
	case rec == RecOnDemand && (s == StateConnected || s == StateHeld):
		cmds = append(cmds, "recording/start")
	}
	return cmds
}

// talking reports whether an agent (or a number) is on the line with the caller.
func (s State) talking() bool {
	return s == StateConnected || s == StateHeld || s == StateConsulting || s == StateConference
}

// command is one outside action on a call (API, desktop, SIP REFER or
// re-INVITE, supervisor, ACD decision). It runs on the call's goroutine,
// which owns the state and the media, and replies with an error.
type command struct {
	op    string
	apply func(c *Call) error
	reply chan error
}

// commandWait bounds how long an outside action waits for the call's goroutine.
const commandWait = 5 * time.Second

// do runs f on the call's goroutine and returns its error: ErrUnknownCall
// once the call has ended, ErrBusy if the call did not take it in time.
// It is for outside actions (API, phones), which must not hang.
func (c *Call) do(op string, f func(c *Call) error) error {
	t := time.NewTimer(commandWait)
	defer t.Stop()
	return c.send(op, f, t.C)
}

// deliver is do for the call's own helpers (an offer answered, a party
// dialled): it waits for as long as the call lives, so what they hand over
// is never lost to a busy moment. ErrUnknownCall means f did not run.
func (c *Call) deliver(op string, f func(c *Call) error) error {
	return c.send(op, f, nil)
}

func (c *Call) send(op string, f func(c *Call) error, timeout <-chan time.Time) error {
	k := &command{op: op, apply: f, reply: make(chan error, 1)}
	select {
	case c.cmds <- k:
	case <-c.done:
		return ErrUnknownCall
	case <-timeout:
		return ErrBusy
	}
	select {
	case err := <-k.reply:
		return err
	case <-c.done:
		// The call ended after taking the command: it replied first if it ran it.
		select {
		case err := <-k.reply:
			return err
		default:
			return ErrUnknownCall
		}
	}
}

// exec runs a command taken from the channel and answers it.
func (c *Call) exec(k *command) {
	k.reply <- k.apply(c)
}

// refuse builds the error of a command the current state does not allow.
func (c *Call) refuse(op string) error { return &StateError{Op: op, State: c.st} }

// setState moves the call to s (on its goroutine) and publishes it.
func (c *Call) setState(s State) {
	if c.st == s {
		return
	}
	c.log.Debug("call state", "from", c.st, "to", s)
	c.st = s
	c.mu.Lock()
	c.view.State = s
	c.mu.Unlock()
}

// step runs the call in state st until it moves on, and returns the next
// state. Steps never call each other: however many moves, overflows or
// transfers a call goes through, the stack stays as it is.
func (c *Call) step(ctx context.Context, st State) State {
	c.reenter = false
	switch st {
	case StateNew:
		c.route(ctx)
	case StateIVR:
		c.ivr(ctx)
	case StateQueued:
		c.queued(ctx)
	case StateRinging:
		c.ringing(ctx)
	case StateConnected, StateHeld:
		c.talk(ctx)
	case StateConsulting:
		c.consulting(ctx)
	case StateConference:
		c.conferencing(ctx)
	case StateCallbackPending:
		c.callbackPending(ctx)
	case StateVoicemail:
		c.voicemail(ctx)
	default:
		c.setState(StateEnded)
	}
	return c.st
}

// moved reports whether the step for state st should return: the state
// changed, or the same state must start over (a move to another queue).
func (c *Call) moved(st State) bool { return c.st != st || c.reenter }
