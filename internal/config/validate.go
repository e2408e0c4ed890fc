package config

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchboard/switchboard/internal/event"
)

// Problem is one thing wrong in a setup, at a line of its file.
type Problem struct {
	Line int
	What string // e.g. `queue "sales": ring_timeout`
	Msg  string
}

// ValidationError lists every problem of a setup file.
type ValidationError struct {
	File     string
	Problems []Problem
}

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = fmt.Sprintf("%s:%d: %s: %s", e.File, p.Line, p.What, p.Msg)
	}
	return strings.Join(lines, "\n")
}

// validator collects problems, finding the line of each in the YAML tree.
type validator struct {
	root  *yaml.Node
	probs []Problem
}

// add records a problem at the node reached by path (keys and list indexes);
// the deepest node that exists gives the line.
func (v *validator) add(what, msg string, path ...any) {
	v.probs = append(v.probs, Problem{Line: lineOf(v.root, path...), What: what, Msg: msg})
}

func lineOf(root *yaml.Node, path ...any) int {
	n := root
	if n == nil {
		return 0
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, p := range path {
		var next *yaml.Node
		switch k := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						line = n.Content[i].Line
						next = n.Content[i+1]
						break
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && k < len(n.Content) {
				next = n.Content[k]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

var validDays = map[string]bool{"mon": true, "tue": true, "wed": true, "thu": true, "fri": true, "sat": true, "sun": true}

func (c *Config) validate(root *yaml.Node) []Problem {
	v := &validator{root: root}
	c.validateServer(v)
	c.validateLimits(v)
	c.validateStore(v)
	c.validateSpeech(v)
	if w := c.WebCaller; w.Number != "" {
		found := false
		for _, n := range c.Numbers {
			found = found || n.Number == w.Number
		}
		if !found {
			v.add("web_caller", fmt.Sprintf("number: %q is not one of the setup's numbers", w.Number), "web_caller", "number")
		}
	}
	if c.WebCaller.MaxCalls < 0 || c.WebCaller.PerMinute < 0 {
		v.add("web_caller", "max_calls and per_minute: must not be negative", "web_caller")
	}
	if l := c.Console.SupervisorsEdit; l != nil {
		for j, w := range *l {
			if !slices.Contains(SupervisorEditable(), w) {
				v.add("console", fmt.Sprintf("supervisors_edit: %q: want one of %s (users, trunks and webhooks are for admins)", w, strings.Join(SupervisorEditable(), ", ")), "console", "supervisors_edit", j)
			}
		}
	}

	users := map[string]bool{}
	for i, u := range c.Users {
		what := fmt.Sprintf("user %q", u.Username)
		if u.Username == "" {
			v.add(fmt.Sprintf("users[%d]", i), "username: required", "users", i)
		}
		if users[u.Username] {
			v.add(what, "username: defined twice", "users", i, "username")
		}
		users[u.Username] = true
		// password and password_hash: checkCredentials (secrets.go)
		switch u.Role {
		case RoleAdmin, RoleSupervisor, RoleAgent:
		default:
			v.add(what, fmt.Sprintf("role: %q is not admin, supervisor or agent", u.Role), "users", i, "role")
		}
	}

	for i, t := range c.Trunks {
		what := fmt.Sprintf("trunk %q", t.Name)
		for j, s := range t.InboundSources {
			if _, err := ParseSource(s); err != nil {
				v.add(what, "inbound_sources: "+err.Error(), "trunks", i, "inbound_sources", j)
			}
		}
	}

	queues := map[string]bool{}
	for i, q := range c.Queues {
		what := fmt.Sprintf("queue %q", q.Name)
		if q.Name == "" {
			v.add(fmt.Sprintf("queues[%d]", i), "name: required", "queues", i)
		}
		if queues[q.Name] {
			v.add(what, "name: defined twice", "queues", i, "name")
		}
		queues[q.Name] = true
		if !slices.Contains(Strategies, q.Strategy) {
			v.add(what, fmt.Sprintf("strategy: unknown strategy %q (known: %s)", q.Strategy, strings.Join(Strategies, ", ")), "queues", i, "strategy")
		}
		for skill, lvl := range q.Skills {
			if lvl < 1 || lvl > 10 {
				v.add(what, fmt.Sprintf("skills: %s: proficiency %d is not 1 to 10", skill, lvl), "queues", i, "skills", skill)
			}
		}
		if q.MissedToAway < 0 {
			v.add(what, "missed_to_away: must be >= 0", "queues", i, "missed_to_away")
		}
		if q.RingTimeout <= 0 {
			v.add(what, "ring_timeout: must be > 0", "queues", i, "ring_timeout")
		}
		if q.WrapUp < 0 {
			v.add(what, "wrap_up: must be >= 0", "queues", i, "wrap_up")
		}
	}

	for i, q := range c.Queues {
		what := fmt.Sprintf("queue %q", q.Name)
		for j, e := range q.Escalation {
			if e.After <= 0 {
				v.add(what, "escalation: after: must be > 0", "queues", i, "escalation", j, "after")
			}
			if e.MinProficiency < 0 || e.MinProficiency > 10 {
				v.add(what, "escalation: min_proficiency: must be 0 to 10", "queues", i, "escalation", j, "min_proficiency")
			}
			if e.MinProficiency == 0 && len(e.AddQueues) == 0 {
				v.add(what, "escalation: a step needs min_proficiency or add_queues", "queues", i, "escalation", j)
			}
			for k, name := range e.AddQueues {
				if !queues[name] || name == q.Name {
					v.add(what, fmt.Sprintf("escalation: add_queues: %q is not another queue", name), "queues", i, "escalation", j, "add_queues", k)
				}
			}
		}
	}

	c.validateWaiting(v, queues)

	exts := map[string]bool{}
	for i, a := range c.Agents {
		what := fmt.Sprintf("agent %q", a.Extension)
		if !isDigits(a.Extension) {
			v.add(what, "extension: must be digits", "agents", i, "extension")
		}
		if exts[a.Extension] {
			v.add(what, "extension: defined twice", "agents", i, "extension")
		}
		exts[a.Extension] = true
		// password and password_ha1: checkCredentials (secrets.go)
		for j, q := range a.Queues {
			if !queues[q] {
				v.add(what, fmt.Sprintf("queues: unknown queue %q", q), "agents", i, "queues", j)
			}
		}
		for skill, lvl := range a.Skills {
			if lvl < 1 || lvl > 10 {
				v.add(what, fmt.Sprintf("skills: %s: proficiency %d is not 1 to 10", skill, lvl), "agents", i, "skills", skill)
			}
		}
	}

	hours := map[string]bool{}
	for i, h := range c.Hours {
		what := fmt.Sprintf("hours %q", h.Name)
		hours[h.Name] = true
		if _, err := time.LoadLocation(h.Timezone); err != nil || h.Timezone == "" {
			v.add(what, fmt.Sprintf("timezone: unknown time zone %q", h.Timezone), "hours", i, "timezone")
		}
		for day, ranges := range h.Weekly {
			if !validDays[day] {
				v.add(what, fmt.Sprintf("weekly: %q is not one of mon, tue, wed, thu, fri, sat, sun", day), "hours", i, "weekly", day)
			}
			for j, r := range ranges {
				if _, _, err := ParseRange(r); err != nil {
					v.add(what, fmt.Sprintf("weekly: %s: %v", day, err), "hours", i, "weekly", day, j)
				}
			}
		}
		for j, hol := range h.Holidays {
			if _, _, err := ParseDateRange(hol); err != nil {
				v.add(what, "holidays: "+err.Error(), "hours", i, "holidays", j)
			}
		}
	}

	flows := map[string]bool{}
	for i, f := range c.Flows {
		flows[f.Name] = true
		c.validateFlow(v, i, f, queues, hours, exts)
	}

	numbers := map[string]bool{}
	for i, n := range c.Numbers {
		what := fmt.Sprintf("number %q", n.Number)
		if n.Number == "" {
			v.add(fmt.Sprintf("numbers[%d]", i), "number: required", "numbers", i)
		}
		if numbers[n.Number] {
			v.add(what, "number: defined twice", "numbers", i, "number")
		}
		numbers[n.Number] = true
		switch {
		case n.Queue != "" && n.Flow != "":
			v.add(what, "a number goes to a flow or a queue, not both", "numbers", i)
		case n.Queue != "":
			if !queues[n.Queue] {
				v.add(what, fmt.Sprintf("queue: unknown queue %q", n.Queue), "numbers", i, "queue")
			}
		case !flows[n.Flow]:
			v.add(what, fmt.Sprintf("flow: unknown flow %q", n.Flow), "numbers", i, "flow")
		}
	}
	c.validateWebhooks(v)
	c.validateCampaigns(v)
	sort.SliceStable(v.probs, func(a, b int) bool { return v.probs[a].Line < v.probs[b].Line })
	return v.probs
}

// validateWebhooks checks each webhook's events against the event
// vocabulary: a misspelt kind would otherwise silently never be sent.
func (c *Config) validateWebhooks(v *validator) {
	for i, w := range c.Webhooks {
		seen := map[string]bool{}
		for j, k := range w.Events {
			switch {
			case !event.Known(event.Kind(k)):
				v.add(fmt.Sprintf("webhooks[%d]", i), fmt.Sprintf("events: unknown event kind %q", k), "webhooks", i, "events", j)
			case seen[k]:
				v.add(fmt.Sprintf("webhooks[%d]", i), fmt.Sprintf("events: %q listed twice", k), "webhooks", i, "events", j)
			}
			seen[k] = true
		}
	}
}

func (c *Config) validateServer(v *validator) {
	s := c.Server
	for _, a := range []struct{ key, val string }{{"sip_listen", s.SIPListen}, {"http_listen", s.HTTPListen}} {
		if _, _, err := net.SplitHostPort(a.val); err != nil {
			v.add("server", fmt.Sprintf("%s: %v", a.key, err), "server", a.key)
		}
	}
	if s.MediaIP != "" && net.ParseIP(s.MediaIP) == nil {
		v.add("server", fmt.Sprintf("media_ip: %q is not an IP address", s.MediaIP), "server", "media_ip")
	}
	if s.RTPPortMin < 1024 || s.RTPPortMax > 65534 || s.RTPPortMax-s.RTPPortMin < 4 {
		v.add("server", fmt.Sprintf("rtp_port_min..rtp_port_max: %d..%d must lie in 1024..65534 with room for two legs", s.RTPPortMin, s.RTPPortMax), "server", "rtp_port_min")
	}
	if s.DataDir == "" {
		v.add("server", "data_dir: required", "server", "data_dir")
	}
	c.validateTLS(v)
	c.validateHTTPS(v)
	if s.RegisterMinExpires <= 0 || s.RegisterMaxExpires < s.RegisterMinExpires {
		v.add("server", "register_min_expires..register_max_expires: must be > 0 and ordered", "server", "register_max_expires")
	}
}

func (c *Config) validateFlow(v *validator, i int, f Flow, queues, hours, exts map[string]bool) {
	what := fmt.Sprintf("flow %q", f.Name)
	if f.Name == "" {
		v.add(fmt.Sprintf("flows[%d]", i), "name: required", "flows", i)
	}
	if _, ok := f.Steps[f.Start]; !ok {
		v.add(what, fmt.Sprintf("start: no step %q", f.Start), "flows", i, "start")
	}
	ids := make([]string, 0, len(f.Steps))
	for id := range f.Steps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		s := f.Steps[id]
		sw := fmt.Sprintf("%s: step %q", what, id)
		at := func(key ...any) []any { return append([]any{"flows", i, "steps", id}, key...) }
		ref := func(key, target string, required bool) {
			if target == "" {
				if required {
					v.add(sw, key+": required", at(key)...)
				}
				return
			}
			if _, ok := f.Steps[target]; !ok {
				v.add(sw, fmt.Sprintf("%s: no step %q", key, target), at(key)...)
			}
		}
		switch s.Type {
		case StepPlay:
			if len(s.Prompts) == 0 {
				v.add(sw, "prompts: required", at()...)
			}
			ref("next", s.Next, true)
		case StepMenu:
			if len(s.Options) == 0 {
				v.add(sw, "options: required", at()...)
			}
			for d, target := range s.Options {
				if len(d) != 1 || !strings.Contains("0123456789*#", d) {
					v.add(sw, fmt.Sprintf("options: %q is not a single DTMF digit", d), at("options", d)...)
				}
				ref("options: "+d, target, true)
			}
			if s.Timeout <= 0 {
				v.add(sw, "timeout: must be > 0", at("timeout")...)
			}
			if s.Attempts < 1 || s.Attempts > 10 {
				v.add(sw, "attempts: must be 1..10", at("attempts")...)
			}
			ref("no_input", s.NoInput, false)
			ref("invalid", s.Invalid, false)
		case StepHours:
			if !hours[s.Hours] {
				v.add(sw, fmt.Sprintf("hours: unknown hours %q", s.Hours), at("hours")...)
			}
			ref("open", s.Open, true)
			ref("closed", s.Closed, true)
		case StepQueue:
			if !queues[s.Queue] {
				v.add(sw, fmt.Sprintf("queue: unknown queue %q", s.Queue), at("queue")...)
			}
		case StepExtension:
			if !exts[s.Extension] {
				v.add(sw, fmt.Sprintf("extension: unknown agent %q", s.Extension), at("extension")...)
			}
		case StepCaller:
			ref("next", s.Next, true)
			for pat, target := range s.Callers {
				if pat == "" || strings.Contains(strings.TrimSuffix(pat, "*"), "*") {
					v.add(sw, fmt.Sprintf("callers: %q is not a number or a prefix ending in *", pat), at("callers", pat)...)
				}
				ref("callers: "+pat, target, true)
			}
		case StepVoicemail:
			if _, ok := c.MailboxByName(s.Mailbox); !ok {
				v.add(sw, fmt.Sprintf("mailbox: %q is not defined under voicemail: mailboxes", s.Mailbox), at("mailbox")...)
			}
		case StepHangup:
		default:
			v.add(sw, fmt.Sprintf("type: %q is not play, menu, hours, caller, queue, extension, voicemail or hangup", s.Type), at("type")...)
		}
	}
}

// ParseSource parses an inbound source: a CIDR prefix or a single address.
func ParseSource(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither an address nor a CIDR prefix", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParseRange parses "09:00-17:30" into minutes since midnight; "24:00" ends a day.
func ParseRange(r string) (from, to int, err error) {
	a, b, ok := strings.Cut(r, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not a range like 09:00-17:00", r)
	}
	if from, err = parseClock(a); err != nil {
		return 0, 0, err
	}
	if to, err = parseClock(b); err != nil {
		return 0, 0, err
	}
	if to <= from {
		return 0, 0, fmt.Errorf("%q ends before it starts", r)
	}
	return from, to, nil
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time like 09:30", s)
	}
	return hh*60 + mm, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func hostOf(hostport string) string {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil || h == "" || h == "0.0.0.0" || h == "::" {
		return "127.0.0.1"
	}
	return h
}

// IsLoopback reports whether a listen address only reaches this machine.
func IsLoopback(hostport string) bool {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if h == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsLoopback()
}

// ParseDateRange reads "2026-12-25" or "2026-12-24..2026-12-26" (inclusive)
// and returns the first and last dates as YYYY-MM-DD.
func ParseDateRange(s string) (from, to string, err error) {
	from, to, found := strings.Cut(s, "..")
	if !found {
		to = from
	}
	a, err1 := time.Parse(time.DateOnly, strings.TrimSpace(from))
	b, err2 := time.Parse(time.DateOnly, strings.TrimSpace(to))
	if err1 != nil || err2 != nil {
		return "", "", fmt.Errorf("%q is not a date (2026-12-25) or a range of dates (2026-12-24..2026-12-26)", s)
	}
	if b.Before(a) {
		return "", "", fmt.Errorf("%q ends before it starts", s)
	}
	return a.Format(time.DateOnly), b.Format(time.DateOnly), nil
}
