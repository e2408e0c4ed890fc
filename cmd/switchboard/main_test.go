package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
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

// `config apply` then `config export` on a stopped server's data
// directory gives the file back byte for byte, for the demo and the load
// setups, and writes it over the server's --config; an invalid file is
// refused and changes nothing.
func TestConfigApplyExportRoundTrip(t *testing.T) {
	for _, file := range []string{"../../examples/demo.yaml", "../../examples/load.yaml"} {
		t.Run(file, func(t *testing.T) {
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			// The server's setup file is a copy, which apply writes over.
			// Nothing listens on port 9 of loopback: the server is stopped.
			server := filepath.Join(t.TempDir(), "setup.yaml")
			if err := os.WriteFile(server, want, 0o600); err != nil {
				t.Fatal(err)
			}
			dir := []string{"--config", server, "--data", t.TempDir(), "--http", "127.0.0.1:9"}
			var out bytes.Buffer
			// Into the built-in demo's data directory before it ever
			// started: refused (its next start would not run it).
			if err := run(context.Background(), []string{"config", "apply", "-f", file, "--data", t.TempDir(), "--http", "127.0.0.1:9"}, &out, &out); err == nil ||
				!strings.Contains(err.Error(), "has not started") {
				t.Fatalf("apply into a demo that never started: %v", err)
			}
			if err := run(context.Background(), append([]string{"config", "apply", "-f", file}, dir...), &out, &out); err != nil {
				t.Fatalf("apply: %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "saved as version 1") {
				t.Fatalf("apply said %q", out.String())
			}
			bad := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(bad, append(want, []byte("queues: nope\n")...), 0o600); err != nil {
				t.Fatal(err)
			}
			out.Reset()
			if err := run(context.Background(), append([]string{"config", "apply", "-f", bad}, dir...), &out, &out); err == nil || !strings.Contains(err.Error(), "bad.yaml:") {
				t.Fatalf("an invalid file: %v", err)
			}
			out.Reset()
			if err := run(context.Background(), append([]string{"config", "export"}, dir...), &out, &out); err != nil {
				t.Fatalf("export: %v", err)
			}
			if out.String() != string(want) {
				t.Fatalf("export is not the file applied:\n%s", out.String())
			}
		})
	}
}
