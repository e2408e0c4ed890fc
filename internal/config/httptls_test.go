package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/certs"
)

func TestHTTPSSettings(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	otherCert, otherKey := filepath.Join(dir, "other.pem"), filepath.Join(dir, "other-key.pem")
	for _, p := range [][2]string{{cert, key}, {otherCert, otherKey}} {
		if err := certs.Write(p[0], p[1], certs.Request{Hosts: []string{"pbx.example.com"}, ValidFor: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(dir, "missing.pem")
	tlsYAML := func(c, k string) string { return "  tls: {cert: " + c + ", key: " + k + "}\n" }
	tests := []struct {
		name      string
		yaml      string
		wantHTTPS string   // HTTPSListenAddr; checked when valid
		wantOn    bool     // TLS.Enabled
		want      []string // substrings of the error; none: valid
	}{
		{name: "no tls: plain HTTP as before", yaml: "server:\n  http_listen: 127.0.0.1:8080\n", wantHTTPS: "127.0.0.1:8443"},
		{name: "tls on http_listen's host at 8443", yaml: "server:\n  http_listen: 10.0.0.5:80\n" + tlsYAML(cert, key),
			wantHTTPS: "10.0.0.5:8443", wantOn: true},
		{name: "tls on every address", yaml: "server:\n  http_listen: :80\n" + tlsYAML(cert, key), wantHTTPS: ":8443", wantOn: true},
		{name: "tls with its own address", yaml: "server:\n  https_listen: 127.0.0.2:443\n" + tlsYAML(cert, key),
			wantHTTPS: "127.0.0.2:443", wantOn: true},
		{name: "both on port 0 (a test's node)", yaml: "server:\n  http_listen: 127.0.0.1:0\n  https_listen: 127.0.0.1:0\n" + tlsYAML(cert, key),
			wantHTTPS: "127.0.0.1:0", wantOn: true},
		{name: "port 0 for http is port 0 for https", yaml: "server:\n  http_listen: 127.0.0.1:0\n" + tlsYAML(cert, key),
			wantHTTPS: "127.0.0.1:0", wantOn: true},
		{name: "a certificate without its key", yaml: "server:\n  tls:\n    cert: " + cert + "\n",
			want: []string{`x.yaml:2: server: tls: key: required (tls needs both cert and key)`}},
		{name: "files that are not there", yaml: "server:\n  tls:\n    cert: " + missing + "\n    key: " + key + "\n",
			want: []string{`x.yaml:3: server: tls: cert: stat ` + missing}},
		{name: "a key that is not the certificate's", yaml: "server:\n  tls:\n    cert: " + cert + "\n    key: " + otherKey + "\n",
			want: []string{`x.yaml:3: server: tls: cert and key: tls: private key does not match public key`}},
		{name: "a key in place of the certificate", yaml: "server:\n" + tlsYAML(key, key),
			want: []string{`x.yaml:2: server: tls: cert and key: tls:`}},
		{name: "https_listen without tls", yaml: "server:\n  https_listen: 127.0.0.1:8443\n",
			want: []string{`x.yaml:2: server: https_listen: set without tls: {cert, key}`}},
		{name: "https_listen no address", yaml: "server:\n" + tlsYAML(cert, key) + "  https_listen: nowhere\n",
			want: []string{`x.yaml:3: server: https_listen: address nowhere: missing port in address`}},
		{name: "https_listen on the redirect's address",
			yaml: "server:\n  http_listen: 127.0.0.1:8080\n  https_listen: 127.0.0.1:8080\n" + tlsYAML(cert, key),
			want: []string{`x.yaml:3: server: https_listen: the same address as http_listen`}},
		{name: "the demo over HTTPS beyond loopback", yaml: "server:\n  demo: true\n  https_listen: 0.0.0.0:443\n" + tlsYAML(cert, key),
			want: []string{`x.yaml:3: server: https_listen: 0.0.0.0:443 is not loopback`}},
		{name: "unknown field under tls", yaml: "server:\n  tls: {cert: " + cert + ", key: " + key + ", ca: x}\n",
			want: []string{"x.yaml", "x.yaml:2:", "field ca not found"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("x.yaml", []byte(tc.yaml))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("valid setup refused: %v", err)
				}
				if got := cfg.Server.HTTPSListenAddr(); got != tc.wantHTTPS {
					t.Errorf("HTTPSListenAddr %q, want %q", got, tc.wantHTTPS)
				}
				if cfg.Server.TLS.Enabled() != tc.wantOn {
					t.Errorf("TLS.Enabled %v, want %v", cfg.Server.TLS.Enabled(), tc.wantOn)
				}
				return
			}
			if err == nil {
				t.Fatal("invalid setup accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// A flag that moves http_listen after the file is read moves the derived
// HTTPS address with it.
func TestHTTPSListenFollowsHTTPListen(t *testing.T) {
	s := Server{HTTPListen: "127.0.0.1:8080"}
	s.HTTPListen = "192.0.2.7:80"
	if got := s.HTTPSListenAddr(); got != "192.0.2.7:8443" {
		t.Fatalf("HTTPSListenAddr %q", got)
	}
}
