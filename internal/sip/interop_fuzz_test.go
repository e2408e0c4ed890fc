package sip

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseReplaces: any Replaces value is read or refused with an error,
// and what is read names a Call-ID and both tags.
func FuzzParseReplaces(f *testing.F) {
	for _, s := range []string{
		"abc@host;to-tag=1;from-tag=2",
		"abc;from-tag=2;to-tag=1;early-only",
		" abc ; TO-TAG = 1 ; from-tag= 2 ",
		"abc;to-tag=1",
		"a,b;to-tag=1;from-tag=2",
		";;;=",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r, err := parseReplaces(v)
		if err != nil {
			return
		}
		if r.callID == "" || r.toTag == "" || r.fromTag == "" {
			t.Fatalf("parseReplaces(%q) = %+v without an error", v, r)
		}
	})
}

// FuzzFindSDP: any content type and body yield an SDP that came from the
// body, or an error; nested multipart is bounded.
func FuzzFindSDP(f *testing.F) {
	const mixed = "--b\r\nContent-Type: application/isup\r\n\r\n\x01\x02\r\n--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--b--\r\n"
	f.Add("application/sdp", []byte("v=0\r\n"))
	f.Add("multipart/mixed;boundary=b", []byte(mixed))
	f.Add("multipart/mixed; boundary=\"b\"", []byte("--b\r\nContent-Type: multipart/mixed;boundary=c\r\n\r\n--c\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--c--\r\n--b--\r\n"))
	f.Add("multipart/mixed", []byte(mixed))
	f.Add("text/plain", []byte("hello"))
	f.Add(";;;", []byte{})
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		sdp, err := findSDP(ct, body, 0)
		if err != nil {
			return
		}
		trimmed := bytes.TrimSuffix(sdp, []byte("\r\n"))
		if len(trimmed) > 0 && !bytes.Contains(body, trimmed) && !strings.HasPrefix(ct, "multipart/") {
			t.Fatalf("findSDP(%q) returned %q, not from the body", ct, sdp)
		}
	})
}

// FuzzLooksLikeSIP: the junk filter's check never panics, and what it
// takes has a start line ended by CRLF and the end of the headers.
func FuzzLooksLikeSIP(f *testing.F) {
	for _, s := range []string{
		"INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: x\r\n\r\n",
		"SIP/2.0 200 OK\r\n\r\n",
		"\x00\x01\x00\x00\x21\x12\xa4\x42abcdefghijkl",
		"\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if looksLikeSIP(data) && (!bytes.Contains(data, []byte("\r\n\r\n")) || isSTUN(data)) {
			t.Fatalf("looksLikeSIP(%q) took it", data)
		}
	})
}
