package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secretsSetup is a setup with one secret of each kind, each written as
// the case's edits make it; line numbers in the cases refer to it.
const secretsSetup = `server:
  realm: pbx.example
users:
  - username: admin
    password: USER_PW
    role: admin
trunks:
  - name: carrier
    outbound:
      host: "sip.carrier.example:5060"
      transport: udp
      username: acct
      password: TRUNK_PW
      register: true
agents:
  - extension: "1001"
    password: AGENT_PW
voicemail:
  smtp:
    addr: "smtp.example:587"
    from: pbx@example.com
    username: u
    password: SMTP_PW
webhooks:
  - url: https://crm.example/hook
    secret: HOOK_SECRET
`

// parseSecrets writes setup, with edits (old, new pairs) applied, as
// dir/setup.yaml and parses it.
func parseSecrets(t *testing.T, dir string, edits ...string) (*Config, error) {
	t.Helper()
	s := secretsSetup
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(s, edits[i]) {
			t.Fatalf("setup has no %q", edits[i])
		}
		s = strings.Replace(s, edits[i], edits[i+1], 1)
	}
	path := filepath.Join(dir, "setup.yaml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return Parse(path, []byte(s))
}

func TestSecretsResolve(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	abs := write("abs/trunk", "from-abs-file\n")
	write("secrets/smtp", "from-relative-file\n\n")
	write("secrets/hook", "crlf-secret\r\n")
	write("ha1", strings.ToUpper(DigestHA1("1001", "pbx.example", "s3cret"))+"\n")
	t.Setenv("SB_USER_PW", "from-env")
	t.Setenv("SB_HOOK", "hook-from-env")

	tests := []struct {
		name  string
		edits []string
		check func(t *testing.T, c *Config)
	}{
		{"literals stay as written", []string{"password: USER_PW", "password: p$ss${HOME}"}, func(t *testing.T, c *Config) {
			want(t, "user password", c.Users[0].Password, "p$ss${HOME}")
			want(t, "agent password", c.Agents[0].Password, "AGENT_PW")
		}},
		{"environment", []string{"password: USER_PW", "password: ${env:SB_USER_PW}", "secret: HOOK_SECRET", `secret: "${env:SB_HOOK}"`}, func(t *testing.T, c *Config) {
			want(t, "user password", c.Users[0].Password, "from-env")
			want(t, "webhook secret", c.Webhooks[0].Secret, "hook-from-env")
		}},
		{"absolute file", []string{"password: TRUNK_PW", "password_file: " + abs}, func(t *testing.T, c *Config) {
			want(t, "trunk password", c.Trunks[0].Outbound.Password, "from-abs-file")
		}},
		{"file relative to the setup, one newline trimmed", []string{"password: SMTP_PW", "password_file: secrets/smtp"}, func(t *testing.T, c *Config) {
			want(t, "smtp password", c.Voicemail.SMTP.Password, "from-relative-file\n")
		}},
		{"file ending in CRLF", []string{"secret: HOOK_SECRET", "secret_file: secrets/hook"}, func(t *testing.T, c *Config) {
			want(t, "webhook secret", c.Webhooks[0].Secret, "crlf-secret")
		}},
		{"agent HA1 from a file, lowercased", []string{"password: AGENT_PW", "password_ha1_file: ha1"}, func(t *testing.T, c *Config) {
			a := c.Agents[0]
			want(t, "agent password", a.Password, "")
			want(t, "agent HA1", a.HA1("pbx.example"), DigestHA1("1001", "pbx.example", "s3cret"))
		}},
		{"agent plaintext gives its HA1", nil, func(t *testing.T, c *Config) {
			want(t, "agent HA1", c.Agents[0].HA1("pbx.example"), DigestHA1("1001", "pbx.example", "AGENT_PW"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseSecrets(t, dir, tc.edits...)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func want(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s: %q, want %q", what, got, want)
	}
}

func TestSecretsErrorsNameFileLineAndField(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "empty"), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SB_EMPTY", "")
	f := filepath.Join(dir, "setup.yaml")
	tests := []struct {
		name  string
		edits []string
		want  []string
	}{
		{"unset variable", []string{"password: TRUNK_PW", "password: ${env:SB_NOT_SET_ANYWHERE}"},
			[]string{f + `:13: trunk "carrier": outbound: password: environment variable SB_NOT_SET_ANYWHERE is not set`}},
		{"empty variable", []string{"password: AGENT_PW", "password: ${env:SB_EMPTY}"},
			[]string{f + `:17: agent "1001": password: environment variable SB_EMPTY is empty`}},
		{"not a whole reference", []string{"secret: HOOK_SECRET", "secret: x${env:SB_HOOK}"},
			[]string{f + `:26: webhooks[0]: secret: the value (15 characters, not shown) contains "${env:" but is not a reference like ${env:NAME}`}},
		{"bad variable name", []string{"password: SMTP_PW", "password: ${env:1X}"},
			[]string{f + `:23: voicemail: smtp: password: the value (9 characters, not shown) contains "${env:" but is not a reference`}},
		{"missing file", []string{"password: SMTP_PW", "password_file: nope"},
			[]string{f + `:23: voicemail: smtp: password_file: open ` + filepath.Join(dir, "nope") + ": no such file"}},
		{"empty file", []string{"password: USER_PW", "password_file: empty"},
			[]string{f + `:5: user "admin": password_file: ` + filepath.Join(dir, "empty") + " is empty"}},
		{"both value and file", []string{"password: TRUNK_PW", "password: x\n      password_file: /run/secrets/trunk"},
			[]string{f + `:14: trunk "carrier": outbound: password and password_file: set one, not both`}},
		{"_file is a path, not expanded", []string{"password: AGENT_PW", "password_file: ${env:HOME}"},
			[]string{f + `:17: agent "1001": password_file: open ` + filepath.Join(dir, "${env:HOME}")}},
		{"agent password and HA1", []string{"password: AGENT_PW", "password: x\n    password_ha1: " + strings.Repeat("0", 32)},
			[]string{f + `:18: agent "1001": password and password_ha1: set one, not both`}},
		{"agent without credentials", []string{"password: AGENT_PW", "name: Alice"},
			[]string{f + `:16: agent "1001": password, password_file or password_ha1: required`}},
		{"agent HA1 not hex", []string{"password: AGENT_PW", "password_ha1: " + strings.Repeat("g", 32)},
			[]string{f + `:17: agent "1001": password_ha1: not 32 hexadecimal digits`}},
		{"agent HA1 too short", []string{"password: AGENT_PW", "password_ha1: abc123"},
			[]string{f + `:17: agent "1001": password_ha1: not 32 hexadecimal digits`}},
		{"user without credentials", []string{"password: USER_PW", "# none"},
			[]string{f + `:4: user "admin": password or password_hash: required`}},
		{"empty hash file", []string{"password: USER_PW", "password_hash_file: empty"},
			[]string{f + `:5: user "admin": password_hash_file: ` + filepath.Join(dir, "empty") + " is empty"}},
		{"every problem, once each, in line order", []string{"password: USER_PW", "password: ${env:SB_EMPTY}", "password: TRUNK_PW", "password_file: nope", "password: AGENT_PW", "password_ha1: ${env:SB_UNSET}"},
			[]string{f + `:5: user "admin": password: environment variable SB_EMPTY is empty`,
				f + `:13: trunk "carrier": outbound: password_file: open `,
				f + `:17: agent "1001": password_ha1: environment variable SB_UNSET is not set`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseSecrets(t, dir, tc.edits...)
			if err == nil {
				t.Fatal("parsed, want an error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("%d problems, want %d:\n%v", len(lines), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("problem %d:\n%s\nwant it to start with\n%s", i, lines[i], w)
				}
			}
		})
	}
}

func TestDigestHA1(t *testing.T) {
	// RFC 2617 §3.5's example credentials.
	if got := DigestHA1("Mufasa", "testrealm@host.com", "Circle Of Life"); got != "939e7578ed9e3c518a452acee763bce9" {
		t.Fatalf("HA1 %s", got)
	}
}

func FuzzEnvRef(f *testing.F) {
	for _, s := range []string{"", "plain", "${env:TRUNK_PASSWORD}", "${env:}", "${env:1X}", "x${env:A}", "${env:A}x", "${env:A", "${HOME}", "${env:${env:A}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, ok, err := envRef(s)
		switch {
		case ok && (err != nil || envPrefix+name+"}" != s || !isEnvName(name)):
			t.Fatalf("%q: name %q, err %v", s, name, err)
		case !ok && err == nil && strings.Contains(s, envPrefix):
			t.Fatalf("%q holds %s but was taken as a literal", s, envPrefix)
		case !ok && err != nil && !strings.Contains(s, envPrefix):
			t.Fatalf("%q: an error for a literal: %v", s, err)
		}
	})
}
