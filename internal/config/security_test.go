package config

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestSecurityConfig(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    Security
		wantErr string
	}{
		{"defaults", "", Security{BanAfter: 10, BanWindow: time.Minute, BanFor: 10 * time.Minute, RecentEvents: 256}, ""},
		{"set", "security: {ban_after: 3, ban_window: 30s, ban_for: 1h, exempt: [10.0.0.0/8, 192.0.2.1]}\n",
			Security{BanAfter: 3, BanWindow: 30 * time.Second, BanFor: time.Hour, RecentEvents: 256,
				Exempt: Sources{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32")}}, ""},
		{"never ban", "security: {ban_after: 0}\n", Security{BanWindow: time.Minute, BanFor: 10 * time.Minute, RecentEvents: 256}, ""},
		{"typo", "security:\n  ban_afterr: 3\n", Security{}, ":2: security: field ban_afterr not found"},
		{"bad exempt", "security:\n  exempt:\n    - 10.0.0.0/8\n    - nowhere\n", Security{}, `:4: yaml: "nowhere" is neither`},
		{"negative", "security:\n  ban_after: -1\n  ban_for: 0s\n", Security{}, ":2: security: ban_after: must be >= 0"},
		{"no ban time", "security:\n  ban_for: 0s\n", Security{}, ":2: security: ban_for: must be > 0"},
		{"nested typo", "security:\n  rate:\n    invite: {per_second: 5, brust: 9}\n", Security{},
			":3: security: rate: invite: field brust not found"},
		{"unknown method", "security:\n  rate:\n    bye: {per_second: 5}\n", Security{}, ":3: security: rate: field bye not found"},
		{"negative rate", "security:\n  rate:\n    options:\n      per_second: -1\n", Security{},
			":4: security: rate.options.per_second: must be a number >= 0"},
		{"rate not a number", "security:\n  rate:\n    invite: {per_second: .nan}\n", Security{},
			"security: rate.invite.per_second: must be a number >= 0"},
		{"infinite rate", "security:\n  rate:\n    invite: {per_second: .inf}\n", Security{},
			"security: rate.invite.per_second: must be a number >= 0"},
		{"burst alone", "security:\n  rate:\n    invite: {burst: 10}\n", Security{},
			"security: rate.invite.burst: needs per_second"},
		{"negative connections", "security:\n  connections: {per_source: -1}\n", Security{},
			":2: security: connections.per_source: must be >= 0"},
		{"no report interval", "security:\n  report_every: 0s\n", Security{}, ":2: security: report_every: must be > 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("s.yaml", []byte(tc.yaml))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Security
			if got.BanAfter != tc.want.BanAfter || got.BanWindow != tc.want.BanWindow || got.BanFor != tc.want.BanFor ||
				got.RecentEvents != tc.want.RecentEvents || len(got.Exempt) != len(tc.want.Exempt) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got.Exempt {
				if got.Exempt[i] != tc.want.Exempt[i] {
					t.Fatalf("exempt %v, want %v", got.Exempt, tc.want.Exempt)
				}
			}
		})
	}
}

func TestSecurityRateAndConnections(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		rate  RateLimits
		conns ConnectionLimits
	}{
		{"defaults", "", RateLimits{Invite: Rate{20, 40}, Register: Rate{20, 100}, Options: Rate{20, 40}},
			ConnectionLimits{PerSource: 32, Total: 2048, Idle: 3 * time.Minute}},
		{"one method set, the others default", "security:\n  rate:\n    invite: {per_second: 5, burst: 10}\n",
			RateLimits{Invite: Rate{5, 10}, Register: Rate{20, 100}, Options: Rate{20, 40}},
			ConnectionLimits{PerSource: 32, Total: 2048, Idle: 3 * time.Minute}},
		{"a burst left out is one second's worth", "security:\n  rate:\n    register: {per_second: 2.5}\n",
			RateLimits{Invite: Rate{20, 40}, Register: Rate{2.5, 3}, Options: Rate{20, 40}},
			ConnectionLimits{PerSource: 32, Total: 2048, Idle: 3 * time.Minute}},
		{"unlimited", "security:\n  rate:\n    options: {per_second: 0}\n  connections: {per_source: 0, total: 0, idle: 0s}\n",
			RateLimits{Invite: Rate{20, 40}, Register: Rate{20, 100}, Options: Rate{0, 1}}, ConnectionLimits{}},
		{"connections", "security:\n  connections: {per_source: 4, idle: 45s}\n",
			RateLimits{Invite: Rate{20, 40}, Register: Rate{20, 100}, Options: Rate{20, 40}},
			ConnectionLimits{PerSource: 4, Total: 2048, Idle: 45 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("s.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Security; got.Rate != tc.rate || got.Connections != tc.conns || got.ReportEvery != time.Minute {
				t.Fatalf("rate %+v connections %+v report_every %s, want %+v %+v 1m", got.Rate, got.Connections, got.ReportEvery,
					tc.rate, tc.conns)
			}
		})
	}
}
