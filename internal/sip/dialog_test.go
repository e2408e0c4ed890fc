package sip

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
)

// inDialogRequest builds a request as the peer sends it in a dialog: From
// carries the peer's tag, To ours; "" leaves a tag (or the Call-ID) out.
func inDialogRequest(callID, fromTag, toTag, source string) *gosip.Request {
	req := gosip.NewRequest(gosip.BYE, gosip.Uri{Scheme: "sip", User: "switchboard", Host: "127.0.0.1", Port: 5060})
	if callID != "" {
		cid := gosip.CallIDHeader(callID)
		req.AppendHeader(&cid)
	}
	from := &gosip.FromHeader{Address: gosip.Uri{Scheme: "sip", User: "peer", Host: "192.0.2.10"}, Params: gosip.NewParams()}
	if fromTag != "" {
		from.Params.Add("tag", fromTag)
	}
	to := &gosip.ToHeader{Address: gosip.Uri{Scheme: "sip", User: "100", Host: "127.0.0.1"}, Params: gosip.NewParams()}
	if toTag != "" {
		to.Params.Add("tag", toTag)
	}
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.SetSource(source)
	return req
}

func TestDialogMatch(t *testing.T) {
	d := &dialogID{callID: "call-1@192.0.2.10", local: "ours", remote: "theirs",
		peers: peerAddrs("192.0.2.10:5060", "[2001:db8::7]", "proxy.example.net")}
	cases := []struct {
		name                   string
		callID, fromTag, toTag string
		source                 string
		want                   error
	}{
		{"the peer, tags the right way round", "call-1@192.0.2.10", "theirs", "ours", "192.0.2.10:5060", nil},
		{"the peer from another port", "call-1@192.0.2.10", "theirs", "ours", "192.0.2.10:40123", nil},
		{"the peer's Contact address, IPv6", "call-1@192.0.2.10", "theirs", "ours", "[2001:db8::7]:5060", nil},
		{"IPv4-mapped source", "call-1@192.0.2.10", "theirs", "ours", "[::ffff:192.0.2.10]:5060", nil},
		{"tags swapped", "call-1@192.0.2.10", "ours", "theirs", "192.0.2.10:5060", errForeignDialog},
		{"wrong To tag", "call-1@192.0.2.10", "theirs", "guess", "192.0.2.10:5060", errForeignDialog},
		{"wrong From tag", "call-1@192.0.2.10", "guess", "ours", "192.0.2.10:5060", errForeignDialog},
		{"no To tag", "call-1@192.0.2.10", "theirs", "", "192.0.2.10:5060", errForeignDialog},
		{"no From tag", "call-1@192.0.2.10", "", "ours", "192.0.2.10:5060", errForeignDialog},
		{"other Call-ID", "call-2@192.0.2.10", "theirs", "ours", "192.0.2.10:5060", errForeignDialog},
		{"no Call-ID", "", "theirs", "ours", "192.0.2.10:5060", errForeignDialog},
		{"right dialog, another address", "call-1@192.0.2.10", "theirs", "ours", "127.0.0.9:5060", errForeignSource},
		{"right dialog, a neighbour of the peer", "call-1@192.0.2.10", "theirs", "ours", "192.0.2.11:5060", errForeignSource},
		{"right dialog, unreadable source", "call-1@192.0.2.10", "theirs", "ours", "proxy.example.net:5060", errForeignSource},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := d.match(inDialogRequest(tc.callID, tc.fromTag, tc.toTag, tc.source))
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("match: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDialogWithoutLocalTagMatchesNothing(t *testing.T) {
	d := &dialogID{callID: "c", remote: "theirs", peers: peerAddrs("192.0.2.10:5060")}
	if err := d.match(inDialogRequest("c", "theirs", "", "192.0.2.10:5060")); !errors.Is(err, errForeignDialog) {
		t.Fatalf("match: %v, want %v", err, errForeignDialog)
	}
}

func TestPeerAddrs(t *testing.T) {
	got := peerAddrs("192.0.2.10:5060", "192.0.2.10", "[2001:db8::7]", "2001:db8::8", "pbx.example.net", "", "[::ffff:192.0.2.12]:5060")
	want := []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::7"),
		netip.MustParseAddr("2001:db8::8"), netip.MustParseAddr("192.0.2.12")}
	if !slices.Equal(got, want) {
		t.Fatalf("peerAddrs: %v, want %v", got, want)
	}
}
