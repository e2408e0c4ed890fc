package e2e

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/media"
)

// writeTonePCAP writes a pcap of RTP packets (PCMA, 20 ms) carrying a sine
// at freq for d, for SIPp's play_pcap_audio.
func writeTonePCAP(t *testing.T, freq float64, d time.Duration) string {
	t.Helper()
	pcm := make([]int16, int(d/(20*time.Millisecond))*media.FrameSamples)
	for i := range pcm {
		pcm[i] = int16(6000 * math.Sin(2*math.Pi*freq*float64(i)/media.SampleRate))
	}
	return writePCMPCAP(t, pcm, "tone.pcap")
}

// writePCMPCAP writes 8 kHz samples as a pcap of RTP packets (PCMA, 20 ms)
// for SIPp's play_pcap_audio.
func writePCMPCAP(t *testing.T, samples []int16, name string) string {
	t.Helper()
	var b bytes.Buffer
	le := binary.LittleEndian
	hdr := make([]byte, 24)
	le.PutUint32(hdr[0:], 0xa1b2c3d4)
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 65535)
	le.PutUint32(hdr[20:], 1) // Ethernet
	b.Write(hdr)
	frames := (len(samples) + media.FrameSamples - 1) / media.FrameSamples
	pcm := make([]int16, media.FrameSamples)
	for f := 0; f < frames; f++ {
		for i := range pcm {
			pcm[i] = 0
			if k := f*media.FrameSamples + i; k < len(samples) {
				pcm[i] = samples[k]
			}
		}
		payload := make([]byte, 12+media.FrameSamples)
		payload[0], payload[1] = 0x80, 8
		if f == 0 {
			payload[1] |= 0x80
		}
		binary.BigEndian.PutUint16(payload[2:], uint16(f))
		binary.BigEndian.PutUint32(payload[4:], uint32(f*media.FrameSamples))
		binary.BigEndian.PutUint32(payload[8:], 0x5eed)
		media.Encode(media.PCMA, payload[12:], pcm)
		udp := make([]byte, 8, 8+len(payload))
		binary.BigEndian.PutUint16(udp[0:], 6000)
		binary.BigEndian.PutUint16(udp[2:], 6002)
		binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
		udp = append(udp, payload...)
		ip := []byte{0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1}
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(udp)))
		eth := []byte{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x08, 0x00}
		pkt := append(append(eth, ip...), udp...)
		rec := make([]byte, 16)
		at := time.Duration(f) * 20 * time.Millisecond
		le.PutUint32(rec[0:], uint32(at/time.Second))
		le.PutUint32(rec[4:], uint32(at%time.Second/time.Microsecond))
		le.PutUint32(rec[8:], uint32(len(pkt)))
		le.PutUint32(rec[12:], uint32(len(pkt)))
		b.Write(rec)
		b.Write(pkt)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// toneAgent writes an agent scenario that answers, then plays pcap.
func toneAgent(t *testing.T, pcap string) string {
	t.Helper()
	b, err := os.ReadFile(scenario("agent_answer.xml"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), `<recv request="ACK" crlf="true"/>`,
		`<recv request="ACK" crlf="true"/>`+"\n  <nop><action><exec play_pcap_audio=\""+pcap+"\"/></action></nop>", 1)
	path := filepath.Join(t.TempDir(), "agent_tone.xml")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// goertzel is the power of freq in pcm.
func goertzel(pcm []int16, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/media.SampleRate)
	var s1, s2 float64
	for _, v := range pcm {
		s := float64(v) + k*s1 - s2
		s2, s1 = s1, s
	}
	return s1*s1 + s2*s2 - k*s1*s2
}

// The demo records support: the caller's 440 Hz tone is on the left
// channel, the agent's 1000 Hz tone on the right (the agent's phone does not
// echo: an echo of the caller would be the agent's side too). A pause through the API
// leaves silence and a marker in the file and the call's events; the
// recording is served to admins and the agent who took the call, 403 to
// other agents, and each download is logged.
func TestRecordingHasCallerLeftAgentRight(t *testing.T) {
	s := startServer(t)
	agent := tonePhone(t, s, 0, "1003", 1000, 6*time.Second)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 1000, TalkPcap: writeTonePCAP(t, 440, 6*time.Second), TalkMS: 6500})
	var id string
	waitFor(t, 15*time.Second, "1003 on the call", func() bool {
		var v struct {
			State  string `json:"state"`
			CallID string `json:"call_id"`
		}
		s.api("GET", "/api/v1/agents/1003", nil, &v)
		id = v.CallID
		return v.State == "on_call"
	})
	time.Sleep(2500 * time.Millisecond)
	if code := s.apiAs("1003", "demo1003", "POST", "/api/v1/calls/"+id+"/recording/pause", nil, nil); code != 200 {
		t.Fatalf("pause: %d", code)
	}
	time.Sleep(1500 * time.Millisecond)
	if code := s.api("POST", "/api/v1/calls/"+id+"/recording/resume", nil, nil); code != 200 {
		t.Fatalf("resume: %d", code)
	}
	caller.mustSucceed(t, 40*time.Second)
	agent.uas.mustSucceed(t, 10*time.Second)
	rec := s.lastCall(t)
	if rec.ID != id || !rec.hasEvent("recording_paused", "") || !rec.hasEvent("recording_resumed", "") {
		t.Fatalf("record %+v events %v", rec, rec.kinds())
	}
	var wav []byte
	waitFor(t, 5*time.Second, "the recording indexed", func() bool {
		return s.apiRaw("GET", "/api/v1/calls/"+id+"/recording", &wav) == 200
	})
	if code := s.apiAs("1004", "demo1004", "GET", "/api/v1/calls/"+id+"/recording", nil, nil); code != 403 {
		t.Fatalf("another agent: %d", code)
	}
	if code := s.apiAs("1003", "demo1003", "GET", "/api/v1/calls/"+id+"/recording", nil, nil); code != 200 {
		t.Fatalf("the agent who took it: %d", code)
	}
	le := binary.LittleEndian
	if string(wav[0:4]) != "RIFF" || le.Uint16(wav[22:]) != 2 || le.Uint32(wav[24:]) != 8000 || int(le.Uint32(wav[4:])) != len(wav)-8 {
		t.Fatalf("not a complete 8 kHz stereo WAV: % x", wav[:44])
	}
	n := le.Uint32(wav[40:])
	var left, right []int16
	for i := 44; i+3 < 44+int(n); i += 4 {
		left = append(left, int16(le.Uint16(wav[i:])))
		right = append(right, int16(le.Uint16(wav[i+2:])))
	}
	if !bytes.Contains(wav[44+n:], []byte("paused ")) {
		t.Fatalf("no pause marker after the audio: %q", wav[44+n:])
	}
	// Judge 200 ms windows: tone on each side where it is loud, and a
	// silent stretch of at least a second (the pause).
	const win = 1600
	var leftTone, rightTone, silent, longestSilent int
	for i := 0; i+win <= len(left); i += win {
		l, r := left[i:i+win], right[i:i+win]
		if goertzel(l, 440) > 1e9 && goertzel(l, 440) > 50*goertzel(l, 1000) {
			leftTone++
		}
		if goertzel(r, 1000) > 1e9 && goertzel(r, 1000) > 50*goertzel(r, 440) {
			rightTone++
		}
		quiet := true
		for j := range l {
			if l[j] != 0 || r[j] != 0 {
				quiet = false
				break
			}
		}
		if quiet {
			silent++
			longestSilent = max(longestSilent, silent)
		} else {
			silent = 0
		}
	}
	if leftTone < 10 || rightTone < 10 || longestSilent < 5 {
		t.Fatalf("windows of 200 ms: caller tone on the left %d, agent tone on the right %d, longest silence %d (of %d)",
			leftTone, rightTone, longestSilent, len(left)/win)
	}
	var again callRecord
	s.api("GET", "/api/v1/calls/"+id, nil, &again)
	if d := again.details("recording_downloaded"); len(d) != 2 {
		t.Fatalf("downloads logged: %q", d)
	}
}

// The agent's phone keys *1 mid-call to pause the recording and *1 again to
// resume it (the demo's record_toggle): both are events of the call, and
// the file carries the pause.
func TestAgentPhonePausesRecording(t *testing.T) {
	s := startServer(t)
	b, err := os.ReadFile(scenario("agent_answer.xml"))
	if err != nil {
		t.Fatal(err)
	}
	press := func(key string) string {
		return `  <nop><action><exec play_pcap_audio="` + pcapDir + `/dtmf_2833_` + key + `.pcap"/></action></nop>` + "\n"
	}
	keys := `<recv request="ACK" crlf="true"/>` + "\n  <pause milliseconds=\"1500\"/>\n" + press("star") + "  <pause milliseconds=\"500\"/>\n" + press("1") +
		"  <pause milliseconds=\"2000\"/>\n" + press("star") + "  <pause milliseconds=\"500\"/>\n" + press("1")
	path := filepath.Join(t.TempDir(), "agent_keys.xml")
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), `<recv request="ACK" crlf="true"/>`, keys, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	agent := registerAgent(t, s, 0, "1003", path, 1)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 500, TalkPcap: pcapDir + "/g711a.pcap", TalkMS: 7000})
	caller.mustSucceed(t, 30*time.Second)
	agent.uas.mustSucceed(t, 10*time.Second)
	rec := s.lastCall(t)
	if !rec.hasEvent("recording_paused", "") || !rec.hasEvent("recording_resumed", "") {
		t.Fatalf("events %v", rec.kinds())
	}
	var wav []byte
	waitFor(t, 5*time.Second, "the recording", func() bool { return s.apiRaw("GET", "/api/v1/calls/"+rec.ID+"/recording", &wav) == 200 })
	if !bytes.Contains(wav, []byte("paused ")) {
		t.Fatal("no pause marker in the file")
	}
}
