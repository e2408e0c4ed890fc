package config

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Secrets kept out of the setup file. Every secret field (users' password
// and password_hash, agents' password and password_ha1, trunks' outbound
// password, the voicemail relay's password, webhooks' secret) may be
// written as ${env:NAME}, the value of the environment variable NAME, or
// left out for a sibling <field>_file naming a file that holds it (one
// trailing newline trimmed; a relative path is relative to the setup
// file's directory). Only these fields are expanded: the rest of the file
// is taken literally. Secrets are resolved once, at load.

// maxSecretFile bounds what is read of a secret file: a secret is short,
// and a path to a device or a log by mistake must not hang the load.
const maxSecretFile = 64 << 10

// secretField is one secret of the setup: its value and its _file
// sibling, and where it sits in the YAML tree for error lines.
type secretField struct {
	what   string // whose secret, e.g. `agent "1001"`
	prefix string // the keys above key in messages, e.g. "outbound: "
	path   []any  // the YAML path of the mapping that holds key
	key    string // e.g. "password"; the sibling is key + "_file"
	value  *string
	file   *string
}

// secretFields lists every secret field of c, pointing into c.
func (c *Config) secretFields() []secretField {
	var fs []secretField
	for i := range c.Users {
		u := &c.Users[i]
		what, at := fmt.Sprintf("user %q", u.Username), []any{"users", i}
		fs = append(fs,
			secretField{what: what, path: at, key: "password", value: &u.Password, file: &u.PasswordFile},
			secretField{what: what, path: at, key: "password_hash", value: &u.PasswordHash, file: &u.PasswordHashFile})
	}
	for i := range c.Agents {
		a := &c.Agents[i]
		what, at := fmt.Sprintf("agent %q", a.Extension), []any{"agents", i}
		fs = append(fs,
			secretField{what: what, path: at, key: "password", value: &a.Password, file: &a.PasswordFile},
			secretField{what: what, path: at, key: "password_ha1", value: &a.PasswordHA1, file: &a.PasswordHA1File})
	}
	for i := range c.Trunks {
		if o := c.Trunks[i].Outbound; o != nil {
			fs = append(fs, secretField{what: fmt.Sprintf("trunk %q", c.Trunks[i].Name), prefix: "outbound: ",
				path: []any{"trunks", i, "outbound"}, key: "password", value: &o.Password, file: &o.PasswordFile})
		}
	}
	s := &c.Voicemail.SMTP
	fs = append(fs, secretField{what: "voicemail", prefix: "smtp: ", path: []any{"voicemail", "smtp"}, key: "password",
		value: &s.Password, file: &s.PasswordFile})
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		fs = append(fs, secretField{what: fmt.Sprintf("webhooks[%d]", i), path: []any{"webhooks", i}, key: "secret",
			value: &w.Secret, file: &w.SecretFile})
	}
	fs = append(fs, secretField{what: "store", path: []any{"store"}, key: "dsn", value: &c.Store.DSN, file: &c.Store.DSNFile})
	return fs
}

// provisionSecrets resolves every secret of c (environment references and
// files; dir is the setup file's directory, env looks a variable up) and
// checks the credentials of users and agents. It reports each problem at
// its line of root; a secret that could not be resolved is not reported a
// second time by the credential checks.
func (c *Config) provisionSecrets(root *yaml.Node, dir string, env func(string) (string, bool)) []Problem {
	v := &validator{root: root}
	failed := map[*string]bool{}
	for _, f := range c.secretFields() {
		if err := f.resolve(dir, env); err != nil {
			var se *secretError
			key := f.key
			if errors.As(err, &se) && se.inFile {
				key += "_file"
			}
			v.add(f.what, f.prefix+err.Error(), append(f.path[:len(f.path):len(f.path)], key)...)
			failed[f.value] = true
		}
	}
	c.checkCredentials(v, failed)
	return v.probs
}

// secretError is a secret that could not be resolved; inFile places it on
// the _file key's line rather than the value's.
type secretError struct {
	inFile bool
	msg    string
}

func (e *secretError) Error() string { return e.msg }

// resolve replaces f's value by what it refers to: the environment
// variable it names, or the content of its _file sibling.
func (f secretField) resolve(dir string, env func(string) (string, bool)) error {
	fileKey := f.key + "_file"
	if *f.file != "" {
		if *f.value != "" {
			return &secretError{inFile: true, msg: fmt.Sprintf("%s and %s: set one, not both", f.key, fileKey)}
		}
		s, err := readSecretFile(dir, *f.file)
		if err != nil {
			return &secretError{inFile: true, msg: fmt.Sprintf("%s: %v", fileKey, err)}
		}
		*f.value = s
		return nil
	}
	name, ok, err := envRef(*f.value)
	switch {
	case err != nil:
		return &secretError{msg: fmt.Sprintf("%s: %v", f.key, err)}
	case !ok:
		return nil // a literal
	}
	s, set := env(name)
	switch {
	case !set:
		return &secretError{msg: fmt.Sprintf("%s: environment variable %s is not set", f.key, name)}
	case s == "":
		return &secretError{msg: fmt.Sprintf("%s: environment variable %s is empty", f.key, name)}
	}
	*f.value = s
	return nil
}

// readSecretFile reads the secret in file (relative to dir unless
// absolute), without one trailing newline; an empty secret is an error.
func readSecretFile(dir, file string) (string, error) {
	if !filepath.IsAbs(file) {
		file = filepath.Join(dir, file)
	}
	fh, err := os.Open(file)
	if err != nil {
		return "", err // *PathError names the file
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", file, err)
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("%s: longer than %d bytes, not a secret", file, maxSecretFile)
	}
	s := string(b)
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		s = strings.TrimSuffix(t, "\r")
	}
	if s == "" {
		return "", fmt.Errorf("%s is empty", file)
	}
	return s, nil
}

// envPrefix starts a reference to an environment variable.
const envPrefix = "${env:"

// envRef reads a secret's value: ok when it is exactly ${env:NAME}, with
// NAME letters, digits and underscores not starting with a digit. A value
// that holds "${env:" but is not one such reference is an error rather
// than a literal, so a mistyped reference never becomes a password.
func envRef(s string) (name string, ok bool, err error) {
	if !strings.Contains(s, envPrefix) {
		return "", false, nil
	}
	name, found := strings.CutPrefix(s, envPrefix)
	if found {
		name, found = strings.CutSuffix(name, "}")
	}
	if !found || !isEnvName(name) {
		// The value is not quoted: it may be a password that merely contains "${env:".
		return "", false, fmt.Errorf("the value (%d characters, not shown) contains %q but is not a reference like ${env:NAME} (the whole value, NAME of letters, digits and _)", len(s), envPrefix)
	}
	return name, true, nil
}

func isEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// checkCredentials checks users' and agents' credentials once resolved;
// fields in failed were already reported.
func (c *Config) checkCredentials(v *validator, failed map[*string]bool) {
	set := func(value, file *string) bool { return *value != "" || *file != "" }
	for i := range c.Users {
		u := &c.Users[i]
		what := fmt.Sprintf("user %q", u.Username)
		switch {
		case !set(&u.Password, &u.PasswordFile) && !set(&u.PasswordHash, &u.PasswordHashFile):
			v.add(what, "password or password_hash: required", "users", i)
		case u.PasswordHash != "" && !failed[&u.PasswordHash] && !strings.HasPrefix(u.PasswordHash, "$2"):
			v.add(what, "password_hash: not a bcrypt hash ($2a$…)", "users", i, "password_hash")
		}
	}
	for i := range c.Agents {
		a := &c.Agents[i]
		what := fmt.Sprintf("agent %q", a.Extension)
		hasPassword, hasHA1 := set(&a.Password, &a.PasswordFile), set(&a.PasswordHA1, &a.PasswordHA1File)
		switch {
		case hasPassword && hasHA1:
			v.add(what, "password and password_ha1: set one, not both (password_ha1 stands for the password)", "agents", i, "password_ha1")
		case !hasPassword && !hasHA1:
			v.add(what, "password, password_file or password_ha1: required", "agents", i)
		case hasHA1 && !failed[&a.PasswordHA1]:
			if !isHA1(a.PasswordHA1) {
				v.add(what, "password_ha1: not 32 hexadecimal digits (MD5 of extension:realm:password; see switchboard ha1)", "agents", i, ha1Key(a))
			}
			a.PasswordHA1 = strings.ToLower(a.PasswordHA1) // digest responses are computed from lowercase hex
		}
	}
}

func ha1Key(a *Agent) string {
	if a.PasswordHA1File != "" {
		return "password_ha1_file"
	}
	return "password_ha1"
}

func isHA1(s string) bool {
	if len(s) != 2*md5.Size {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// DigestHA1 is the HA1 of SIP digest authentication (RFC 2617, MD5):
// the lowercase hex MD5 of user:realm:password. It is what password_ha1
// holds, so the server can check a phone's digest, and an agent's web
// login, without knowing the password.
func DigestHA1(user, realm, password string) string {
	sum := md5.Sum([]byte(user + ":" + realm + ":" + password))
	return hex.EncodeToString(sum[:])
}

// HA1 is the agent's digest HA1 for realm: password_ha1 as configured, or
// computed from the password.
func (a Agent) HA1(realm string) string {
	if a.PasswordHA1 != "" {
		return a.PasswordHA1
	}
	return DigestHA1(a.Extension, realm, a.Password)
}
