package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/webhook"
)

// Webhooks: a receiver in the test gets the call's queued, answered and
// ended events as signed JSON; its first answer is a 500, so the first
// delivery is retried; the delivery log shows it.
func TestWebhooksSignedAndRetried(t *testing.T) {
	var (
		mu    sync.Mutex
		kinds []string
		posts int
		bad   int
	)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		posts++
		if posts == 1 {
			w.WriteHeader(500)
			return
		}
		if r.Header.Get("X-Switchboard-Signature") != webhook.Sign("demo-secret", r.Header.Get("X-Switchboard-Timestamp"), body) {
			bad++
			w.WriteHeader(401)
			return
		}
		var e webhook.Event
		_ = json.Unmarshal(body, &e)
		kinds = append(kinds, e.Kind)
	}))
	defer recv.Close()
	s := startServer(t, "feature_codes:", fmt.Sprintf("webhooks:\n  - {url: %q, secret: demo-secret, events: [queued, answered, ended]}\n\nfeature_codes:", recv.URL))
	agent := registerAgent(t, s, 0, "1003", "agent_answer.xml", 1)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 1000, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 1000})
	caller.mustSucceed(t, 30*time.Second)
	agent.uas.mustSucceed(t, 10*time.Second)
	waitFor(t, 15*time.Second, "queued, answered and ended delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(kinds, ",") == "queued,answered,ended"
	})
	if bad != 0 {
		t.Fatalf("%d deliveries with a bad signature", bad)
	}
	var log []webhook.Delivery
	s.api("GET", "/api/v1/webhooks/deliveries", nil, &log)
	if len(log) != 3 || log[2].Kind != "queued" || log[2].Attempts != 2 || log[2].DeliveredAt == nil {
		t.Fatalf("delivery log %+v", log)
	}
}
