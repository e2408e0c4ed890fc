package media

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// sdpHead is the session part of the offers below: RFC 4566 order, a
// session-level connection address.
const sdpHead = "v=0\r\no=- 20518 0 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"

// TestParseSDPOffersOfManyStreams covers what real phones and carriers put
// beside the audio (RFC 3264 §6, RFC 4475 §3.1.1.* shapes written anew):
// the audio is taken, the rest is declined, and the answer mirrors the
// offer's m= lines in order.
func TestParseSDPOffersOfManyStreams(t *testing.T) {
	tests := []struct {
		name string
		sdp  string
		want Session // Declined is checked through the answer
		// answer lists the m= lines the answer must carry, in order
		// ("audio" for ours, anything else written out).
		answer  []string
		wantErr error
	}{
		{
			name: "audio then video (softphone with a camera)",
			sdp: sdpHead + "m=audio 49170 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n" +
				"m=video 51372 RTP/AVP 96\r\nb=AS:384\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 profile-level-id=42801F\r\n",
			want:   Session{Remote: netip.MustParseAddrPort("192.0.2.10:49170"), Codec: PCMU, PT: 0, TelephoneEvent: 101, Direction: SendRecv},
			answer: []string{"audio", "m=video 0 RTP/AVP 96"},
		},
		{
			name:   "video first, audio second",
			sdp:    sdpHead + "m=video 51372 RTP/AVP 31\r\nm=audio 49170 RTP/AVP 8\r\n",
			want:   Session{Remote: netip.MustParseAddrPort("192.0.2.10:49170"), Codec: PCMA, PT: 8, Direction: SendRecv},
			answer: []string{"m=video 0 RTP/AVP 31", "audio"},
		},
		{
			name:   "T.38 image stream over udptl beside audio (fax gateway)",
			sdp:    sdpHead + "m=audio 49170 RTP/AVP 0\r\nm=image 49172 udptl t38\r\na=T38FaxVersion:0\r\na=T38MaxBitRate:14400\r\n",
			want:   Session{Remote: netip.MustParseAddrPort("192.0.2.10:49170"), Codec: PCMU, PT: 0, Direction: SendRecv},
			answer: []string{"audio", "m=image 0 udptl t38"},
		},
		{
			name:   "unknown transport on another line",
			sdp:    sdpHead + "m=audio 49170 RTP/AVP 0\r\nm=application 9 FOO/BAR 1 2\r\na=setup:active\r\n",
			want:   Session{Remote: netip.MustParseAddrPort("192.0.2.10:49170"), Codec: PCMU, PT: 0, Direction: SendRecv},
			answer: []string{"audio", "m=application 0 FOO/BAR 1 2"},
		},
		{
			name:   "unmapped dynamic payload type on a second audio line",
			sdp:    sdpHead + "m=audio 49170 RTP/AVP 0\r\nm=audio 49180 RTP/AVP 97\r\n",
			want:   Session{Remote: netip.MustParseAddrPort("192.0.2.10:49170"), Codec: PCMU, PT: 0, Direction: SendRecv},
			answer: []string{"audio", "m=audio 0 RTP/AVP 97"},
		},
		{
			name: "first audio line has no codec we speak, the second has",
			sdp: sdpHead + "m=audio 49170 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n" +
				"m=audio 49180 RTP/AVP 8\r\nc=IN IP4 192.0.2.11\r\na=sendonly\r\n",
			want:   Session{Remote: netip.MustParseAddrPort("192.0.2.11:49180"), Codec: PCMA, PT: 8, Direction: SendOnly},
			answer: []string{"m=audio 0 RTP/AVP 111", "audio"},
		},
		{
			name:   "SRTP and plain RTP offered as two lines: SRTP is taken",
			sdp:    sdpHead + "m=audio 49170 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "\r\nm=audio 49170 RTP/AVP 0\r\n",
			want:   Session{Remote: netip.MustParseAddrPort("192.0.2.10:49170"), Codec: PCMU, PT: 0, Direction: SendRecv, Secure: true, SRTP: true, Crypto: testCrypto(1)},
			answer: []string{"audio", "m=audio 0 RTP/AVP 0"},
		},
		{
			name:   "plain RTP first, SRTP second: SRTP is taken",
			sdp:    sdpHead + "m=audio 49170 RTP/AVP 0\r\nm=audio 49172 RTP/SAVP 0\r\na=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "\r\n",
			want:   Session{Remote: netip.MustParseAddrPort("192.0.2.10:49172"), Codec: PCMU, PT: 0, Direction: SendRecv, Secure: true, SRTP: true, Crypto: testCrypto(7)},
			answer: []string{"m=audio 0 RTP/AVP 0", "audio"},
		},
		{
			name:   "a stream already refused (port 0) stays refused",
			sdp:    sdpHead + "m=audio 0 RTP/AVP 0\r\nm=audio 49170 RTP/AVP 0\r\n",
			want:   Session{Remote: netip.MustParseAddrPort("192.0.2.10:49170"), Codec: PCMU, PT: 0, Direction: SendRecv},
			answer: []string{"m=audio 0 RTP/AVP 0", "audio"},
		},
		{
			name:   "bare LF line ends",
			sdp:    strings.ReplaceAll(sdpHead+"m=audio 49170 RTP/AVP 0\r\nm=video 51372 RTP/AVP 96\r\n", "\r\n", "\n"),
			want:   Session{Remote: netip.MustParseAddrPort("192.0.2.10:49170"), Codec: PCMU, PT: 0, Direction: SendRecv},
			answer: []string{"audio", "m=video 0 RTP/AVP 96"},
		},
		{
			name:   "SRTP only (RTP/SAVP)",
			sdp:    sdpHead + "m=audio 49170 RTP/SAVP 0 8\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "\r\n",
			want:   Session{Remote: netip.MustParseAddrPort("192.0.2.10:49170"), Codec: PCMU, PT: 0, Direction: SendRecv, Secure: true, SRTP: true, Crypto: testCrypto(1)},
			answer: []string{"audio"},
		},
		{
			name: "unknown suites and an MKI key are skipped for the first usable line",
			sdp: sdpHead + "m=audio 49170 RTP/SAVP 0\r\n" +
				"a=crypto:1 AEAD_AES_256_GCM inline:" + testKey + "\r\n" +
				"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "|2^20|1:4\r\n" +
				"a=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:" + testKey + "\r\n" +
				"a=crypto:4 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "|2^31\r\n" +
				"a=crypto:5 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "\r\n",
			want:   Session{Remote: netip.MustParseAddrPort("192.0.2.10:49170"), Codec: PCMU, PT: 0, Direction: SendRecv, Secure: true, SRTP: true, Crypto: testCrypto(4)},
			answer: []string{"audio"},
		},
		{
			name:   "RTP/AVP with a=crypto (best-effort SRTP)",
			sdp:    sdpHead + "m=audio 49170 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=crypto:9 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "\r\n",
			want:   Session{Remote: netip.MustParseAddrPort("192.0.2.10:49170"), Codec: PCMA, PT: 8, TelephoneEvent: 101, Direction: SendRecv, SRTP: true, Crypto: testCrypto(9)},
			answer: []string{"audio"},
		},
		{
			name:    "RTP/SAVP without a=crypto",
			sdp:     sdpHead + "m=audio 49170 RTP/SAVP 0\r\n",
			wantErr: ErrNoCrypto,
		},
		{
			name:    "RTP/SAVP with only suites we do not speak",
			sdp:     sdpHead + "m=audio 49170 RTP/SAVP 0\r\na=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:" + testKey + "\r\n",
			wantErr: ErrNoCrypto,
		},
		{
			name:    "RTP/SAVP with a key of the wrong size",
			sdp:     sdpHead + "m=audio 49170 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=\r\n",
			wantErr: ErrNoCrypto,
		},
		{
			name:    "DTLS-SRTP only (WebRTC)",
			sdp:     sdpHead + "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=setup:actpass\r\n",
			wantErr: ErrNoCommonCodec,
		},
		{
			name:    "image only",
			sdp:     sdpHead + "m=image 49172 udptl t38\r\n",
			wantErr: ErrNoCommonCodec,
		},
		{name: "m= line without a transport", sdp: sdpHead + "m=audio 49170\r\n", wantErr: errAny},
		{name: "m= line with a port out of range", sdp: sdpHead + "m=video 70000 RTP/AVP 96\r\nm=audio 49170 RTP/AVP 0\r\n", wantErr: errAny},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSDP([]byte(tc.sdp))
			if tc.wantErr != nil {
				if err == nil || (tc.wantErr != errAny && !errors.Is(err, tc.wantErr)) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			declined := got.Declined
			got.Declined = Declined{}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if declined.Lines() != len(tc.answer)-1 {
				t.Fatalf("declined %d lines, want %d", declined.Lines(), len(tc.answer)-1)
			}
			local := netip.MustParseAddrPort("198.51.100.1:30000")
			ours := NewCrypto(got.Crypto.Tag)
			answer := BuildSDP(Offer{Local: local, SessionID: 1, Codecs: []Codec{got.Codec}, Declined: declined,
				Secure: got.Secure, SRTP: got.SRTP, Crypto: ours})
			var mlines []string
			for line := range strings.Lines(string(answer)) {
				if strings.HasPrefix(line, "m=") {
					line = strings.TrimSuffix(line, "\r\n")
					if strings.HasPrefix(line, "m=audio 30000 ") {
						line = "audio"
					}
					mlines = append(mlines, line)
				}
			}
			if strings.Join(mlines, " | ") != strings.Join(tc.answer, " | ") {
				t.Fatalf("answer m= lines %q, want %q\n%s", mlines, tc.answer, answer)
			}
			back, err := ParseSDP(answer)
			if err != nil || back.Remote != local || back.Codec != got.Codec {
				t.Fatalf("answer does not parse back: %+v, %v\n%s", back, err, answer)
			}
			if back.Secure != got.Secure || back.SRTP != got.SRTP || (got.SRTP && back.Crypto != ours) {
				t.Fatalf("answer's SRTP %v/%v %v, want the offer's profile and our key under tag %d\n%s",
					back.Secure, back.SRTP, back.Crypto, got.Crypto.Tag, answer)
			}
		})
	}
}

// FuzzAnswerMirrorsOffer checks RFC 3264 §6 on any offer ParseSDP takes:
// the answer has one m= line per offered line, and only the audio one has
// a port.
func FuzzAnswerMirrorsOffer(f *testing.F) {
	f.Add([]byte(sdpHead + "m=audio 49170 RTP/AVP 0\r\nm=video 51372 RTP/AVP 96\r\n"))
	f.Add([]byte(sdpHead + "m=image 49172 udptl t38\r\nm=audio 49170 RTP/AVP 8\r\n"))
	f.Add([]byte(sdpHead + "m=audio 49170 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "\r\nm=audio 49172 RTP/AVP 0\r\n"))
	f.Add([]byte(sdpHead + "m=audio 49170 RTP/AVP 0\r\na=crypto:12 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "|2^31\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSDP(b)
		if err != nil {
			return
		}
		offered := 0
		for line := range strings.Lines(string(b)) {
			if strings.HasPrefix(line, "m=") {
				offered++
			}
		}
		answer := string(BuildSDP(Offer{Local: netip.MustParseAddrPort("198.51.100.1:30000"), Codecs: []Codec{s.Codec}, Declined: s.Declined,
			Secure: s.Secure, SRTP: s.SRTP, Crypto: NewCrypto(s.Crypto.Tag)}))
		if n := strings.Count(answer, "\nm="); n != offered {
			t.Fatalf("answer has %d m= lines, offer %d:\n%s", n, offered, answer)
		}
		if n := strings.Count(answer, "\nm=audio 30000 "); n != 1 {
			t.Fatalf("answer takes %d streams:\n%s", n, answer)
		}
	})
}

// testKey is a 30-byte SDES key||salt in base64, as offers carry it.
const testKey = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"

func testCrypto(tag uint32) Crypto {
	c := Crypto{Tag: tag}
	key, _ := base64.StdEncoding.DecodeString(testKey)
	copy(c.Key[:], key)
	return c
}

// TestParsePlainSDP: a leg with SRTP off takes only plain RTP, and its
// a=crypto lines are ignored.
func TestParsePlainSDP(t *testing.T) {
	tests := []struct {
		name    string
		sdp     string
		want    Session
		wantErr error
	}{
		{
			name: "SRTP and plain lines: the plain one",
			sdp:  sdpHead + "m=audio 49170 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "\r\nm=audio 49172 RTP/AVP 0\r\n",
			want: Session{Remote: netip.MustParseAddrPort("192.0.2.10:49172"), Codec: PCMU, PT: 0, Direction: SendRecv},
		},
		{
			name: "best-effort SRTP is plain",
			sdp:  sdpHead + "m=audio 49170 RTP/AVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "\r\n",
			want: Session{Remote: netip.MustParseAddrPort("192.0.2.10:49170"), Codec: PCMU, PT: 0, Direction: SendRecv},
		},
		{
			name:    "SRTP only",
			sdp:     sdpHead + "m=audio 49170 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "\r\n",
			wantErr: ErrNoCommonCodec,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePlainSDP([]byte(tc.sdp))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.Declined = Declined{}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestCryptoNeverPrintsItsKey: a Session or Crypto that reaches a log line
// or an error does not carry the key.
func TestCryptoNeverPrintsItsKey(t *testing.T) {
	s, err := ParseSDP([]byte(sdpHead + "m=audio 49170 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey + "\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(f, s)
		if strings.Contains(out, testKey) || strings.Contains(out, "semctl") || strings.Contains(out, fmt.Sprint(s.Crypto.Key[:4])) {
			t.Fatalf("%s prints the key: %s", f, out)
		}
	}
	_, err = ParseSDP([]byte(sdpHead + "m=audio 49170 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey[:20] + "\r\n"))
	if err == nil || strings.Contains(err.Error(), testKey[:20]) {
		t.Fatalf("error %v quotes the key", err)
	}
}
