package e2e

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/media"
)

// baresip (Debian's softphone) as agent 1003, headless: the aufile module
// is its microphone (a WAV of a tone), the sndfile filter writes what it
// hears (and what it sends) to WAV files, and answermode=auto answers.

// baresipNATAddr is the address baresip advertises in its SDP (its
// net_interface) while its RTP socket, bound to 0.0.0.0, sends from
// 127.0.0.1: a phone behind NAT, as the server sees it on loopback.
const baresipNATAddr = "127.0.0.2"

// baresipPhone is a running baresip.
type baresipPhone struct {
	dir            string // its config directory, also where it writes its WAVs
	rtpMin, rtpMax int
	cmd            *exec.Cmd
	mu             sync.Mutex
	out            bytes.Buffer
	done           chan struct{}
}

func (b *baresipPhone) output() string { b.mu.Lock(); defer b.mu.Unlock(); return b.out.String() }

// startBaresip runs baresip registered over TLS to the server as ext with
// the extra account parameters (e.g. ";mediaenc=srtp-mand"), the WAV mic
// as its microphone, SIP on 127.0.0.3 and RTP on a few ports of the test's
// block. Its config, output and WAVs stay in test/out/<test>/baresip.
func startBaresip(t *testing.T, s *server, ext, accountParams, mic string) *baresipPhone {
	t.Helper()
	if _, err := exec.LookPath("baresip"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("baresip not installed (the test command installs it)")
		}
		t.Skip("baresip not installed")
	}
	tlsAddr := loggedTLSAddr(t, s.logPath)
	dir := filepath.Join(outDir, strings.ReplaceAll(t.Name(), "/", "_"), "baresip")
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Phone 5's SIP ports (UDP/TCP, and TLS one above) and phone 3's media
	// block: inside the test's ports, clear of the server's RTP range.
	sipPort, _ := s.ports.phone(5)
	_, rtpMin := s.ports.phone(3)
	b := &baresipPhone{dir: dir, rtpMin: rtpMin, rtpMax: rtpMin + 3, done: make(chan struct{})}
	cfg := strings.Join([]string{
		"poll_method epoll",
		"call_local_timeout 120",
		"call_max_calls 4",
		fmt.Sprintf("sip_listen 127.0.0.3:%d", sipPort),
		"sip_cafile " + filepath.Join(s.dataDir(), "tls", "sip-cert.pem"),
		"net_interface " + baresipNATAddr,
		"audio_player aubridge,nobody",
		"audio_alert aubridge,nobody",
		"audio_source aufile," + mic,
		"ausrc_srate 8000",
		"auplay_srate 8000",
		"ausrc_channels 1",
		"auplay_channels 1",
		"audio_buffer 20-160",
		fmt.Sprintf("rtp_ports %d-%d", b.rtpMin, b.rtpMax),
		"rtcp_mux no",
		"jitter_buffer_delay 5-10",
		"module_path /usr/lib/baresip/modules",
		"module g711.so",
		"module aufile.so",
		"module aubridge.so",
		"module sndfile.so",
		"module srtp.so",
		"module_tmp uuid.so",
		"module_tmp account.so",
		"module_app menu.so",
		"snd_path " + dir,
	}, "\n") + "\n"
	account := fmt.Sprintf("<sip:%s@%s;transport=tls>;auth_pass=demo%s;answermode=auto;audio_codecs=pcmu,pcma;regint=300%s\n",
		ext, tlsAddr, ext, accountParams)
	for name, body := range map[string]string{"config": cfg, "accounts": account, "contacts": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// -s traces SIP (its SDP shows in the output); -t bounds the run.
	b.cmd = exec.Command("baresip", "-f", dir, "-s", "-t", "150")
	logf, err := os.Create(filepath.Join(dir, "baresip.out"))
	if err != nil {
		t.Fatal(err)
	}
	w := writerFunc(func(p []byte) (int, error) {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.out.Write(p)
		return logf.Write(p)
	})
	b.cmd.Stdout, b.cmd.Stderr = w, w
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("start baresip: %v", err)
	}
	go func() { _ = b.cmd.Wait(); logf.Close(); close(b.done) }()
	t.Cleanup(b.stop)
	return b
}

// stop asks baresip to quit (it unregisters and closes its files), then
// kills it if it lingers.
func (b *baresipPhone) stop() {
	select {
	case <-b.done:
		return
	default:
	}
	_ = b.cmd.Process.Signal(os.Interrupt)
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
}

// waitRegistered waits for baresip's 200 to its REGISTER over TLS and the
// agent's login that the registration makes.
func (b *baresipPhone) waitRegistered(t *testing.T, s *server, ext string) {
	t.Helper()
	waitFor(t, 20*time.Second, "baresip registered over TLS", func() bool {
		select {
		case <-b.done:
			t.Fatalf("baresip exited:\n%s", tail(b.output(), 3000))
		default:
		}
		return strings.Contains(b.output(), "{0/TLS/v4} 200 OK")
	})
	waitFor(t, 10*time.Second, "agent "+ext+" available", func() bool {
		st, _ := agentState(s, ext)
		return st == "available"
	})
}

// heardWAV returns the samples of the WAV the sndfile filter wrote of what
// baresip decoded (its "-dec.wav"), once the file is complete.
func (b *baresipPhone) heardWAV(t *testing.T) []int16 {
	t.Helper()
	var pcm []int16
	waitFor(t, 10*time.Second, "baresip's recording of what it heard", func() bool {
		files, _ := filepath.Glob(filepath.Join(b.dir, "dump-*-dec.wav"))
		if len(files) != 1 {
			return false
		}
		data, err := os.ReadFile(files[0])
		if err != nil {
			return false
		}
		var ok bool
		pcm, ok = wavSamples(data)
		return ok && len(pcm) > 0
	})
	return pcm
}

// wavSamples reads a 16-bit mono PCM WAV's samples, tolerant of extra
// chunks; false while the header is not written out.
func wavSamples(data []byte) ([]int16, bool) {
	le := binary.LittleEndian
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, false
	}
	for i := 12; i+8 <= len(data); {
		id, n := string(data[i:i+4]), int(le.Uint32(data[i+4:]))
		i += 8
		if id == "data" {
			end := min(i+n, len(data))
			pcm := make([]int16, 0, (end-i)/2)
			for j := i; j+1 < end; j += 2 {
				pcm = append(pcm, int16(le.Uint16(data[j:])))
			}
			return pcm, n > 0
		}
		i += n + n%2
	}
	return nil, false
}

// toneFrames counts the 20 ms frames of pcm where freq is loud, other is
// not, and freq holds most of the frame's energy (a pure sine of energy E
// over N samples has a Goertzel power of E·N/2; noise, such as SRTP's
// ciphertext read as G.711, spreads its energy and stays far below).
func toneFrames(pcm []int16, freq, other float64) int {
	n := 0
	for i := 0; i+media.FrameSamples <= len(pcm); i += media.FrameSamples {
		f := pcm[i : i+media.FrameSamples]
		var energy float64
		for _, v := range f {
			energy += float64(v) * float64(v)
		}
		if p := goertzel(f, freq); p > 1e8 && p > 20*goertzel(f, other) && p > 0.3*energy*float64(len(f))/2 {
			n++
		}
	}
	return n
}

// heardRTP decodes the G.711 RTP of a capture sent to port into PCM.
func heardRTP(t *testing.T, path string, port int) []int16 {
	t.Helper()
	out, err := exec.Command("tshark", "-r", path, "-d", fmt.Sprintf("udp.port==%d,rtp", port), "-Y", "rtp",
		"-T", "fields", "-e", "rtp.p_type", "-e", "rtp.payload").Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", path, err)
	}
	var pcm []int16
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		b, err := hex.DecodeString(strings.ReplaceAll(f[1], ":", ""))
		if err != nil || len(b) != media.FrameSamples {
			continue
		}
		frame := make([]int16, len(b))
		switch f[0] {
		case "0":
			media.Decode(media.PCMU, frame, b)
		case "8":
			media.Decode(media.PCMA, frame, b)
		default:
			continue
		}
		pcm = append(pcm, frame...)
	}
	return pcm
}

// phoneRTP sorts the UDP packets of a capture of the phone's RTP ports by
// where they went.
type phoneRTP struct {
	fromPhone     int // from the phone's ports, sent from 127.0.0.1
	fromElsewhere int // from the phone's ports, another source address
	toLearned     int // to the phone's ports at 127.0.0.1, its RTP's source
	toSDP         int // to the phone's ports at the address its SDP named
	// sizes counts the phone's packets by UDP payload length (172 for
	// PCMU in 20 ms plain, 182 with SRTP's 10-byte tag).
	sizes map[int]int
	// phoneTone counts the phone's packets whose payload, read as plain
	// PCMU, is its 1000 Hz tone: all of them in plain RTP, none in SRTP.
	phoneTone int
}

func (b *baresipPhone) ownPort(addr string) bool {
	i := strings.LastIndex(addr, ":")
	p, _ := strconv.Atoi(addr[i+1:])
	return p >= b.rtpMin && p <= b.rtpMax
}

// sortRTP reads a capture of the phone's RTP ports.
func (b *baresipPhone) sortRTP(t *testing.T, path string) phoneRTP {
	t.Helper()
	out, err := exec.Command("tshark", "-r", path, "-T", "fields", "-e", "ip.src", "-e", "udp.srcport",
		"-e", "ip.dst", "-e", "udp.dstport", "-e", "udp.payload").Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", path, err)
	}
	r := phoneRTP{sizes: map[int]int{}}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 5 {
			continue
		}
		src, dst := f[0]+":"+f[1], f[2]+":"+f[3]
		payload, _ := hex.DecodeString(strings.ReplaceAll(f[4], ":", ""))
		switch {
		case b.ownPort(src) && f[0] == "127.0.0.1":
			r.fromPhone++
			r.sizes[len(payload)]++
			if len(payload) >= 12+media.FrameSamples && payload[1]&0x7f == 0 {
				pcm := make([]int16, media.FrameSamples)
				media.Decode(media.PCMU, pcm, payload[12:12+media.FrameSamples])
				r.phoneTone += toneFrames(pcm, 1000, 440)
			}
		case b.ownPort(src):
			r.fromElsewhere++
		case b.ownPort(dst) && f[2] == "127.0.0.1":
			r.toLearned++
		case b.ownPort(dst) && f[2] == baresipNATAddr:
			r.toSDP++
		}
	}
	return r
}

// startPortRangeCapture captures UDP to and from the ports lo..hi.
func startPortRangeCapture(t *testing.T, name string, lo, hi int) *capture {
	t.Helper()
	dir := filepath.Join(outDir, strings.ReplaceAll(t.Name(), "/", "_"))
	_ = os.MkdirAll(dir, 0o755)
	c := &capture{path: filepath.Join(dir, name+".pcap"), done: make(chan error, 1)}
	c.cmd = exec.Command("dumpcap", "-q", "-i", "lo", "-f", fmt.Sprintf("udp portrange %d-%d", lo, hi), "-w", c.path,
		"-a", "duration:90")
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("dumpcap: %v", err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() { c.stop() })
	waitFor(t, 10*time.Second, "capture started", func() bool {
		_, err := os.Stat(c.path)
		return err == nil
	})
	return c
}

// baresipCall is what a call from a SIPp caller to baresip showed.
type baresipCall struct {
	rec         callRecord
	agentHeard  int // 20 ms frames of the caller's 440 Hz in what baresip heard
	callerHeard int // 20 ms frames of baresip's 1000 Hz in what the caller heard
	rtp         phoneRTP
}

// callBaresip has a SIPp caller over UDP dial 100 and press 2 (support),
// send 8 s of 440 Hz once connected and hang up; baresip, the one agent
// logged in, answers by itself and plays its 1000 Hz microphone.
func callBaresip(t *testing.T, s *server, phone *baresipPhone) baresipCall {
	t.Helper()
	_, callerMedia := s.ports.phone(1)
	heard := startCapture(t, callerMedia)
	wire := startPortRangeCapture(t, "baresip-rtp", phone.rtpMin, phone.rtpMax)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 1500, TalkPcap: writeTonePCAP(t, 440, 8*time.Second), TalkMS: 8500})
	waitFor(t, 20*time.Second, "1003 on the call", func() bool { st, _ := agentState(s, "1003"); return st == "on_call" })
	caller.mustSucceed(t, 45*time.Second)
	heard.stop()
	wire.stop()
	var c baresipCall
	c.rec = s.findCall(t, func(c callRecord) bool { return c.Dialed == "100" })
	c.agentHeard = toneFrames(phone.heardWAV(t), 440, 1000)
	callerPCM := heardRTP(t, heard.path, callerMedia)
	c.callerHeard = toneFrames(callerPCM, 1000, 440)
	c.rtp = phone.sortRTP(t, wire.path)
	t.Logf("baresip heard %d frames of the caller's 440 Hz; the caller heard %d frames of baresip's 1000 Hz (of %d)",
		c.agentHeard, c.callerHeard, len(callerPCM)/media.FrameSamples)
	t.Logf("baresip's RTP: %d packets from 127.0.0.1 (%d from elsewhere), payload sizes %v, %d with its tone in the clear; "+
		"the server's to it: %d to 127.0.0.1, %d to %s (the SDP's)",
		c.rtp.fromPhone, c.rtp.fromElsewhere, c.rtp.sizes, c.rtp.phoneTone, c.rtp.toLearned, c.rtp.toSDP, baresipNATAddr)
	return c
}

// check asserts what every baresip call shows: a complete record of the
// call answered by 1003, the tones both ways (8 s sent, 400 frames; a
// quarter is asked for), and the NAT handling: baresip's SDP names
// 127.0.0.2, its RTP comes from 127.0.0.1, and the server sends there.
func (c baresipCall) check(t *testing.T, phone *baresipPhone) {
	t.Helper()
	rec := c.rec
	if rec.Outcome != "answered" || rec.Agent != "1003" || rec.Queue != "support" || rec.HangupBy != "caller" ||
		rec.ConnectedAt == nil || rec.TalkSeconds <= 0 {
		t.Errorf("call record %+v, events %v", rec, rec.kinds())
	}
	if !strings.Contains(phone.output(), "Call established") {
		t.Errorf("baresip did not establish the call:\n%s", tail(phone.output(), 3000))
	}
	if c.agentHeard < 100 {
		t.Errorf("baresip heard %d frames of the caller's 440 Hz tone", c.agentHeard)
	}
	if c.callerHeard < 100 {
		t.Errorf("the caller heard %d frames of baresip's 1000 Hz tone", c.callerHeard)
	}
	if !strings.Contains(phone.output(), "c=IN IP4 "+baresipNATAddr) {
		t.Errorf("baresip's SDP does not name %s:\n%s", baresipNATAddr, tail(phone.output(), 3000))
	}
	if c.rtp.fromPhone < 100 || c.rtp.fromElsewhere != 0 {
		t.Errorf("baresip's RTP: %d packets from 127.0.0.1, %d from another address", c.rtp.fromPhone, c.rtp.fromElsewhere)
	}
	if c.rtp.toLearned < 100 || c.rtp.toSDP > c.rtp.toLearned/10 {
		t.Errorf("the server sent %d packets to baresip's source 127.0.0.1 and %d to its SDP address %s",
			c.rtp.toLearned, c.rtp.toSDP, baresipNATAddr)
	}
}

// TestBaresipAgentOverTLS: baresip registers as agent 1003 over TLS, which
// logs the agent in; a SIPp caller over UDP dials 100 and presses 2
// (support), baresip answers by itself, and the audio goes both ways: the
// caller's 440 Hz tone is in what baresip heard, baresip's 1000 Hz
// microphone in the RTP the caller received. baresip is behind NAT as the
// server sees it: its SDP names 127.0.0.2, its RTP comes from 127.0.0.1,
// and the server sends to where the RTP comes from. The call record is
// complete: answered by 1003, hung up by the caller. The media is plain
// RTP: baresip's tone can be read off the wire.
func TestBaresipAgentOverTLS(t *testing.T) {
	s := startServer(t)
	phone := startBaresip(t, s, "1003", "", toneWAV(t, 1000, 30*time.Second))
	phone.waitRegistered(t, s, "1003")
	c := callBaresip(t, s, phone)
	c.check(t, phone)
	if c.rtp.phoneTone < 100 {
		t.Errorf("baresip's plain RTP: %d packets carry its tone", c.rtp.phoneTone)
	}
}

// srtpAgent1003 is the demo's edit that makes agent 1003's media SRTP only.
var srtpAgent1003 = []string{
	`{extension: "1003", name: Carol, password: demo1003, queues: [support], login_on_register: true}`,
	`{extension: "1003", name: Carol, password: demo1003, queues: [support], login_on_register: true, srtp: required}`,
}

// TestBaresipAgentSRTPRequired: agent 1003 is configured srtp: required and
// baresip's account mediaenc=srtp-mand. The call of TestBaresipAgentOverTLS
// works the same, its media now SRTP (SDES keys over TLS): the offer to
// baresip and its answer are RTP/SAVP with a=crypto, each of baresip's
// packets carries the 10-byte tag and none shows its tone in the clear,
// while the caller over plain RTP hears it: the server decrypts and
// re-encrypts between the legs.
func TestBaresipAgentSRTPRequired(t *testing.T) {
	s := startServer(t, srtpAgent1003...)
	phone := startBaresip(t, s, "1003", ";mediaenc=srtp-mand", toneWAV(t, 1000, 30*time.Second))
	phone.waitRegistered(t, s, "1003")
	c := callBaresip(t, s, phone)
	c.check(t, phone)
	out := phone.output()
	if n := strings.Count(out, "RTP/SAVP"); n < 2 {
		t.Errorf("%d SDP lines with RTP/SAVP in baresip's SIP trace (the offer and the answer)", n)
	}
	if n := strings.Count(out, "a=crypto:"); n < 2 {
		t.Errorf("%d a=crypto lines in baresip's SIP trace (the offer and the answer)", n)
	}
	if c.rtp.phoneTone > 0 || c.rtp.sizes[12+media.FrameSamples+10] < c.rtp.fromPhone*9/10 {
		t.Errorf("baresip's RTP is not SRTP: payload sizes %v, %d packets with the tone in the clear", c.rtp.sizes, c.rtp.phoneTone)
	}
}

// TestBaresipSRTPRequiredRefusesPlainPhone: with agent 1003 srtp: required,
// a SIPp phone doing only plain RTP registers as 1003. The server offers it
// SRTP, which it refuses (488); the call goes on to agent 1004, who answers.
// The same phone calling out with a plain RTP offer gets 488.
func TestBaresipSRTPRequiredRefusesPlainPhone(t *testing.T) {
	s := startServer(t, srtpAgent1003...)
	refuses, err := filepath.Abs(filepath.Join("testdata", "agent_plain_rtp.xml"))
	if err != nil {
		t.Fatal(err)
	}
	plain := registerAgent(t, s, 0, "1003", refuses, 1)
	time.Sleep(20 * time.Millisecond) // 1003 idle longest: offered first
	other := registerAgent(t, s, 2, "1004", "agent_answer.xml", 1)
	caller := call(t, s, 1, "caller", callerSpec{Service: "100", PreMS: 500, DigitPcap: pcapDir + "/dtmf_2833_2.pcap",
		WaitMS: 3000, TalkMS: 1000})
	caller.mustSucceed(t, 40*time.Second)
	plain.uas.mustSucceed(t, 10*time.Second) // offered RTP/SAVP with a=crypto, answered 488
	other.uas.mustSucceed(t, 10*time.Second)
	rec := s.findCall(t, func(c callRecord) bool { return c.Dialed == "100" })
	if rec.Outcome != "answered" || rec.Agent != "1004" || !rec.hasEvent("offered", "1003") {
		t.Fatalf("record %+v events %+v", rec, rec.Events)
	}
	for _, e := range rec.Events {
		if e.Agent == "1003" {
			t.Logf("1003: %s %q", e.Kind, e.Detail)
			if e.Kind != "offered" && !strings.Contains(e.Detail, "488") {
				t.Errorf("1003's %s event does not name the 488: %q", e.Kind, e.Detail)
			}
		}
	}
	// 1003's phone calls 1004 offering plain RTP: refused, and recorded so.
	out := call(t, s, 3, "plain-offer", callerSpec{Service: "1004", Auth: true, ExpectCode: 488}, "-au", "1003", "-ap", "demo1003")
	out.mustSucceed(t, 20*time.Second)
	refused := s.findCall(t, func(c callRecord) bool { return c.Dialed == "1004" })
	if refused.Outcome != "rejected" || !strings.Contains(refused.Reason, "488") {
		t.Errorf("record of 1003's plain RTP call %+v", refused)
	}
}
