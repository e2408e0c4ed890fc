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

// Dispatcher delivers events to the configured webhooks.
type Dispatcher struct {
	hooks   []*hook
	log     *slog.Logger
	set     Settings
	client  *http.Client
	Dropped atomic.Uint64

	mu     sync.Mutex
	recent []*Delivery // newest last, at most LogSize
}

type hook struct {
	cfg   config.Webhook
	queue chan Event
}

// New makes a dispatcher for the configured webhooks; Run delivers.
func New(hooks []config.Webhook, set Settings, log *slog.Logger) *Dispatcher {
	d := &Dispatcher{log: log, set: set, client: &http.Client{Timeout: set.Timeout}}
	for _, h := range hooks {
		d.hooks = append(d.hooks, &hook{cfg: h, queue: make(chan Event, set.Queue)})
	}
	return d
}

// Publish offers a store event to every webhook that wants its kind. It
// never blocks.
func (d *Dispatcher) Publish(e store.Event) {
	if d == nil || len(d.hooks) == 0 {
		return
	}
	ev := Event{ID: newID(), Kind: string(e.Kind), At: e.At, CallID: e.CallID, Agent: e.Agent, Queue: e.Queue, Detail: e.Detail,
		State: e.State, Reason: e.Reason}
	for _, h := range d.hooks {
		if len(h.cfg.Events) > 0 && !slices.Contains(h.cfg.Events, string(e.Kind)) {
			continue
		}
		select {
		case h.queue <- ev:
		default:
			if d.Dropped.Add(1)%1000 == 1 {
				d.log.Warn("webhook: queue full; events dropped", "url", h.cfg.URL, "dropped_total", d.Dropped.Load())
			}
		}
	}
}

// Run delivers until ctx ends: one worker per webhook, in order.
func (d *Dispatcher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, h := range d.hooks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case ev := <-h.queue:
					d.deliver(ctx, h, ev)
				}
			}
		}()
	}
	wg.Wait()
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

func (d *Dispatcher) deliver(ctx context.Context, h *hook, ev Event) {
	body, _ := json.Marshal(ev)
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
	d.note(del, func(x *Delivery) { x.GaveUp = true })
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
