package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// An agent's phone behind NAT registers a Contact naming its LAN address
// (here 127.0.0.2, where nothing listens) from 127.0.0.1: the node rings
// it at the address its REGISTER came from, the call is bridged with audio
// both ways, and the node's BYE reaches it there too.
func TestPhoneBehindNATIsRungAtItsSource(t *testing.T) {
	n := nodetest.Start(t, "")
	carol := n.Phone(t, "1003")
	carol.SetContactHost("127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := carol.Register(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	carol.SetTone(440)
	nodetest.WaitFor(t, 5*time.Second, "agent 1003 available", func() bool { return n.AgentState("1003") == "available" })
	c := n.Dial(t, "100", nodetest.Tone(1000))
	if c.Code != 200 {
		t.Fatalf("INVITE to 100: %d", c.Code)
	}
	nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
	c.SendDTMF("2")
	agent := carol.NextCall(t, 10*time.Second)
	select {
	case <-agent.Answered():
	case <-time.After(5 * time.Second):
		t.Fatal("the phone did not answer")
	}
	nodetest.WaitFor(t, 5*time.Second, "audio both ways", func() bool {
		return c.RTP.ToneLevel(440) > 0.5 && agent.RTP.ToneLevel(1000) > 0.5
	})
	c.Hangup()
	agent.WaitEnded(t, 10*time.Second) // the node's BYE found the phone
}
