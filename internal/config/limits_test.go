package config

import (
	"strings"
	"testing"
	"time"
)

func TestLimits(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    Limits
		wantErr []string
	}{
		{name: "none: no limit, lag protection off", yaml: "", want: Limits{}},
		{name: "all three", yaml: "limits: {max_calls: 60, max_calls_per_second: 20, max_lag: 40ms}\n",
			want: Limits{MaxCalls: 60, MaxCallsPerSecond: 20, MaxLag: 40 * time.Millisecond}},
		{name: "max_lag off", yaml: "limits: {max_lag: 0s}\n", want: Limits{}},
		{name: "negative", yaml: "limits:\n  max_calls: -1\n  max_calls_per_second: -2\n  max_lag: -40ms\n",
			wantErr: []string{"x.yaml:2: limits: max_calls: must be >= 0", "x.yaml:3: limits: max_calls_per_second: must be >= 0",
				"x.yaml:4: limits: max_lag: must be 0 (off) or at least 10ms"}},
		{name: "max_lag in the timer noise", yaml: "limits:\n  max_lag: 2ms\n",
			wantErr: []string{"x.yaml:2: limits: max_lag: must be 0 (off) or at least 10ms"}},
		{name: "max_lag without a unit", yaml: "limits: {max_lag: 40}\n", wantErr: []string{"x.yaml", "x.yaml:1:", "time.Duration"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("x.yaml", []byte(tc.yaml))
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("parsed %+v, want errors %q", cfg.Limits, tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not name %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Limits != tc.want {
				t.Fatalf("limits %+v, want %+v", cfg.Limits, tc.want)
			}
		})
	}
}
