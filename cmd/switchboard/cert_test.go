package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
)

func TestCertCommand(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantErr  string   // part of the error; empty: success
		verifies []string // names and addresses the certificate is valid for
		days     int
	}{
		{name: "a name", args: []string{"--host", "pbx.example.com"}, verifies: []string{"pbx.example.com"}, days: 365},
		{name: "an address and a name, 30 days", args: []string{"--host", "127.0.0.2", "--host", "pbx.test", "--days", "30"},
			verifies: []string{"127.0.0.2", "pbx.test"}, days: 30},
		{name: "no host", args: nil, wantErr: "--host is required"},
		{name: "a URL for a host", args: []string{"--host", "https://pbx.example.com"}, wantErr: "without scheme or port"},
		{name: "a port", args: []string{"--host", "pbx.example.com:8443"}, wantErr: "without scheme or port"},
		{name: "no days", args: []string{"--host", "pbx.example.com", "--days", "0"}, wantErr: "--days 0: must be 1 to 36500"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "certs")
			var out bytes.Buffer
			err := run(context.Background(), append([]string{"cert", "--out", dir}, tc.args...), &out, &out)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error()+out.String(), tc.wantErr) {
					t.Fatalf("err %v, output %q: want %q", err, out.String(), tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			certFile, keyFile := filepath.Join(dir, httpsCertFile), filepath.Join(dir, httpsKeyFile)
			pair, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				t.Fatal(err)
			}
			leaf, _ := x509.ParseCertificate(pair.Certificate[0])
			for _, h := range tc.verifies {
				if err := leaf.VerifyHostname(h); err != nil {
					t.Errorf("not valid for %s: %v", h, err)
				}
			}
			if d := time.Until(leaf.NotAfter) - time.Duration(tc.days)*24*time.Hour; d < -time.Minute || d > time.Minute {
				t.Errorf("valid until %s, want %d days", leaf.NotAfter, tc.days)
			}
			for _, want := range []string{certFile, keyFile, "SHA-256"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
			// The printed lines are a setup that turns HTTPS on.
			_, snippet, ok := strings.Cut(out.String(), "\nserver:\n")
			if !ok {
				t.Fatalf("no setup snippet in:\n%s", out.String())
			}
			snippet, _, _ = strings.Cut("server:\n"+snippet, "\n\n")
			cfg, err := config.Parse("snippet.yaml", []byte(snippet+"\n"))
			if err != nil {
				t.Fatalf("the snippet is no setup: %v\n%s", err, snippet)
			}
			if cfg.Server.TLS.Cert != certFile || cfg.Server.TLS.Key != keyFile {
				t.Fatalf("snippet names %+v", cfg.Server.TLS)
			}
			// A second run would replace the key: it refuses.
			if err := run(context.Background(), []string{"cert", "--out", dir, "--host", "x.example"}, &out, &out); err == nil ||
				!strings.Contains(err.Error(), "exists") {
				t.Fatalf("second run over the files: %v", err)
			}
			if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("key file %v %v", fi, err)
			}
		})
	}
}
