package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/outbound"
)

// Campaign is an outbound campaign: the contacts of its list (imported
// through the API, kept in the store) are dialled over a trunk, as the
// mode says, for the agents of a queue (their skills apply), inside a
// calling window of each contact's local time.
type Campaign struct {
	Name string `yaml:"name"`
	// Mode is preview, progressive, power or predictive.
	Mode string `yaml:"mode"`
	// Queue's agents work the campaign; its dispositions and script are
	// the campaign's.
	Queue string `yaml:"queue"`
	// CallerID is the number presented to the people called.
	CallerID string `yaml:"caller_id"`
	// Trunk the calls go out on; the first with an outbound side when empty.
	Trunk  string        `yaml:"trunk"`
	Window CallingWindow `yaml:"window"`
	// Timezone is the contacts' zone when neither the list nor the number
	// says (an IANA name; the server's when empty).
	Timezone string `yaml:"timezone"`
	// MaxAttempts a contact is dialled at most (3 when zero).
	MaxAttempts int `yaml:"max_attempts"`
	// Ratio is power mode's lines per free agent (2 when zero).
	Ratio float64 `yaml:"ratio"`
	// AbandonTarget is the share of live answers that may be dropped,
	// over the campaign and over 30 days (0.03 when zero).
	AbandonTarget float64 `yaml:"abandon_target"`
	// MaxLines caps the calls dialling at once (0: no cap but ten per agent).
	MaxLines int `yaml:"max_lines"`
	// RingTimeout is how long a call rings before it counts as no answer:
	// at least 15 s (25 s when zero).
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// Retry says when a contact is dialled again after an outcome (busy,
	// no_answer, machine, dropped, failed) or a disposition; 0 ends the
	// contact. Outcomes not named keep outbound.DefaultRules.
	Retry map[string]time.Duration `yaml:"retry"`
	// DNCDispositions put the number on the internal do-not-call list.
	DNCDispositions []string `yaml:"dnc_dispositions"`
	// AMD is answering-machine detection.
	AMD CampaignAMD `yaml:"amd"`
	// Identification is the sound a person hears when no agent is free
	// within 2 s of their greeting (who called, and how to opt out).
	Identification string `yaml:"identification"`
	// Blended lets the campaign's agents take inbound calls between
	// outbound ones, inbound first (true when absent).
	Blended *bool `yaml:"blended"`
}

// CallingWindow is the hours of the contact's local day a campaign calls.
type CallingWindow struct {
	Start string `yaml:"start"` // HH:MM, 08:00 when empty
	End   string `yaml:"end"`   // HH:MM, 21:00 when empty
	// Days are mon…sun; every day when empty.
	Days     []string `yaml:"days"`
	Holidays []string `yaml:"holidays"` // YYYY-MM-DD
}

// CampaignAMD configures answering-machine detection.
type CampaignAMD struct {
	// Off connects every answer to an agent (detection on by default).
	Off bool `yaml:"off"`
	// Machine is what a machine gets: hangup (the default), message (the
	// Message sound after the beep) or connect (to an agent).
	Machine string `yaml:"machine"`
	Message string `yaml:"message"`
}

// What machines get.
const (
	AMDHangup  = "hangup"
	AMDMessage = "message"
	AMDConnect = "connect"
)

// DefaultIdentification is the sound a dropped call hears when the
// campaign names none.
const DefaultIdentification = "outbound-identification"

// CampaignByName returns the named campaign.
func (c *Config) CampaignByName(name string) (Campaign, bool) {
	for _, k := range c.Campaigns {
		if k.Name == name {
			return k, true
		}
	}
	return Campaign{}, false
}

// AgentByExtension returns the agent with extension ext.
func (c *Config) AgentByExtension(ext string) (Agent, bool) {
	for _, a := range c.Agents {
		if a.Extension == ext {
			return a, true
		}
	}
	return Agent{}, false
}

// CampaignByNameOr returns the named campaign, or a zero one.
func (c *Config) CampaignByNameOr(name string) Campaign {
	k, _ := c.CampaignByName(name)
	return k
}

// OutboundMode is the campaign's mode, parsed (validation checked it).
func (k Campaign) OutboundMode() outbound.Mode {
	m, _ := outbound.ParseMode(k.Mode)
	return m
}

// IsBlended says whether the campaign's agents take inbound calls too.
func (k Campaign) IsBlended() bool { return k.Blended == nil || *k.Blended }

// OutboundWindow is the campaign's window, parsed (validation checked it).
func (k Campaign) OutboundWindow() outbound.Window {
	w := outbound.DefaultWindow
	if k.Window.Start != "" {
		w.Start, _ = outbound.ParseClock(k.Window.Start)
	}
	if k.Window.End != "" {
		w.End, _ = outbound.ParseClock(k.Window.End)
	}
	for _, d := range k.Window.Days {
		if wd, ok := weekdays[strings.ToLower(d)]; ok {
			w.Days = append(w.Days, wd)
		}
	}
	w.Holidays = k.Window.Holidays
	return w
}

// Rules is the campaign's retry rules.
func (k Campaign) Rules() map[string]outbound.Rule {
	rules := map[string]outbound.Rule{}
	for key, d := range k.Retry {
		rules[key] = outbound.Rule{Retry: d, Final: d == 0}
	}
	for _, d := range k.DNCDispositions {
		rules[d] = outbound.Rule{Final: true, DNC: true}
	}
	return rules
}

// Pacer is the pacer's configuration of the campaign.
func (k Campaign) Pacer() outbound.PacerConfig {
	return outbound.PacerConfig{Mode: k.OutboundMode(), Ratio: k.Ratio, AbandonTarget: k.AbandonTarget, MaxLines: k.MaxLines,
		Longest: k.RingTimeout + 7*time.Second} // the ring, AMD (call.AMDListen: 4 s at most), the call's setup and ending
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

func (c *Config) campaignDefaults() {
	for i := range c.Campaigns {
		k := &c.Campaigns[i]
		if k.MaxAttempts == 0 {
			k.MaxAttempts = 3
		}
		if k.RingTimeout == 0 {
			k.RingTimeout = outbound.DefaultRing
		}
		if k.AbandonTarget == 0 {
			k.AbandonTarget = outbound.DefaultAbandonTarget
		}
		if k.AMD.Machine == "" {
			k.AMD.Machine = AMDHangup
		}
		if k.Identification == "" {
			k.Identification = DefaultIdentification
		}
	}
}

func (c *Config) validateCampaigns(v *validator) {
	seen := map[string]bool{}
	outcomes := []string{string(outbound.Busy), string(outbound.NoAnswer), string(outbound.Machine), string(outbound.Failed), string(outbound.Invalid), "dropped"}
	for i, k := range c.Campaigns {
		what := fmt.Sprintf("campaign %q", k.Name)
		at := func(field string) []any { return []any{"campaigns", i, field} }
		if k.Name == "" || strings.ContainsAny(k.Name, "/?#% ") {
			v.add(fmt.Sprintf("campaigns[%d]", i), "name: required, without spaces or / ? # %", "campaigns", i)
		}
		if k.Name == "mine" {
			v.add(what, `name: "mine" is the API's (GET /api/v1/campaigns/mine): choose another`, at("name")...)
		}
		if seen[k.Name] {
			v.add(what, "name: defined twice", at("name")...)
		}
		seen[k.Name] = true
		if _, err := outbound.ParseMode(k.Mode); err != nil {
			v.add(what, "mode: "+err.Error(), at("mode")...)
		}
		q, ok := c.QueueByName(k.Queue)
		if !ok {
			v.add(what, fmt.Sprintf("queue: %q is not a queue", k.Queue), at("queue")...)
		}
		if k.CallerID == "" || outbound.Normalize(k.CallerID) == "" {
			v.add(what, fmt.Sprintf("caller_id: %q is not a phone number (the number the people called see)", k.CallerID), at("caller_id")...)
		}
		if _, ok := c.OutboundTrunk(k.Trunk); !ok {
			if k.Trunk == "" {
				v.add(what, "trunk: no trunk has an outbound side", at("trunk")...)
			} else {
				v.add(what, fmt.Sprintf("trunk: %q is not a trunk with an outbound side", k.Trunk), at("trunk")...)
			}
		}
		w := outbound.DefaultWindow
		for _, part := range []struct {
			s   string
			set *int
			key string
		}{{k.Window.Start, &w.Start, "start"}, {k.Window.End, &w.End, "end"}} {
			if part.s == "" {
				continue
			}
			m, err := outbound.ParseClock(part.s)
			if err != nil {
				v.add(what, "window: "+part.key+": "+err.Error(), "campaigns", i, "window", part.key)
				continue
			}
			*part.set = m
		}
		if err := w.Validate(); err != nil {
			v.add(what, err.Error(), at("window")...)
		}
		for j, d := range k.Window.Holidays {
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				v.add(what, fmt.Sprintf("window: holidays: %q is not a date (YYYY-MM-DD)", d), "campaigns", i, "window", "holidays", j)
			}
		}
		for j, d := range k.Window.Days {
			if _, ok := weekdays[strings.ToLower(d)]; !ok {
				v.add(what, fmt.Sprintf("window: days: %q is not mon, tue, wed, thu, fri, sat or sun", d), "campaigns", i, "window", "days", j)
			}
		}
		if k.Timezone != "" {
			if _, err := time.LoadLocation(k.Timezone); err != nil || k.Timezone == "Local" {
				v.add(what, fmt.Sprintf("timezone: %q is not an IANA time zone (e.g. America/New_York)", k.Timezone), at("timezone")...)
			}
		}
		if k.MaxAttempts < 1 || k.MaxAttempts > 100 {
			v.add(what, "max_attempts: must be 1..100", at("max_attempts")...)
		}
		if k.Ratio < 0 || k.Ratio > 20 {
			v.add(what, "ratio: must be 0..20 lines per free agent", at("ratio")...)
		}
		if k.AbandonTarget <= 0 || k.AbandonTarget > 0.05 {
			v.add(what, "abandon_target: must be above 0 and at most 0.05 (the TSR and Ofcom allow 0.03)", at("abandon_target")...)
		}
		if k.MaxLines < 0 {
			v.add(what, "max_lines: must not be negative", at("max_lines")...)
		}
		if k.RingTimeout < outbound.MinRing || k.RingTimeout > 2*time.Minute {
			v.add(what, fmt.Sprintf("ring_timeout: must be %s..2m (an unanswered call rings at least 15 s)", outbound.MinRing), at("ring_timeout")...)
		}
		for key, d := range k.Retry {
			if d < 0 {
				v.add(what, fmt.Sprintf("retry: %s: must not be negative", key), "campaigns", i, "retry", key)
			}
			if !slices.Contains(outcomes, key) && (!ok || !slices.Contains(q.Dispositions, key)) {
				v.add(what, fmt.Sprintf("retry: %q is neither an outcome (%s) nor one of queue %q's dispositions", key, strings.Join(outcomes, ", "), k.Queue), "campaigns", i, "retry", key)
			}
		}
		for j, d := range k.DNCDispositions {
			if ok && !slices.Contains(q.Dispositions, d) {
				v.add(what, fmt.Sprintf("dnc_dispositions: %q is not one of queue %q's dispositions", d, k.Queue), "campaigns", i, "dnc_dispositions", j)
			}
		}
		switch k.AMD.Machine {
		case AMDHangup, AMDConnect:
		case AMDMessage:
			if k.AMD.Message == "" {
				v.add(what, "amd: message: required when machines get a message", "campaigns", i, "amd")
			}
		default:
			v.add(what, fmt.Sprintf("amd: machine: %q is not hangup, message or connect", k.AMD.Machine), "campaigns", i, "amd", "machine")
		}
	}
}
