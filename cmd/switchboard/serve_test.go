package main

import "testing"

// The demo listens for SIP over TLS on 127.0.0.1:5061; --sip-tls moves it,
// and --sip alone moves it to the --sip host on a free port.
func TestSIPTLSAddress(t *testing.T) {
	tests := []struct {
		name      string
		sip, tls  string
		want      string
		wantError bool
	}{
		{name: "demo", want: "127.0.0.1:5061"},
		{name: "--sip-tls", tls: "127.0.0.1:7061", want: "127.0.0.1:7061"},
		{name: "--sip and --sip-tls", sip: "127.0.0.1:7060", tls: "127.0.0.1:7061", want: "127.0.0.1:7061"},
		{name: "--sip alone", sip: "127.0.0.2:7060", want: "127.0.0.2:0"},
		{name: "bad --sip-tls", tls: "nowhere", wantError: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sf := setupFlags{sip: tc.sip}
			cfg, err := sf.load()
			if err != nil {
				t.Fatal(err)
			}
			err = applySIPTLS(cfg, tc.sip, tc.tls)
			if tc.wantError != (err != nil) {
				t.Fatalf("err %v", err)
			}
			if !tc.wantError && cfg.Server.SIPTLSListen != tc.want {
				t.Fatalf("sip_tls_listen %q, want %q", cfg.Server.SIPTLSListen, tc.want)
			}
		})
	}
}
