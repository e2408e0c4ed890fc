package recording

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/store"
)

// OrphanIndex is what IndexOrphans needs of the store.
type OrphanIndex interface {
	GetRecording(ctx context.Context, callID string) (store.Recording, error)
	GetCall(ctx context.Context, id string) (store.CallRecord, []store.Event, error)
	SaveRecording(ctx context.Context, r store.Recording) error
}

// IndexOrphans indexes the recordings under dir that a killed server left
// unindexed (it indexes a recording when it closes it): without an index
// entry a recording can be neither downloaded nor expired. Each WAV file
// (<dir>/<yyyy>/<mm>/<dd>/<call id>.wav, as Start names them) not in the
// index gets its length from its data (the header's sizes, lagging up to a
// second behind a killed writer, are brought up to date), its call id from
// its name and its queue from the call record when there is one. It is to
// be called at start, before recordings begin; it returns how many it
// indexed. A file it cannot read is logged and skipped.
func IndexOrphans(ctx context.Context, dir string, idx OrphanIndex, log *slog.Logger) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == dir {
				return filepath.SkipAll // no recordings yet
			}
			return err
		}
		if d.IsDir() || !strings.EqualFold(filepath.Ext(path), ".wav") {
			return ctx.Err()
		}
		callID := strings.TrimSuffix(d.Name(), filepath.Ext(d.Name()))
		if _, err := idx.GetRecording(ctx, callID); err == nil {
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		secs, modified, err := repairWAV(path)
		if err != nil {
			log.Warn("recording: orphan not indexed", "call", callID, "path", path, "err", err)
			return nil
		}
		r := store.Recording{CallID: callID, Path: path, Seconds: secs,
			Started: modified.Add(-time.Duration(secs * float64(time.Second)))}
		if rec, _, err := idx.GetCall(ctx, callID); err == nil {
			r.Queue = rec.Queue
			if rec.ConnectedAt != nil {
				r.Started = *rec.ConnectedAt
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := idx.SaveRecording(ctx, r); err != nil {
			return err
		}
		log.Info("recording left by a stopped server indexed", "call", callID, "path", path, "seconds", secs, "queue", r.Queue)
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("recording: index orphans in %s: %w", dir, err)
	}
	return n, nil
}

// repairWAV reads a WAV file's length in seconds and its modification
// time, and rewrites its RIFF and data sizes when the data runs past them
// (a writer killed between header updates).
func repairWAV(path string) (float64, time.Time, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, time.Time{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, time.Time{}, err
	}
	var h [44]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return 0, time.Time{}, fmt.Errorf("read header: %w", err)
	}
	if string(h[0:4]) != "RIFF" || string(h[8:12]) != "WAVE" || string(h[12:16]) != "fmt " || string(h[36:40]) != "data" {
		return 0, time.Time{}, errors.New("not a WAV file written by Switchboard")
	}
	rate := binary.LittleEndian.Uint32(h[24:])
	align := uint32(binary.LittleEndian.Uint16(h[32:]))
	if rate == 0 || align == 0 {
		return 0, time.Time{}, errors.New("bad WAV format chunk")
	}
	size := st.Size() - 44
	data := int64(binary.LittleEndian.Uint32(h[40:]))
	if data > size {
		data = size
	}
	if data < size {
		// After the data: a chunk (the pauses' LIST of a closed file), or
		// audio written after the last header update.
		var tag [4]byte
		if _, err := f.ReadAt(tag[:], 44+data); err != nil || string(tag[:]) != "LIST" {
			data = size - size%int64(align)
			var b [4]byte
			binary.LittleEndian.PutUint32(b[:], uint32(36+data))
			if _, err := f.WriteAt(b[:], 4); err != nil {
				return 0, time.Time{}, err
			}
			binary.LittleEndian.PutUint32(b[:], uint32(data))
			if _, err := f.WriteAt(b[:], 40); err != nil {
				return 0, time.Time{}, err
			}
		}
	}
	return float64(data/int64(align)) / float64(rate), st.ModTime(), nil
}
