package store

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/internal/event"
)

// syncBuffer is a log sink safe for the writer goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A batch that fails is retried until written: nothing is dropped.
func TestWriterRetriesFailedBatches(t *testing.T) {
	tests := []struct {
		name     string
		failures int32
		events   int
	}{
		{"no failure", 0, 100},
		{"one failure", 1, 100},
		{"several failures, more than one batch", 4, 3 * maxBatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := openTest(t)
			st.w.backoffMin, st.w.backoffMax = time.Millisecond, 4*time.Millisecond
			var left atomic.Int32
			left.Store(tc.failures)
			st.w.fail = func() error {
				if left.Add(-1) >= 0 {
					return errors.New("disk I/O error (injected)")
				}
				return nil
			}
			base := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
			for i := range tc.events {
				st.AppendEvent(Event{At: base.Add(time.Duration(i) * time.Millisecond), Kind: event.Queued, CallID: "c1"})
			}
			st.SaveCall(CallRecord{ID: "c1", ArrivedAt: base, Outcome: "in_progress"})
			st.Flush()
			_, evs, err := st.GetCall(context.Background(), "c1")
			if err != nil || len(evs) != tc.events {
				t.Fatalf("%d events written (%v), want %d", len(evs), err, tc.events)
			}
			if got := value(t, st.w.retries); got != float64(tc.failures) {
				t.Errorf("retries metric %v, want %d", got, tc.failures)
			}
		})
	}
}

// When the database never recovers, Close gives up after its deadline and
// logs each record it could not write, in full.
func TestCloseGivesUpAndLogsUnwritten(t *testing.T) {
	var logs syncBuffer
	st, err := New(testOptions(t), slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	st.w.backoffMin, st.w.backoffMax, st.w.closeTimeout = time.Millisecond, 5*time.Millisecond, 100*time.Millisecond
	st.w.fail = func() error { return errors.New("disk gone (injected)") }
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	st.SaveCall(CallRecord{ID: "lost-call", ArrivedAt: at, Outcome: "answered"})
	st.AppendEvent(Event{At: at, Kind: event.Ended, CallID: "lost-call", Detail: "by caller"})
	start := time.Now()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %s", d)
	}
	out := logs.String()
	for _, want := range []string{`"what":"call record"`, `\"id\":\"lost-call\"`, `"what":"event"`, `\"kind\":\"ended\"`, `write batch failed; retrying`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if got := value(t, st.w.unwritten); got != 2 {
		t.Errorf("unwritten metric %v, want 2", got)
	}
}

// A full queue holds senders back without a lock: a Flush and other
// senders go on, and every event sent is written.
func TestWriterBackPressure(t *testing.T) {
	st := openTest(t)
	release := make(chan struct{})
	var once sync.Once
	stuck := make(chan struct{}, 1)
	// The writer is stuck until released, once it has its first batch
	// (it goes on taking what is queued until it calls this).
	st.w.fail = func() error {
		select {
		case stuck <- struct{}{}:
		default:
		}
		<-release
		return nil
	}
	// Released on any way out, before the store's own cleanup closes it:
	// a failed check must not leave Close waiting on a stuck writer.
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	const senders, each = 4, queueSize / 2
	var wg sync.WaitGroup
	base := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				st.AppendEvent(Event{At: base.Add(time.Duration(g*each+i) * time.Microsecond), Kind: event.Queued, CallID: "bp"})
			}
		}()
	}
	select {
	case <-stuck:
	case <-time.After(10 * time.Second):
		t.Fatal("the writer never took a batch")
	}
	deadline := time.Now().Add(10 * time.Second)
	for (len(st.w.ops) < queueSize || value(t, st.w.depth) != queueSize) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // polling a condition with a deadline
	}
	if d := value(t, st.w.depth); d != queueSize {
		t.Fatalf("queue depth %v, want full (%d)", d, queueSize)
	}
	once.Do(func() { close(release) })
	wg.Wait()
	st.Flush()
	_, evs, err := st.GetCall(context.Background(), "bp")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("no call record expected: %v", err)
	}
	var n int
	if err := st.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM events WHERE call_id = 'bp'`).Scan(&n); err != nil || n != senders*each {
		t.Fatalf("%d events written (%v), want %d (%d listed)", n, err, senders*each, len(evs))
	}
}

func TestCollectorsRegister(t *testing.T) {
	st := openTest(t)
	reg := prometheus.NewRegistry()
	for _, c := range st.Collectors() {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	st.AppendEvent(Event{At: time.Now(), Kind: event.Arrived, CallID: "x"})
	st.Flush()
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 4 {
		t.Fatalf("%d metric families, %v", len(mfs), err)
	}
	if n := value(t, st.w.latency); n < 1 {
		t.Errorf("%v batches timed, want at least 1", n)
	}
}

// value reads a counter's or gauge's value, or a histogram's count.
func value(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || len(mfs[0].GetMetric()) != 1 {
		t.Fatalf("gather: %v %v", mfs, err)
	}
	m := mfs[0].GetMetric()[0]
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetHistogram() != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	t.Fatalf("metric %v", m)
	return 0
}
