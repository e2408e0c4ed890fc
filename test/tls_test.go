package e2e

import (
	"bytes"
	"fmt"
	"io"
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
// caFile (and its IP address), sends req (LF line ends, sent as CRLF) and
// returns everything s_client printed once a final response arrived.
func sipOverTLS(t *testing.T, addr, caFile, req string) string {
	t.Helper()
	host := addr[:strings.LastIndex(addr, ":")]
	cmd := exec.Command("openssl", "s_client", "-connect", addr, "-CAfile", caFile, "-verify_return_error",
		"-verify_ip", host, "-crlf", "-ign_eof")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var out bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	defer func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		<-done
	}()
	text := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
	waitFor(t, 10*time.Second, "the TLS handshake", func() bool {
		select {
		case <-done:
			t.Fatalf("s_client exited:\n%s", text())
		default:
		}
		return strings.Contains(text(), "Verify return code")
	})
	if _, err := io.WriteString(stdin, req); err != nil {
		t.Fatalf("write to s_client: %v\n%s", err, text())
	}
	final := regexp.MustCompile(`(?s)SIP/2\.0 [2-6]\d\d .*?Content-Length: *\d+`)
	waitFor(t, 10*time.Second, "a final SIP response over TLS", func() bool { return final.MatchString(text()) })
	return text()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
