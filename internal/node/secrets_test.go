package node_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// TestAgentCredentialsKeptOutOfTheSetup: agents whose SIP credential is a
// digest HA1 (inline or in a file), or a password from the environment,
// register with the right password and are refused a wrong one (and the
// demo's published password); registering logs them in. An agent known
// only by its HA1 logs in to the API with the password too, never without
// one.
func TestAgentCredentialsKeptOutOfTheSetup(t *testing.T) {
	ha1File := filepath.Join(t.TempDir(), "1002.ha1")
	if err := os.WriteFile(ha1File, []byte(config.DigestHA1("1002", "switchboard", "s3cret-1002")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SB_TEST_AGENT_1003", "s3cret-1003")
	n := nodetest.Start(t, nodetest.Demo(t,
		"password: demo1001", "password_ha1: "+config.DigestHA1("1001", "switchboard", "s3cret-1001"),
		"password: demo1002", "password_ha1_file: "+ha1File,
		"password: demo1003", `password: "${env:SB_TEST_AGENT_1003}"`))

	tests := []struct {
		name, ext, password string
	}{
		{"HA1 in the setup", "1001", "s3cret-1001"},
		{"HA1 in a file", "1002", "s3cret-1002"},
		{"password from the environment", "1003", "s3cret-1003"},
		{"plaintext password", "1004", "demo1004"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A source of its own, so the failures stay far from a ban.
			r := nodetest.NewRegistrant(t, n.SIPAddr(), netip.AddrFrom4([4]byte{127, 0, 0, byte(40 + i)}), tc.ext)
			for _, wrong := range []string{"wrong", "demo" + tc.ext} {
				if wrong == tc.password {
					continue
				}
				if code, err := r.Register(wrong, 5*time.Second); err != nil || code != 401 {
					t.Fatalf("REGISTER with %q: %d %v, want 401", wrong, code, err)
				}
			}
			if st := n.AgentState(tc.ext); st != "logged_out" {
				t.Fatalf("after wrong passwords the agent is %q, want logged_out", st)
			}
			if code, err := r.Register(tc.password, 5*time.Second); err != nil || code != 200 {
				t.Fatalf("REGISTER with the right password: %d %v, want 200", code, err)
			}
			nodetest.WaitFor(t, 5*time.Second, "agent "+tc.ext+" available", func() bool { return n.AgentState(tc.ext) == "available" })
		})
	}

	t.Run("API login of an agent known by its HA1", func(t *testing.T) {
		for _, tc := range []struct {
			password string
			want     int
		}{{"s3cret-1001", 200}, {"", 401}, {"demo1001", 401}, {config.DigestHA1("1001", "switchboard", "s3cret-1001"), 401}} {
			if code := n.APIAs(nodetest.Credential{User: "1001", Password: tc.password}, "GET", "/api/v1/me", nil, nil); code != tc.want {
				t.Errorf("GET /api/v1/me as 1001 with password %q: %d, want %d", tc.password, code, tc.want)
			}
		}
	})
}
