package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name      string
		req       Request
		wantErr   string // a part of the error; empty: a certificate
		verifies  []string
		refuses   []string
		wantIPs   int
		wantNames int
	}{
		{name: "a name", req: Request{Hosts: []string{"pbx.example.com"}, ValidFor: 24 * time.Hour},
			verifies: []string{"pbx.example.com"}, refuses: []string{"other.example.com", "127.0.0.1"}, wantNames: 1},
		{name: "an address is an IP SAN", req: Request{Hosts: []string{"127.0.0.2"}, ValidFor: time.Hour},
			verifies: []string{"127.0.0.2"}, refuses: []string{"127.0.0.1", "localhost"}, wantIPs: 1},
		{name: "several, repeats and blanks dropped", req: Request{Hosts: []string{"PBX.example.com", "pbx.example.com", "", "::1", "[::1]", "10.0.0.5"}, ValidFor: time.Hour},
			verifies: []string{"pbx.example.com", "::1", "10.0.0.5"}, wantIPs: 2, wantNames: 1},
		{name: "its own CA", req: Request{Hosts: []string{"localhost"}, ValidFor: time.Hour, CA: true},
			verifies: []string{"localhost"}, wantNames: 1},
		{name: "no host", req: Request{Hosts: []string{" "}, ValidFor: time.Hour}, wantErr: "no host"},
		{name: "no validity", req: Request{Hosts: []string{"a.example"}}, wantErr: "validity 0s: must be > 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			certPEM, keyPEM, err := New(tc.req)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pair, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				t.Fatalf("certificate and key are no pair: %v", err)
			}
			if k, ok := pair.PrivateKey.(*ecdsa.PrivateKey); !ok || k.Curve != elliptic.P256() {
				t.Fatalf("key %T, want ECDSA P-256", pair.PrivateKey)
			}
			leaf, err := x509.ParseCertificate(pair.Certificate[0])
			if err != nil {
				t.Fatal(err)
			}
			if leaf.IsCA != tc.req.CA || len(leaf.IPAddresses) != tc.wantIPs || len(leaf.DNSNames) != tc.wantNames {
				t.Fatalf("CA %v, IPs %v, names %v", leaf.IsCA, leaf.IPAddresses, leaf.DNSNames)
			}
			if d := leaf.NotAfter.Sub(time.Now().Add(tc.req.ValidFor)); d < -time.Minute || d > time.Minute {
				t.Fatalf("valid until %s, want about %s from now", leaf.NotAfter, tc.req.ValidFor)
			}
			// The certificate is its own root: a client that trusts it verifies it.
			roots := x509.NewCertPool()
			roots.AddCert(leaf)
			for _, h := range tc.verifies {
				if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: h}); err != nil {
					t.Errorf("not valid for %s: %v", h, err)
				}
			}
			for _, h := range tc.refuses {
				if err := leaf.VerifyHostname(h); err == nil {
					t.Errorf("valid for %s too", h)
				}
			}
		})
	}
}

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := Write(certFile, keyFile, Request{Hosts: []string{"pbx.example.com"}, CommonName: "pbx.example.com", ValidFor: time.Hour}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file string
		mode os.FileMode
		typ  string
	}{{certFile, 0o644, "CERTIFICATE"}, {keyFile, 0o600, "PRIVATE KEY"}}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			fi, err := os.Stat(tc.file)
			if err != nil || fi.Mode().Perm() != tc.mode {
				t.Fatalf("%v, %v: want mode %o", fi, err, tc.mode)
			}
			data, _ := os.ReadFile(tc.file)
			if b, _ := pem.Decode(data); b == nil || b.Type != tc.typ {
				t.Fatalf("%s holds no %s block", tc.file, tc.typ)
			}
		})
	}
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestFingerprint(t *testing.T) {
	got := Fingerprint([]byte("abc"))
	if !strings.HasPrefix(got, "BA:78:16:BF:") || len(got) != 32*3-1 {
		t.Fatalf("fingerprint %s", got)
	}
}
