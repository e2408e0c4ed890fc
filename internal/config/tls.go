package config

import (
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// TLSFiles returns the certificate and key files of the SIP over TLS
// listener: the setup's, or, when it names neither, the self-signed pair
// kept in the data directory (created at first start, reused afterwards).
func (s Server) TLSFiles() (cert, key string, selfSigned bool) {
	if s.TLSCert != "" || s.TLSKey != "" {
		return s.TLSCert, s.TLSKey, false
	}
	dir := filepath.Join(s.DataDir, "tls")
	return filepath.Join(dir, "sip-cert.pem"), filepath.Join(dir, "sip-key.pem"), true
}

// validateTLS checks the SIP over TLS listener and the trunks' TLS
// settings: files named must exist, a listener needs both or neither of
// certificate and key, and a pinned CA only makes sense over tls.
func (c *Config) validateTLS(v *validator) {
	s := c.Server
	if s.SIPTLSListen != "" {
		if _, _, err := net.SplitHostPort(s.SIPTLSListen); err != nil {
			v.add("server", fmt.Sprintf("sip_tls_listen: %v", err), "server", "sip_tls_listen")
		}
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		v.add("server", "tls_cert and tls_key: set both, or neither for a self-signed certificate", "server", "tls_cert")
	}
	for _, f := range []struct{ key, path string }{{"tls_cert", s.TLSCert}, {"tls_key", s.TLSKey}} {
		if f.path == "" {
			continue
		}
		if s.SIPTLSListen == "" {
			v.add("server", f.key+": set without sip_tls_listen", "server", f.key)
		}
		if _, err := os.Stat(f.path); err != nil {
			v.add("server", fmt.Sprintf("%s: %v", f.key, err), "server", f.key)
		}
	}
	for i, t := range c.Trunks {
		o := t.Outbound
		if o == nil || o.TLSCA == "" {
			continue
		}
		what := fmt.Sprintf("trunk %q", t.Name)
		if o.Transport != "tls" {
			v.add(what, fmt.Sprintf("outbound: tls_ca: needs transport: tls (is %q)", o.Transport), "trunks", i, "outbound", "tls_ca")
		}
		data, err := os.ReadFile(o.TLSCA)
		if err != nil {
			v.add(what, fmt.Sprintf("outbound: tls_ca: %v", err), "trunks", i, "outbound", "tls_ca")
			continue
		}
		if !hasCertificate(data) {
			v.add(what, fmt.Sprintf("outbound: tls_ca: %s holds no PEM certificate", o.TLSCA), "trunks", i, "outbound", "tls_ca")
		}
	}
}

func hasCertificate(pem []byte) bool { return x509.NewCertPool().AppendCertsFromPEM(pem) }
