package webrtc

import (
	"net/netip"
	"testing"
)

func TestFromEndpoint(t *testing.T) {
	ap := netip.MustParseAddrPort
	for _, tc := range []struct {
		from, target string
		want         bool
	}{
		{"127.0.0.2:20000", "127.0.0.2:20000", true},
		{"127.0.0.1:20000", "127.0.0.2:20000", true}, // loopback answers from any of its addresses
		{"10.0.0.5:20000", "10.0.0.5:20000", true},
		{"10.0.0.6:20000", "10.0.0.5:20000", false},
		{"10.0.0.5:20002", "10.0.0.5:20000", false},
		{"10.0.0.6:20000", "0.0.0.0:20000", true},
		{"[::ffff:10.0.0.5]:20000", "10.0.0.5:20000", true},
	} {
		if got := fromEndpoint(ap(tc.from), ap(tc.target)); got != tc.want {
			t.Errorf("from %s to %s: %v", tc.from, tc.target, got)
		}
	}
	if fromEndpoint(ap("10.0.0.5:20000"), netip.AddrPort{}) {
		t.Error("a packet accepted with no call up")
	}
}
