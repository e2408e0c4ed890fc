package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// SIP over TLS is tested with OpenSSL's s_client as the peer: it checks the
// certificate against the one the server made in its data directory, and
// carries SIP typed on its stdin (SIPp here is built without TLS).

// TestTLSOptionsOverOpenSSL: the demo, started with --sip as the harness
// does, listens for TLS on a free port it logs; s_client verifies the
// self-signed certificate and an OPTIONS over TLS is answered 200.
func TestTLSOptionsOverOpenSSL(t *testing.T) {
	requireOpenSSL(t)
	s := startServer(t)
	addr := loggedTLSAddr(t, s.logPath)
	cert := filepath.Join(s.dataDir(), "tls", "sip-cert.pem")
	out := sipOverTLS(t, addr, cert, optionsRequest(addr))
	for _, want := range []string{"Verify return code: 0 (ok)", "Switchboard SIP", "SIP/2.0 200 OK", "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS"} {
		if !strings.Contains(out, want) {
			t.Errorf("s_client output lacks %q:\n%s", want, out)
		}
	}
}

// TestTLSFlagAndCertificateReuse: --sip-tls sets the TLS address; the
// certificate made at first start is the one served after a restart.
func TestTLSFlagAndCertificateReuse(t *testing.T) {
	requireOpenSSL(t)
	p := newPorts(t)
	data := filepath.Join(t.TempDir(), "data")
	tlsAddr := fmt.Sprintf("127.0.0.1:%d", p.base+2)
	cert := filepath.Join(data, "tls", "sip-cert.pem")
	var first []byte
	for run := 1; run <= 2; run++ {
		stop := startDemoWithTLSFlag(t, p, data, tlsAddr, run)
		out := sipOverTLS(t, tlsAddr, cert, optionsRequest(tlsAddr))
		if !strings.Contains(out, "Verify return code: 0 (ok)") || !strings.Contains(out, "SIP/2.0 200 OK") {
			t.Fatalf("run %d: s_client at %s:\n%s", run, tlsAddr, out)
		}
		pem, err := os.ReadFile(cert)
		if err != nil {
			t.Fatal(err)
		}
		if run == 1 {
			first = pem
		} else if !bytes.Equal(first, pem) {
			t.Fatal("the restarted server made a new certificate")
		}
		stop()
	}
}

// TestTLSCallIntoIVR: a caller over TLS (from a trunk's address, so
// without credentials) dials the IVR; the INVITE is answered 200 with SDP
// over the same connection, the IVR's prompt arrives over RTP, and the
// caller's BYE ends the call.
func TestTLSCallIntoIVR(t *testing.T) {
	requireOpenSSL(t)
	s := startServer(t)
	addr := loggedTLSAddr(t, s.logPath)
	p := openTLS(t, addr, filepath.Join(s.dataDir(), "tls", "sip-cert.pem"))
	_, media := s.ports.phone(1)
	rtp, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", media))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rtp.Close() })
	body := fmt.Sprintf("v=0\no=tls 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n"+
		"m=audio %d RTP/AVP 0 101\na=rtpmap:0 PCMU/8000\na=rtpmap:101 telephone-event/8000\na=fmtp:101 0-16\na=sendrecv\n", media)
	crlfLen := len(body) + strings.Count(body, "\n") // s_client -crlf sends each LF as CRLF
	callID := fmt.Sprintf("tls-call-%d@127.0.0.1", time.Now().UnixNano())
	dialog := func(method string, cseq int, to string) string {
		return fmt.Sprintf("%[1]s sip:100@%[2]s;transport=tls SIP/2.0\n"+
			"Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-%[1]s-%[3]d\n"+
			"From: \"TLS caller\" <sip:5551234@127.0.0.1>;tag=tlscaller\n"+
			"To: %[4]s\n"+
			"Call-ID: %[5]s\n"+
			"CSeq: %[3]d %[1]s\n"+
			"Contact: <sip:5551234@127.0.0.1:5999;transport=tls>\n"+
			"Max-Forwards: 70\n", method, addr, cseq, to, callID)
	}
	p.send(dialog("INVITE", 1, "<sip:100@"+addr+">") + "Content-Type: application/sdp\n" +
		fmt.Sprintf("Content-Length: %d\n\n", crlfLen) + body)
	m := p.await("200 OK to the INVITE over TLS", regexp.MustCompile(`(?s)SIP/2\.0 200 OK\r?\n(.*?)\r?\n\r?\n`))
	answer := m[1]
	if !strings.Contains(answer, "CSeq: 1 INVITE") || !strings.Contains(answer, "application/sdp") {
		t.Fatalf("200 is not the INVITE's answer with SDP:\n%s", answer)
	}
	toTag := regexp.MustCompile(`(?m)^To: (.*)$`).FindStringSubmatch(answer)
	if toTag == nil || !strings.Contains(toTag[1], "tag=") {
		t.Fatalf("200 has no To tag:\n%s", answer)
	}
	if c := regexp.MustCompile(`(?m)^Contact: (.*)$`).FindStringSubmatch(answer); c != nil {
		t.Logf("answer Contact: %s", strings.TrimSpace(c[1]))
	}
	to := strings.TrimSpace(toTag[1])
	p.send(dialog("ACK", 1, to) + "Content-Length: 0\n\n")
	// The IVR's prompt arrives: the call is up.
	buf := make([]byte, 1500)
	for got := 0; got < 10; got++ {
		_ = rtp.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := rtp.ReadFrom(buf); err != nil {
			t.Fatalf("RTP from the IVR: %d packets, then %v", got, err)
		}
	}
	p.send(dialog("BYE", 2, to) + "Content-Length: 0\n\n")
	p.await("200 OK to the BYE over TLS", regexp.MustCompile(`SIP/2\.0 200 OK(?:\r?\n[^\r\n]+)*?\r?\nCSeq: 2 BYE`))
	rec := s.findCall(t, func(c callRecord) bool { return c.Dialed == "100" && c.Caller == "5551234" })
	if rec.HangupBy != "caller" {
		t.Errorf("call record %+v: want hung up by the caller", rec)
	}
}

func requireOpenSSL(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("openssl not installed")
		}
		t.Skip("openssl not installed")
	}
}

// startDemoWithTLSFlag runs the built-in demo with --sip-tls on data and
// returns a function that stops it (SIGINT, bounded wait).
func startDemoWithTLSFlag(t *testing.T, p ports, data, tlsAddr string, run int) (stop func()) {
	t.Helper()
	logPath := filepath.Join(outDir, fmt.Sprintf("%s_%d.server.log", strings.ReplaceAll(t.Name(), "/", "_"), run))
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	httpURL := fmt.Sprintf("http://127.0.0.1:%d", p.http())
	cmd := exec.Command(serverBin, "serve", "--sip", fmt.Sprintf("127.0.0.1:%d", p.sip()), "--sip-tls", tlsAddr,
		"--http", fmt.Sprintf("127.0.0.1:%d", p.http()), "--data", data, "--log-level", "debug")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("server exited with %v; log %s", err, logPath)
				}
			case <-time.After(15 * time.Second):
				_ = cmd.Process.Kill()
				t.Errorf("server did not stop within 15s; log %s", logPath)
			}
		})
	}
	t.Cleanup(stop)
	waitFor(t, 20*time.Second, "server healthy", func() bool {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("server exited at start: %v; log %s", err, logPath)
		default:
		}
		res, err := http.Get(httpURL + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	if got := loggedTLSAddr(t, logPath); got != tlsAddr {
		t.Fatalf("TLS bound at %s, want %s", got, tlsAddr)
	}
	return stop
}

var tlsAddrLine = regexp.MustCompile(`msg="sip listening".* tls_addr=(\S+)`)

// loggedTLSAddr reads the TLS address from the server's "sip listening" line.
func loggedTLSAddr(t *testing.T, logPath string) string {
	t.Helper()
	var addr string
	waitFor(t, 10*time.Second, "the TLS address in the server log", func() bool {
		data, _ := os.ReadFile(logPath)
		if m := tlsAddrLine.FindSubmatch(data); m != nil {
			addr = string(m[1])
			return true
		}
		return false
	})
	return addr
}

func optionsRequest(addr string) string {
	return fmt.Sprintf("OPTIONS sip:%[1]s;transport=tls SIP/2.0\n"+
		"Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-tls-%[2]d\n"+
		"From: <sip:probe@127.0.0.1>;tag=tls%[2]d\n"+
		"To: <sip:%[1]s>\n"+
		"Call-ID: tls-options-%[2]d@127.0.0.1\n"+
		"CSeq: 1 OPTIONS\n"+
		"Max-Forwards: 70\n"+
		"Content-Length: 0\n\n", addr, time.Now().UnixNano())
}

// sipOverTLS connects with openssl s_client, verifying the server against
// caFile (and its IP address), sends req and returns everything s_client
// printed once a final response arrived.
func sipOverTLS(t *testing.T, addr, caFile, req string) string {
	t.Helper()
	p := openTLS(t, addr, caFile)
	p.send(req)
	p.await("a final SIP response over TLS", regexp.MustCompile(`(?s)SIP/2\.0 [2-6]\d\d .*?Content-Length: *\d+`))
	return p.text()
}

// tlsPeer is an openssl s_client connection carrying SIP typed on its
// stdin (LF line ends, sent as CRLF).
type tlsPeer struct {
	t     *testing.T
	stdin io.WriteCloser
	mu    sync.Mutex
	out   bytes.Buffer
	done  chan struct{}
}

// openTLS connects, verifying the server against caFile and its IP
// address, and waits for the handshake; Cleanup ends s_client.
func openTLS(t *testing.T, addr, caFile string) *tlsPeer {
	t.Helper()
	host := addr[:strings.LastIndex(addr, ":")]
	cmd := exec.Command("openssl", "s_client", "-connect", addr, "-CAfile", caFile, "-verify_return_error",
		"-verify_ip", host, "-crlf", "-ign_eof")
	p := &tlsPeer{t: t, done: make(chan struct{})}
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	w := writerFunc(func(b []byte) (int, error) { p.mu.Lock(); defer p.mu.Unlock(); return p.out.Write(b) })
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stdin.Close()
		_ = cmd.Process.Kill()
		<-p.done
	})
	p.await("the TLS handshake", regexp.MustCompile(`Verify return code`))
	return p
}

func (p *tlsPeer) text() string { p.mu.Lock(); defer p.mu.Unlock(); return p.out.String() }

func (p *tlsPeer) send(msg string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, msg); err != nil {
		p.t.Fatalf("write to s_client: %v\n%s", err, p.text())
	}
}

// await waits until re matches what s_client printed and returns the match.
func (p *tlsPeer) await(what string, re *regexp.Regexp) []string {
	p.t.Helper()
	var m []string
	waitFor(p.t, 10*time.Second, what, func() bool {
		select {
		case <-p.done:
			p.t.Fatalf("s_client exited:\n%s", p.text())
		default:
		}
		m = re.FindStringSubmatch(p.text())
		return m != nil
	})
	return m
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
