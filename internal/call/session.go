package call

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/media"
)

// lookupSounds finds prompts in the library; a missing one is logged and skipped.
func lookupSounds(lib *media.Library, prompts []string, log *slog.Logger) []*media.Sound {
	sounds := make([]*media.Sound, 0, len(prompts))
	for _, p := range prompts {
		if snd, ok := lib.Get(p); ok {
			sounds = append(sounds, snd)
		} else {
			log.Warn("missing sound", "sound", p)
		}
	}
	return sounds
}

// play is the one prompt player of a call, for the IVR and the queue alike:
// it plays prompts to the caller (over the music on hold, which resumes
// after them) while the call goes on taking commands. A key ends an
// interruptible prompt and is returned; errMoved means a command changed
// the call's state meanwhile (an agent took it), errHungUp that the caller
// hung up.
func (c *Call) play(ctx context.Context, prompts []string, interruptible bool) (byte, error) {
	ep := c.caller.Media()
	st := c.st
	var digits <-chan byte
	if interruptible {
		digits = ep.Digits()
		select { // a key typed ahead interrupts before a word is played
		case d := <-digits:
			return d, nil
		default:
		}
	}
	done := ep.Play(lookupSounds(c.m.sounds, prompts, c.log)...)
	for {
		select {
		case <-done:
			return 0, nil
		case d := <-digits:
			ep.Play() // cut the prompt; music on hold, if set, resumes
			return d, nil
		case <-c.caller.Done():
			return 0, errHungUp
		case <-ctx.Done():
			ep.Stop()
			return 0, ctx.Err()
		case k := <-c.cmds:
			c.exec(k)
			if c.moved(st) {
				return 0, errMoved
			}
		}
	}
}

// collect waits up to timeout for one key (0, nil on timeout), taking
// commands meanwhile like play.
func (c *Call) collect(ctx context.Context, timeout time.Duration) (byte, error) {
	st := c.st
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case d := <-c.caller.Media().Digits():
			return d, nil
		case <-t.C:
			return 0, nil
		case <-c.caller.Done():
			return 0, errHungUp
		case <-ctx.Done():
			return 0, ctx.Err()
		case k := <-c.cmds:
			c.exec(k)
			if c.moved(st) {
				return 0, errMoved
			}
		}
	}
}

// legSession lets a flow drive the caller through the call (flow.Session).
type legSession struct {
	c      *Call
	spoken atomic.Bool // the last key was said (ListenFor)
}

func (s *legSession) Now() time.Time { return time.Now() }

func (s *legSession) Caller() string { return s.c.caller.Caller }

func (s *legSession) Play(ctx context.Context, prompts []string, interruptible bool) (byte, error) {
	return s.c.play(ctx, prompts, interruptible)
}

func (s *legSession) WaitDigit(ctx context.Context, timeout time.Duration) (byte, bool, error) {
	d, err := s.c.collect(ctx, timeout)
	return d, d != 0, err
}
