package call

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/recording"
	"github.com/switchboard/switchboard/internal/sip"
	"github.com/switchboard/switchboard/internal/store"
)

// Recordings starts recording files.
type Recordings interface {
	Start(callID string, now time.Time) (*recording.Recording, error)
}

// RecordingIndex keeps finished recordings findable.
type RecordingIndex interface {
	SaveRecording(ctx context.Context, r store.Recording) error
}

// SetRecordings connects call recording.
func (m *Manager) SetRecordings(r Recordings, idx RecordingIndex) { m.recs, m.recIdx = r, idx }

// recordPolicy is the recording policy of the call's current queue.
func (c *Call) recordPolicy() string {
	if q, ok := c.queueConfig(c.queue); ok {
		return q.Record
	}
	return config.RecordNone
}

// record taps the caller's and the agent's legs into the call's recording,
// starting it first when start is set and none runs yet.
func (c *Call) record(callerLeg, agentLeg *sip.Leg, start bool) {
	m := c.m
	if m.recs == nil {
		return
	}
	r := c.recording
	if r == nil {
		if !start {
			c.publishRecording() // on demand: the agent may start it
			return
		}
		var err error
		if r, err = m.recs.Start(c.ID, time.Now()); err != nil {
			c.log.Error("recording not started", "err", err)
			c.publishRecording()
			return
		}
		c.recording = r
		m.event(event.RecordingStarted, c.ID, "", "", filepath.Base(r.Path))
	}
	callerLeg.Media().Tap(r.Left)
	agentLeg.Media().Tap(r.Right)
	c.listen()
	c.publishRecording()
}

// What a live call's agent may do with its recording (Live.Recording).
const (
	RecNone     = ""          // not recorded, and may not be
	RecOnDemand = "on_demand" // not recorded; the agent may start it
	RecOn       = "on"        // recording; the agent may pause it
	RecPaused   = "paused"    // paused; the agent may resume it
)

// publishRecording mirrors the call's recording into its view (on the
// call's goroutine).
func (c *Call) publishRecording() {
	rec := RecNone
	switch r := c.recording; {
	case r != nil && r.Paused():
		rec = RecPaused
	case r != nil:
		rec = RecOn
	case c.m.recs != nil && c.recordPolicy() == config.RecordOnDemand:
		rec = RecOnDemand
	}
	c.mu.Lock()
	c.view.Recording = rec
	c.mu.Unlock()
}

// closeRecording finishes the call's recording and indexes it.
func (c *Call) closeRecording() {
	r, queue := c.recording, c.queue
	c.recording = nil
	if r == nil {
		return
	}
	c.publishRecording()
	info, err := r.Close(time.Now())
	if err != nil {
		c.log.Error("recording", "err", err)
	}
	pauses := ""
	if len(info.Pauses) > 0 {
		pauses = recording.PauseText(info.Pauses)
	}
	if c.m.recIdx != nil {
		if err := c.m.recIdx.SaveRecording(context.Background(), store.Recording{CallID: c.ID, Path: info.Path, Started: info.Started,
			Seconds: info.Seconds, Pauses: pauses, Queue: queue}); err != nil {
			c.log.Error("recording not indexed", "err", err)
		}
	}
	c.m.event(event.RecordingSaved, c.ID, "", queue, fmt.Sprintf("seconds=%.1f %s", info.Seconds, pauses))
	if c.m.speech != nil {
		c.m.speech.Recorded(c.ID, queue)
	}
}

// Recording acts on a live call's recording: start (queues recording on
// demand), pause or resume.
func (m *Manager) Recording(callID, action, by string) error {
	if action != "start" && action != "pause" && action != "resume" {
		return ErrBadRecAction
	}
	return m.command(callID, "recording "+action, func(c *Call) error {
		r := c.recording
		switch action {
		case "start":
			if r != nil {
				return nil
			}
			if c.recordPolicy() != config.RecordOnDemand {
				return ErrNotRecorded
			}
			if c.st != StateConnected && c.st != StateHeld || c.agentLeg == nil {
				return c.refuse("recording start")
			}
			if c.record(c.caller, c.agentLeg, true); c.recording == nil {
				return ErrRecordingFailed
			}
			return nil
		default:
			if r == nil {
				return ErrNoRecording
			}
			if r.SetPaused(action == "pause", time.Now()) {
				m.event(map[string]event.Kind{"pause": event.RecordingPaused, "resume": event.RecordingResumed}[action], c.ID, "", "", "by "+by)
				c.publishRecording()
			}
			return nil
		}
	})
}

// toggleRecordingPause pauses a running recording, or resumes a paused one.
func (c *Call) toggleRecordingPause(by string) {
	r := c.recording
	if r == nil {
		return
	}
	now := time.Now()
	defer c.publishRecording()
	if r.SetPaused(true, now) {
		c.m.event(event.RecordingPaused, c.ID, "", "", "by "+by)
		return
	}
	if r.SetPaused(false, now) {
		c.m.event(event.RecordingResumed, c.ID, "", "", "by "+by)
	}
}
