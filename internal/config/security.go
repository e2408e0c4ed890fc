package config

import (
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Security is the defence of the SIP edge against password guessing and
// floods. BanAfter failed authentications from one address within
// BanWindow ban it for BanFor (its requests get no answer). Only Exempt
// sources are never banned: a trunk's inbound sources are not exempt by
// themselves (the demo trusts all of loopback), so list a trunk's ranges
// here to be sure. Rate limits how fast one address may send INVITE,
// REGISTER and OPTIONS; trunks' inbound sources and Exempt are not rate
// limited (a carrier sends hundreds of INVITEs a second). Connections caps
// TCP and TLS connections, for every source alike.
type Security struct {
	// BanAfter is the number of failures that bans; 0 never bans.
	BanAfter  int           `yaml:"ban_after"`
	BanWindow time.Duration `yaml:"ban_window"`
	BanFor    time.Duration `yaml:"ban_for"`
	// Exempt lists addresses or CIDR prefixes never banned.
	Exempt Sources `yaml:"exempt"`
	// RecentEvents is how many security events the API's sample keeps.
	RecentEvents int `yaml:"recent_events"`
	// Rate limits requests per source address, by method.
	Rate RateLimits `yaml:"rate"`
	// Connections caps inbound TCP and TLS connections.
	Connections ConnectionLimits `yaml:"connections"`
	// ReportEvery is how often at most one source's requests over a rate,
	// unparseable messages or refused connections are reported as a
	// security event (and a log line), each with the count since the last.
	ReportEvery time.Duration `yaml:"report_every"`
}

// RateLimits are the rates per source address of the methods a scanner
// or a flood sends; requests over them are dropped unanswered.
type RateLimits struct {
	Invite   Rate `yaml:"invite"`
	Register Rate `yaml:"register"`
	Options  Rate `yaml:"options"`
}

// Rate is a token bucket: PerSecond requests a second on average, Burst
// in a row after a quiet spell. A PerSecond of 0 does not limit; a Burst
// of 0 is one second's worth.
type Rate struct {
	PerSecond float64 `yaml:"per_second"`
	Burst     int     `yaml:"burst"`
}

// ConnectionLimits cap inbound TCP and TLS connections: PerSource from one
// address and Total in all (0: no cap); a connection over a cap is closed
// at once. A connection that sends nothing for Idle is closed (0: never);
// phones keeping a connection open send a CRLF keepalive every 30 s or so.
type ConnectionLimits struct {
	PerSource int           `yaml:"per_source"`
	Total     int           `yaml:"total"`
	Idle      time.Duration `yaml:"idle"`
}

// securityDefaults: 10 failures in a minute ban for 10 minutes. A phone
// sends a few INVITEs a minute; REGISTER's burst lets an office of phones
// behind one address register at once after a power cut. 32 connections
// per address, 2048 in all, closed after 3 minutes of silence.
func securityDefaults() Security {
	return Security{BanAfter: 10, BanWindow: time.Minute, BanFor: 10 * time.Minute, RecentEvents: 256,
		Rate: RateLimits{
			Invite:   Rate{PerSecond: 20, Burst: 40},
			Register: Rate{PerSecond: 20, Burst: 100},
			Options:  Rate{PerSecond: 20, Burst: 40},
		},
		Connections: ConnectionLimits{PerSource: 32, Total: 2048, Idle: 3 * time.Minute},
		ReportEvery: time.Minute,
	}
}

// UnmarshalYAML decodes and checks the section, naming the line of each
// problem. yaml.v3 does not carry KnownFields into a custom unmarshaller,
// so unknown keys are refused here.
func (s *Security) UnmarshalYAML(n *yaml.Node) error {
	type plain Security
	if err := unknownFields(n, reflect.TypeFor[plain](), "security"); err != nil {
		return err
	}
	p := plain(*s)
	// A method named in rate replaces its default whole: a burst left out
	// follows from the rate given, not from the default's.
	for _, r := range mapValues(n, "rate") {
		for _, key := range mapKeys(r) {
			switch key {
			case "invite":
				p.Rate.Invite = Rate{}
			case "register":
				p.Rate.Register = Rate{}
			case "options":
				p.Rate.Options = Rate{}
			}
		}
	}
	if err := n.Decode(&p); err != nil {
		return err
	}
	var probs []string
	// bad reports a problem at the line of the key path names (dotted).
	bad := func(path, msg string) {
		line, at := n.Line, n
		for _, key := range strings.Split(path, ".") {
			next := (*yaml.Node)(nil)
			for i := 0; at != nil && at.Kind == yaml.MappingNode && i+1 < len(at.Content); i += 2 {
				if at.Content[i].Value == key {
					line, next = at.Content[i].Line, at.Content[i+1]
				}
			}
			at = next
		}
		probs = append(probs, fmt.Sprintf("line %d: security: %s: %s", line, path, msg))
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
	for _, r := range []struct {
		name string
		rate *Rate
	}{{"invite", &p.Rate.Invite}, {"register", &p.Rate.Register}, {"options", &p.Rate.Options}} {
		if r.rate.PerSecond < 0 || math.IsNaN(r.rate.PerSecond) || math.IsInf(r.rate.PerSecond, 0) {
			bad("rate."+r.name+".per_second", "must be a number >= 0 (0 does not limit)")
		}
		if r.rate.PerSecond == 0 && r.rate.Burst > 0 {
			bad("rate."+r.name+".burst", "needs per_second (a burst alone would not limit)")
		}
		if r.rate.Burst < 0 {
			bad("rate."+r.name+".burst", "must be >= 0 (0 is one second's worth)")
		}
		if r.rate.Burst == 0 {
			r.rate.Burst = max(1, int(math.Ceil(r.rate.PerSecond)))
		}
	}
	if p.Connections.PerSource < 0 {
		bad("connections.per_source", "must be >= 0 (0 is no cap)")
	}
	if p.Connections.Total < 0 {
		bad("connections.total", "must be >= 0 (0 is no cap)")
	}
	if p.Connections.Idle < 0 {
		bad("connections.idle", "must be >= 0 (0 never closes an idle connection)")
	}
	if p.ReportEvery <= 0 {
		bad("report_every", "must be > 0")
	}
	if len(probs) > 0 {
		return fmt.Errorf("%s", strings.Join(probs, "\n"))
	}
	*s = Security(p)
	return nil
}

// mapValues are the values of key in mapping n.
func mapValues(n *yaml.Node, key string) []*yaml.Node {
	var out []*yaml.Node
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			out = append(out, n.Content[i+1])
		}
	}
	return out
}

// mapKeys are the keys of mapping n.
func mapKeys(n *yaml.Node) []string {
	var out []string
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i].Value)
	}
	return out
}

// unknownFields refuses a key of mapping n that no field of struct t
// names, in n and in the mappings of its struct-typed fields, naming the
// line and the path of the mapping it is in.
func unknownFields(n *yaml.Node, t reflect.Type, path string) error {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		fields[strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]] = t.Field(i).Type
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		ft, ok := fields[k.Value]
		if !ok {
			return fmt.Errorf("line %d: %s: field %s not found", k.Line, path, k.Value)
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Duration]() {
			if err := unknownFields(n.Content[i+1], ft, path+": "+k.Value); err != nil {
				return err
			}
		}
	}
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
