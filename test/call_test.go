package e2e

import (
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/examples"
	"github.com/switchboard/switchboard/internal/media"
)

type callRecord struct {
	ID          string  `json:"id"`
	Caller      string  `json:"caller"`
	Dialed      string  `json:"dialed"`
	Source      string  `json:"source"`
	Digits      string  `json:"digits"`
	IVRPath     string  `json:"ivr_path"`
	Queue       string  `json:"queue"`
	Agent       string  `json:"agent"`
	Outcome     string  `json:"outcome"`
	HangupBy    string  `json:"hangup_by"`
	Reason      string  `json:"reason"`
	ArrivedAt   string  `json:"arrived_at"`
	AnsweredAt  *string `json:"answered_at"`
	QueuedAt    *string `json:"queued_at"`
	OfferedAt   *string `json:"offered_at"`
	ConnectedAt *string `json:"connected_at"`
	EndedAt     *string `json:"ended_at"`
	WaitSeconds float64 `json:"wait_seconds"`
	TalkSeconds float64 `json:"talk_seconds"`
	RTPIn       int     `json:"rtp_packets_in"`
	RTPOut      int     `json:"rtp_packets_out"`
	Events      []struct {
		Kind   string `json:"kind"`
		Agent  string `json:"agent"`
		Queue  string `json:"queue"`
		Detail string `json:"detail"`
	} `json:"events"`
}

func (c callRecord) kinds() []string {
	var k []string
	for _, e := range c.Events {
		k = append(k, e.Kind)
	}
	return k
}

func (c callRecord) hasEvent(kind, agent string) bool {
	for _, e := range c.Events {
		if e.Kind == kind && (agent == "" || e.Agent == agent) {
			return true
		}
	}
	return false
}

// lastCall waits until the newest call record has ended and returns it with its events.
func (s *server) lastCall(t *testing.T) callRecord {
	t.Helper()
	return s.findCall(t, func(callRecord) bool { return true })
}

// lastCallWhere is findCall under another name, for readability.
func (s *server) lastCallWhere(t *testing.T, pick func(callRecord) bool) callRecord {
	t.Helper()
	return s.findCall(t, pick)
}

// liveCallOf returns the ID of the call an agent is on.
func (s *server) liveCallOf(t *testing.T, ext string) string {
	t.Helper()
	var v struct {
		CallID string `json:"call_id"`
	}
	s.api("GET", "/api/v1/agents/"+ext, nil, &v)
	if v.CallID == "" {
		t.Fatalf("agent %s is on no call", ext)
	}
	return v.CallID
}

// findCall waits until the newest call record matching pick has ended.
func (s *server) findCall(t *testing.T, pick func(callRecord) bool) callRecord {
	t.Helper()
	var rec callRecord
	waitFor(t, 15*time.Second, "the call record to end", func() bool {
		var list struct{ Calls []callRecord }
		if s.api("GET", "/api/v1/calls?limit=50", nil, &list) != 200 {
			return false
		}
		for _, c := range list.Calls {
			if !pick(c) {
				continue
			}
			if c.Outcome == "in_progress" {
				return false
			}
			s.api("GET", "/api/v1/calls/"+c.ID, nil, &rec)
			return slices.Contains(rec.kinds(), "ended")
		}
		return false
	})
	return rec
}

func TestCallAnsweredByAgent(t *testing.T) {
	s := startServer(t)
	agent := registerAgent(t, s, 0, "1001", "agent_answer.xml", 1)
	_, callerMedia := s.ports.phone(1)
	heard := startCapture(t, callerMedia)

	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 1500, DigitPcap: pcapDir + "/dtmf_2833_1.pcap",
		WaitMS: 2500, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 8000})
	caller.mustSucceed(t, 40*time.Second)
	agent.uas.mustSucceed(t, 10*time.Second)
	heard.stop()

	rec := s.lastCall(t)
	if rec.Outcome != "answered" || rec.Digits != "1" || rec.Queue != "sales" || rec.Agent != "1001" ||
		rec.Dialed != "100" || rec.Caller != "5551234" || rec.HangupBy != "caller" {
		t.Fatalf("call record %+v", rec)
	}
	if rec.AnsweredAt == nil || rec.QueuedAt == nil || rec.OfferedAt == nil || rec.ConnectedAt == nil || rec.EndedAt == nil {
		t.Fatalf("missing timestamps: %+v", rec)
	}
	if rec.WaitSeconds <= 0 || rec.WaitSeconds > 5 || rec.TalkSeconds < 5 {
		t.Fatalf("wait %.2fs talk %.2fs", rec.WaitSeconds, rec.TalkSeconds)
	}
	for _, k := range []string{"arrived", "ivr_answered", "ivr_digits", "queued", "offered", "answered", "connected", "agent_call_ended", "ended"} {
		if !slices.Contains(rec.kinds(), k) {
			t.Errorf("event %q missing from %v", k, rec.kinds())
		}
	}

	// What the caller heard: first the greeting, then the agent's audio —
	// which is the caller's own voice echoed by the agent's phone.
	got := rtpPayloads(t, heard.path, callerMedia)
	lib, err := media.LoadLibrary(examples.FS, "sounds")
	if err != nil {
		t.Fatal(err)
	}
	welcome, _ := lib.Get("welcome")
	if len(got) < 10 {
		t.Fatalf("caller received %d RTP packets", len(got))
	}
	for i := 0; i < 5; i++ {
		if want := hex.EncodeToString(welcome.Frame(media.PCMA, i)); got[i] != want {
			t.Fatalf("packet %d the caller heard is not frame %d of the greeting", i, i)
		}
	}
	spoken := rtpPayloads(t, pcapDir+"/g711a.pcap", 2006)
	said := map[string]bool{}
	for _, p := range spoken {
		said[p] = true
	}
	echoed, firstEcho := 0, -1
	for i, p := range got {
		if said[p] {
			echoed++
			if firstEcho < 0 {
				firstEcho = i
			}
		}
	}
	if echoed < len(spoken)*9/10 {
		t.Fatalf("caller heard %d of the %d packets it said back from the agent", echoed, len(spoken))
	}
	if firstEcho < 50 {
		t.Fatalf("agent audio arrived at packet %d, before the greeting could have played", firstEcho)
	}
	// Greeting, hold music and the agent's audio reach the caller as one
	// continuous stream: one SSRC, no sequence gaps.
	streams := rtpStreams(t, heard.path, callerMedia)
	if len(streams) != 1 || streams[0].lost != 0 || streams[0].packets != len(got) {
		t.Fatalf("caller received streams %+v, want one stream of %d packets with none lost", streams, len(got))
	}
}

func TestMetricsAfterACall(t *testing.T) {
	s := startServer(t)
	agent := registerAgent(t, s, 0, "1002", "agent_answer.xml", 1)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_1.pcap",
		WaitMS: 1500, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 1500})
	caller.mustSucceed(t, 30*time.Second)
	agent.uas.mustSucceed(t, 10*time.Second)
	s.lastCall(t)
	res, err := http.Get(s.http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`switchboard_calls_total{outcome="answered"} 1`,
		`switchboard_sip_requests_total{method="INVITE"} 1`,
		`switchboard_sip_requests_total{method="REGISTER"} 2`,
		`switchboard_active_calls 0`,
		`switchboard_agents{state="available"} 1`,
		`switchboard_agents{state="logged_out"} 3`,
		`switchboard_queue_waiting_calls{queue="sales"} 0`,
		`switchboard_rtp_packets_lost_total 0`,
		`go_goroutines`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !strings.Contains(string(body), "switchboard_rtp_packets_in_total") {
		t.Fatal("no RTP counters")
	}
}

func TestOptions(t *testing.T) {
	s := startServer(t)
	sp, _ := s.ports.phone(0)
	for _, transport := range []string{"u1", "t1"} {
		p := runSIPp(t, "options-"+transport, s.sipAddr, "-sf", scenario("options.xml"), "-p", itoa(sp), "-m", "1", "-t", transport, "-timeout", "10s")
		p.mustSucceed(t, 15*time.Second)
	}
}

func TestCallerAbandonsWhileWaitingWithMusic(t *testing.T) {
	// No agent registered: the caller waits with music (announcements off,
	// so music is all they hear).
	s := startServer(t, "    announce: {every: 30s, position: true, estimated_wait: true}\n    options", "    options")
	_, callerMedia := s.ports.phone(1)
	heard := startCapture(t, callerMedia)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 1000, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 6000})
	waitFor(t, 10*time.Second, "the caller to wait in support", func() bool {
		var q struct{ Waiting int }
		s.api("GET", "/api/v1/queues/support", nil, &q)
		return q.Waiting == 1
	})
	caller.mustSucceed(t, 30*time.Second)
	heard.stop()
	rec := s.lastCall(t)
	if rec.Outcome != "abandoned" || rec.Queue != "support" || rec.Agent != "" || rec.HangupBy != "caller" || rec.WaitSeconds < 4 {
		t.Fatalf("record %+v", rec)
	}
	if !rec.hasEvent("abandoned", "") || rec.hasEvent("offered", "") {
		t.Fatalf("events %v", rec.kinds())
	}
	// Music on hold played while waiting: frames of the hold music arrived.
	lib, _ := media.LoadLibrary(examples.FS, "sounds")
	music, _ := lib.Get("hold-music")
	frames := map[string]bool{}
	for i := 0; i < music.Frames(); i++ {
		frames[hex.EncodeToString(music.Frame(media.PCMA, i))] = true
	}
	n := 0
	for _, p := range rtpPayloads(t, heard.path, callerMedia) {
		if frames[p] {
			n++
		}
	}
	if n < 150 { // over 3 s of music
		t.Fatalf("caller heard %d frames of hold music", n)
	}
}

func TestNoAnswerRingsNextAgent(t *testing.T) {
	s := startServer(t, salesQueue, "  - name: sales\n    strategy: longest_idle\n    ring_timeout: 3s\n")
	slow := registerAgent(t, s, 0, "1001", "agent_noanswer.xml", 1) // idle longest: offered first
	time.Sleep(20 * time.Millisecond)
	quick := registerAgent(t, s, 2, "1002", "agent_answer.xml", 1)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_1.pcap",
		WaitMS: 6000, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 2000})
	caller.mustSucceed(t, 40*time.Second)
	slow.uas.mustSucceed(t, 10*time.Second) // it received CANCEL
	quick.uas.mustSucceed(t, 10*time.Second)
	rec := s.lastCall(t)
	if rec.Outcome != "answered" || rec.Agent != "1002" {
		t.Fatalf("record %+v", rec)
	}
	if !rec.hasEvent("offer_timeout", "1001") || !rec.hasEvent("answered", "1002") {
		t.Fatalf("events %+v", rec.Events)
	}
	if rec.WaitSeconds < 3 {
		t.Fatalf("wait %.1fs: the first agent should have rung for the 3 s ring timeout", rec.WaitSeconds)
	}
}

func TestRejectRingsNextAgent(t *testing.T) {
	s := startServer(t)
	busy := registerAgent(t, s, 0, "1001", "agent_busy.xml", 1)
	time.Sleep(20 * time.Millisecond)
	good := registerAgent(t, s, 2, "1002", "agent_answer.xml", 1)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_1.pcap",
		WaitMS: 2000, TalkMS: 1000})
	caller.mustSucceed(t, 30*time.Second)
	busy.uas.mustSucceed(t, 10*time.Second)
	good.uas.mustSucceed(t, 10*time.Second)
	rec := s.lastCall(t)
	if rec.Outcome != "answered" || rec.Agent != "1002" || !rec.hasEvent("offer_declined", "1001") {
		t.Fatalf("record %+v events %v", rec, rec.Events)
	}
	var d struct{ Detail string }
	for _, e := range rec.Events {
		if e.Kind == "offer_declined" {
			d.Detail = e.Detail
		}
	}
	if !strings.Contains(d.Detail, "486") {
		t.Fatalf("decline reason %q does not name 486", d.Detail)
	}
}

func TestCallerHangsUpWhileAgentRings(t *testing.T) {
	s := startServer(t)
	ringing := registerAgent(t, s, 0, "1001", "agent_noanswer.xml", 1)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_1.pcap", WaitMS: 3000})
	caller.mustSucceed(t, 30*time.Second)
	ringing.uas.mustSucceed(t, 10*time.Second) // got CANCEL, answered 487
	rec := s.lastCall(t)
	if rec.Outcome != "abandoned" || rec.Agent != "" || !rec.hasEvent("offered", "1001") || !rec.hasEvent("abandoned", "") {
		t.Fatalf("record %+v events %v", rec, rec.kinds())
	}
	var a struct{ State string }
	waitFor(t, 5*time.Second, "agent available again", func() bool {
		s.api("GET", "/api/v1/agents/1001", nil, &a)
		return a.State == "available"
	})
}

func TestAgentHangsUp(t *testing.T) {
	s := startServer(t)
	sp, mp := s.ports.phone(0)
	// An agent phone that answers and hangs up after 2 s.
	agent := runSIPp(t, "agent", "-sf", scenario("agent_hangup.xml"), "-p", itoa(sp), "-mp", itoa(mp), "-rtp_echo", "-m", "1", "-timeout", "60s", "-s", "1003")
	register(t, s, 20, "1003", "demo1003", sp, 300)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap", RemoteHangup: true})
	caller.mustSucceed(t, 30*time.Second)
	agent.mustSucceed(t, 10*time.Second)
	rec := s.lastCall(t)
	if rec.Outcome != "answered" || rec.Agent != "1003" || rec.Queue != "support" || rec.HangupBy != "agent" {
		t.Fatalf("record %+v", rec)
	}
}

func TestNoInputTwiceGoesToSupport(t *testing.T) {
	s := startServer(t, "timeout: 5s\n        attempts: 2", "timeout: 1s\n        attempts: 2")
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", WaitMS: 17000})
	waitFor(t, 25*time.Second, "the caller to wait in support", func() bool {
		var q struct{ Waiting int }
		s.api("GET", "/api/v1/queues/support", nil, &q)
		return q.Waiting == 1
	})
	caller.mustSucceed(t, 30*time.Second)
	rec := s.lastCall(t)
	if rec.Queue != "support" || rec.Digits != "" || rec.Outcome != "abandoned" {
		t.Fatalf("record %+v", rec)
	}
}

func TestCallOverTCP(t *testing.T) {
	s := startServer(t)
	agent := registerAgent(t, s, 0, "1004", "agent_answer.xml", 1)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 2000, TalkMS: 1000, Transport: "t1"})
	caller.mustSucceed(t, 30*time.Second)
	agent.uas.mustSucceed(t, 10*time.Second)
	if rec := s.lastCall(t); rec.Outcome != "answered" || rec.Agent != "1004" {
		t.Fatalf("record %+v", rec)
	}
}

func TestDemoSoundsAreSpeech(t *testing.T) {
	// The committed prompts are what scripts/make-sounds.sh makes: 8 kHz WAV, long enough to be speech.
	lib, err := media.LoadLibrary(examples.FS, "sounds")
	if err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(examples.FS, "sounds/*.wav")
	if len(names) < 6 {
		t.Fatalf("sounds %v", names)
	}
	if w, ok := lib.Get("welcome"); !ok || w.Frames() < 200 {
		t.Fatalf("welcome prompt missing or under 4 s")
	}
}

func TestInfoDigitAndHoldReInvite(t *testing.T) {
	s := startServer(t)
	agent := registerAgent(t, s, 0, "1003", "agent_answer.xml", 1)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 1000, InfoDigit: "2", WaitMS: 2000, Hold: true,
		TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 2000})
	caller.mustSucceed(t, 30*time.Second)
	agent.uas.mustSucceed(t, 10*time.Second)
	rec := s.lastCall(t)
	if rec.Outcome != "answered" || rec.Digits != "2" || rec.Queue != "support" || rec.Agent != "1003" {
		t.Fatalf("record %+v", rec)
	}
}

func TestExtensionStep(t *testing.T) {
	s := startServer(t,
		`options: {"1": sales, "2": support}`, `options: {"1": sales, "2": support, "3": dave}`,
		"      support:\n        type: queue\n        queue: support\n",
		"      support:\n        type: queue\n        queue: support\n      dave:\n        type: extension\n        extension: \"1004\"\n")
	agent := registerAgent(t, s, 0, "1004", "agent_answer.xml", 1)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 800, DigitPcap: pcapDir + "/dtmf_2833_3.pcap",
		WaitMS: 2000, TalkMS: 1000})
	caller.mustSucceed(t, 30*time.Second)
	agent.uas.mustSucceed(t, 10*time.Second)
	rec := s.lastCall(t)
	if rec.Outcome != "answered" || rec.Agent != "1004" || rec.Queue != "" || rec.Digits != "3" {
		t.Fatalf("record %+v", rec)
	}
	var a struct{ State string }
	waitFor(t, 5*time.Second, "1004 available after the direct call", func() bool {
		s.api("GET", "/api/v1/agents/1004", nil, &a)
		return a.State == "available"
	})
}
