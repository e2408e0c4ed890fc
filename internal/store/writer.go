package store

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Limits of the writer. A failed batch is retried, with backoff from
// backoffMin doubling to backoffMax, until it is written or Close gives up.
const (
	queueSize      = 8192
	maxBatch       = 512
	attemptTimeout = 10 * time.Second // one attempt at a batch, at most
	backoffMin     = 50 * time.Millisecond
	backoffMax     = 5 * time.Second
	// CloseTimeout is how long Close keeps writing (and retrying) what is
	// queued before it gives up and logs what it could not write.
	CloseTimeout = 15 * time.Second
)

// writer is the state of the goroutine that owns every asynchronous write.
// Nothing it is given is dropped: a batch that fails is retried until it is
// written, and only Close's deadline ends that, with every record and event
// not written logged in full.
type writer struct {
	ops     chan op
	wg      sync.WaitGroup // the writer goroutine
	senders sync.WaitGroup // sends in progress (blocked on a full queue)
	giveUp  chan struct{}  // closed when Close's deadline passes
	stop    sync.Once

	closeTimeout, attemptTimeout time.Duration
	backoffMin, backoffMax       time.Duration
	// fail, when set (by tests, before the first send), is asked before
	// each attempt at a batch; an error fails the attempt.
	fail func() error

	depth     prometheus.GaugeFunc
	latency   prometheus.Histogram
	retries   prometheus.Counter
	unwritten prometheus.Counter
}

type op struct {
	call    *CallRecord
	event   *Event
	outbox  []OutboxEntry // with event: its webhook deliveries, in the same transaction
	done    *outboxDone
	segment *QueueSegment
	alive   *time.Time
	flush   chan struct{}
}

func (w *writer) init() {
	w.ops = make(chan op, queueSize)
	w.giveUp = make(chan struct{})
	w.closeTimeout, w.attemptTimeout = CloseTimeout, attemptTimeout
	w.backoffMin, w.backoffMax = backoffMin, backoffMax
	w.depth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_store_queue_depth",
		Help: "Records and events waiting for the store's writer."}, func() float64 { return float64(len(w.ops)) })
	w.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "switchboard_store_batch_write_seconds",
		Help:    "Time to write one batch (one transaction) of records and events, per attempt.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)})
	w.retries = prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_store_write_retries_total",
		Help: "Batches that failed and were retried."})
	w.unwritten = prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_store_unwritten_total",
		Help: "Records and events given up at shutdown (each is logged)."})
}

// Collectors are the store's metrics: the writer's queue depth, its
// per-batch write latency, retries and what was given up at shutdown. The
// caller registers them on its registry.
func (s *Store) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.w.depth, s.w.latency, s.w.retries, s.w.unwritten}
}

// send queues o for the writer. A full queue makes the caller wait (back-
// pressure) without holding any lock; after Close it is logged and refused.
func (s *Store) send(o op) bool {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		s.unwrittenOp(o, "store closed")
		return false
	}
	s.w.senders.Add(1)
	s.mu.RUnlock()
	defer s.w.senders.Done()
	select {
	case s.w.ops <- o:
		return true
	default:
	}
	select {
	case s.w.ops <- o:
		return true
	case <-s.w.giveUp:
		s.unwrittenOp(o, "store closing gave up")
		return false
	}
}

// SaveCall writes (an upsert) a call record.
func (s *Store) SaveCall(r CallRecord) {
	if r.Node == "" {
		r.Node = s.node
	}
	s.send(op{call: &r})
}

// AppendEvent writes an event.
func (s *Store) AppendEvent(e Event) {
	if e.Node == "" {
		e.Node = s.node
	}
	s.send(op{event: &e})
}

// Flush waits until everything sent before it is written (or given up).
func (s *Store) Flush() {
	ch := make(chan struct{})
	if s.send(op{flush: ch}) {
		<-ch
	}
}

// Close writes what is pending and closes the database. It waits at most
// the close timeout for the writes (retrying failed ones); then it gives
// up, logging each record and event not written.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	deadline := time.AfterFunc(s.w.closeTimeout, func() { s.w.stop.Do(func() { close(s.w.giveUp) }) })
	defer deadline.Stop()
	s.w.senders.Wait() // no new sender can start: closed is set
	close(s.w.ops)
	s.w.wg.Wait()
	s.stmts.close()
	return s.db.Close()
}

func (s *Store) writer() {
	defer s.w.wg.Done()
	batch := make([]op, 0, maxBatch)
	for o := range s.w.ops {
		batch = append(batch[:0], o)
	more:
		for len(batch) < cap(batch) {
			select {
			case o2, ok := <-s.w.ops:
				if !ok {
					break more
				}
				batch = append(batch, o2)
			default:
				break more
			}
		}
		s.writeRetrying(batch)
		for _, b := range batch {
			if b.flush != nil {
				close(b.flush)
			}
		}
	}
}

// writeRetrying writes batch, retrying with backoff until it is written or
// Close gives up (then each op is logged as unwritten).
func (s *Store) writeRetrying(batch []op) {
	wait := s.w.backoffMin
	for attempt := 1; ; attempt++ {
		select {
		case <-s.w.giveUp:
			for _, o := range batch {
				s.unwrittenOp(o, "store closing gave up")
			}
			return
		default:
		}
		start := time.Now()
		err := s.attempt(batch)
		s.w.latency.Observe(time.Since(start).Seconds())
		if err == nil {
			if attempt > 1 {
				s.log.Info("store: batch written after retries", "ops", len(batch), "attempts", attempt)
			}
			return
		}
		s.w.retries.Inc()
		s.log.Error("store: write batch failed; retrying", "ops", len(batch), "attempt", attempt, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.w.giveUp:
			t.Stop()
		}
		wait = min(wait*2, s.w.backoffMax)
	}
}

func (s *Store) attempt(batch []op) error {
	if s.w.fail != nil {
		if err := s.w.fail(); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.w.attemptTimeout)
	defer cancel()
	return s.writeBatch(ctx, batch)
}

// unwrittenOp logs, in full, a record or event that will not be written,
// so an operator can recover it from the log.
func (s *Store) unwrittenOp(o op, why string) {
	if o.flush != nil {
		close(o.flush)
		return
	}
	var what string
	var v any
	switch {
	case o.call != nil:
		what, v = "call record", o.call
	case o.event != nil:
		what, v = "event", o.event
	case o.segment != nil:
		what, v = "queue segment", o.segment
	case o.done != nil:
		return // a delivery mark: at worst the event is delivered again, with the same id
	case o.alive != nil:
		return // a heartbeat: the next process reads the events instead
	default:
		return
	}
	s.w.unwritten.Inc()
	b, _ := json.Marshal(v)
	s.log.Error("store: not written", "what", what, "why", why, "record", string(b))
}

func (s *Store) writeBatch(ctx context.Context, batch []op) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	ex := newPreparedTx(tx, &s.stmts)
	for i, o := range batch {
		if i%32 == 31 {
			// A full batch is tens of milliseconds of SQLite's CPU: let the
			// calls' goroutines (a SIP request waiting for a core) in between.
			runtime.Gosched()
		}
		switch {
		case o.call != nil:
			r := o.call
			_, err = ex.ExecContext(ctx, qSaveCall,
				r.ID, r.Caller, r.CallerName, r.Dialed, r.Source, r.Flow, r.Digits, r.Path, r.Queue, r.Agent,
				ms(r.ArrivedAt), msp(r.AnsweredAt), msp(r.QueuedAt), msp(r.OfferedAt), msp(r.ConnectedAt), msp(r.EndedAt),
				r.WaitSeconds, r.TalkSeconds, r.Outcome, r.HangupBy, r.Reason, r.SIPCall, int64(r.RTPIn), int64(r.RTPOut), int64(r.RTPLost), r.Node)
		case o.event != nil:
			err = insertEvent(ctx, ex, *o.event)
			for i := 0; err == nil && i < len(o.outbox); i++ {
				err = insertOutbox(ctx, ex, o.outbox[i], s.node)
			}
		case o.done != nil:
			err = markOutbox(ctx, ex, *o.done)
		case o.segment != nil:
			err = upsertSegment(ctx, ex, *o.segment)
		case o.alive != nil:
			_, err = ex.ExecContext(ctx, qAlive, s.aliveKey(), ms(*o.alive))
		}
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}

// qSaveCall is run by the store's writer, prepared (stmt.go). An upsert,
// not INSERT OR REPLACE: a replace deletes the row and inserts it again,
// rewriting every index entry of the table.
const qSaveCall = `INSERT INTO calls
 (id, caller, caller_name, dialed, source, flow, digits, path, queue, agent, arrived_at, answered_at, queued_at, offered_at,
  connected_at, ended_at, wait_seconds, talk_seconds, outcome, hangup_by, reason, sip_call_id, rtp_in, rtp_out, rtp_lost, node)
 VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
 ON CONFLICT(id) DO UPDATE SET caller = excluded.caller, caller_name = excluded.caller_name, dialed = excluded.dialed,
 source = excluded.source, flow = excluded.flow, digits = excluded.digits, path = excluded.path,
 queue = excluded.queue, agent = excluded.agent, arrived_at = excluded.arrived_at,
 answered_at = excluded.answered_at, queued_at = excluded.queued_at, offered_at = excluded.offered_at,
 connected_at = excluded.connected_at, ended_at = excluded.ended_at, wait_seconds = excluded.wait_seconds,
 talk_seconds = excluded.talk_seconds, outcome = excluded.outcome, hangup_by = excluded.hangup_by,
 reason = excluded.reason, sip_call_id = excluded.sip_call_id, rtp_in = excluded.rtp_in,
 rtp_out = excluded.rtp_out, rtp_lost = excluded.rtp_lost, node = excluded.node`

// qAlive is run by the store's writer, prepared (stmt.go).
const qAlive = `INSERT INTO meta (key, value) VALUES (?, ?)
 ON CONFLICT(key) DO UPDATE SET value = CASE WHEN excluded.value > meta.value THEN excluded.value ELSE meta.value END`

// aliveKey is the meta row of the node's heartbeat: "alive_at" in a
// database of its own, "alive_at:<node>" in one nodes share.
func (s *Store) aliveKey() string {
	if s.db.pg {
		return "alive_at:" + s.node
	}
	return "alive_at"
}
