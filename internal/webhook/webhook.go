// Package webhook posts call and agent events to the CRM: JSON bodies
// signed with HMAC-SHA256, retried with backoff, each delivery logged. A
// slow or failing receiver never blocks calls: events wait in a bounded
// queue per webhook, and when it is full the newest are dropped (and
// counted, and logged).
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/store"
)

// Event is what a receiver gets.
type Event struct {
	ID     string    `json:"id"`
	Kind   string    `json:"kind"`
	At     time.Time `json:"at"`
	CallID string    `json:"call_id,omitempty"`
	Agent  string    `json:"agent,omitempty"`
	Queue  string    `json:"queue,omitempty"`
	Detail string    `json:"detail,omitempty"`
	// State and Reason are an agent_state event's state and why.
	State  string `json:"state,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Delivery is one event's delivery to one webhook, for the log.
type Delivery struct {
	ID          string     `json:"id"`
	URL         string     `json:"url"`
	Kind        string     `json:"kind"`
	CallID      string     `json:"call_id,omitempty"`
	Attempts    int        `json:"attempts"`
	Status      int        `json:"status"` // the last HTTP status, 0 when no answer
	LastError   string     `json:"last_error,omitempty"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	GaveUp      bool       `json:"gave_up,omitempty"`
}

// Sign is the signature header value for a body: "sha256=" and the hex
// HMAC-SHA256 of timestamp + "." + body with the webhook's secret.
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Settings of delivery; tests shorten them.
type Settings struct {
	Attempts  int           // per delivery
	FirstWait time.Duration // before the second attempt; doubles each time
	Timeout   time.Duration // per request
	Queue     int           // events waiting per webhook
	LogSize   int           // deliveries kept in the log
}

// DefaultSettings: 6 attempts over about 31 s, 10 s per request.
var DefaultSettings = Settings{Attempts: 6, FirstWait: time.Second, Timeout: 10 * time.Second, Queue: 10000, LogSize: 1000}

// Outbox keeps deliveries across restarts (the store is one): the node
// writes each with its event (store.AppendEventWithOutbox); the
// dispatcher marks them done and, when it starts, delivers those a
// stopped or killed server had not.
type Outbox interface {
	OutboxDone(receiver, id string, gaveUp bool)
	PendingOutbox(ctx context.Context) ([]store.OutboxEntry, error)
}

// Dispatcher delivers events to the configured webhooks.
type Dispatcher struct {
	hooks   []*hook
	log     *slog.Logger
	set     Settings
	client  *http.Client
	outbox  Outbox // nil: deliveries live in memory only
	Dropped atomic.Uint64

	mu     sync.Mutex
	recent []*Delivery // newest last, at most LogSize
}

type hook struct {
	cfg config.Webhook
	// receiver names the webhook in the outbox: its URL, with "#n" for
	// the n-th repeat of a URL.
	receiver string
	queue    chan item
}

// item is one event on its way to one webhook, with its JSON body.
type item struct {
	ev   Event
	body []byte
}

// New makes a dispatcher for the configured webhooks; Run delivers.
func New(hooks []config.Webhook, set Settings, log *slog.Logger) *Dispatcher {
	d := &Dispatcher{log: log, set: set, client: &http.Client{Timeout: set.Timeout}}
	seen := map[string]int{}
	for _, h := range hooks {
		receiver := h.URL
		if n := seen[h.URL]; n > 0 {
			receiver = h.URL + "#" + strconv.Itoa(n)
		}
		seen[h.URL]++
		d.hooks = append(d.hooks, &hook{cfg: h, receiver: receiver, queue: make(chan item, set.Queue)})
	}
	return d
}

// SetOutbox makes deliveries survive restarts; call it before Run.
func (d *Dispatcher) SetOutbox(o Outbox) { d.outbox = o }

// Prepare makes the deliveries of a store event, one for each webhook
// that wants its kind (nil when none does); Offer queues them.
func (d *Dispatcher) Prepare(e store.Event) []store.OutboxEntry {
	if d == nil || len(d.hooks) == 0 {
		return nil
	}
	var out []store.OutboxEntry
	for _, h := range d.hooks {
		if len(h.cfg.Events) > 0 && !slices.Contains(h.cfg.Events, string(e.Kind)) {
			continue
		}
		ev := Event{ID: newID(), Kind: string(e.Kind), At: e.At, CallID: e.CallID, Agent: e.Agent, Queue: e.Queue, Detail: e.Detail,
			State: e.State, Reason: e.Reason}
		body, _ := json.Marshal(ev)
		out = append(out, store.OutboxEntry{Receiver: h.receiver, ID: ev.ID, Body: body, CreatedAt: time.Now()})
	}
	return out
}

// Offer queues prepared deliveries. It never blocks: beyond a webhook's
// queue they are dropped here and counted (with an outbox they stay
// pending there and go out at the next start).
func (d *Dispatcher) Offer(out []store.OutboxEntry) {
	if d == nil {
		return
	}
	for _, e := range out {
		h := d.hook(e.Receiver)
		if h == nil {
			continue
		}
		var ev Event
		if err := json.Unmarshal(e.Body, &ev); err != nil {
			continue
		}
		select {
		case h.queue <- item{ev: ev, body: e.Body}:
		default:
			if d.Dropped.Add(1)%1000 == 1 {
				d.log.Warn("webhook: queue full; events dropped", "url", h.cfg.URL, "dropped_total", d.Dropped.Load())
			}
		}
	}
}

// Publish offers a store event to every webhook that wants its kind,
// without an outbox entry. It never blocks.
func (d *Dispatcher) Publish(e store.Event) { d.Offer(d.Prepare(e)) }

func (d *Dispatcher) hook(receiver string) *hook {
	for _, h := range d.hooks {
		if h.receiver == receiver {
			return h
		}
	}
	return nil
}

// Run delivers until ctx ends: one worker per webhook, in order, first
// what the outbox holds from before this start.
func (d *Dispatcher) Run(ctx context.Context) {
	backlog := map[string][]item{}
	if d.outbox != nil && len(d.hooks) > 0 {
		pending, err := d.outbox.PendingOutbox(ctx)
		if err != nil {
			d.log.Error("webhook: reading the outbox", "err", err)
		}
		for _, e := range pending {
			var ev Event
			if d.hook(e.Receiver) == nil || json.Unmarshal(e.Body, &ev) != nil {
				d.outbox.OutboxDone(e.Receiver, e.ID, true) // a webhook no longer configured
				continue
			}
			backlog[e.Receiver] = append(backlog[e.Receiver], item{ev: ev, body: e.Body})
		}
		if len(pending) > 0 {
			d.log.Info("webhook: delivering what the last run had not", "deliveries", len(pending))
		}
	}
	var wg sync.WaitGroup
	if p, ok := d.outbox.(outboxPruner); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.prune(ctx, p)
		}()
	}
	for _, h := range d.hooks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent := map[string]bool{} // the backlog's ids: also queued live if they were offered before Run
			for _, it := range backlog[h.receiver] {
				if ctx.Err() != nil {
					return
				}
				d.deliver(ctx, h, it)
				sent[it.ev.ID] = true
			}
			for {
				select {
				case <-ctx.Done():
					return
				case it := <-h.queue:
					if sent[it.ev.ID] {
						delete(sent, it.ev.ID)
						continue
					}
					d.deliver(ctx, h, it)
				}
			}
		}()
	}
	wg.Wait()
}

// outboxPruner deletes deliveries done long ago (the store is one).
type outboxPruner interface {
	PruneOutbox(ctx context.Context, now time.Time) (int64, error)
}

// pruneEvery is how often done deliveries are pruned from the outbox.
const pruneEvery = 6 * time.Hour

// prune prunes the outbox at start and every pruneEvery until ctx ends.
func (d *Dispatcher) prune(ctx context.Context, p outboxPruner) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		if n, err := p.PruneOutbox(ctx, time.Now()); err != nil && ctx.Err() == nil {
			d.log.Warn("webhook: outbox not pruned", "err", err)
		} else if n > 0 {
			d.log.Info("webhook: pruned delivered events from the outbox", "deliveries", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Deliveries returns the delivery log, newest first.
func (d *Dispatcher) Deliveries() []Delivery {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Delivery, 0, len(d.recent))
	for i := len(d.recent) - 1; i >= 0; i-- {
		out = append(out, *d.recent[i])
	}
	return out
}

func (d *Dispatcher) note(del *Delivery, f func(*Delivery)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(del)
}

func (d *Dispatcher) deliver(ctx context.Context, h *hook, it item) {
	ev, body := it.ev, it.body
	del := &Delivery{ID: ev.ID, URL: h.cfg.URL, Kind: ev.Kind, CallID: ev.CallID}
	d.mu.Lock()
	d.recent = append(d.recent, del)
	if len(d.recent) > d.set.LogSize {
		d.recent = d.recent[len(d.recent)-d.set.LogSize:]
	}
	d.mu.Unlock()
	wait := d.set.FirstWait
	for attempt := 1; attempt <= d.set.Attempts; attempt++ {
		status, err := d.post(ctx, h.cfg, ev, body, attempt)
		d.note(del, func(x *Delivery) {
			x.Attempts, x.Status = attempt, status
			if err != nil {
				x.LastError = err.Error()
				return
			}
			now := time.Now()
			x.LastError, x.DeliveredAt = "", &now
		})
		if err == nil {
			if d.outbox != nil {
				d.outbox.OutboxDone(h.receiver, ev.ID, false)
			}
			return
		}
		d.log.Info("webhook: delivery failed", "url", h.cfg.URL, "kind", ev.Kind, "attempt", attempt, "err", err)
		if attempt == d.set.Attempts {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait *= 2
	}
	if ctx.Err() != nil {
		return // stopping: the outbox keeps it for the next start
	}
	d.note(del, func(x *Delivery) { x.GaveUp = true })
	if d.outbox != nil {
		d.outbox.OutboxDone(h.receiver, ev.ID, true)
	}
	d.log.Warn("webhook: gave up", "url", h.cfg.URL, "kind", ev.Kind, "delivery", ev.ID, "attempts", d.set.Attempts)
}

func (d *Dispatcher) post(ctx context.Context, h config.Webhook, ev Event, body []byte, attempt int) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Switchboard-Webhook")
	req.Header.Set("X-Switchboard-Event", ev.Kind)
	req.Header.Set("X-Switchboard-Delivery", ev.ID)
	req.Header.Set("X-Switchboard-Attempt", strconv.Itoa(attempt))
	req.Header.Set("X-Switchboard-Timestamp", ts)
	if h.Secret != "" {
		req.Header.Set("X-Switchboard-Signature", Sign(h.Secret, ts, body))
	}
	res, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, fmt.Errorf("HTTP %d", res.StatusCode)
	}
	return res.StatusCode, nil
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
