package call

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/sip"
)

// directRingTimeout is how long an extension rings before voicemail or a no-answer.
const directRingTimeout = 30 * time.Second

// ringing is the step of a call to an extension: the agent's phone rings
// (the caller hears its ringing: a 180 while the caller is not answered,
// the ringback tone once the IVR has answered), then they talk, or the
// caller goes to the agent's voicemail.
func (c *Call) ringing(ctx context.Context) {
	m, ext := c.m, c.target
	answered := c.caller.Answered()
	if err := m.acd.Reserve(ext, c.ID); err != nil {
		c.noAnswer(ctx, ext, err, 486, "Busy Here")
		return
	}
	if answered {
		if rb, ok := m.sounds.Get("ringback"); ok {
			c.caller.Media().Loop(rb)
		}
	}
	caller := c.caller
	leg, err := c.dial(ctx, directRingTimeout, caller.Done(), func(ctx context.Context) (*sip.Leg, error) {
		return m.dialAgent(ctx, ext, caller.Caller, caller.CallerName, func() {
			if !answered {
				caller.Ringing()
			}
		})
	})
	if errors.Is(err, errWaiterGone) {
		_ = m.acd.Release(ext)
		c.end(event.OutcomeAbandoned, event.ByCaller, "caller hung up while extension rang")
		return
	}
	if err != nil {
		_ = m.acd.Release(ext)
		c.noAnswer(ctx, ext, err, 480, "Temporarily Unavailable")
		return
	}
	if c.st != StateRinging { // a command ended the call meanwhile
		leg.Hangup()
		_ = m.acd.Release(ext)
		return
	}
	if !answered && !c.answer() {
		leg.Hangup()
		_ = m.acd.Release(ext)
		return
	}
	c.connect(leg, ext, true)
}

// noAnswer follows an extension that could not be reached: its voicemail,
// or the caller is told (a SIP error before answering, a hang-up after).
func (c *Call) noAnswer(ctx context.Context, ext string, err error, code int, reason string) {
	m := c.m
	if box := m.agentOrZero(ext).Voicemail; box != "" {
		m.event(event.NoAnswer, c.ID, ext, "", err.Error())
		if !c.caller.Answered() && !c.answer() {
			return
		}
		c.toVoicemail(box)
		return
	}
	if c.caller.Answered() {
		c.caller.Hangup()
	} else {
		c.caller.Reject(code, reason)
	}
	c.end(c.failed(), event.BySystem, "extension "+ext+": "+err.Error())
	_ = ctx
}

// toVoicemail sends the caller to a mailbox.
func (c *Call) toVoicemail(mailbox string) {
	c.mailbox = mailbox
	c.setState(StateVoicemail)
}
