package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/api"
	"github.com/switchboard/switchboard/internal/cluster"
)

// strictTransport is the HSTS policy every HTTPS response carries: a
// browser that has seen it over a valid connection uses only HTTPS for
// the host for a year. Plain HTTP never sends it (RFC 6797 §7.2).
const strictTransport = "max-age=31536000"

// buildHTTPS turns HTTPS on when the setup has server.tls: it loads the
// certificate, binds HTTPS (server.https_listen) for the API and the web
// pages, and makes the HTTP listener answer every request with a redirect
// there. Without server.tls nothing changes.
func (n *Node) buildHTTPS() error {
	s := n.cfg.Server
	if !s.TLS.Enabled() {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(s.TLS.Cert, s.TLS.Key)
	if err != nil {
		return fmt.Errorf("server.tls: load %s: %w", s.TLS.Cert, err)
	}
	addr := s.HTTPSListenAddr()
	n.httpsLn, err = net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen https %s: %w", addr, err)
	}
	n.onClose(func() { n.httpsLn.Close() })
	n.httpsSrv = &http.Server{
		Handler:           hsts(n.api),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}},
		// Failed handshakes (a browser that does not trust a self-signed
		// certificate yet, scanners) are routine: debug lines, not stderr.
		ErrorLog: slog.NewLogLogger(n.log.With("listener", "https").Handler(), slog.LevelDebug),
	}
	redirect := redirectToHTTPS(n.HTTPSAddr().Port())
	n.httpSrv.Handler = redirect
	if n.acd != nil {
		// The nodes' calls to each other stay on the HTTP address they
		// advertise (authenticated by the cluster's key, not by TLS): their
		// own endpoints, and the API requests one node forwards to another
		// (which the API refuses without the key).
		n.httpSrv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, cluster.PathPrefix) || api.IsForwarded(r) {
				n.api.ServeHTTP(w, r)
				return
			}
			redirect.ServeHTTP(w, r)
		})
	}
	n.log.Info("https on; http only redirects to it", "https", n.webURL(), "http", n.HTTPAddr().String())
	return nil
}

// serveHTTPS serves HTTPS until the server is shut down; requests run
// under base, which shutdown cancels (it ends the event streams).
func (n *Node) serveHTTPS(base context.Context) error {
	n.httpsSrv.BaseContext = func(net.Listener) context.Context { return base }
	if err := n.httpsSrv.ServeTLS(n.httpsLn, "", ""); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// httpServers are the node's HTTP servers, for shutdown: the HTTP one and,
// when on, HTTPS.
func (n *Node) httpServers() []*http.Server {
	if n.httpsSrv == nil {
		return []*http.Server{n.httpSrv}
	}
	return []*http.Server{n.httpsSrv, n.httpSrv}
}

// webURL is where the web pages and the API are served: HTTPS when on.
func (n *Node) webURL() string {
	if a := n.HTTPSAddr(); a.IsValid() {
		return "https://" + a.String()
	}
	return "http://" + n.HTTPAddr().String()
}

// hsts adds the HSTS header to every response of h (served over HTTPS).
func hsts(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", strictTransport)
		h.ServeHTTP(w, r)
	})
}

// redirectToHTTPS answers every request with 308 (method and body kept)
// to the same path and query over HTTPS on port, at the host name the
// client used (its Host header): a server reached as pbx.example.com or
// by its address sends the browser back to the same name, which its
// certificate names. Nothing else is served over plain HTTP.
func redirectToHTTPS(port uint16) http.Handler {
	p := strconv.Itoa(int(port))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if host == "" { // HTTP/1.0 without Host: the address the client reached
			if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
				host, _, _ = net.SplitHostPort(a.String())
			}
		}
		to := url.URL{Scheme: "https", Host: net.JoinHostPort(host, p), Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
		http.Redirect(w, r, to.String(), http.StatusPermanentRedirect)
	})
}
