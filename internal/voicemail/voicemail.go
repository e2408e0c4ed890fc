// Package voicemail keeps the messages callers leave: it writes each as a
// WAV file beside the database, indexes it in the store, and emails it to
// the mailbox's address as an attachment, retrying with backoff while the
// mail relay is unreachable. A failed delivery is logged and retried, never
// fatal; the message stays stored either way.
package voicemail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/store"
)

// Store is where messages are indexed.
type Store interface {
	SaveVoicemail(ctx context.Context, v store.Voicemail) error
	Delivered(ctx context.Context, id string, at time.Time, err error) error
	Voicemails(ctx context.Context, pending bool, limit int) ([]store.Voicemail, error)
}

// maxRetry caps the pause between delivery attempts.
const maxRetry = 30 * time.Minute

// Service stores and delivers messages.
type Service struct {
	dir   string
	smtp  config.SMTP
	store Store
	log   *slog.Logger
	wake  chan struct{}

	mu   sync.Mutex
	next map[string]time.Time // message → earliest next delivery attempt
}

// New makes a service writing WAV files under dir.
func New(dir string, smtp config.SMTP, st Store, log *slog.Logger) *Service {
	return &Service{dir: dir, smtp: smtp, store: st, log: log, wake: make(chan struct{}, 1), next: map[string]time.Time{}}
}

// Message is a recorded message before it is stored.
type Message struct {
	CallID, Mailbox, Email, Caller, CallerName string
	At                                         time.Time
	// PCM is 8 kHz 16-bit mono audio.
	PCM []int16
}

// Save writes the message's WAV file and indexes it; delivery follows in
// the background.
func (s *Service) Save(ctx context.Context, m Message) (store.Voicemail, error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	id := m.At.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
	dir := filepath.Join(s.dir, m.Mailbox)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return store.Voicemail{}, fmt.Errorf("voicemail: %w", err)
	}
	path := filepath.Join(dir, id+".wav")
	if err := os.WriteFile(path, EncodeWAV(m.PCM), 0o640); err != nil {
		return store.Voicemail{}, fmt.Errorf("voicemail: write %s: %w", path, err)
	}
	v := store.Voicemail{ID: id, CallID: m.CallID, Mailbox: m.Mailbox, Email: m.Email, Caller: m.Caller, CallerName: m.CallerName,
		At: m.At, DurationSeconds: float64(len(m.PCM)) / media.SampleRate, Path: path}
	if err := s.store.SaveVoicemail(ctx, v); err != nil {
		return v, err
	}
	s.log.Info("voicemail stored", "voicemail", id, "call", m.CallID, "mailbox", m.Mailbox, "seconds", v.DurationSeconds, "path", path)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return v, nil
}

// EncodeWAV makes a 16-bit mono WAV file of pcm.
func EncodeWAV(pcm []int16) []byte {
	out := media.WAVHeader(1, uint32(2*len(pcm)))
	for _, v := range pcm {
		out = append(out, byte(v), byte(uint16(v)>>8))
	}
	return out
}

// Run delivers pending messages until ctx ends: at start (messages left
// from before a restart), after each new message, and when a retry is due.
// With nothing to retry it looks again once a minute at most.
func (s *Service) Run(ctx context.Context) {
	for {
		wait := time.Minute
		if next := s.deliverDue(ctx); !next.IsZero() {
			wait = max(time.Until(next), 10*time.Millisecond)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// deliverDue sends the pending messages whose time has come and returns
// the earliest next retry (zero when nothing waits for one).
func (s *Service) deliverDue(ctx context.Context) (next time.Time) {
	if s.smtp.Addr == "" {
		return time.Time{}
	}
	pending, err := s.store.Voicemails(ctx, true, 100)
	if err != nil {
		s.log.Warn("voicemail: list pending", "err", err)
		return time.Now().Add(s.smtp.Retry)
	}
	now := time.Now()
	soonest := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, v := range pending {
		s.mu.Lock()
		due := s.next[v.ID]
		s.mu.Unlock()
		if now.Before(due) {
			soonest(due)
			continue
		}
		err := Send(ctx, s.smtp, v)
		if serr := s.store.Delivered(ctx, v.ID, time.Now(), err); serr != nil {
			s.log.Warn("voicemail: record delivery", "voicemail", v.ID, "err", serr)
		}
		s.mu.Lock()
		if err == nil {
			delete(s.next, v.ID)
		} else {
			wait := min(s.smtp.Retry<<min(v.Attempts, 16), maxRetry)
			s.next[v.ID] = time.Now().Add(wait)
			soonest(s.next[v.ID])
		}
		s.mu.Unlock()
		if err != nil {
			s.log.Warn("voicemail: email not delivered; will retry", "voicemail", v.ID, "to", v.Email, "attempt", v.Attempts+1, "err", err)
			continue
		}
		s.log.Info("voicemail emailed", "voicemail", v.ID, "to", v.Email)
	}
	return next
}
