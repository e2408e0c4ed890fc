package e2e

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/examples"
	"github.com/switchboard/switchboard/internal/mailtest"
	"github.com/switchboard/switchboard/internal/media"
)

// heard counts, for each named sound, the frames of it (as PCMA) that a
// capture holds, counting only frames no other sound shares (silence is in
// every prompt).
func heard(t *testing.T, c *capture, port int, names ...string) map[string]int {
	t.Helper()
	lib, err := media.LoadLibrary(examples.FS, "sounds")
	if err != nil {
		t.Fatal(err)
	}
	owner := map[string]string{} // frame → sound, "" when shared
	for _, e := range mustSounds(t) {
		snd, _ := lib.Get(e)
		for i := 0; i < snd.Frames(); i++ {
			f := hex.EncodeToString(snd.Frame(media.PCMA, i))
			if o, seen := owner[f]; seen && o != e {
				owner[f] = ""
			} else if !seen {
				owner[f] = e
			}
		}
	}
	counts := map[string]int{}
	for _, p := range rtpPayloads(t, c.path, port) {
		if o := owner[p]; o != "" {
			counts[o]++
		}
	}
	out := map[string]int{}
	for _, n := range names {
		out[n] = counts[n]
	}
	return out
}

func mustSounds(t *testing.T) []string {
	t.Helper()
	entries, err := examples.FS.ReadDir("sounds")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".wav"))
	}
	return names
}

type queueState struct {
	Waiting              int     `json:"waiting"`
	LongestWaitSeconds   float64 `json:"longest_wait_seconds"`
	EstimatedWaitSeconds float64 `json:"estimated_wait_seconds"`
	CallbacksPending     int     `json:"callbacks_pending"`
	Agents               []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"agents"`
}

// The demo's support queue: a caller waiting behind a busy agent hears
// their position and estimated wait ("caller number 1; about 3 minutes"),
// then the options; 1 asks for a callback, 1 again confirms the number
// they call from; they hear the confirmation and are disconnected. When
// the agent is free, they are offered the callback first, then Switchboard
// dials the customer over the outbound trunk (SIPp playing the public
// network), and the call record shows each step.
func TestSupportCallbackKeepsPlace(t *testing.T) {
	pstnSIP, pstnMedia := 0, 0
	s := startServerWith(t, func(p ports) []string {
		pstnSIP, pstnMedia = p.phone(3)
		return []string{`outbound: {host: "127.0.0.1:5080"`, fmt.Sprintf(`outbound: {host: "127.0.0.1:%d"`, pstnSIP)}
	})
	// The customer's phone on the public network: answers, talks 2 s, hangs up.
	pstn := runSIPp(t, "pstn", "-sf", scenario("agent_hangup.xml"), "-p", fmt.Sprint(pstnSIP), "-mp", fmt.Sprint(pstnMedia),
		"-rtp_echo", "-m", "1", "-timeout", "90s")
	agent := registerAgent(t, s, 0, "1003", "agent_answer.xml", 2) // the first caller, then the callback
	first := call(t, s, 1, "first", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 1000, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 22000})
	waitFor(t, 15*time.Second, "agent 1003 on the first call", func() bool {
		var v struct{ State string }
		s.api("GET", "/api/v1/agents/1003", nil, &v)
		return v.State == "on_call"
	})
	_, secondMedia := s.ports.phone(2)
	cap2 := startCapture(t, secondMedia)
	second := call(t, s, 2, "second", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 7000, // position and estimated wait, into the options prompt
		Then:   []step{{Key: "1"}, {PauseMS: 3000, Key: "1"}}, RemoteHangup: true})
	second.mustSucceed(t, 40*time.Second) // disconnected by Switchboard after the confirmation
	cap2.stop()
	var q queueState
	if s.api("GET", "/api/v1/queues/support", nil, &q) != 200 || q.Waiting != 1 || q.CallbacksPending != 1 {
		t.Fatalf("support after the callback request: %+v", q)
	}
	got := heard(t, cap2, secondMedia, "you-are-caller-number", "num-1", "estimated-wait-about", "num-3", "minutes",
		"queue-options", "callback-confirm", "callback-confirmed")
	for name, n := range got {
		if n < 5 {
			t.Errorf("the second caller heard %d frames of %q (all: %v)", n, name, got)
		}
	}
	first.mustSucceed(t, 60*time.Second)
	pstn.mustSucceed(t, 60*time.Second)
	agent.uas.mustSucceed(t, 30*time.Second)
	rec := s.lastCall(t)
	if rec.Outcome != "answered" || rec.Agent != "1003" || rec.Queue != "support" || rec.ConnectedAt == nil {
		t.Fatalf("callback record %+v", rec)
	}
	for _, want := range []string{"announcement", "queue_option", "callback_requested", "offered", "connected", "callback_attempt", "ended"} {
		if !rec.hasEvent(want, "") {
			t.Fatalf("callback record lacks %q: %v", want, rec.kinds())
		}
	}
	var requested, attempt string
	for _, e := range rec.Events {
		switch e.Kind {
		case "callback_requested":
			requested = e.Detail
		case "callback_attempt":
			attempt = e.Detail
		}
	}
	if !strings.Contains(requested, "number=5551234") || !strings.Contains(attempt, "result=answered") {
		t.Fatalf("callback events: requested %q, attempt %q", requested, attempt)
	}
	if s.api("GET", "/api/v1/queues/support", nil, &q); q.Waiting != 0 || q.CallbacksPending != 0 {
		t.Fatalf("support after the callback: %+v", q)
	}
}

// The demo's sales queue overflows to support after 60 s (3 s here): with
// no sales agent, the caller is moved and answered by a support agent.
func TestSalesOverflowsToSupport(t *testing.T) {
	s := startServer(t, "max_wait: {after: 60s", "max_wait: {after: 3s")
	agent := registerAgent(t, s, 0, "1003", "agent_answer.xml", 1) // support only
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_1.pcap",
		WaitMS: 9000, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 1000})
	caller.mustSucceed(t, 40*time.Second)
	agent.uas.mustSucceed(t, 10*time.Second)
	rec := s.lastCall(t)
	if rec.Outcome != "answered" || rec.Agent != "1003" || rec.Queue != "support" || rec.WaitSeconds < 3 {
		t.Fatalf("record %+v", rec)
	}
	if !rec.hasEvent("overflow", "") || !rec.hasEvent("moved", "") {
		t.Fatalf("events %v", rec.kinds())
	}
}

// Voicemail from the support queue: 2 while waiting, the greeting and the
// beep, a message ended with #, "saved"; the message is stored while the
// mail relay is down, delivery is retried, and once the relay is up it is
// emailed to support@demo.example with the WAV attached.
func TestVoicemailEmailedAndRetried(t *testing.T) {
	smtpAddr := ""
	s := startServerWith(t, func(p ports) []string {
		smtpAddr = fmt.Sprintf("127.0.0.1:%d", p.base+2) // nothing listens yet
		return []string{`smtp: {addr: "127.0.0.1:2525", from: switchboard@demo.example}`,
			fmt.Sprintf(`smtp: {addr: %q, from: switchboard@demo.example, retry: 1s}`, smtpAddr)}
	})
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 2500, Then: []step{{Key: "2"}, {PauseMS: 9000, Pcap: pcapDir + "/g711a.pcap"}, {PauseMS: 4000, Key: "pound"}},
		RemoteHangup: true})
	caller.mustSucceed(t, 60*time.Second)
	rec := s.lastCall(t)
	if rec.Outcome != "voicemail" || rec.Queue != "support" || !rec.hasEvent("voicemail_left", "") {
		t.Fatalf("record %+v events %v", rec, rec.kinds())
	}
	type vm struct {
		ID        string  `json:"id"`
		Mailbox   string  `json:"mailbox"`
		Caller    string  `json:"caller"`
		Seconds   float64 `json:"duration_seconds"`
		Attempts  int     `json:"delivery_attempts"`
		LastError string  `json:"last_error"`
		Delivered *string `json:"delivered_at"`
	}
	var list []vm
	waitFor(t, 10*time.Second, "a failed delivery attempt", func() bool {
		s.api("GET", "/api/v1/voicemails", nil, &list)
		return len(list) == 1 && list[0].Attempts >= 1 && list[0].LastError != ""
	})
	if v := list[0]; v.Mailbox != "support" || v.Caller != "5551234" || v.Seconds < 2 || v.Seconds > 8 {
		t.Fatalf("voicemail %+v", v)
	}
	relay, err := mailtest.Start(smtpAddr, "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	msgs := relay.Wait(1, 20*time.Second)
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "support@demo.example" {
		t.Fatalf("emails %+v", msgs)
	}
	body := string(msgs[0].Data)
	for _, want := range []string{"Subject: Voicemail from Caller 1 <5551234> (support,", "Content-Type: audio/wav", "filename=\"voicemail-" + list[0].ID + ".wav\""} {
		if !strings.Contains(body, want) {
			t.Fatalf("email lacks %q:\n%s", want, body[:min(len(body), 1500)])
		}
	}
	waitFor(t, 10*time.Second, "the delivery to be recorded", func() bool {
		s.api("GET", "/api/v1/voicemails", nil, &list)
		return len(list) == 1 && list[0].Delivered != nil
	})
	var audio []byte
	if code := s.apiRaw("GET", "/api/v1/voicemails/"+list[0].ID+"/audio", &audio); code != 200 {
		t.Fatalf("audio: %d", code)
	}
	if pcm, err := media.ParseWAV(audio); err != nil || len(pcm) < 2*media.SampleRate {
		t.Fatalf("audio: %d samples, %v", len(pcm), err)
	}
}

// A callback the customer does not answer is tried again after the
// queue's pause; the keyed-in number is the one dialled; every attempt is
// in the call record.
func TestCallbackRetriesAKeyedNumber(t *testing.T) {
	pstnSIP, pstnMedia := 0, 0
	s := startServerWith(t, func(p ports) []string {
		pstnSIP, pstnMedia = p.phone(3)
		return []string{
			`outbound: {host: "127.0.0.1:5080"`, fmt.Sprintf(`outbound: {host: "127.0.0.1:%d"`, pstnSIP),
			"callback: {attempts: 3, retry_after: 2m, ring_timeout: 30s}", "callback: {attempts: 2, retry_after: 4s, ring_timeout: 10s}",
		}
	})
	busy := runSIPp(t, "pstn-busy", "-sf", scenario("agent_busy.xml"), "-p", fmt.Sprint(pstnSIP), "-mp", fmt.Sprint(pstnMedia),
		"-m", "1", "-timeout", "90s")
	agent := registerAgent(t, s, 0, "1003", "agent_answer.xml", 2) // both attempts
	if code := s.api("POST", "/api/v1/agents/1003/state", map[string]string{"state": "away", "reason": "training"}, nil); code != 200 {
		t.Fatalf("set away: %d", code)
	}
	keys := []step{{Key: "1"}, {PauseMS: 2500, Key: "5"}}
	for _, k := range []string{"5", "5", "0", "1", "9", "9", "pound"} {
		keys = append(keys, step{PauseMS: 400, Key: k})
	}
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 2500, Then: keys, RemoteHangup: true})
	caller.mustSucceed(t, 60*time.Second)
	var q queueState
	if s.api("GET", "/api/v1/queues/support", nil, &q); q.CallbacksPending != 1 {
		t.Fatalf("support: %+v", q)
	}
	if code := s.api("POST", "/api/v1/agents/1003/state", map[string]string{"state": "available"}, nil); code != 200 {
		t.Fatalf("set available: %d", code)
	}
	busy.mustSucceed(t, 30*time.Second) // the first attempt was refused: 486
	pstn := runSIPp(t, "pstn", "-sf", scenario("agent_hangup.xml"), "-p", fmt.Sprint(pstnSIP), "-mp", fmt.Sprint(pstnMedia),
		"-rtp_echo", "-m", "1", "-timeout", "90s")
	pstn.mustSucceed(t, 60*time.Second)
	agent.uas.mustSucceed(t, 30*time.Second)
	rec := s.lastCall(t)
	if rec.Outcome != "answered" || rec.Agent != "1003" {
		t.Fatalf("record %+v events %v", rec, rec.kinds())
	}
	var attempts []string
	for _, e := range rec.Events {
		if e.Kind == "callback_attempt" {
			attempts = append(attempts, e.Detail)
		}
		if e.Kind == "callback_requested" && !strings.Contains(e.Detail, "number=5550199") {
			t.Fatalf("requested %q, want the keyed number 5550199", e.Detail)
		}
	}
	if len(attempts) != 2 || !strings.Contains(attempts[0], "486") || !strings.Contains(attempts[1], "result=answered") ||
		!rec.hasEvent("callback_retry", "") {
		t.Fatalf("attempts %q, events %v", attempts, rec.kinds())
	}
}

// Limits: support takes one waiting caller (the next hears "queue full" and
// is disconnected); sales with no agent logged in sends callers to voicemail.
func TestQueueLimits(t *testing.T) {
	s := startServer(t,
		"    max_wait: {after: 60s, action: queue, queue: support}\n",
		"    max_wait: {after: 60s, action: queue, queue: support}\n    no_agents: {action: voicemail}\n    voicemail: support\n",
		"    callback: {attempts: 3, retry_after: 2m, ring_timeout: 30s}\n",
		"    callback: {attempts: 3, retry_after: 2m, ring_timeout: 30s}\n    max_length: {calls: 1, action: hangup, prompt: queue-full}\n")
	first := call(t, s, 1, "first", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap", WaitMS: 15000})
	waitFor(t, 10*time.Second, "the first caller waiting in support", func() bool {
		var q queueState
		s.api("GET", "/api/v1/queues/support", nil, &q)
		return q.Waiting == 1
	})
	full := call(t, s, 2, "full", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap", RemoteHangup: true})
	full.mustSucceed(t, 30*time.Second)
	rec := s.lastCall(t)
	if rec.Outcome != "overflow" || rec.Reason != "queue full" || rec.HangupBy != "system" || !rec.hasEvent("overflow", "") {
		t.Fatalf("queue-full record %+v events %v", rec, rec.kinds())
	}
	first.mustSucceed(t, 30*time.Second)
	sales := call(t, s, 3, "sales", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_1.pcap",
		WaitMS: 8000, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 4000})
	sales.mustSucceed(t, 40*time.Second)
	rec = s.lastCall(t)
	if rec.Outcome != "voicemail" || rec.Queue != "sales" || !rec.hasEvent("voicemail_left", "") {
		t.Fatalf("no-agents record %+v events %v", rec, rec.kinds())
	}
}

// Queues that overflow into each other when nobody is logged in do not
// send a caller round for ever: after a few hops the caller is told
// goodbye and the record says why.
func TestOverflowLoopEnds(t *testing.T) {
	s := startServer(t,
		"    max_wait: {after: 60s, action: queue, queue: support}\n",
		"    max_wait: {after: 60s, action: queue, queue: support}\n    no_agents: {action: queue, queue: support}\n",
		"    callback: {attempts: 3, retry_after: 2m, ring_timeout: 30s}\n",
		"    callback: {attempts: 3, retry_after: 2m, ring_timeout: 30s}\n    no_agents: {action: queue, queue: sales}\n")
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_1.pcap", RemoteHangup: true})
	caller.mustSucceed(t, 60*time.Second)
	rec := s.lastCall(t)
	if rec.Outcome != "overflow" || !strings.Contains(rec.Reason, "overflow loop") || len(rec.details("overflow")) != 9 {
		t.Fatalf("record %+v overflow events %q", rec, rec.details("overflow"))
	}
}

// Leave when empty: a caller waits in support while its only logged-in
// agent is away; when that agent logs out, the caller leaves the queue for
// the no-agents action (voicemail) within a second or so.
func TestLeaveWhenEmpty(t *testing.T) {
	s := startServer(t,
		"    callback: {attempts: 3, retry_after: 2m, ring_timeout: 30s}\n",
		"    callback: {attempts: 3, retry_after: 2m, ring_timeout: 30s}\n    no_agents: {action: voicemail}\n    join_empty: true\n    leave_when_empty: true\n")
	if code := s.api("POST", "/api/v1/agents/1003/login", nil, nil); code != 200 {
		t.Fatalf("login: %d", code)
	}
	if code := s.api("POST", "/api/v1/agents/1003/state", map[string]string{"state": "away", "reason": "meeting"}, nil); code != 200 {
		t.Fatalf("away: %d", code)
	}
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 12000, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 4000})
	waitFor(t, 10*time.Second, "the caller waiting in support", func() bool {
		var q queueState
		s.api("GET", "/api/v1/queues/support", nil, &q)
		return q.Waiting == 1
	})
	if code := s.api("POST", "/api/v1/agents/1003/logout", nil, nil); code != 200 {
		t.Fatalf("logout: %d", code)
	}
	caller.mustSucceed(t, 40*time.Second)
	rec := s.lastCall(t)
	if rec.Outcome != "voicemail" || rec.Queue != "support" || !rec.hasEvent("left_queue", "") {
		t.Fatalf("record %+v events %v", rec, rec.kinds())
	}
	if o := rec.details("overflow"); len(o) != 1 || !strings.Contains(o[0], "reason=no agents") {
		t.Fatalf("overflow %q", o)
	}
}

// An agent's own mailbox: 1003 calls 1004, whose phone is not registered;
// the caller hears 1004's greeting and leaves a message, which only 1004
// (and supervisors) can list.
func TestAgentMailbox(t *testing.T) {
	s := startServer(t,
		"    - {name: support, email: support@demo.example}\n",
		"    - {name: support, email: support@demo.example}\n    - {name: \"1004\", email: dave@demo.example}\n",
		"password: demo1004, queues: [support], login_on_register: true, supervisor: true}",
		"password: demo1004, queues: [support], login_on_register: true, supervisor: true, voicemail: \"1004\"}")
	caller := call(t, s, 1, "caller", callerSpec{Service: "1004", Auth: true, WaitMS: 8000, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 4000},
		"-au", "1003", "-ap", "demo1003")
	caller.mustSucceed(t, 40*time.Second)
	rec := s.lastCall(t)
	if rec.Outcome != "voicemail" || !rec.hasEvent("no_answer", "1004") || !rec.hasEvent("voicemail_left", "") {
		t.Fatalf("record %+v events %v", rec, rec.kinds())
	}
	var mine, theirs []struct {
		Mailbox string `json:"mailbox"`
	}
	s.apiAs("1004", "demo1004", "GET", "/api/v1/voicemails", nil, &mine)
	s.apiAs("1003", "demo1003", "GET", "/api/v1/voicemails", nil, &theirs)
	if len(mine) != 1 || mine[0].Mailbox != "1004" || len(theirs) != 0 {
		t.Fatalf("1004 sees %+v, 1003 sees %+v", mine, theirs)
	}
}

// A callback as a limit's action: support's max_wait offers the callback
// (after the announcement in progress); the caller confirms and keeps
// their place as a pending callback.
func TestMaxWaitOffersCallback(t *testing.T) {
	s := startServer(t,
		"    callback: {attempts: 3, retry_after: 2m, ring_timeout: 30s}\n",
		"    callback: {attempts: 3, retry_after: 2m, ring_timeout: 30s}\n    max_wait: {after: 2s, action: callback}\n")
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 10000, Then: []step{{Key: "1"}}, RemoteHangup: true})
	caller.mustSucceed(t, 40*time.Second)
	var q queueState
	if s.api("GET", "/api/v1/queues/support", nil, &q); q.Waiting != 1 || q.CallbacksPending != 1 {
		t.Fatalf("support: %+v", q)
	}
	var list struct{ Calls []callRecord }
	s.api("GET", "/api/v1/calls?limit=1", nil, &list)
	var rec callRecord
	s.api("GET", "/api/v1/calls/"+list.Calls[0].ID, nil, &rec)
	if o := rec.details("overflow"); len(o) != 1 || !strings.Contains(o[0], "reason=max wait action=callback") || !rec.hasEvent("callback_requested", "") {
		t.Fatalf("overflow %q events %v", o, rec.kinds())
	}
}
