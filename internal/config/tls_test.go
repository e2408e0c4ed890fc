package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTLSSettingsAreValidated(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error; none: valid
	}{
		{name: "tls listener with a self-signed certificate", yaml: "server:\n  sip_tls_listen: 127.0.0.1:5061\n"},
		{name: "trunk over tls verified against the system roots",
			yaml: "trunks:\n  - name: t\n    outbound: {host: carrier.example:5061, transport: tls}\n"},
		{
			name: "listener address, a certificate without its key",
			yaml: "server:\n  sip_tls_listen: nowhere\n  tls_cert: " + filepath.Join(dir, "missing.pem") + "\n",
			want: []string{`x.yaml:2: server: sip_tls_listen:`, `x.yaml:3: server: tls_cert and tls_key: set both, or neither`,
				`x.yaml:3: server: tls_cert: stat`},
		},
		{
			name: "certificate files without a listener",
			yaml: "server:\n  tls_cert: " + notPEM + "\n  tls_key: " + notPEM + "\n",
			want: []string{`x.yaml:2: server: tls_cert: set without sip_tls_listen`, `x.yaml:3: server: tls_key: set without sip_tls_listen`},
		},
		{
			name: "pinned CA over udp, unreadable, not PEM",
			yaml: "trunks:\n  - name: a\n    outbound: {host: 127.0.0.1:5080, tls_ca: " + notPEM + "}\n" +
				"  - name: b\n    outbound: {host: 127.0.0.1:5081, transport: tls, tls_ca: " + filepath.Join(dir, "none.pem") + "}\n",
			want: []string{`x.yaml:3: trunk "a": outbound: tls_ca: needs transport: tls (is "udp")`,
				`trunk "a": outbound: tls_ca: ` + notPEM + ` holds no PEM certificate`,
				`x.yaml:5: trunk "b": outbound: tls_ca: open`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.yaml))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("valid setup refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("invalid setup accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestSelfSignedFilesLiveInTheDataDirectory(t *testing.T) {
	cert, key, self := Server{DataDir: "/var/lib/sb"}.TLSFiles()
	if !self || cert != "/var/lib/sb/tls/sip-cert.pem" || key != "/var/lib/sb/tls/sip-key.pem" {
		t.Fatalf("TLSFiles = %s, %s, %v", cert, key, self)
	}
	if cert, key, self := (Server{DataDir: "/d", TLSCert: "c.pem", TLSKey: "k.pem"}).TLSFiles(); self || cert != "c.pem" || key != "k.pem" {
		t.Fatalf("TLSFiles with files = %s, %s, %v", cert, key, self)
	}
}
