package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"
)

const pcapDir = "/usr/share/sip-tester"

// agentPhone is a SIPp UAS registered as an agent.
type agentPhone struct {
	ext       string
	sipPort   int
	mediaPort int
	uas       *sipp
}

// registerAgent starts an agent's phone (a SIPp UAS playing scenarioFile,
// answering calls calls times) and registers it with digest auth.
func registerAgent(t *testing.T, s *server, n int, ext, scenarioFile string, calls int, extra ...string) *agentPhone {
	t.Helper()
	sp, mp := s.ports.phone(n)
	a := &agentPhone{ext: ext, sipPort: sp, mediaPort: mp}
	a.uas = runSIPp(t, "agent-"+ext, append([]string{"-sf", scenario(scenarioFile), "-p", strconv.Itoa(sp), "-mp", strconv.Itoa(mp),
		"-rtp_echo", "-m", strconv.Itoa(calls), "-timeout", "90s", "-s", ext}, extra...)...)
	register(t, s, n+20, ext, "demo"+ext, sp, 300)
	waitFor(t, 5*time.Second, "agent "+ext+" available", func() bool {
		var v struct{ State string }
		s.api("GET", "/api/v1/agents/"+ext, nil, &v)
		return v.State == "available"
	})
	return a
}

// register sends REGISTER (with digest auth) for ext from a phone port, with
// the Contact on contactPort.
func register(t *testing.T, s *server, n int, ext, password string, contactPort, expires int) {
	t.Helper()
	sp, _ := s.ports.phone(n)
	r := runSIPp(t, "register-"+ext, s.sipAddr, "-sf", scenario("register.xml"), "-p", strconv.Itoa(sp), "-m", "1", "-s", ext,
		"-au", ext, "-ap", password, "-key", "contact_port", strconv.Itoa(contactPort), "-key", "expires", strconv.Itoa(expires),
		"-timeout", "10s")
	r.mustSucceed(t, 15*time.Second)
}

// callerSpec describes what a SIPp caller does after its call is answered.
type callerSpec struct {
	Service   string // number dialled
	PreMS     int    // listen before pressing a digit
	DigitPcap string // RFC 4733 digit to press ("" for none)
	WaitMS    int    // after the digit
	TalkPcap  string // audio to send once connected ("" for none)
	TalkMS    int    // then hang up (when RemoteHangup is false)
	// RemoteHangup waits for Switchboard (or the agent) to send BYE.
	RemoteHangup bool
	// Transport t1 for TCP; "" for UDP.
	Transport string
	// Auth makes the caller an agent's phone answering a digest challenge.
	Auth bool
	// ExpectCode, when set, expects the INVITE to be refused with this code.
	ExpectCode int
	// SDP overrides the media description lines (bad SDP tests).
	SDP string
	// InfoDigit is pressed with SIP INFO (application/dtmf-relay) after PreMS.
	InfoDigit string
	// Hold puts the call on hold and back with two re-INVITEs after WaitMS.
	Hold bool
	// Then are further steps after WaitMS: a pause, then a key or audio.
	Then []step
}

// step is a pause, then a key pressed (RFC 4733: "0".."9", "pound", "star")
// or an audio pcap started.
type step struct {
	PauseMS int
	Key     string
	Pcap    string
}

const callerTemplate = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="caller">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Caller [call_number]" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:{{.From}}@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

{{.Body}}
    ]]>
  </send>
  <recv response="100" optional="true"/>
{{- if .Auth}}
  <recv response="401" auth="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-3]
      From: "Caller [call_number]" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Caller [call_number]" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 2 INVITE
      Contact: <sip:{{.From}}@[local_ip]:[local_port];transport=[transport]>
      [authentication]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

{{.Body}}
    ]]>
  </send>
  <recv response="100" optional="true"/>
{{- end}}
{{- if .ExpectCode}}
  <recv response="{{.ExpectCode}}"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-3]
      From: "Caller [call_number]" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: {{.CSeq}} ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
{{- else}}
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Caller [call_number]" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: {{.CSeq}} ACK
      Contact: <sip:{{.From}}@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
{{- if .PreMS}}
  <pause milliseconds="{{.PreMS}}"/>
{{- end}}
{{- if .DigitPcap}}
  <nop><action><exec play_pcap_audio="{{.DigitPcap}}"/></action></nop>
{{- end}}
{{- if .InfoDigit}}
  <send retrans="500">
    <![CDATA[
      INFO sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Caller [call_number]" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: {{.InfoCSeq}} INFO
      Max-Forwards: 70
      Content-Type: application/dtmf-relay
      Content-Length: [len]

      Signal={{.InfoDigit}}
      Duration=160

    ]]>
  </send>
  <recv response="200"/>
{{- end}}
{{- if .WaitMS}}
  <pause milliseconds="{{.WaitMS}}"/>
{{- end}}
{{- range .Then}}
{{- if .PauseMS}}
  <pause milliseconds="{{.PauseMS}}"/>
{{- end}}
{{- if .Key}}
  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_{{.Key}}.pcap"/></action></nop>
{{- end}}
{{- if .Pcap}}
  <nop><action><exec play_pcap_audio="{{.Pcap}}"/></action></nop>
{{- end}}
{{- end}}
{{- if .Hold}}
{{- range $i, $dir := .HoldDirs}}
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Caller [call_number]" <sip:{{$.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: {{index $.HoldCSeq $i}} INVITE
      Contact: <sip:{{$.From}}@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 {{index $.HoldCSeq $i}} IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a={{$dir}}

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200">
    <action>
      <ereg regexp="a=({{index $.HoldWant $i}})" search_in="body" check_it="true" assign_to="dir"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Caller [call_number]" <sip:{{$.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: {{index $.HoldCSeq $i}} ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="500"/>
{{- end}}
{{- end}}
{{- if .TalkPcap}}
  <nop><action><exec play_pcap_audio="{{.TalkPcap}}"/></action></nop>
{{- end}}
{{- if .RemoteHangup}}
  <recv request="BYE"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
{{- else}}
{{- if .TalkMS}}
  <pause milliseconds="{{.TalkMS}}"/>
{{- end}}
  <send retrans="500">
    <![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Caller [call_number]" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: {{.ByeCSeq}} BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
{{- end}}
{{- end}}
{{- if .Hold}}
  <Reference variables="dir"/>
{{- end}}
</scenario>
`

const defaultSDP = `      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8 0 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
`

// writeCaller renders a caller scenario into the test's output directory.
func writeCaller(t *testing.T, name string, c callerSpec) string {
	t.Helper()
	tpl := template.Must(template.New("caller").Parse(callerTemplate))
	data := struct {
		callerSpec
		From                    string
		Body                    string
		CSeq, ByeCSeq, InfoCSeq int
		HoldCSeq                []int
		HoldDirs, HoldWant      []string
	}{callerSpec: c, From: "5551234", Body: defaultSDP, CSeq: 1}
	if c.SDP != "" {
		data.Body = c.SDP
	}
	// SIPp cancels a pcap still playing when the next one starts, so a key
	// (140 ms of RFC 4733 packets) is given time to finish before the
	// audio or the next key; on a loaded machine it was cut before its end
	// packet and the IVR never heard it.
	const keyMS = 300
	// Only when audio follows: a pause while the server may already be
	// hanging up makes SIPp abort on the "unexpected" BYE.
	if c.DigitPcap != "" && data.WaitMS < keyMS && (c.TalkPcap != "" || len(c.Then) > 0) {
		data.WaitMS = keyMS
	}
	data.Then = append([]step(nil), c.Then...)
	for i := 1; i < len(data.Then); i++ {
		if data.Then[i-1].Key != "" && data.Then[i].PauseMS < keyMS {
			data.Then[i].PauseMS = keyMS
		}
	}
	if c.Auth {
		data.CSeq = 2
	}
	next := data.CSeq
	if c.InfoDigit != "" {
		next++
		data.InfoCSeq = next
	}
	if c.Hold {
		data.HoldCSeq = []int{next + 1, next + 2}
		data.HoldDirs = []string{"sendonly", "sendrecv"}
		data.HoldWant = []string{"recvonly", "sendrecv"}
		next += 2
	}
	data.ByeCSeq = next + 1
	var b strings.Builder
	if err := tpl.Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	dir := filepath.Join(outDir, strings.ReplaceAll(t.Name(), "/", "_"))
	_ = os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, name+".xml")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// call starts a SIPp caller for one call to service.
func call(t *testing.T, s *server, n int, name string, c callerSpec, extra ...string) *sipp {
	t.Helper()
	sp, mp := s.ports.phone(n)
	args := []string{s.sipAddr, "-sf", writeCaller(t, name, c), "-p", strconv.Itoa(sp), "-mp", strconv.Itoa(mp), "-m", "1",
		"-s", c.Service, "-timeout", "60s"}
	if c.Transport != "" {
		args = append(args, "-t", c.Transport)
	}
	return runSIPp(t, name, append(args, extra...)...)
}

// capture records RTP arriving on a UDP port until stopped.
type capture struct {
	path string
	cmd  *exec.Cmd
	done chan error
}

func startCapture(t *testing.T, port int) *capture {
	t.Helper()
	dir := filepath.Join(outDir, strings.ReplaceAll(t.Name(), "/", "_"))
	_ = os.MkdirAll(dir, 0o755)
	c := &capture{path: filepath.Join(dir, fmt.Sprintf("rtp-%d.pcap", port)), done: make(chan error, 1)}
	c.cmd = exec.Command("dumpcap", "-q", "-i", "lo", "-f", fmt.Sprintf("udp dst port %d", port), "-w", c.path, "-a", "duration:60")
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("dumpcap: %v", err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() { c.stop() })
	// dumpcap opens the file once it captures.
	waitFor(t, 10*time.Second, "capture started", func() bool {
		_, err := os.Stat(c.path)
		return err == nil
	})
	return c
}

func (c *capture) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
	}
}

// rtpPayloads returns the RTP payloads of a capture (UDP to port decoded as
// RTP), in order, as hex strings.
func rtpPayloads(t *testing.T, path string, port int) []string {
	t.Helper()
	out, err := exec.Command("tshark", "-r", path, "-d", fmt.Sprintf("udp.port==%d,rtp", port), "-Y", "rtp",
		"-T", "fields", "-e", "rtp.payload").Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", path, err)
	}
	var p []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line = strings.ReplaceAll(strings.TrimSpace(line), ":", ""); line != "" {
			p = append(p, line)
		}
	}
	return p
}

type rtpStream struct {
	ssrc          string
	packets, lost int
}

// rtpStreams analyses a capture with tshark: one entry per RTP stream.
func rtpStreams(t *testing.T, path string, port int) []rtpStream {
	t.Helper()
	out, err := exec.Command("tshark", "-r", path, "-d", fmt.Sprintf("udp.port==%d,rtp", port), "-q", "-z", "rtp,streams").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var streams []rtpStream
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		for i, w := range f {
			if strings.HasPrefix(w, "(") && strings.HasSuffix(w, "%)") && i >= 3 {
				pk, _ := strconv.Atoi(f[i-2])
				lost, _ := strconv.Atoi(f[i-1])
				streams = append(streams, rtpStream{ssrc: f[i-4], packets: pk, lost: lost})
				break
			}
		}
	}
	return streams
}
