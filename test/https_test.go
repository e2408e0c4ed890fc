package e2e

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// httpsHost is the name Chromium reaches the server by. Chromium counts
// every http://127.x.y.z page as a secure context already (loopback), so
// an address would not show that HTTPS is what makes the microphone
// work: a name, mapped to 127.0.0.2 inside the browser, does —
// http://pbx.test is not a secure context, https://pbx.test is.
const httpsHost = "pbx.test"

// TestSoftphoneOverHTTPS: the server, with server.tls from `switchboard
// cert` and HTTPS on 127.0.0.2, serves the agent desktop to Chromium at
// https://pbx.test:PORT (a secure context only through HTTPS; Chromium
// trusts the self-signed certificate by its public key hash, nothing
// else), the plain HTTP port sends the browser there, and the softphone
// answers a SIPp caller with audio both ways.
func TestSoftphoneOverHTTPS(t *testing.T) {
	certDir := t.TempDir()
	cmd := exec.Command(serverBin, "cert", "--host", "127.0.0.2", "--host", httpsHost, "--out", certDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("switchboard cert: %v\n%s", err, out)
	}
	certFile, keyFile := filepath.Join(certDir, "https-cert.pem"), filepath.Join(certDir, "https-key.pem")
	leaf := readCertificate(t, certFile)
	httpsPort := 0
	s := startServerWith(t, func(p ports) []string {
		httpsPort = p.base + 3
		return []string{"  demo: true\n", fmt.Sprintf("  demo: true\n  tls: {cert: %s, key: %s}\n  https_listen: 127.0.0.2:%d\n",
			certFile, keyFile, httpsPort)}
	}, func(s *server) {
		s.http = fmt.Sprintf("https://127.0.0.2:%d", httpsPort)
		s.client = trustingClient(t, leaf)
	})

	spki := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	plainPort := s.ports.http()
	ctx := browser(t, "use-fake-ui-for-media-stream", "use-fake-device-for-media-stream",
		"use-file-for-fake-audio-capture="+toneWAV(t, 1000, 10*time.Second), "allow-loopback-in-peer-connection",
		"autoplay-policy=no-user-gesture-required",
		"ignore-certificate-errors-spki-list="+base64.StdEncoding.EncodeToString(spki[:]),
		// the name is the HTTPS listener's address, and at the HTTP
		// port the redirect listener's (the harness puts it on 127.0.0.1)
		fmt.Sprintf("host-resolver-rules=MAP %s:%d 127.0.0.1:%d, MAP %s 127.0.0.2", httpsHost, plainPort, plainPort, httpsHost))

	// The plain port redirects the browser to HTTPS at the name it used.
	want := fmt.Sprintf("https://%s:%d/agent", httpsHost, httpsPort)
	uiLogin(t, ctx, fmt.Sprintf("http://%s:%d/agent", httpsHost, plainPort), "1003", "demo1003")
	type pageState struct {
		URL    string `json:"url"`
		Secure bool   `json:"secure"`
		Mic    bool   `json:"mic"`
	}
	page, err := chromedp.Run(ctx, chromedp.Evaluate[pageState](
		`({url: location.href, secure: window.isSecureContext, mic: !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)})`))
	if err != nil {
		t.Fatal(err)
	}
	if page.URL != want || !page.Secure || !page.Mic {
		t.Fatalf("the agent desktop at %s: secure context %v, getUserMedia %v; want %s, secure, with a microphone", page.URL, page.Secure, page.Mic, want)
	}
	softphoneAnswers(t, s, ctx, "agent-softphone-https.png")
}

// readCertificate reads the first PEM certificate of file.
func readCertificate(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		t.Fatalf("%s holds no PEM certificate", file)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// trustingClient is an HTTP client that trusts only cert.
func trustingClient(t *testing.T, cert *x509.Certificate) *http.Client {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 15 * time.Second}
}
