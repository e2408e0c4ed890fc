package node_test

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/media"
	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// attacker is another host on the loopback: its SIP requests and RTP
// come from an address no party of the call uses.
const attacker = "127.0.0.9"

// TestOutsiderCannotEndOrMoveACall connects a caller to an agent, then
// sends from another address requests that name the live call: a BYE with
// its Call-ID but made-up tags, a BYE with its real Call-ID and tags, a
// re-INVITE moving the media to the outsider, and the other in-dialog
// methods. Each is answered 481 and the call goes on, audio both ways,
// until the real caller hangs up.
func TestOutsiderCannotEndOrMoveACall(t *testing.T) {
	n := nodetest.Start(t, "")
	alice := n.Phone(t, "1001")
	alice.SetTone(440)
	nodetest.WaitFor(t, 5*time.Second, "agent 1001 available", func() bool { return n.AgentState("1001") == "available" })
	c := n.Dial(t, "100", nodetest.Tone(1000))
	if c.Code != 200 {
		t.Fatalf("INVITE to 100: %d", c.Code)
	}
	nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
	c.SendDTMF("1")
	agent := alice.NextCall(t, 10*time.Second)
	select {
	case <-agent.Answered():
	case <-time.After(5 * time.Second):
		t.Fatal("the phone did not answer")
	}
	talking := func(when string) {
		t.Helper()
		select {
		case <-c.Ended():
			t.Fatalf("%s: the caller's call ended", when)
		case <-agent.Ended():
			t.Fatalf("%s: the agent's call ended", when)
		default:
		}
		toCaller, toAgent := c.RTP.Received(), agent.RTP.Received()
		nodetest.WaitFor(t, 5*time.Second, when+": audio both ways", func() bool {
			return c.RTP.Received() > toCaller+10 && agent.RTP.Received() > toAgent+10 &&
				c.RTP.ToneLevel(440) > 0.5 && agent.RTP.ToneLevel(1000) > 0.5
		})
	}
	talking("connected")

	raw := nodetest.NewRaw(t, n.SIPAddr(), attacker)
	live := c.Dialog()
	if live.CallID == "" || live.Local == "" || live.Remote == "" {
		t.Fatalf("the caller's dialog %+v", live)
	}
	guessed := nodetest.DialogTags{CallID: live.CallID, Local: "guessed-from", Remote: "guessed-to"}
	if code := raw.Request(t, "BYE", guessed, "", nil); code != 481 {
		t.Fatalf("BYE with the live Call-ID and made-up tags: %d, want 481", code)
	}
	talking("after a BYE with made-up tags")
	swapped := nodetest.DialogTags{CallID: live.CallID, Local: live.Remote, Remote: live.Local}
	if code := raw.Request(t, "BYE", swapped, "", nil); code != 481 {
		t.Fatalf("BYE with the live dialog's tags swapped: %d, want 481", code)
	}
	if code := raw.Request(t, "BYE", live, "", nil); code != 481 {
		t.Fatalf("BYE with the live dialog's Call-ID and tags, from %s: %d, want 481", attacker, code)
	}
	if code := raw.Request(t, "BYE", agent.Dialog(), "", nil); code != 481 {
		t.Fatalf("BYE with the agent's dialog, from %s: %d, want 481", attacker, code)
	}
	talking("after BYEs from " + attacker)

	// The outsider offers its own RTP socket: no audio of the call may
	// ever reach it.
	sink, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(attacker), 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	hijack := media.BuildSDP(media.Offer{Local: sink.LocalAddr().(*net.UDPAddr).AddrPort(), SessionID: 1, Version: 2,
		Codecs: []media.Codec{media.PCMU}, TelephoneEvent: media.DefaultTelephoneEvent})
	sdp := "Content-Type: application/sdp\r\n"
	for _, tc := range []struct {
		name string
		d    nodetest.DialogTags
	}{
		{"made-up tags", guessed},
		{"the caller's real tags", live},
		{"the agent's real tags", agent.Dialog()},
	} {
		if code := raw.Request(t, "INVITE", tc.d, sdp, hijack); code != 481 {
			t.Fatalf("re-INVITE to %s with %s: %d, want 481", sink.LocalAddr(), tc.name, code)
		}
	}
	heardBefore := c.RTP.Received()
	if err := sink.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	if n, from, err := sink.ReadFromUDPAddrPort(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the outsider's socket got %d bytes from %s (err %v): the re-INVITE moved the media", n, from, err)
	}
	if c.RTP.Received() < heardBefore+50 {
		t.Fatalf("the caller got %d RTP packets in the 2 s after the re-INVITEs, want about 100", c.RTP.Received()-heardBefore)
	}
	talking("after re-INVITEs from " + attacker)

	for _, m := range []struct{ method, extra string }{
		{"INFO", "Content-Type: application/dtmf-relay\r\n"},
		{"REFER", "Refer-To: <sip:1002@127.0.0.1>\r\n"},
		{"UPDATE", ""},
		{"NOTIFY", "Event: refer\r\nSubscription-State: terminated\r\nContent-Type: message/sipfrag;version=2.0\r\n"},
	} {
		for _, d := range []nodetest.DialogTags{guessed, live} {
			if code := raw.Request(t, m.method, d, m.extra, nil); code != 481 {
				t.Fatalf("%s from %s in %+v: %d, want 481", m.method, attacker, d, code)
			}
		}
	}
	talking("after INFO, REFER, UPDATE and NOTIFY from " + attacker)

	c.Hangup()
	agent.WaitEnded(t, 5*time.Second)
	rec := n.EndedCall(t, 5*time.Second, func(r nodetest.CallRecord) bool { return r.Dialed == "100" })
	if rec.Outcome != "answered" || rec.Agent != "1001" || rec.HangupBy != "caller" {
		t.Fatalf("call record %+v", rec)
	}
}
