package call

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/voicemail"
)

// voiceLevel is the mean absolute sample value above which a frame counts
// as speech rather than silence.
const voiceLevel = 300

// minMessage is the shortest message kept.
const minMessage = 500 * time.Millisecond

// voicemail takes a message for a mailbox: greeting, beep, then recording
// until #, silence, the maximum length or the caller hanging up.
func (c *Call) voicemail(ctx context.Context) {
	m, mailbox := c.m, c.mailbox
	box, ok := m.config().MailboxByName(mailbox)
	if !ok { // removed by a reload since the call arrived: the message is still taken
		box, ok = c.cfg.MailboxByName(mailbox)
	}
	if !ok || m.vm == nil {
		c.log.Error("voicemail: no mailbox", "mailbox", mailbox)
		c.caller.Hangup()
		c.end(event.OutcomeFailed, event.BySystem, "no mailbox "+mailbox)
		return
	}
	ep := c.caller.Media()
	ep.Stop() // music on hold, if any
	m.event(event.VoicemailGreeting, c.ID, "", "", "mailbox="+mailbox)
	if _, err := c.play(ctx, []string{box.Greeting, "beep"}, true); err != nil {
		c.end(event.OutcomeAbandoned, event.ByCaller, "hung up before the beep")
		return
	}
	ep.Stop()
	for len(ep.Digits()) > 0 {
		<-ep.Digits()
	}
	cfg := m.config().Voicemail
	rec := &message{start: time.Now(), max: int(cfg.MaxLength.Seconds() * media.SampleRate)}
	rec.lastVoice = rec.start
	ep.Tap(rec.add)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var by event.HangupBy
	var why string
	for why == "" {
		select {
		case k := <-c.cmds:
			c.exec(k)
		case d := <-ep.Digits():
			if d == '#' {
				by, why = event.ByCaller, "pound key"
			}
		case <-c.caller.Done():
			by, why = event.ByCaller, "caller hung up"
		case <-ctx.Done():
			by, why = event.BySystem, "maximum call duration or shutdown"
		case <-tick.C:
			full, quiet := rec.status(cfg.Silence)
			switch {
			case full:
				by, why = event.BySystem, "maximum length"
			case quiet:
				by, why = event.BySystem, "silence"
			}
		}
	}
	ep.Tap(nil)
	pcm := rec.take(why == "silence")
	if time.Duration(len(pcm))*time.Second/media.SampleRate < minMessage {
		m.event(event.VoicemailEmpty, c.ID, "", "", "mailbox="+mailbox+" ended by "+why)
		c.caller.Hangup()
		c.end(event.OutcomeAbandoned, by, "no message left ("+why+")")
		return
	}
	c.mu.Lock()
	caller, name := c.rec.Caller, c.rec.CallerName
	c.mu.Unlock()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second) // a message left as the call ends is kept
	defer cancel()
	v, err := m.vm.Save(sctx, voicemail.Message{CallID: c.ID, Mailbox: mailbox, Email: box.Email, Caller: caller, CallerName: name,
		At: rec.start, PCM: pcm})
	if err != nil {
		c.log.Error("voicemail not saved", "err", err)
		c.caller.Hangup()
		c.end(event.OutcomeFailed, event.BySystem, "voicemail: "+err.Error())
		return
	}
	m.event(event.VoicemailLeft, c.ID, "", "", fmt.Sprintf("mailbox=%s voicemail=%s seconds=%.1f ended_by=%s", mailbox, v.ID, v.DurationSeconds, why))
	if why != "caller hung up" {
		_, _ = c.play(ctx, []string{"voicemail-saved"}, false)
	}
	c.caller.Hangup()
	c.end(event.OutcomeVoicemail, by, "message left, ended by "+why)
}

// message gathers a caller's audio from the media reader.
type message struct {
	mu        sync.Mutex
	pcm       []int16
	max       int
	start     time.Time
	lastVoice time.Time
	voiceEnd  int // samples up to the end of the last speech frame
}

func (r *message) add(c media.Codec, payload []byte) {
	frame := make([]int16, len(payload))
	media.Decode(c, frame, payload)
	var sum int
	for _, s := range frame {
		sum += max(int(s), -int(s))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pcm)+len(frame) > r.max {
		frame = frame[:max(r.max-len(r.pcm), 0)]
	}
	r.pcm = append(r.pcm, frame...)
	if len(frame) > 0 && sum/len(frame) > voiceLevel {
		r.lastVoice = time.Now()
		r.voiceEnd = len(r.pcm)
	}
}

// status reports whether the message is at its maximum length, or has
// been silent for silence.
func (r *message) status(silence time.Duration) (full, quiet bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pcm) >= r.max, time.Since(r.lastVoice) >= silence
}

// take returns the audio; trimmed keeps only half a second after the last speech.
func (r *message) take(trimmed bool) []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if trimmed {
		end := min(r.voiceEnd+media.SampleRate/2, len(r.pcm))
		if r.voiceEnd == 0 {
			end = 0
		}
		return r.pcm[:end]
	}
	return r.pcm
}
