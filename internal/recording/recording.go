// Package recording writes call recordings: two-channel WAV files (the
// caller left, the agent right) built from the audio each leg receives,
// written while the call runs. One goroutine serves every recording: each
// tick it moves the audio due since the last into the file, padding a side
// that sent nothing with silence, so memory stays bounded (at most a second
// per side) and a crash leaves a file playable up to its last second.
package recording

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/store"
)

// Tick is how often pending audio is written; headers are brought up to
// date every headerEvery.
const (
	Tick        = 100 * time.Millisecond
	headerEvery = time.Second
	maxBacklog  = media.SampleRate // per side: a second
)

// Service owns the recordings in progress.
type Service struct {
	dir string
	log *slog.Logger

	mu     sync.Mutex
	active map[*Recording]struct{}
}

// New makes a service writing under dir.
func New(dir string, log *slog.Logger) *Service {
	return &Service{dir: dir, log: log, active: map[*Recording]struct{}{}}
}

// Pause is a stretch of a recording left silent on purpose.
type Pause struct {
	From, To time.Duration // offsets from the start; To is 0 while paused
}

// Recording is one call's file in progress.
type Recording struct {
	s       *Service
	Path    string
	Started time.Time

	// io is held for the file's writes (and taken before mu): the media
	// taps take only mu, so a slow disk never holds up a leg's packets.
	io         sync.Mutex
	f          *os.File
	w          *bufio.Writer
	written    int64 // sample frames (one per channel pair) in the file
	lastHeader time.Time
	buf        []byte
	err        error

	mu          sync.Mutex
	left, right []int16
	// onLeft and onRight hear each side's audio as it is recorded (live
	// speech analytics); not while paused.
	onLeft, onRight func(pcm []int16)
	paused          bool
	pauses          []Pause
	closed          bool
}

// Start opens a recording for a call at <dir>/<yyyy>/<mm>/<dd>/<callID>.wav.
func (s *Service) Start(callID string, now time.Time) (*Recording, error) {
	dir := filepath.Join(s.dir, now.UTC().Format("2006/01/02"))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	path := filepath.Join(dir, callID+".wav")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	if _, err := f.Write(media.WAVHeader(2, 0)); err != nil {
		f.Close()
		return nil, fmt.Errorf("recording: %w", err)
	}
	r := &Recording{s: s, Path: path, Started: now, f: f, w: bufio.NewWriterSize(f, 32<<10), lastHeader: now}
	s.mu.Lock()
	s.active[r] = struct{}{}
	s.mu.Unlock()
	return r, nil
}

// Run writes every recording's due audio each Tick until ctx's done channel closes.
func (s *Service) Run(done <-chan struct{}) {
	t := time.NewTicker(Tick)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			s.mu.Lock()
			recs := make([]*Recording, 0, len(s.active))
			for r := range s.active {
				recs = append(recs, r)
			}
			s.mu.Unlock()
			for _, r := range recs {
				r.tick(now)
			}
		}
	}
}

// Left takes audio the caller sent (a media tap).
func (r *Recording) Left(c media.Codec, payload []byte) { r.add(&r.left, c, payload) }

// Right takes audio the agent sent (a media tap).
func (r *Recording) Right(c media.Codec, payload []byte) { r.add(&r.right, c, payload) }

// Listen hands each side's audio, as it is recorded (not while the
// recording is paused), to left and right too; they are called with the
// recording's lock held and must neither block nor keep the slice.
func (r *Recording) Listen(left, right func(pcm []int16)) {
	r.mu.Lock()
	r.onLeft, r.onRight = left, right
	r.mu.Unlock()
}

func (r *Recording) add(side *[]int16, c media.Codec, payload []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.paused {
		return
	}
	n := len(*side)
	*side = append(*side, make([]int16, len(payload))...)
	media.Decode(c, (*side)[n:], payload)
	if on := r.onLeft; side == &r.left && on != nil {
		on((*side)[n:])
	} else if on := r.onRight; side == &r.right && on != nil {
		on((*side)[n:])
	}
	if over := len(*side) - maxBacklog; over > 0 {
		*side = append((*side)[:0], (*side)[over:]...)
	}
}

// Paused reports whether the recording is paused.
func (r *Recording) Paused() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.paused
}

// SetPaused pauses (silence is written instead of the audio) or resumes;
// it reports whether the state changed.
func (r *Recording) SetPaused(on bool, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.paused == on {
		return false
	}
	r.paused = on
	at := now.Sub(r.Started)
	if on {
		r.left, r.right = r.left[:0], r.right[:0]
		r.pauses = append(r.pauses, Pause{From: at})
	} else if len(r.pauses) > 0 {
		r.pauses[len(r.pauses)-1].To = at
	}
	return true
}

// tick writes the audio due up to now: as many sample frames as time has
// passed, each side's pending audio or silence.
func (r *Recording) tick(now time.Time) {
	r.io.Lock()
	defer r.io.Unlock()
	r.tickIO(now)
}

// tickIO is tick with r.io held: the samples are taken under mu, written
// after it is released.
func (r *Recording) tickIO(now time.Time) {
	if r.err != nil {
		return
	}
	due := int64(now.Sub(r.Started)*media.SampleRate/time.Second) - r.written
	if due <= 0 {
		return
	}
	if cap(r.buf) < int(due)*4 {
		r.buf = make([]byte, 0, int(due)*4)
	}
	buf := r.buf[:int(due)*4]
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	for i := int64(0); i < due; i++ {
		var l, rr int16
		if !r.paused {
			if int(i) < len(r.left) {
				l = r.left[i]
			}
			if int(i) < len(r.right) {
				rr = r.right[i]
			}
		}
		binary.LittleEndian.PutUint16(buf[i*4:], uint16(l))
		binary.LittleEndian.PutUint16(buf[i*4+2:], uint16(rr))
	}
	r.left = r.left[:copy(r.left, r.left[min(int(due), len(r.left)):])]
	r.right = r.right[:copy(r.right, r.right[min(int(due), len(r.right)):])]
	r.mu.Unlock()
	if _, err := r.w.Write(buf); err != nil {
		r.fail(err)
		return
	}
	r.written += due
	if now.Sub(r.lastHeader) >= headerEvery {
		r.lastHeader = now
		if err := r.syncHeader(0); err != nil {
			r.fail(err)
		}
	}
}

func (r *Recording) fail(err error) {
	r.err = err
	r.s.log.Error("recording: write failed; the rest of the call is not recorded", "path", r.Path, "err", err)
}

// syncHeader flushes the data and writes the RIFF and data sizes (extra:
// bytes of chunks after the data).
func (r *Recording) syncHeader(extra uint32) error {
	if err := r.w.Flush(); err != nil {
		return err
	}
	dataLen := uint32(r.written * 4)
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], 36+dataLen+extra)
	if _, err := r.f.WriteAt(b[:], 4); err != nil {
		return err
	}
	binary.LittleEndian.PutUint32(b[:], dataLen)
	_, err := r.f.WriteAt(b[:], 40)
	return err
}

// Info describes a finished recording.
type Info struct {
	Path    string
	Started time.Time
	Seconds float64
	Pauses  []Pause
}

// Close writes what is due, adds the pauses as an INFO comment chunk
// ("paused 12.3-20.1"), fixes the header and closes the file.
func (r *Recording) Close(now time.Time) (Info, error) {
	r.s.mu.Lock()
	delete(r.s.active, r)
	r.s.mu.Unlock()
	r.io.Lock()
	defer r.io.Unlock()
	r.tickIO(now)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return Info{}, fmt.Errorf("recording: %s already closed", r.Path)
	}
	r.closed = true
	if r.paused && len(r.pauses) > 0 {
		r.pauses[len(r.pauses)-1].To = now.Sub(r.Started)
	}
	pauses := r.pauses
	r.mu.Unlock()
	info := Info{Path: r.Path, Started: r.Started, Seconds: float64(r.written) / media.SampleRate, Pauses: pauses}
	err := r.err
	if err == nil {
		var extra []byte
		if len(pauses) > 0 {
			extra = infoChunk(PauseText(pauses))
			if _, werr := r.w.Write(extra); werr != nil {
				err = werr
			}
		}
		if err == nil {
			err = r.syncHeader(uint32(len(extra)))
		}
	}
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return info, fmt.Errorf("recording: close %s: %w", r.Path, err)
	}
	return info, nil
}

// PauseText lists pauses as "paused 12.3-20.1, 40.0-41.5" (seconds).
func PauseText(ps []Pause) string {
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		parts = append(parts, fmt.Sprintf("%.1f-%.1f", p.From.Seconds(), p.To.Seconds()))
	}
	return "paused " + strings.Join(parts, ", ")
}

// infoChunk is a LIST/INFO chunk with one ICMT (comment).
func infoChunk(comment string) []byte {
	text := append([]byte(comment), 0)
	if len(text)%2 == 1 {
		text = append(text, 0)
	}
	b := make([]byte, 0, 20+len(text))
	b = append(b, "LIST"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(4+8+len(text)))
	b = append(b, "INFO"...)
	b = append(b, "ICMT"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(text)))
	return append(b, text...)
}

// Index is where finished recordings are listed, for retention.
type Index interface {
	ExpiredRecordings(ctx context.Context, queue string, cutoff time.Time, limit int) ([]store.Recording, error)
	DeleteRecording(ctx context.Context, callID string) error
}

// Expire deletes the recordings older than their queue's retention (queue
// → retention; queues without one keep theirs) and returns how many went.
func Expire(ctx context.Context, idx Index, retention map[string]time.Duration, now time.Time, log *slog.Logger) (int, error) {
	n := 0
	for queue, keep := range retention {
		if keep <= 0 {
			continue
		}
		for range 100 { // at most 100 batches a run; the next run goes on
			old, err := idx.ExpiredRecordings(ctx, queue, now.Add(-keep), 500)
			if err != nil {
				return n, err
			}
			for _, r := range old {
				if err := os.Remove(r.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
					return n, fmt.Errorf("recording: delete %s: %w", r.Path, err)
				}
				if err := idx.DeleteRecording(ctx, r.CallID); err != nil {
					return n, err
				}
				n++
			}
			if len(old) < 500 {
				break
			}
		}
	}
	if n > 0 {
		log.Info("recordings past their retention deleted", "count", n)
	}
	return n, nil
}
