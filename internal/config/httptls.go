package config

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
)

// HTTPTLS is the certificate HTTPS serves the web UI and the API with:
// `server: {tls: {cert: cert.pem, key: key.pem}}` (PEM files; `switchboard
// cert` makes a self-signed pair). Set, it turns HTTPS on at
// Server.HTTPSListen, and Server.HTTPListen only redirects there. It is
// not the SIP over TLS certificate (tls_cert, tls_key).
type HTTPTLS struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Enabled reports whether the setup turns HTTPS on.
func (t HTTPTLS) Enabled() bool { return t.Cert != "" || t.Key != "" }

// DefaultHTTPSPort is the HTTPS port when https_listen is not set.
const DefaultHTTPSPort = "8443"

// HTTPSListenAddr is the host:port HTTPS listens on: https_listen, or
// http_listen's host at DefaultHTTPSPort (port 0 when http_listen asks the
// kernel for one, so a test's node never claims a fixed port). It is
// derived when asked, not at load, so a --http flag that moves
// http_listen moves HTTPS with it.
func (s Server) HTTPSListenAddr() string {
	if s.HTTPSListen != "" {
		return s.HTTPSListen
	}
	host, port, err := net.SplitHostPort(s.HTTPListen)
	if err != nil {
		return ""
	}
	if port != "0" {
		port = DefaultHTTPSPort
	}
	return net.JoinHostPort(host, port)
}

// validateHTTPS checks server.tls and server.https_listen: both files or
// neither, each readable, the two a certificate and its key; an HTTPS
// address only with tls, distinct from http_listen, and on loopback for
// the demo (whose published passwords must not be reachable).
func (c *Config) validateHTTPS(v *validator) {
	s := c.Server
	if s.HTTPSListen != "" && !s.TLS.Enabled() {
		v.add("server", "https_listen: set without tls: {cert, key}", "server", "https_listen")
	}
	if !s.TLS.Enabled() {
		return
	}
	files := []struct{ key, path string }{{"cert", s.TLS.Cert}, {"key", s.TLS.Key}}
	readable := true
	for _, f := range files {
		switch _, err := os.Stat(f.path); {
		case f.path == "":
			v.add("server", "tls: "+f.key+": required (tls needs both cert and key)", "server", "tls")
			readable = false
		case err != nil:
			v.add("server", fmt.Sprintf("tls: %s: %v", f.key, err), "server", "tls", f.key)
			readable = false
		}
	}
	if readable {
		if _, err := tls.LoadX509KeyPair(s.TLS.Cert, s.TLS.Key); err != nil {
			v.add("server", fmt.Sprintf("tls: cert and key: %v", err), "server", "tls", "cert")
		}
	}
	addr := s.HTTPSListenAddr()
	_, port, err := net.SplitHostPort(addr)
	switch {
	case s.HTTPSListen == "":
		// derived from http_listen, checked with it
	case err != nil:
		v.add("server", fmt.Sprintf("https_listen: %v", err), "server", "https_listen")
	case addr == s.HTTPListen && port != "0":
		v.add("server", "https_listen: the same address as http_listen, which redirects to it", "server", "https_listen")
	}
	if err == nil && s.Demo && !IsLoopback(addr) {
		v.add("server", fmt.Sprintf("https_listen: %s is not loopback: this setup uses the published demo passwords (demo: true)", addr),
			"server", "https_listen")
	}
}
