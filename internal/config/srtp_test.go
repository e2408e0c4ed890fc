package config

import (
	"strings"
	"testing"
)

func TestSRTPPolicyIsChecked(t *testing.T) {
	base := "agents:\n  - {extension: \"1003\", name: Carol, password: x, srtp: %s}\ntrunks:\n  - name: carrier\n    inbound_sources: [192.0.2.0/24]\n    srtp: %s\n"
	tests := []struct {
		name, agent, trunk string
		want               []string // substrings of the error; none: valid
	}{
		{"required and off", "required", "off", nil},
		{"optional and unset", "optional", `""`, nil},
		{"bad agent value", "mandatory", "optional", []string{`:2: agent "1003": srtp: "mandatory" is not off, optional or required`}},
		{"bad trunk value", "off", "yes", []string{`:6: trunk "carrier": srtp: "yes" is not off, optional or required`}},
		{"both bad", "sdes", "dtls", []string{`agent "1003": srtp: "sdes"`, `trunk "carrier": srtp: "dtls"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := strings.Replace(strings.Replace(base, "%s", tc.agent, 1), "%s", tc.trunk, 1)
			cfg, err := Parse("setup.yaml", []byte(data))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.Agents[0].SRTP != SRTPPolicy(tc.agent) {
					t.Fatalf("agent srtp %q", cfg.Agents[0].SRTP)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q lacks %q", err, w)
				}
			}
		})
	}
	// Unknown fields of an agent are still refused.
	if _, err := Parse("setup.yaml", []byte("agents:\n  - {extension: \"1\", name: A, password: x, srtpp: off}\n")); err == nil || !strings.Contains(err.Error(), "srtpp") {
		t.Fatalf("a typo in an agent's field: %v", err)
	}
	if _, err := Parse("setup.yaml", []byte("trunks:\n  - name: c\n    outbound: {host: \"h:5060\", transprt: udp}\n")); err == nil || !strings.Contains(err.Error(), "transprt") {
		t.Fatalf("a typo in a trunk's outbound field: %v", err)
	}
}
