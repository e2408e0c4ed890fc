package call

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/sip"
)

// errHungUp ends a flow whose caller hung up.
var errHungUp = errors.New("caller hung up")

// legSession lets a flow drive a caller's leg (flow.Session).
type legSession struct {
	leg    *sip.Leg
	sounds *media.Library
	log    *slog.Logger
}

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

func (s *legSession) Now() time.Time { return time.Now() }

func (s *legSession) Caller() string { return s.leg.Caller }

func (s *legSession) Play(ctx context.Context, prompts []string, interruptible bool) (byte, error) {
	ep := s.leg.Media()
	sounds := lookupSounds(s.sounds, prompts, s.log)
	if interruptible {
		// A digit typed ahead interrupts before a word is played.
		select {
		case d := <-ep.Digits():
			return d, nil
		default:
		}
	}
	done := ep.Play(sounds...)
	var digits <-chan byte
	if interruptible {
		digits = ep.Digits()
	}
	select {
	case <-done:
		return 0, nil
	case d := <-digits:
		ep.Stop()
		return d, nil
	case <-s.leg.Done():
		return 0, errHungUp
	case <-ctx.Done():
		ep.Stop()
		return 0, ctx.Err()
	}
}

func (s *legSession) WaitDigit(ctx context.Context, timeout time.Duration) (byte, bool, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case d := <-s.leg.Media().Digits():
		return d, true, nil
	case <-t.C:
		return 0, false, nil
	case <-s.leg.Done():
		return 0, false, errHungUp
	case <-ctx.Done():
		return 0, false, ctx.Err()
	}
}
