package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestDemoRefusesNonLoopback(t *testing.T) {
	tests := []struct{ name, flag, addr string }{
		{"sip on all interfaces", "--sip", "0.0.0.0:5060"},
		{"http on a private address", "--http", "192.0.2.10:8080"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), []string{"serve", tc.flag, tc.addr, "--data", t.TempDir()}, &out, &out)
			if err == nil || !strings.Contains(err.Error(), "refusing to listen on "+tc.addr) || !strings.Contains(err.Error(), "demo passwords") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestConfigCheck(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"config", "check", "-f", "../../examples/load.yaml"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "999 agents") {
		t.Fatalf("output %q", out.String())
	}
	if err := run(context.Background(), []string{"nonsense"}, &out, &out); err == nil {
		t.Fatal("unknown command accepted")
	}
}
