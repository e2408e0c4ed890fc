package config

import (
	"strings"
	"testing"
)

func TestStoreAndNodeValidation(t *testing.T) {
	tests := []struct {
		name, yaml, want string
		server           string // a line under server:
	}{
		{"sqlite default", "", "", ""},
		{"postgres", "store: {driver: postgres, dsn: \"postgres://u@127.0.0.1/sb\"}\nnode: {name: node1}\n", "", ""},
		{"postgres without dsn", "store: {driver: postgres}\n", "dsn: required with driver postgres", ""},
		{"dsn on sqlite", "store: {dsn: \"postgres://x\"}\n", "dsn: only for driver postgres", ""},
		{"unknown driver", "store: {driver: mysql}\n", `driver: "mysql" is not sqlite or postgres`, ""},
		{"bad node name", "node: {name: \"node 1\"}\n", "must be 1-63 letters", ""},
		{"proxies", "node: {name: n1, proxies: [127.0.0.1, \"::1\"]}\n", "", ""},
		{"a proxy that is no address", "node: {name: n1, proxies: [kamailio.local]}\n", `proxies[0]: "kamailio.local" is not an IP address`, ""},
		{"postgres on a wildcard address", "store: {driver: postgres, dsn: \"postgres://u@127.0.0.1/sb\"}\nnode: {name: node1}\n", "not a wildcard",
			`http_listen: "0.0.0.0:8080"`},
		{"postgres without a node name", "store: {driver: postgres, dsn: \"postgres://u@127.0.0.1/sb\"}\n", "name: required with store driver postgres", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := secretsSetup
			if tc.server != "" {
				base = strings.Replace(base, "server:\n", "server:\n  "+tc.server+"\n", 1)
			}
			cfg, err := Parse("setup.yaml", []byte(base+tc.yaml))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if cfg.Node.Name == "" {
					t.Fatal("no node name by default")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
