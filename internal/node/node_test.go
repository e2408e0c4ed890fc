package node_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/node"
	"github.com/switchboard/switchboard/internal/node/nodetest"
)

func TestStartsOnPortZeroAndAnswersOptions(t *testing.T) {
	n := nodetest.Start(t, "")
	if n.SIPAddr().Port() == 0 || n.HTTPAddr().Port() == 0 {
		t.Fatalf("bound SIP %s, HTTP %s: want real ports", n.SIPAddr(), n.HTTPAddr())
	}
	if code := n.Options(t); code != 200 {
		t.Fatalf("OPTIONS: %d, want 200", code)
	}
	res, err := http.Get(n.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET /healthz: %d", res.StatusCode)
	}
}

// From a trusted source, an unknown number and an agent's extension get
// the same challenge (nobody lists extensions by their answers); an agent
// that authenticates and dials an unknown number gets 404 and a record.
func TestUnknownNumberIsNotFoundAndRecorded(t *testing.T) {
	n := nodetest.Start(t, "")
	for _, number := range []string{"999", "1001", "1099"} {
		if c := n.Dial(t, number); c.Code != 401 {
			t.Fatalf("INVITE to %s from a trusted source: %d, want 401 like any number not in the setup", number, c.Code)
		}
	}
	c := n.Dial(t, "999", nodetest.Auth("1002", "demo1002"))
	if c.Code != 404 {
		t.Fatalf("INVITE to 999 from agent 1002: %d, want 404", c.Code)
	}
	rec := n.EndedCall(t, 5*time.Second, func(r nodetest.CallRecord) bool { return r.Dialed == "999" })
	if rec.Caller != "5551234" || rec.Outcome == "answered" {
		t.Fatalf("call record %+v", rec)
	}
}

func TestMalformedSDPIsRefusedAndNodeGoesOn(t *testing.T) {
	n := nodetest.Start(t, "")
	c := n.Dial(t, "100", nodetest.WithSDP([]byte("v=0\r\nthis is not SDP\r\nm=audio banana\r\n")))
	if c.Code != 488 && c.Code != 400 {
		t.Fatalf("INVITE with a malformed SDP: %d, want 488 or 400", c.Code)
	}
	if code := n.Options(t); code != 200 {
		t.Fatalf("OPTIONS after the malformed INVITE: %d", code)
	}
	ok := n.Dial(t, "100")
	if ok.Code != 200 {
		t.Fatalf("a good INVITE after the malformed one: %d, want 200", ok.Code)
	}
}

func TestShutdownRefusesNewCallsWith503(t *testing.T) {
	// A call in progress and a drain grace keep the node serving after the
	// gate closes, as a node being taken out of a cluster does.
	n := nodetest.Start(t, "", node.WithDrainGrace(5*time.Second))
	live := n.Dial(t, "100")
	if live.Code != 200 {
		t.Fatalf("first call: %d", live.Code)
	}
	nodetest.WaitFor(t, 5*time.Second, "the IVR to play to the first caller", func() bool { return live.RTP.Received() > 5 })
	n.Shutdown()
	late := n.Dial(t, "100")
	if late.Code != 503 {
		t.Fatalf("INVITE after shutdown began: %d, want 503", late.Code)
	}
	if late.Response.GetHeader("Retry-After") == nil {
		t.Errorf("503 without Retry-After: %s", late.Response.StartLine())
	}
	select {
	case <-live.Ended():
		t.Fatal("the call in progress was hung up during the drain grace")
	default:
	}
	live.Hangup()
	if err := n.Stop(10 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

func TestQueuedCallerReachesAgentWithAudioBothWays(t *testing.T) {
	n := nodetest.Start(t, "")
	alice := n.Phone(t, "1001")
	alice.SetTone(440)
	nodetest.WaitFor(t, 5*time.Second, "agent 1001 available", func() bool { return n.AgentState("1001") == "available" })

	c := n.Dial(t, "100", nodetest.Tone(1000))
	if c.Code != 200 {
		t.Fatalf("INVITE to 100: %d", c.Code)
	}
	nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
	c.SendDTMF("1") // sales

	call := alice.NextCall(t, 10*time.Second)
	select {
	case <-call.Answered():
	case <-time.After(5 * time.Second):
		t.Fatal("the phone did not answer")
	}
	nodetest.WaitFor(t, 5*time.Second, "the agent's tone at the caller", func() bool { return c.RTP.ToneLevel(440) > 0.5 })
	nodetest.WaitFor(t, 5*time.Second, "the caller's tone at the agent", func() bool { return call.RTP.ToneLevel(1000) > 0.5 })

	c.Hangup()
	call.WaitEnded(t, 5*time.Second)
	rec := n.EndedCall(t, 5*time.Second, func(r nodetest.CallRecord) bool { return r.Dialed == "100" })
	if rec.Outcome != "answered" || rec.Agent != "1001" || rec.Queue != "sales" || rec.Digits != "1" || rec.HangupBy != "caller" {
		t.Fatalf("call record %+v", rec)
	}
	for _, k := range []string{"queued", "offered", "answered", "ended"} {
		if !slices.Contains(rec.Kinds(), k) {
			t.Errorf("event %q missing from %v", k, rec.Kinds())
		}
	}
}

func TestAgentHoldsResumesAndTransfers(t *testing.T) {
	n := nodetest.Start(t, "")
	alice := n.Phone(t, "1001")
	alice.SetTone(440)
	bob := n.Phone(t, "1002")
	bob.SetAutoAnswer(false)
	nodetest.WaitFor(t, 5*time.Second, "agents available", func() bool {
		return n.AgentState("1001") == "available" && n.AgentState("1002") == "available"
	})
	// Bob is in sales too: make him busy so the call goes to Alice.
	if code := n.API("POST", "/api/v1/agents/1002/state", map[string]string{"state": "away"}, nil); code >= 300 {
		t.Fatalf("set 1002 away: %d", code)
	}
	c := n.Dial(t, "100")
	nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
	c.SendDTMF("1")
	call := alice.NextCall(t, 10*time.Second)
	nodetest.WaitFor(t, 5*time.Second, "the agent's tone at the caller", func() bool { return c.RTP.ToneLevel(440) > 0.5 })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := call.Hold(ctx); err != nil {
		t.Fatalf("hold: %v", err)
	}
	nodetest.WaitFor(t, 5*time.Second, "the agent's tone gone while held", func() bool { return c.RTP.ToneLevel(440) < 0.2 })
	if err := call.Resume(ctx); err != nil {
		t.Fatalf("resume: %v", err)
	}
	nodetest.WaitFor(t, 5*time.Second, "the agent's tone back", func() bool { return c.RTP.ToneLevel(440) > 0.5 })

	if code, err := call.Refer(ctx, "1002"); err != nil || code != 202 {
		t.Fatalf("REFER to 1002: %d %v", code, err)
	}
	transferred := bob.NextCall(t, 10*time.Second)
	if err := transferred.Answer(); err != nil {
		t.Fatalf("1002 answers: %v", err)
	}
	// The transferor's phone hangs up once the transfer is through, as a
	// desk phone does on the NOTIFY.
	_ = call.Hangup()
	nodetest.WaitFor(t, 5*time.Second, "RTP from the caller at 1002", func() bool { return transferred.RTP.Received() > 10 })
	c.Hangup()
	transferred.WaitEnded(t, 5*time.Second)
	rec := n.EndedCall(t, 5*time.Second, func(r nodetest.CallRecord) bool { return r.Dialed == "100" })
	for _, k := range []string{"hold", "unhold", "transfer"} {
		if !slices.Contains(rec.Kinds(), k) {
			t.Errorf("event %q missing from %v", k, rec.Kinds())
		}
	}
	if rec.Agent != "1002" && rec.Agent != "1001" {
		t.Errorf("call record agent %q", rec.Agent)
	}
}

func TestFailedBuildReleasesWhatWasBuilt(t *testing.T) {
	// HTTP cannot listen (the port is taken): New fails after the SIP
	// edge bound its port, and must have released it.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	probe, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sipAddr := probe.LocalAddr().String()
	probe.Close()
	cfg, err := config.Parse("demo.yaml", []byte(nodetest.Demo(t)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.SIPListen, cfg.Server.HTTPListen, cfg.Server.DataDir = sipAddr, taken.Addr().String(), t.TempDir()
	cfg.Server.RTPPortMin, cfg.Server.RTPPortMax = 39000, 39099
	if n, err := node.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		n.Close()
		t.Fatal("New succeeded with the HTTP port taken")
	}
	again, err := net.ListenPacket("udp", sipAddr)
	if err != nil {
		t.Fatalf("the SIP port %s was not released: %v", sipAddr, err)
	}
	again.Close()
}
