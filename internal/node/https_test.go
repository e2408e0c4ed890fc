package node_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/certs"
	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// A node with server.tls serves the API and the pages over HTTPS, every
// answer with HSTS; its HTTP port answers every request, whatever it is,
// with a 308 to the same path over HTTPS at the host the client named,
// and nothing else; the session cookie is Secure.
func TestHTTPS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "https-cert.pem"), filepath.Join(dir, "https-key.pem")
	if err := certs.Write(certFile, keyFile, certs.Request{Hosts: []string{"127.0.0.1", "pbx.example.com"}, ValidFor: time.Hour}); err != nil {
		t.Fatal(err)
	}
	n := nodetest.Start(t, nodetest.Demo(t, "  demo: true\n", fmt.Sprintf("  demo: true\n  tls: {cert: %s, key: %s}\n", certFile, keyFile)))
	if !n.HTTPSAddr().IsValid() || n.HTTPSAddr().Port() == 0 || n.HTTPSAddr().Port() == n.HTTPAddr().Port() {
		t.Fatalf("HTTPSAddr %v, HTTPAddr %v", n.HTTPSAddr(), n.HTTPAddr())
	}
	secure, plain := "https://"+n.HTTPSAddr().String(), "http://"+n.HTTPAddr().String()
	httpsPort := fmt.Sprint(n.HTTPSAddr().Port())
	client := trustingClient(t, certFile)

	tests := []struct {
		name         string
		method, url  string
		host         string // Host header; empty: the URL's
		body         string
		basic        bool
		wantCode     int
		wantHSTS     bool
		wantLocation string
		wantSecure   bool // a Set-Cookie, Secure
	}{
		{name: "health over HTTPS", method: "GET", url: secure + "/healthz", wantCode: 200, wantHSTS: true},
		{name: "the API over HTTPS", method: "GET", url: secure + "/api/v1/agents", basic: true, wantCode: 200, wantHSTS: true},
		{name: "a refusal over HTTPS has HSTS too", method: "GET", url: secure + "/api/v1/agents", wantCode: 401, wantHSTS: true},
		{name: "the agent page over HTTPS", method: "GET", url: secure + "/agent", wantCode: 200, wantHSTS: true},
		{name: "web login over HTTPS: the cookie is Secure", method: "POST", url: secure + "/api/v1/session",
			body: `{"username": "supervisor", "password": "demo-supervisor"}`, wantCode: 200, wantHSTS: true, wantSecure: true},
		{name: "plain HTTP redirects a page, query kept", method: "GET", url: plain + "/agent?tab=calls",
			wantCode: 308, wantLocation: "https://127.0.0.1:" + httpsPort + "/agent?tab=calls"},
		{name: "plain HTTP redirects to the name the client used", method: "GET", url: plain + "/wallboard", host: "pbx.example.com:" + fmt.Sprint(n.HTTPAddr().Port()),
			wantCode: 308, wantLocation: "https://pbx.example.com:" + httpsPort + "/wallboard"},
		{name: "plain HTTP redirects health too", method: "GET", url: plain + "/healthz",
			wantCode: 308, wantLocation: "https://127.0.0.1:" + httpsPort + "/healthz"},
		{name: "plain HTTP serves no API, even with credentials", method: "GET", url: plain + "/api/v1/agents", basic: true,
			wantCode: 308, wantLocation: "https://127.0.0.1:" + httpsPort + "/api/v1/agents"},
		{name: "plain HTTP logs nobody in", method: "POST", url: plain + "/api/v1/session",
			body: `{"username": "supervisor", "password": "demo-supervisor"}`, wantCode: 308, wantLocation: "https://127.0.0.1:" + httpsPort + "/api/v1/session"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.host != "" {
				req.Host = tc.host
			}
			if tc.basic {
				req.SetBasicAuth(nodetest.Admin.User, nodetest.Admin.Password)
			}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.wantCode {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.wantCode)
			}
			if got := res.Header.Get("Strict-Transport-Security"); (got == "max-age=31536000") != tc.wantHSTS || (!tc.wantHSTS && got != "") {
				t.Errorf("Strict-Transport-Security %q, want it: %v", got, tc.wantHSTS)
			}
			if got := res.Header.Get("Location"); got != tc.wantLocation {
				t.Errorf("Location %q, want %q", got, tc.wantLocation)
			}
			cookies := res.Cookies()
			if tc.wantSecure != (len(cookies) == 1 && cookies[0].Secure && cookies[0].HttpOnly) || (!tc.wantSecure && len(cookies) > 0) {
				t.Errorf("cookies %v, want one Secure: %v", cookies, tc.wantSecure)
			}
		})
	}

	// Followed by a client, the redirect keeps the method and body: a
	// login posted to the HTTP port logs in over HTTPS.
	follow := trustingClient(t, certFile)
	follow.CheckRedirect = nil
	res, err := follow.Post(plain+"/api/v1/session", "application/json",
		strings.NewReader(`{"username": "supervisor", "password": "demo-supervisor"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Request.URL.Scheme != "https" || len(res.Cookies()) != 1 || !res.Cookies()[0].Secure {
		t.Fatalf("login through the redirect: %d at %s, cookies %v", res.StatusCode, res.Request.URL, res.Cookies())
	}

	// The ready line names the HTTPS URL.
	nodetest.WaitFor(t, 5*time.Second, "the ready line", func() bool {
		log, _ := os.ReadFile(n.Log)
		return strings.Contains(string(log), `msg="switchboard ready"`)
	})
	if log, _ := os.ReadFile(n.Log); !strings.Contains(string(log), "http="+secure+" ") {
		t.Errorf("the ready line does not name %s", secure)
	}
}

// Without server.tls nothing changes: plain HTTP serves, without HSTS,
// and no HTTPS port is bound.
func TestNoHTTPSWithoutTLS(t *testing.T) {
	n := nodetest.Start(t, "")
	if n.HTTPSAddr().IsValid() {
		t.Fatalf("HTTPSAddr %v without server.tls", n.HTTPSAddr())
	}
	res, err := http.Get(n.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Strict-Transport-Security") != "" {
		t.Fatalf("health: %d, HSTS %q", res.StatusCode, res.Header.Get("Strict-Transport-Security"))
	}
}

// trustingClient trusts only the certificate in certFile and does not
// follow redirects.
func trustingClient(t *testing.T, certFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", certFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
