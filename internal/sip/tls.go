package sip

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/internal/certs"
)

// TLSConfig sets up SIP over TLS.
type TLSConfig struct {
	// Listen is the host:port of the SIP over TLS listener; empty: none.
	Listen      string
	Certificate tls.Certificate
	// PinnedCAs maps a server name (a trunk's host) to the only CAs its
	// certificate may chain to; other servers are verified against the
	// system roots.
	PinnedCAs map[string][]*x509.Certificate
}

// LoadCertificate reads the SIP over TLS listener's PEM certificate and key.
// With create set and neither file present, it first makes a self-signed
// certificate for hosts (IP addresses or names; "localhost" is always
// added) valid for ten years, and writes it there — so a node's
// certificate is created at first start and the same one is served
// afterwards. created reports that it did.
func LoadCertificate(certFile, keyFile string, create bool, hosts ...string) (cert tls.Certificate, created bool, err error) {
	if create {
		_, cerr := os.Stat(certFile)
		_, kerr := os.Stat(keyFile)
		switch {
		case errors.Is(cerr, fs.ErrNotExist) && errors.Is(kerr, fs.ErrNotExist):
			if err := writeSelfSigned(certFile, keyFile, hosts); err != nil {
				return tls.Certificate{}, false, err
			}
			created = true
		case errors.Is(cerr, fs.ErrNotExist) || errors.Is(kerr, fs.ErrNotExist):
			return tls.Certificate{}, false, fmt.Errorf("sip: tls: only one of %s and %s exists; remove it to have a new pair made", certFile, keyFile)
		}
	}
	cert, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, false, fmt.Errorf("sip: tls: load %s: %w", certFile, err)
	}
	return cert, created, nil
}

// writeSelfSigned makes the SIP listener's self-signed certificate for
// hosts and localhost, its own CA so a phone or SIPp can pin it.
func writeSelfSigned(certFile, keyFile string, hosts []string) error {
	err := certs.Write(certFile, keyFile, certs.Request{Hosts: append([]string{"localhost"}, hosts...),
		CommonName: "Switchboard SIP", ValidFor: 10 * 365 * 24 * time.Hour, CA: true})
	if err != nil {
		return fmt.Errorf("sip: tls: %w", err)
	}
	return nil
}

// LoadCAs reads PEM certificates to trust instead of the system roots.
func LoadCAs(file string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("sip: tls: ca: %w", err)
	}
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("sip: tls: ca: %s: %w", file, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("sip: tls: ca: %s holds no PEM certificate", file)
	}
	return certs, nil
}

// clientTLS is the configuration of every TLS connection Switchboard opens
// (to trunks, or to a phone whose connection is gone). The chain and the
// server's name are always verified, by crypto/tls, against the system
// roots and every pinned CA; sipgo has one configuration for the whole user
// agent, so pinning is enforced afterwards, per server: one whose name is
// pinned (a trunk with tls_ca) must chain to its CAs, any other to the
// system roots.
func clientTLS(pinned map[string][]*x509.Certificate) *tls.Config {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	pools := make(map[string]*x509.CertPool, len(pinned))
	for name, cas := range pinned {
		pool := x509.NewCertPool()
		for _, c := range cas {
			pool.AddCert(c)
			roots.AddCert(c)
		}
		pools[strings.ToLower(name)] = pool
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		RootCAs:    roots,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return checkPinned(cs, pools)
		},
	}
}

// checkPinned enforces the per-server roots on a connection crypto/tls
// has verified. A server reached by name (sent as SNI) is looked up by it.
// One reached by IP address sends no name; the pins of every IP address
// its certificate is valid for apply (crypto/tls has checked it is valid
// for the one dialled).
func checkPinned(cs tls.ConnectionState, pools map[string]*x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("sip: tls: server sent no certificate")
	}
	leaf := cs.PeerCertificates[0]
	verify := func(roots *x509.CertPool, what string) error {
		opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
		for _, c := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(c)
		}
		if _, err := leaf.Verify(opts); err != nil {
			return fmt.Errorf("sip: tls: %s: %w", what, err)
		}
		return nil
	}
	if cs.ServerName != "" {
		if pool, ok := pools[strings.ToLower(cs.ServerName)]; ok {
			return verify(pool, cs.ServerName+" (pinned CA)")
		}
		return verify(nil, cs.ServerName)
	}
	pinned := false
	for host, pool := range pools {
		if net.ParseIP(host) == nil || leaf.VerifyHostname(host) != nil {
			continue
		}
		pinned = true
		if err := verify(pool, host+" (pinned CA)"); err != nil {
			return err
		}
	}
	if !pinned {
		return verify(nil, "server")
	}
	return nil
}

// serverTLS is the listener's configuration.
func serverTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
}

// listenTLS binds the SIP over TLS listener; wrap wraps its TCP listener
// (the connection caps), so a connection over a cap is closed before its
// handshake costs anything.
func listenTLS(addr string, conf *tls.Config, wrap func(net.Listener) net.Listener) (net.Listener, netip.AddrPort, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("sip: listen tls %s: %w", addr, err)
	}
	return tls.NewListener(wrap(ln), conf), ln.Addr().(*net.TCPAddr).AddrPort(), nil
}

// newTLSDialogUA builds the dialog user agent of TLS legs (log is sipgo's
// logger): its Contact says transport=tls at the TLS port (none without a
// listener), and its client picks no local address, so sipgo reuses the
// connection a phone registered over when the request goes to it, and
// dials a new one otherwise.
func newTLSDialogUA(ua *sipgo.UserAgent, host string, port int, log *slog.Logger) (*sipgo.DialogUA, error) {
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(host), sipgo.WithClientPort(port),
		sipgo.WithClientLogger(log))
	if err != nil {
		return nil, fmt.Errorf("sip: tls client: %w", err)
	}
	contact := gosip.Uri{Scheme: "sip", User: "switchboard", Host: host, Port: port, UriParams: gosip.NewParams()}
	contact.UriParams.Add("transport", "tls")
	// RewriteContact: requests in a dialog go back over the connection its
	// INVITE or answer came on (a phone over TLS rarely listens for more).
	return &sipgo.DialogUA{Client: client, ContactHDR: gosip.ContactHeader{Address: contact}, RewriteContact: true}, nil
}

// dialogUAFor is the dialog user agent for a leg over transport.
func (s *Server) dialogUAFor(transport string) *sipgo.DialogUA {
	if strings.EqualFold(transport, "tls") {
		return s.tlsDialogUA
	}
	return s.dialogUA
}

// TLSAddr is the address the SIP over TLS listener is bound to; invalid
// when TLS is off.
func (s *Server) TLSAddr() netip.AddrPort { return s.tlsAddr }
