package node_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// A web call in process: a pion "browser" calls the demo's web_caller
// number without a login, presses 1 (SIP INFO through the gateway), and
// agent 1001's SIP phone answers; each hears the other's tone; the
// visitor's hang-up ends the call with its record. A start that is not
// JSON, from another site's page, or beyond the address's limit is
// refused.
func TestWebCall(t *testing.T) {
	n := nodetest.Start(t, "")
	phone := n.Phone(t, "1001")
	phone.SetTone(1000)
	nodetest.WaitFor(t, 5*time.Second, "1001 available", func() bool { return n.AgentState("1001") == "available" })
	visitor, id := n.WebCall(t, 600)
	state := func() string {
		var st struct{ State, Reason string }
		n.API("GET", "/api/v1/webcall/"+id, nil, &st)
		return st.State
	}
	nodetest.WaitFor(t, 10*time.Second, "the web call connected", func() bool { return state() == "connected" })
	nodetest.WaitFor(t, 5*time.Second, "the menu's prompt", func() bool { return visitor.RTP.Received() > 10 })
	if code := n.API("POST", "/api/v1/webcall/"+id+"/dtmf", map[string]string{"digits": "1"}, nil); code != 200 {
		t.Fatalf("keys: %d", code)
	}
	offer := phone.NextCall(t, 10*time.Second)
	select {
	case <-offer.Answered():
	case <-time.After(5 * time.Second):
		t.Fatal("1001 did not answer the web call")
	}
	nodetest.WaitFor(t, 10*time.Second, "the visitor hears the agent", func() bool { return visitor.RTP.ToneLevel(1000) > 0.5 })
	nodetest.WaitFor(t, 10*time.Second, "the agent hears the visitor", func() bool { return offer.RTP.ToneLevel(600) > 0.5 })
	if code := n.API("POST", "/api/v1/webcall/"+id+"/dtmf", map[string]string{"digits": "x"}, nil); code != 400 {
		t.Fatalf("a bad key: %d", code)
	}
	if code := n.API("DELETE", "/api/v1/webcall/"+id, nil, nil); code != 204 {
		t.Fatalf("hang up: %d", code)
	}
	rec := n.EndedCall(t, 10*time.Second, func(r nodetest.CallRecord) bool { return r.Caller == "web" })
	if rec.Outcome != "answered" || rec.Agent != "1001" || rec.Queue != "sales" || rec.HangupBy != "caller" {
		t.Fatalf("record %+v, events %v", rec, rec.Kinds())
	}
	if state() != "ended" {
		t.Fatalf("after the hang-up: %s", state())
	}

	post := func(contentType, origin string) int {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", n.URL+"/api/v1/webcall", strings.NewReader(`{"sdp": "v=0"}`))
		req.Header.Set("Content-Type", contentType)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := post("text/plain", ""); code != 415 {
		t.Fatalf("a start that is not JSON: %d", code)
	}
	if code := post("application/json", "https://elsewhere.example"); code != 403 {
		t.Fatalf("a start from another site: %d", code)
	}
	if code := post("application/json", n.URL); code != 400 {
		t.Fatalf("a start with a bad offer: %d", code)
	}
	// 3 a minute from one address: the call above, the bad offer, one more.
	codes := []int{post("application/json", ""), post("application/json", "")}
	if codes[1] != 429 {
		t.Fatalf("starts beyond the limit: %v", codes)
	}
}
