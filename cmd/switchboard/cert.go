package main

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/certs"
)

const certUsage = `usage: switchboard cert --host NAME|IP [--host ...] [--out DIR] [--days N]`

// Files `switchboard cert` writes in --out; the names say what they are
// for (SIP over TLS keeps its own sip-cert.pem in the data directory).
const (
	httpsCertFile = "https-cert.pem"
	httpsKeyFile  = "https-key.pem"
)

// hostList is a repeatable --host.
type hostList []string

func (h *hostList) String() string { return strings.Join(*h, ",") }

func (h *hostList) Set(v string) error {
	v = strings.TrimSpace(v)
	if err := checkCertHost(v); err != nil {
		return err
	}
	*h = append(*h, v)
	return nil
}

// checkCertHost accepts a host name or an IP address: what a browser puts
// in the address bar between the scheme and the port.
func checkCertHost(h string) error {
	if net.ParseIP(h) != nil {
		return nil
	}
	if h == "" || strings.ContainsAny(h, ":/ []@") {
		return fmt.Errorf("%q: want a host name or an IP address, without scheme or port", h)
	}
	return nil
}

// certCmd writes a self-signed certificate and key for HTTPS and prints
// where, with the setup lines that turn HTTPS on with them.
func certCmd(args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("cert", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var hosts hostList
	flags.Var(&hosts, "host", "a name or IP address the certificate is for (repeat for several)")
	out := flags.String("out", ".", "directory the certificate and key are written to")
	days := flags.Int("days", 365, "days the certificate is valid")
	if err := flags.Parse(args); err != nil {
		return err
	}
	switch {
	case flags.NArg() > 0:
		return fmt.Errorf("cert: unexpected %q\n%s", flags.Arg(0), certUsage)
	case len(hosts) == 0:
		return errors.New("cert: --host is required\n" + certUsage)
	case *days < 1 || *days > 36500:
		return fmt.Errorf("cert: --days %d: must be 1 to 36500", *days)
	}
	dir, err := filepath.Abs(*out)
	if err != nil {
		return fmt.Errorf("cert: --out: %w", err)
	}
	certFile, keyFile := filepath.Join(dir, httpsCertFile), filepath.Join(dir, httpsKeyFile)
	for _, f := range []string{certFile, keyFile} {
		if _, err := os.Stat(f); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cert: %s exists (or cannot be checked): remove it or choose another --out", f)
		}
	}
	req := certs.Request{Hosts: hosts, CommonName: hosts[0], ValidFor: time.Duration(*days) * 24 * time.Hour}
	if err := certs.Write(certFile, keyFile, req); err != nil {
		return fmt.Errorf("cert: %w", err)
	}
	data, err := os.ReadFile(certFile)
	if err != nil {
		return fmt.Errorf("cert: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return fmt.Errorf("cert: %s holds no PEM certificate", certFile)
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return fmt.Errorf("cert: %s: %w", certFile, err)
	}
	fmt.Fprintf(stdout, `certificate  %s
key          %s (mode 0600: keep it private)
for          %s
valid until  %s
SHA-256      %s

Turn HTTPS on with these lines in the server section of the setup:

server:
  tls:
    cert: %s
    key: %s

Browsers warn about a self-signed certificate until it is trusted (import
%s, or compare the SHA-256 fingerprint above and accept it).
`, certFile, keyFile, strings.Join(hosts, ", "), leaf.NotAfter.UTC().Format(time.RFC3339), certs.Fingerprint(leaf.Raw),
		yamlPath(certFile), yamlPath(keyFile), httpsCertFile)
	return nil
}

// yamlPath quotes a path for the snippet when YAML would not read it as
// a plain string.
func yamlPath(p string) string {
	if strings.ContainsAny(p, ` :#'"{}[],&*!|>%@`+"`") {
		return fmt.Sprintf("%q", p)
	}
	return p
}
