package sip

import "testing"

func TestParseReferTo(t *testing.T) {
	tests := []struct {
		in      string
		want    Transfer
		wantErr bool
	}{
		{in: "<sip:1004@127.0.0.1:5060>", want: Transfer{Target: "1004"}},
		{in: `"Bob" <sip:support@switchboard;transport=udp>`, want: Transfer{Target: "support"}},
		{in: "sip:5551234@127.0.0.1", want: Transfer{Target: "5551234"}},
		{in: "<sip:1004@127.0.0.1?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>", want: Transfer{Target: "1004", Replaces: "abc@host"}},
		{in: "<sip:127.0.0.1>", wantErr: true},
		{in: "<sip:1004@127.0.0.1", wantErr: true},
		{in: "", wantErr: true},
		{in: "<sip:1004@h?Replaces=%zz>", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseReferTo(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseReferTo(%q) = %+v, %v; want %+v, error %t", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseReferTo(f *testing.F) {
	for _, s := range []string{"<sip:1004@127.0.0.1:5060>", "<sip:1004@h?Replaces=a%3Bto-tag%3D1>", "sip:x@y", "<", "?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tr, err := ParseReferTo(s); err == nil && tr.Target == "" {
			t.Fatalf("%q: accepted with no target", s)
		}
	})
}
