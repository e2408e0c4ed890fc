package sip

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestSelfSignedCertificateIsCreatedOnceAndReused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "tls")
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first, created, err := LoadCertificate(certFile, keyFile, true, "127.0.0.1")
	if err != nil || !created {
		t.Fatalf("first start: created %v, err %v", created, err)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v (want mode 0600)", fi, err)
	}
	leaf, err := x509.ParseCertificate(first.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("certificate does not name the listen address: %v", err)
	}
	if err := leaf.VerifyHostname("localhost"); err != nil {
		t.Errorf("certificate does not name localhost: %v", err)
	}
	pem1, _ := os.ReadFile(certFile)

	second, created, err := LoadCertificate(certFile, keyFile, true, "127.0.0.1")
	if err != nil || created {
		t.Fatalf("second start: created %v, err %v", created, err)
	}
	pem2, _ := os.ReadFile(certFile)
	if !bytes.Equal(first.Certificate[0], second.Certificate[0]) || !bytes.Equal(pem1, pem2) {
		t.Fatal("second start served another certificate")
	}

	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadCertificate(certFile, keyFile, true, "127.0.0.1"); err == nil {
		t.Fatal("a certificate without its key was accepted")
	}
	if _, _, err := LoadCertificate(filepath.Join(dir, "none.pem"), filepath.Join(dir, "none.key"), false); err == nil {
		t.Fatal("missing configured files were accepted")
	}
}

// A trunk's certificate is verified: against the system roots (which do
// not hold a self-signed one), or only against the CA pinned for its name.
func TestTrunkCertificateIsVerified(t *testing.T) {
	dir := t.TempDir()
	cert, _, err := LoadCertificate(filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem"), true, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = LoadCertificate(filepath.Join(dir, "o.pem"), filepath.Join(dir, "ok.pem"), true, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := LoadCAs(filepath.Join(dir, "c.pem"))
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := LoadCAs(filepath.Join(dir, "o.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS(cert))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	for _, tc := range []struct {
		name   string
		pinned map[string][]*x509.Certificate
		ok     bool
	}{
		{"system roots refuse a self-signed certificate", nil, false},
		{"the pinned CA accepts it", map[string][]*x509.Certificate{"127.0.0.1": ca}, true},
		{"another pinned CA refuses it", map[string][]*x509.Certificate{"127.0.0.1": otherCA}, false},
		{"a CA pinned for another name does not apply", map[string][]*x509.Certificate{"carrier.example": ca}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := clientTLS(tc.pinned).Clone()
			conf.ServerName = "127.0.0.1" // as sipgo sets it for an IP host
			raw, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			c := tls.Client(raw, conf)
			defer c.Close()
			err = c.Handshake()
			if tc.ok != (err == nil) {
				t.Fatalf("handshake: %v (want ok %v)", err, tc.ok)
			}
		})
	}
}
