package node_test

import (
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// A caller whose gateway sends keys as tones in the audio (no RFC 4733
// events) chooses the menu's option with them and reaches the queue.
func TestInbandKeysChooseTheMenu(t *testing.T) {
	n := nodetest.Start(t, "")
	alice := n.Phone(t, "1001")
	nodetest.WaitFor(t, 5*time.Second, "agent 1001 available", func() bool { return n.AgentState("1001") == "available" })
	c := n.Dial(t, "100")
	if c.Code != 200 {
		t.Fatalf("INVITE to 100: %d", c.Code)
	}
	nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
	c.SendInbandDTMF("1") // sales
	call := alice.NextCall(t, 10*time.Second)
	select {
	case <-call.Answered():
	case <-time.After(5 * time.Second):
		t.Fatal("the phone did not answer")
	}
	c.Hangup()
	call.WaitEnded(t, 5*time.Second)
	rec := n.EndedCall(t, 5*time.Second, func(r nodetest.CallRecord) bool { return r.Dialed == "100" })
	if rec.Digits != "1" || rec.Queue != "sales" || rec.Agent != "1001" {
		t.Fatalf("call record %+v", rec)
	}
}
