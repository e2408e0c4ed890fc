package webhook

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/store"
)

func TestDeliverySignedRetriedLogged(t *testing.T) {
	var (
		mu    sync.Mutex
		got   []Event
		calls int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			w.WriteHeader(503) // the first attempt fails
			return
		}
		if r.Header.Get("X-Switchboard-Signature") != Sign("s3cret", r.Header.Get("X-Switchboard-Timestamp"), body) {
			w.WriteHeader(401)
			return
		}
		var e Event
		_ = json.Unmarshal(body, &e)
		got = append(got, e)
	}))
	defer srv.Close()
	set := Settings{Attempts: 3, FirstWait: 10 * time.Millisecond, Timeout: time.Second, Queue: 10, LogSize: 10}
	d := New([]config.Webhook{{URL: srv.URL, Secret: "s3cret", Events: []string{"answered", "ended"}}}, set, slog.Default())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	d.Publish(store.Event{Kind: "queued", CallID: "c1"}) // not subscribed
	d.Publish(store.Event{Kind: "answered", CallID: "c1", Agent: "1001"})
	d.Publish(store.Event{Kind: "ended", CallID: "c1"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d events", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got[0].Kind != "answered" || got[0].Agent != "1001" || got[1].Kind != "ended" {
		t.Fatalf("events %+v", got)
	}
	// The log is updated once each delivery's answer is read: poll for it.
	logged := func(log []Delivery) bool {
		return len(log) == 2 && log[1].Kind == "answered" && log[1].Attempts == 2 && log[1].DeliveredAt != nil && log[0].Attempts == 1
	}
	for log := d.Deliveries(); !logged(log); log = d.Deliveries() {
		if time.Now().After(deadline) {
			t.Fatalf("log %+v", log)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A receiver that never answers neither blocks Publish nor grows memory:
// beyond the queue, events are dropped and counted.
func TestSlowReceiverNeverBlocks(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	set := Settings{Attempts: 1, FirstWait: time.Millisecond, Timeout: 5 * time.Second, Queue: 5, LogSize: 10}
	d := New([]config.Webhook{{URL: srv.URL}}, set, slog.Default())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	for range 100 {
		d.Publish(store.Event{Kind: "queued"}) // would hang here if it waited for the receiver
	}
	if d.Dropped.Load() < 90 {
		t.Fatalf("dropped %d of 100 with a queue of 5", d.Dropped.Load())
	}
}
