// Package certs makes self-signed TLS certificates: an ECDSA P-256 key and
// a certificate naming the hosts it serves, written as PEM files. SIP over
// TLS makes one at first start; `switchboard cert` makes one for HTTPS. It
// knows nothing of who serves the certificate or how.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Request describes a self-signed certificate.
type Request struct {
	// Hosts are the names and addresses the certificate is valid for:
	// an IP address becomes an IP SAN, anything else a DNS SAN.
	Hosts []string
	// CommonName is the subject's name, shown by tools; clients check the
	// SANs, not this.
	CommonName string
	// ValidFor is how long the certificate is valid from now.
	ValidFor time.Duration
	// CA marks the certificate as its own CA, so a peer (a phone, SIPp)
	// can pin it as the CA it trusts. Browsers refuse a CA certificate as
	// a server's own, so HTTPS certificates leave it unset.
	CA bool
}

// ErrNoHosts is returned for a request that names no host.
var ErrNoHosts = errors.New("certs: no host to name in the certificate")

// New makes a key and a self-signed certificate for r, both PEM encoded
// (the key as PKCS #8).
func New(r Request) (certPEM, keyPEM []byte, err error) {
	ips, names := sans(r.Hosts)
	if len(ips)+len(names) == 0 {
		return nil, nil, ErrNoHosts
	}
	if r.ValidFor <= 0 {
		return nil, nil, fmt.Errorf("certs: validity %s: must be > 0", r.ValidFor)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("certs: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: r.CommonName, Organization: []string{"Switchboard (self-signed)"}},
		NotBefore:             now.Add(-time.Hour), // a client whose clock is a little behind accepts it too
		NotAfter:              now.Add(r.ValidFor),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  r.CA,
		IPAddresses:           ips,
		DNSNames:              names,
	}
	if r.CA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// sans splits hosts into IP and DNS SANs, dropping empty and repeated ones.
func sans(hosts []string) (ips []net.IP, names []string) {
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if ip := net.ParseIP(strings.Trim(h, "[]")); ip != nil {
			if !containsIP(ips, ip) {
				ips = append(ips, ip)
			}
		} else if h != "" && !containsFold(names, h) {
			names = append(names, h)
		}
	}
	return ips, names
}

// Write makes a certificate for r and writes it and its key (mode 0600)
// to certFile and keyFile, creating their directories. The key is written
// first and the certificate last, each by rename, so a crash leaves no
// certificate without its key.
func Write(certFile, keyFile string, r Request) error {
	certPEM, keyPEM, err := New(r)
	if err != nil {
		return err
	}
	for _, f := range []string{certFile, keyFile} {
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			return fmt.Errorf("certs: %w", err)
		}
	}
	if err := writeFileAtomic(keyFile, keyPEM, 0o600); err != nil {
		return err
	}
	return writeFileAtomic(certFile, certPEM, 0o644)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	return nil
}

// Fingerprint is the SHA-256 of a certificate's DER bytes, as the
// colon-separated hex browsers show in their certificate viewers.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

func containsIP(list []net.IP, ip net.IP) bool {
	for _, x := range list {
		if x.Equal(ip) {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
