package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// malformed SIP messages; each must get a clear answer or be dropped, never a crash.
var malformedSIP = []string{
	"garbage\r\n\r\n",
	"INVITE sip:100@127.0.0.1 SIP/2.0\r\n\r\n",
	"INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
	"INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx2\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:100@127.0.0.1>\r\n" +
		"Call-ID: bad-sdp-1\r\nCSeq: 1 INVITE\r\nContact: <sip:a@127.0.0.1:9>\r\nContent-Type: application/sdp\r\nContent-Length: 20\r\n\r\nv=0\r\nm=audio x RTP\r\n",
	"INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx3\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:100@127.0.0.1>\r\n" +
		"Call-ID: bad-len\r\nCSeq: 1 INVITE\r\nContact: <sip:a@127.0.0.1:9>\r\nContent-Length: 99999\r\n\r\nshort",
	"REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx4\r\nFrom: <sip:1001@b>;tag=1\r\nTo: <sip:1001@b>\r\n" +
		"Call-ID: reg-bad\r\nCSeq: 1 REGISTER\r\nAuthorization: Digest username=\"1001\", nonce=\"forged\", response=\"00\"\r\nContent-Length: 0\r\n\r\n",
	"BYE sip:nobody@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx5\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@c>;tag=2\r\n" +
		"Call-ID: no-such-call\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
	"INFO sip:nobody@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx6\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@c>;tag=2\r\n" +
		"Call-ID: no-such-call-2\r\nCSeq: 2 INFO\r\nContent-Type: application/dtmf-relay\r\nContent-Length: 8\r\n\r\nSignal=Z",
	"\x00\x01\x02\xff\xfe",
	strings.Repeat("A", 60000),
}

func TestBadInputNeverDropsACall(t *testing.T) {
	s := startServer(t)
	agent := registerAgent(t, s, 0, "1001", "agent_answer.xml", 1)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 1500, DigitPcap: pcapDir + "/dtmf_2833_1.pcap",
		WaitMS: 3000, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 4000})

	// While the call runs: malformed SIP over UDP and TCP, and garbage RTP at
	// every media port, from the caller's address and from another one.
	time.Sleep(500 * time.Millisecond)
	for _, m := range malformedSIP {
		if u, err := net.Dial("udp", s.sipAddr); err == nil {
			_, _ = u.Write([]byte(m))
			u.Close()
		}
		if c, err := net.DialTimeout("tcp", s.sipAddr, time.Second); err == nil {
			_ = c.SetDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte(m))
			c.Close()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, src := range []string{"127.0.0.1", "127.0.0.2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sprayRTP(ctx, src, s.ports.base+60, s.ports.base+99)
		}()
	}
	caller.mustSucceed(t, 40*time.Second)
	cancel()
	wg.Wait()
	agent.uas.mustSucceed(t, 10*time.Second)
	rec := s.findCall(t, func(c callRecord) bool { return c.Caller == "5551234" })
	if rec.Outcome != "answered" || rec.Digits != "1" || rec.Agent != "1001" {
		t.Fatalf("the call was disturbed by bad input: %+v", rec)
	}
	var h map[string]string
	if s.apiAs("", "", "GET", "/healthz", nil, &h) != 200 {
		t.Fatal("server unhealthy after bad input")
	}
}

// sprayRTP sends malformed RTP, RTP with bad telephone-events (no digit) and
// random bytes to every port in [lo, hi] from src, until ctx ends.
func sprayRTP(ctx context.Context, src string, lo, hi int) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(src)})
	if err != nil {
		return
	}
	defer conn.Close()
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000 && ctx.Err() == nil; i++ {
		var pkt []byte
		switch i % 4 {
		case 0: // not RTP at all
			pkt = make([]byte, r.IntN(40))
			for j := range pkt {
				pkt[j] = byte(r.Uint32())
			}
		case 1: // RTP header claiming CSRCs and an extension it does not have
			pkt = []byte{0x9f, 8, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}
		case 2: // telephone-event with an event that is no digit, and one too short
			pkt = make([]byte, 16)
			pkt[0], pkt[1] = 0x80, 101
			binary.BigEndian.PutUint32(pkt[8:], 0xdead)
			pkt[12] = 200
			if i%8 == 2 {
				pkt = pkt[:13]
			}
		case 3: // padding longer than the packet
			pkt = []byte{0xa0, 8, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0xd5, 0xff}
		}
		port := lo + i%(hi-lo+1)
		_, _ = conn.WriteToUDP(pkt, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if i%50 == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestRejectedCallsLeaveRecords(t *testing.T) {
	s := startServer(t)
	tests := []struct {
		name    string
		spec    callerSpec
		outcome string
		reason  string
		args    []string
	}{
		// From a trunk's address 999 is challenged like an extension; an agent gets 404.
		{"unknown number", callerSpec{Service: "999", Auth: true, ExpectCode: 404}, "rejected", "404", []string{"-au", "1002", "-ap", "demo1002"}},
		{"no common codec", callerSpec{Service: "100", ExpectCode: 488, SDP: "      v=0\n      o=- 1 1 IN IP4 [local_ip]\n      s=-\n" +
			"      c=IN IP4 [media_ip]\n      t=0 0\n      m=audio [media_port] RTP/AVP 111\n      a=rtpmap:111 opus/48000/2\n"}, "rejected", "488", nil},
		{"sdp that is not sdp", callerSpec{Service: "100", ExpectCode: 488, SDP: "      hello\n"}, "rejected", "488", nil},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := call(t, s, 1+i, "caller", tc.spec, tc.args...)
			c.mustSucceed(t, 20*time.Second)
			rec := s.lastCall(t)
			if rec.Outcome != tc.outcome || !strings.Contains(rec.Reason, tc.reason) {
				t.Fatalf("record %+v", rec)
			}
		})
	}
}

func TestUntrustedCallerMustAuthenticate(t *testing.T) {
	// Only 127.0.0.2 is a trusted trunk: SIPp on 127.0.0.1 is a stranger.
	s := startServer(t, `inbound_sources: [127.0.0.0/8, "::1"]`, `inbound_sources: [127.0.0.2]`)
	stranger := call(t, s, 1, "stranger", callerSpec{Service: "100", ExpectCode: 401})
	stranger.mustSucceed(t, 20*time.Second)

	// A wrong password is a security event, not a call record (a guess is not a call).
	before := securityEvents(t, s).Counts["auth_failure"]
	wrong := call(t, s, 2, "wrong-password", callerSpec{Service: "100", Auth: true, ExpectCode: 403}, "-au", "1001", "-ap", "nope")
	wrong.mustSucceed(t, 20*time.Second)
	if after := securityEvents(t, s).Counts["auth_failure"]; after != before+1 {
		t.Fatalf("auth_failure events %d → %d after one wrong password", before, after)
	}
	var list struct{ Calls []callRecord }
	s.api("GET", "/api/v1/calls", nil, &list)
	if len(list.Calls) != 0 {
		t.Fatalf("the refused guesses left call records: %+v", list.Calls)
	}

	agentCalls := call(t, s, 3, "agent-calls", callerSpec{Service: "100", Auth: true, PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 1500}, "-au", "1002", "-ap", "demo1002")
	agentCalls.mustSucceed(t, 20*time.Second)
	if rec := s.lastCall(t); rec.Queue != "support" || rec.Outcome != "abandoned" {
		t.Fatalf("authenticated agent's call %+v", rec)
	}
}

func TestFeatureCodeTogglesLogin(t *testing.T) {
	s := startServer(t)
	sp, _ := s.ports.phone(0)
	register(t, s, 20, "1001", "demo1001", sp, 300)
	state := func() string {
		var v struct{ State string }
		s.api("GET", "/api/v1/agents/1001", nil, &v)
		return v.State
	}
	if st := state(); st != "available" {
		t.Fatalf("after registering: %s", st)
	}
	for i, want := range []string{"logged_out", "available"} {
		c := call(t, s, 1+i, fmt.Sprintf("star45-%d", i), callerSpec{Service: "*45", Auth: true, RemoteHangup: true}, "-au", "1001", "-ap", "demo1001")
		c.mustSucceed(t, 20*time.Second)
		if st := state(); st != want {
			t.Fatalf("after *45 #%d: %s, want %s", i+1, st, want)
		}
		if rec := s.lastCall(t); rec.Outcome != "completed" || rec.Agent != "1001" || rec.RTPOut < 20 {
			t.Fatalf("record %+v", rec)
		}
	}
}

func TestRegistrationLifecycle(t *testing.T) {
	s := startServer(t)
	sp, _ := s.ports.phone(0)
	state := func() string {
		var v struct{ State string }
		s.api("GET", "/api/v1/agents/1003", nil, &v)
		return v.State
	}
	register(t, s, 20, "1003", "demo1003", sp, 10)
	if st := state(); st != "available" {
		t.Fatalf("after register: %s", st)
	}
	register(t, s, 21, "1003", "demo1003", sp, 0) // unregister
	if st := state(); st != "logged_out" {
		t.Fatalf("after unregister: %s", st)
	}
	register(t, s, 22, "1003", "demo1003", sp, 10)
	waitFor(t, 15*time.Second, "the registration to expire", func() bool { return state() == "logged_out" })
}

func TestAPIAuthAndRoles(t *testing.T) {
	s := startServer(t)
	tests := []struct {
		name, user, pass, method, path string
		body                           any
		want                           int
	}{
		{"no credentials", "", "", "GET", "/api/v1/calls", nil, 401},
		{"wrong password", "admin", "nope", "GET", "/api/v1/calls", nil, 401},
		{"admin lists calls", "admin", "demo-admin", "GET", "/api/v1/calls", nil, 200},
		{"supervisor lists agents", "supervisor", "demo-supervisor", "GET", "/api/v1/agents", nil, 200},
		{"agent may not list agents", "1001", "demo1001", "GET", "/api/v1/agents", nil, 403},
		{"agent sees self", "1001", "demo1001", "GET", "/api/v1/agents/1001", nil, 200},
		{"agent may not see others", "1001", "demo1001", "GET", "/api/v1/agents/1002", nil, 403},
		{"agent logs in", "1001", "demo1001", "POST", "/api/v1/agents/1001/login", nil, 200},
		{"agent goes away", "1001", "demo1001", "POST", "/api/v1/agents/1001/state", map[string]string{"state": "away", "reason": "lunch"}, 200},
		{"bad state", "admin", "demo-admin", "POST", "/api/v1/agents/1001/state", map[string]string{"state": "asleep"}, 400},
		{"unknown field", "admin", "demo-admin", "POST", "/api/v1/agents/1001/state", map[string]string{"stat": "away"}, 400},
		{"unknown agent", "admin", "demo-admin", "POST", "/api/v1/agents/9999/login", nil, 404},
		{"bad limit", "admin", "demo-admin", "GET", "/api/v1/calls?limit=abc", nil, 400},
		{"bad since", "admin", "demo-admin", "GET", "/api/v1/calls?since=yesterday", nil, 400},
		{"unknown call", "admin", "demo-admin", "GET", "/api/v1/calls/nope", nil, 404},
		{"unknown queue", "admin", "demo-admin", "GET", "/api/v1/queues/nope", nil, 404},
		{"unknown route", "admin", "demo-admin", "GET", "/api/v1/nothing", nil, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.apiAs(tc.user, tc.pass, tc.method, tc.path, tc.body, nil); got != tc.want {
				t.Fatalf("%s %s as %q: %d, want %d", tc.method, tc.path, tc.user, got, tc.want)
			}
		})
	}
	var a struct{ State, Reason string }
	s.api("GET", "/api/v1/agents/1001", nil, &a)
	if a.State != "away" || a.Reason != "lunch" {
		t.Fatalf("agent after going away: %+v", a)
	}
	if s.api("POST", "/api/v1/agents/1001/login", nil, &a); a.State != "available" {
		t.Fatalf("after login: %+v", a)
	}

	// A token made by the command line works as a Bearer token.
	out, err := exec.Command(serverBin, "token", "create", "--user", "admin", "--data", s.dataDir()).CombinedOutput()
	if err != nil {
		t.Fatalf("token create: %v\n%s", err, out)
	}
	tok := strings.TrimSpace(string(out))
	var me struct{ Username, Role string }
	if code := s.apiAs("Bearer "+tok, "", "GET", "/api/v1/me", nil, &me); code != 200 || me.Username != "admin" {
		t.Fatalf("bearer: %d %+v", code, me)
	}
	if code := s.apiAs("Bearer sb_forged", "", "GET", "/api/v1/me", nil, nil); code != 401 {
		t.Fatalf("forged bearer: %d", code)
	}
}
