package node_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// carolRequiresSRTP is the demo with agent 1003 set to srtp: required.
func carolRequiresSRTP(t *testing.T) string {
	return nodetest.Demo(t, `queues: [support], login_on_register: true}`, `queues: [support], login_on_register: true, srtp: required}`)
}

// rejected waits for the record of a call from caller refused with code.
func rejected(t *testing.T, n *nodetest.Node, caller string, code string) nodetest.CallRecord {
	t.Helper()
	var rec nodetest.CallRecord
	nodetest.WaitFor(t, 5*time.Second, "a record of the refused call", func() bool {
		for _, c := range n.Calls() {
			if c.Outcome == "rejected" && strings.HasPrefix(c.Reason, code) && c.Caller == caller {
				rec = c
				return true
			}
		}
		return false
	})
	return rec
}

// An SRTP caller to the IVR is answered with RTP/SAVP and a key under its
// offer's tag, hears the prompts (every packet opens with that key), and
// its digits, sent in SRTP, reach the menu.
func TestSRTPCallerHearsTheIVR(t *testing.T) {
	n := nodetest.Start(t, "")
	c := n.DialSRTP(t, "100")
	if c.Code != 200 {
		t.Fatalf("INVITE with RTP/SAVP to 100: %d %s", c.Code, c.Response.Reason)
	}
	if a := c.Answer; !a.Secure || !a.SRTP || a.Crypto.Tag != nodetest.SRTPTag {
		t.Fatalf("answer: secure %v, srtp %v, tag %d; want RTP/SAVP with a key under tag %d\n%s", a.Secure, a.SRTP, a.Crypto.Tag,
			nodetest.SRTPTag, c.Response.Body())
	}
	nodetest.WaitFor(t, 5*time.Second, "the welcome prompt, in SRTP", func() bool { return c.Opened() > 25 })
	if c.Failed() != 0 || c.RTP.Received() < 25 {
		t.Fatalf("%d of the node's packets did not open; %d reached the caller", c.Failed(), c.RTP.Received())
	}
	// A session refresh keeps the keys; a new key of ours replaces the
	// old one at the node. The node's own key stays.
	key := c.Answer.Crypto
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, rekey := range []bool{false, true} {
		if err := c.Reinvite(ctx, rekey); err != nil {
			t.Fatalf("re-INVITE (new key %v): %v", rekey, err)
		}
		if c.Answer.Crypto != key {
			t.Fatalf("re-INVITE (new key %v) changed the node's key", rekey)
		}
		opened := c.Opened()
		nodetest.WaitFor(t, 5*time.Second, "the prompt after the re-INVITE", func() bool { return c.Opened() > opened+10 })
	}
	if c.Failed() != 0 {
		t.Fatalf("%d of the node's packets did not open", c.Failed())
	}
	c.SendDTMF("2") // under the new key
	nodetest.WaitFor(t, 5*time.Second, "the caller queued for support", func() bool {
		for _, r := range n.Calls() {
			if r.Caller == "5551234" && r.Queue == "support" {
				return true
			}
		}
		return false
	})
	c.Hangup()
	rec := n.EndedCall(t, 5*time.Second, func(r nodetest.CallRecord) bool { return r.Dialed == "100" })
	if rec.Digits != "2" {
		t.Fatalf("digits %q, want 2 (sent in SRTP)", rec.Digits)
	}
	// Neither key, nor an SDP that carries one, is in the (debug) log.
	log, err := os.ReadFile(n.Log)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(log), "inline:") || strings.Contains(string(log), "a=crypto") {
		t.Fatal("the node's log holds an SDES key")
	}
}

// An agent whose srtp is required and whose phone offers plain RTP is
// refused with 488, and the attempt leaves a record. Loopback is not a
// trunk here, so the phone's INVITE is challenged and the agent's policy
// applies.
func TestSRTPRequiredAgentOfferingRTPIsRefused(t *testing.T) {
	setup := strings.Replace(carolRequiresSRTP(t), `inbound_sources: [127.0.0.0/8, "::1"]`, `inbound_sources: [192.0.2.1]`, 1)
	n := nodetest.Start(t, setup)
	c := n.Dial(t, "100", nodetest.Auth("1003", "demo1003"), nodetest.From("1003", "Carol"))
	if c.Code != 488 {
		t.Fatalf("agent 1003 (srtp: required) offering RTP/AVP: %d, want 488", c.Code)
	}
	rec := rejected(t, n, "1003", "488")
	if !strings.Contains(rec.Reason, "SRTP is required") {
		t.Fatalf("record reason %q", rec.Reason)
	}
	// The same phone offering SRTP gets in.
	if ok := n.DialSRTP(t, "100", nodetest.Auth("1003", "demo1003"), nodetest.From("1003", "Carol")); ok.Code != 200 || !ok.Answer.SRTP {
		t.Fatalf("agent 1003 offering SRTP: %d, srtp %v", ok.Code, ok.Answer.SRTP)
	}
}

// An SRTP caller bridged to a plain RTP agent, and a plain caller bridged
// to an agent whose phone speaks only SRTP: each hears the other's tone.
func TestSRTPBridgedToRTP(t *testing.T) {
	n := nodetest.Start(t, carolRequiresSRTP(t))
	alice := n.Phone(t, "1001") // sales, plain RTP
	alice.SetTone(440)
	carol := n.SRTPPhone(t, "1003") // support, SRTP only
	carol.SetTone(440)
	nodetest.WaitFor(t, 5*time.Second, "agents 1001 and 1003 available", func() bool {
		return n.AgentState("1001") == "available" && n.AgentState("1003") == "available"
	})

	t.Run("SRTP caller, RTP agent", func(t *testing.T) {
		c := n.DialSRTP(t, "100", nodetest.Tone(1000))
		if c.Code != 200 || !c.Answer.SRTP {
			t.Fatalf("INVITE: %d, srtp %v", c.Code, c.Answer.SRTP)
		}
		nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
		c.SendDTMF("1")
		call := alice.NextCall(t, 10*time.Second)
		<-call.Answered()
		nodetest.WaitFor(t, 5*time.Second, "the agent's tone at the SRTP caller", func() bool { return c.RTP.ToneLevel(440) > 0.5 })
		nodetest.WaitFor(t, 5*time.Second, "the SRTP caller's tone at the agent", func() bool { return call.RTP.ToneLevel(1000) > 0.5 })
		if c.Failed() != 0 {
			t.Fatalf("%d of the node's packets did not open", c.Failed())
		}
		c.Hangup()
		call.WaitEnded(t, 5*time.Second)
	})

	t.Run("RTP caller, SRTP agent", func(t *testing.T) {
		c := n.Dial(t, "100", nodetest.Tone(1000))
		if c.Code != 200 {
			t.Fatalf("INVITE: %d", c.Code)
		}
		if s, err := media.ParseSDP(c.Response.Body()); err != nil || s.SRTP || s.Secure {
			t.Fatalf("plain caller answered with %v, %v", s, err)
		}
		nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
		c.SendDTMF("2")
		call := carol.NextCall(t, 10*time.Second) // the phone refuses anything but SRTP
		<-call.Answered()
		nodetest.WaitFor(t, 5*time.Second, "the SRTP agent's tone at the caller", func() bool { return c.RTP.ToneLevel(440) > 0.5 })
		nodetest.WaitFor(t, 5*time.Second, "the caller's tone at the SRTP agent", func() bool { return call.RTP.ToneLevel(1000) > 0.5 })
		c.Hangup()
		call.WaitEnded(t, 5*time.Second)
		rec := n.EndedCall(t, 5*time.Second, func(r nodetest.CallRecord) bool { return r.Agent == "1003" })
		if rec.Outcome != "answered" {
			t.Fatalf("record %+v", rec)
		}
	})
}

// A call to an agent whose srtp is required offers RTP/SAVP; a phone that
// answers it with plain RTP is hung up on, and the caller stays queued.
func TestSRTPRequiredAgentAnsweringRTPIsDropped(t *testing.T) {
	n := nodetest.Start(t, carolRequiresSRTP(t))
	carol := n.Phone(t, "1003") // plain RTP only
	nodetest.WaitFor(t, 5*time.Second, "agent 1003 available", func() bool { return n.AgentState("1003") == "available" })
	c := n.Dial(t, "100")
	if c.Code != 200 {
		t.Fatalf("INVITE: %d", c.Code)
	}
	nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
	c.SendDTMF("2")
	call := carol.NextCall(t, 10*time.Second)
	call.WaitEnded(t, 5*time.Second)
	select {
	case <-c.Ended():
		t.Fatal("the caller was hung up with the agent's call")
	default:
	}
}

// With srtp: off for the trunk the calls come from, an offer of only SRTP
// is refused with 488 and a record; best-effort SRTP (RTP/AVP with
// a=crypto) is answered with plain RTP.
func TestSRTPOffRefusesSAVPOnly(t *testing.T) {
	n := nodetest.Start(t, nodetest.Demo(t, `inbound_sources: [127.0.0.0/8, "::1"]`, "inbound_sources: [127.0.0.0/8, \"::1\"]\n    srtp: off"))
	c := n.DialSRTP(t, "100", nodetest.From("5559000", "Secure Caller"))
	if c.Code != 488 {
		t.Fatalf("RTP/SAVP offer with srtp off: %d, want 488", c.Code)
	}
	if rec := rejected(t, n, "5559000", "488"); !strings.Contains(rec.Reason, "SRTP is off") {
		t.Fatalf("record reason %q", rec.Reason)
	}

	w := newWireCaller(t, n.SIPAddr())
	res := w.invite(t, "Content-Type: application/sdp\r\n", w.offer("m=audio %d RTP/AVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"))
	if res.StatusCode != 200 {
		t.Fatalf("best-effort SRTP offer with srtp off: %d %s", res.StatusCode, res.Reason)
	}
	w.ack(t, res, nil)
	defer w.bye(t, res)
	if strings.Contains(string(res.Body()), "a=crypto") || strings.Contains(string(res.Body()), "SAVP") {
		t.Fatalf("answer to best-effort SRTP with srtp off carries SRTP:\n%s", res.Body())
	}
	w.hearsPlainAudio(t)
}

// A call that came in under srtp: required stays SRTP for its life: a
// re-INVITE offering plain RTP gets 488 and the call goes on encrypted; a
// re-INVITE with SRTP is taken.
func TestSRTPRequiredHoldsOnReInvite(t *testing.T) {
	n := nodetest.Start(t, nodetest.Demo(t, `inbound_sources: [127.0.0.0/8, "::1"]`, "inbound_sources: [127.0.0.0/8, \"::1\"]\n    srtp: required"))
	c := n.DialSRTP(t, "100")
	if c.Code != 200 {
		t.Fatalf("SRTP offer with srtp required: %d", c.Code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, err := c.ReinvitePlain(ctx)
	if err != nil || code != 488 {
		t.Fatalf("plain re-INVITE on a required call: %d %v, want 488", code, err)
	}
	if err := c.Reinvite(ctx, false); err != nil {
		t.Fatalf("SRTP re-INVITE after the refused one: %v", err)
	}
	before := c.Opened()
	nodetest.WaitFor(t, 5*time.Second, "SRTP from the node after the re-INVITEs", func() bool { return c.Opened() > before+10 })
}
