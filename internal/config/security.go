package config

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Security is the defence against password guessing on SIP:
// BanAfter failed authentications from one address within BanWindow ban
// it for BanFor (its requests get no answer). Only Exempt sources are
// never banned: a trunk's inbound sources are not exempt by themselves (the
// demo trusts all of loopback), so list a trunk's ranges here to be sure.
type Security struct {
	// BanAfter is the number of failures that bans; 0 never bans.
	BanAfter  int           `yaml:"ban_after"`
	BanWindow time.Duration `yaml:"ban_window"`
	BanFor    time.Duration `yaml:"ban_for"`
	// Exempt lists addresses or CIDR prefixes never banned.
	Exempt Sources `yaml:"exempt"`
	// RecentEvents is how many security events the API's sample keeps.
	RecentEvents int `yaml:"recent_events"`
}

// securityDefaults: 10 failures in a minute ban for 10 minutes.
func securityDefaults() Security {
	return Security{BanAfter: 10, BanWindow: time.Minute, BanFor: 10 * time.Minute, RecentEvents: 256}
}

// UnmarshalYAML decodes and checks the section, naming the line of each
// problem. yaml.v3 does not carry KnownFields into a custom unmarshaller,
// so unknown keys are refused here.
func (s *Security) UnmarshalYAML(n *yaml.Node) error {
	type plain Security
	known := map[string]bool{}
	t := reflect.TypeFor[plain]()
	for i := range t.NumField() {
		known[strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]] = true
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; !known[k.Value] {
				return fmt.Errorf("line %d: security: field %s not found", k.Line, k.Value)
			}
		}
	}
	p := plain(*s)
	if err := n.Decode(&p); err != nil {
		return err
	}
	var probs []string
	bad := func(key, msg string) {
		line := n.Line
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				line = n.Content[i].Line
			}
		}
		probs = append(probs, fmt.Sprintf("line %d: security: %s: %s", line, key, msg))
	}
	if p.BanAfter < 0 {
		bad("ban_after", "must be >= 0 (0 never bans)")
	}
	if p.BanAfter > 0 && p.BanWindow <= 0 {
		bad("ban_window", "must be > 0")
	}
	if p.BanAfter > 0 && p.BanFor <= 0 {
		bad("ban_for", "must be > 0")
	}
	if p.RecentEvents < 0 {
		bad("recent_events", "must be >= 0")
	}
	if len(probs) > 0 {
		return fmt.Errorf("%s", strings.Join(probs, "\n"))
	}
	*s = Security(p)
	return nil
}

// Sources are addresses or CIDR prefixes, parsed once at load.
type Sources []netip.Prefix

// UnmarshalYAML parses a list of addresses or CIDR prefixes.
func (s *Sources) UnmarshalYAML(n *yaml.Node) error {
	var raw []string
	if err := n.Decode(&raw); err != nil {
		return err
	}
	out := make(Sources, 0, len(raw))
	for i, r := range raw {
		p, err := ParseSource(r)
		if err != nil {
			line := n.Line
			if i < len(n.Content) {
				line = n.Content[i].Line
			}
			return fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, p)
	}
	*s = out
	return nil
}

// MarshalYAML writes the sources back as strings.
func (s Sources) MarshalYAML() (any, error) {
	out := make([]string, len(s))
	for i, p := range s {
		out[i] = p.String()
	}
	return out, nil
}
