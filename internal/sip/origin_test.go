package sip

import (
	"net/netip"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
)

// A request's origin is the proxy's report of it only when the request
// really came from a configured proxy; the header from anyone else, or
// one that does not parse, changes nothing.
func TestOrigin(t *testing.T) {
	proxied := &Server{cfg: Config{Proxies: []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}}}
	direct := &Server{}
	cases := []struct {
		name   string
		s      *Server
		source string
		header string // "" : none
		want   string
	}{
		{"from the proxy, reported", proxied, "127.0.0.1:5060", "198.51.100.7:5062", "198.51.100.7:5062"},
		{"from the proxy over IPv6, reported", proxied, "[::1]:5060", "[2001:db8::9]:5070", "[2001:db8::9]:5070"},
		{"from the proxy, IPv4-mapped report", proxied, "127.0.0.1:5060", "[::ffff:198.51.100.7]:5062", "198.51.100.7:5062"},
		{"from the proxy without the header", proxied, "127.0.0.1:5060", "", "127.0.0.1:5060"},
		{"from the proxy, header unreadable", proxied, "127.0.0.1:5060", "somewhere", "127.0.0.1:5060"},
		{"from the proxy, header without a port", proxied, "127.0.0.1:5060", "198.51.100.7", "127.0.0.1:5060"},
		{"from elsewhere, header ignored", proxied, "203.0.113.5:5060", "198.51.100.7:5062", "203.0.113.5:5060"},
		{"no proxies configured, header ignored", direct, "127.0.0.1:5060", "198.51.100.7:5062", "127.0.0.1:5060"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := gosip.NewRequest(gosip.INVITE, gosip.Uri{Scheme: "sip", User: "100", Host: "127.0.0.2"})
			req.SetSource(tc.source)
			if tc.header != "" {
				req.AppendHeader(gosip.NewHeader(OriginHeader, tc.header))
			}
			if got := tc.s.origin(req); got != tc.want {
				t.Fatalf("origin %q, want %q", got, tc.want)
			}
		})
	}
}

// A trunk is trusted by its real address behind the proxy; the proxy's
// own address is not what decides.
func TestTrustedBehindProxy(t *testing.T) {
	s := &Server{cfg: Config{
		Proxies: []netip.Addr{netip.MustParseAddr("10.0.0.1")},
		Trusted: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")},
	}}
	req := func(source, header string) *gosip.Request {
		r := gosip.NewRequest(gosip.INVITE, gosip.Uri{Scheme: "sip", User: "100", Host: "10.0.0.2"})
		r.SetSource(source)
		if header != "" {
			r.AppendHeader(gosip.NewHeader(OriginHeader, header))
		}
		return r
	}
	if !s.trusted(s.origin(req("10.0.0.1:5060", "198.51.100.7:5060"))) {
		t.Error("the trunk behind the proxy is not trusted")
	}
	if s.trusted(s.origin(req("10.0.0.1:5060", "203.0.113.9:5060"))) {
		t.Error("a caller behind the proxy is trusted")
	}
	if s.trusted(s.origin(req("203.0.113.9:5060", "198.51.100.7:5060"))) {
		t.Error("a caller claiming the trunk's address in the header is trusted")
	}
}
