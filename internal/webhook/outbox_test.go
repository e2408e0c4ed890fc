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
	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/store"
)

// Deliveries written to the outbox and not made before the server stopped
// go out at the next start, in order, with their ids; once received they
// are not sent again.
func TestOutboxDeliversAfterRestart(t *testing.T) {
	dir := t.TempDir()
	var (
		mu  sync.Mutex
		got []string // delivery ids as received
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var e Event
		_ = json.Unmarshal(body, &e)
		mu.Lock()
		got = append(got, r.Header.Get("X-Switchboard-Delivery")+"/"+e.Kind)
		mu.Unlock()
	}))
	defer srv.Close()
	hooks := []config.Webhook{{URL: srv.URL, Events: []string{"answered", "ended"}}}
	set := Settings{Attempts: 2, FirstWait: 10 * time.Millisecond, Timeout: time.Second, Queue: 10, LogSize: 10}

	// The first run writes three events and dies before delivering any.
	st, err := store.Open(dir, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	d := New(hooks, set, slog.Default())
	d.SetOutbox(st)
	var want []string
	for _, kind := range []string{"answered", "queued", "ended"} {
		out := d.Prepare(store.Event{Kind: event.Kind(kind), CallID: "c1", At: time.Now()})
		for _, e := range out {
			want = append(want, e.ID+"/"+kind)
		}
		st.AppendEventWithOutbox(store.Event{Kind: event.Kind(kind), CallID: "c1", At: time.Now()}, out)
	}
	if len(want) != 2 {
		t.Fatalf("prepared %v: the webhook wants answered and ended only", want)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// The next start delivers them.
	run := func() {
		t.Helper()
		st, err := store.Open(dir, slog.Default())
		if err != nil {
			t.Fatal(err)
		}
		d := New(hooks, set, slog.Default())
		d.SetOutbox(st)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { d.Run(ctx); close(done) }()
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			n := len(got)
			mu.Unlock()
			if n >= len(want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond) // a duplicate would arrive now
		cancel()
		<-done
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
	run()
	mu.Lock()
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("after the restart received %v, want %v", got, want)
	}
	mu.Unlock()
	run() // and a third start sends nothing again
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("delivered again: %v", got)
	}
}
