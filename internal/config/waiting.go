package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"time"
)

// Announce is what a waiting caller hears every Every: their position, the
// estimated wait, then the queue's waiting options.
type Announce struct {
	// Every is the time between announcements (the first is on entry); 0 never.
	Every         time.Duration `yaml:"every"`
	Position      bool          `yaml:"position"`
	EstimatedWait bool          `yaml:"estimated_wait"`
}

// Caller options while waiting: what a key pressed in a queue does.
const (
	OptionCallback  = "callback"
	OptionVoicemail = "voicemail"
)

// Overflow actions: what happens to a call that waited too long, found the
// queue full, or found no agents.
const (
	ActionQueue     = "queue"     // go on waiting in another queue
	ActionVoicemail = "voicemail" // leave a message in the queue's mailbox
	ActionCallback  = "callback"  // offer a callback; a caller who declines keeps waiting
	ActionHangup    = "hangup"    // play Prompt (if any) and hang up
)

// Overflow is one limit's action.
type Overflow struct {
	// After is the wait that triggers it (max_wait only).
	After time.Duration `yaml:"after"`
	// Calls is the queue length at which new callers overflow (max_length only).
	Calls  int    `yaml:"calls"`
	Action string `yaml:"action"`
	// Queue is the target of a queue action.
	Queue string `yaml:"queue"`
	// Prompt is played before the action (hangup: the goodbye).
	Prompt string `yaml:"prompt"`
}

// Callback is how a queue's callbacks are dialled.
type Callback struct {
	// Attempts is how many times the customer is dialled before giving up.
	Attempts int `yaml:"attempts"`
	// RetryAfter is the pause before the callback is offered again after
	// the customer did not answer.
	RetryAfter time.Duration `yaml:"retry_after"`
	// RingTimeout is how long the customer's phone rings per attempt.
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// Trunk is the outbound trunk used; the first with an outbound side when empty.
	Trunk string `yaml:"trunk"`
}

// Voicemail is where messages are stored and how they are emailed.
type Voicemail struct {
	SMTP SMTP `yaml:"smtp"`
	// MaxLength ends a message; Silence ends it after that much quiet.
	MaxLength time.Duration `yaml:"max_length"`
	Silence   time.Duration `yaml:"silence"`
	Mailboxes []Mailbox     `yaml:"mailboxes"`
}

// SMTP is the mail relay voicemail is delivered through.
type SMTP struct {
	// Addr is host:port; empty stores messages without emailing them.
	Addr     string `yaml:"addr"`
	From     string `yaml:"from"`
	Username string `yaml:"username"`
	// Password may be ${env:NAME}, or read from PasswordFile (secrets.go).
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	// StartTLS requires the relay to offer STARTTLS (always used when offered).
	StartTLS bool `yaml:"starttls"`
	// InsecureSkipVerify accepts any certificate (a relay with a self-signed one).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// Retry is the pause after a failed delivery; it doubles with each
	// failure up to 30 minutes.
	Retry time.Duration `yaml:"retry"`
}

// Mailbox is a voicemail box: a queue's (named after it) or an agent's (named
// after the extension).
type Mailbox struct {
	Name  string `yaml:"name"`
	Email string `yaml:"email"`
	// Greeting is the sound played before the beep.
	Greeting string `yaml:"greeting"`
}

// OutboundTrunk is where calls to external numbers go.
type OutboundTrunk struct {
	// Host is the carrier's host:port; a call to N is sent to sip:N@Host.
	Host string `yaml:"host"`
	// Transport is udp, tcp or tls; over tls the carrier's certificate is
	// verified against the system roots, or only against TLSCA when set.
	Transport string `yaml:"transport"`
	TLSCA     string `yaml:"tls_ca"`
	// Username and Password answer the carrier's digest challenges; with
	// Register the trunk also registers as Username.
	// Password may be ${env:NAME}, or read from PasswordFile (secrets.go).
	Username     string        `yaml:"username"`
	Password     string        `yaml:"password"`
	PasswordFile string        `yaml:"password_file"`
	Register     bool          `yaml:"register"`
	Expires      time.Duration `yaml:"expires"`
	// CallerID presented on outbound calls; empty keeps the caller's own number.
	CallerID string `yaml:"caller_id"`
}

// MailboxByName returns the named mailbox.
func (c *Config) MailboxByName(name string) (Mailbox, bool) {
	for _, m := range c.Voicemail.Mailboxes {
		if m.Name == name {
			return m, true
		}
	}
	return Mailbox{}, false
}

// OutboundTrunk returns the named trunk's outbound side, or the first
// trunk's with one when name is empty.
func (c *Config) OutboundTrunk(name string) (Trunk, bool) {
	for _, t := range c.Trunks {
		if t.Outbound != nil && (name == "" || t.Name == name) {
			return t, true
		}
	}
	return Trunk{}, false
}

func (c *Config) waitingDefaults() {
	for i := range c.Queues {
		q := &c.Queues[i]
		if q.Callback.Attempts == 0 {
			q.Callback.Attempts = 3
		}
		if q.Callback.RetryAfter == 0 {
			q.Callback.RetryAfter = 2 * time.Minute
		}
		if q.Callback.RingTimeout == 0 {
			q.Callback.RingTimeout = 30 * time.Second
		}
		if q.Record == "" {
			q.Record = RecordNone
		}
		if q.OptionsPrompt == "" && len(q.Options) > 0 {
			q.OptionsPrompt = "queue-options"
		}
	}
	if c.Voicemail.MaxLength == 0 {
		c.Voicemail.MaxLength = 2 * time.Minute
	}
	if c.Voicemail.SMTP.Retry == 0 {
		c.Voicemail.SMTP.Retry = 30 * time.Second
	}
	if c.Voicemail.Silence == 0 {
		c.Voicemail.Silence = 5 * time.Second
	}
	for i := range c.Voicemail.Mailboxes {
		if c.Voicemail.Mailboxes[i].Greeting == "" {
			c.Voicemail.Mailboxes[i].Greeting = "voicemail-greeting"
		}
	}
	for i := range c.Trunks {
		if o := c.Trunks[i].Outbound; o != nil {
			if o.Transport == "" {
				o.Transport = "udp"
			}
			if o.Expires == 0 {
				o.Expires = time.Hour
			}
		}
	}
}

func (c *Config) validateWaiting(v *validator, queues map[string]bool) {
	boxes := map[string]bool{}
	for i, m := range c.Voicemail.Mailboxes {
		what := fmt.Sprintf("mailbox %q", m.Name)
		if m.Name == "" {
			v.add(fmt.Sprintf("mailboxes[%d]", i), "name: required", "voicemail", "mailboxes", i)
		}
		if boxes[m.Name] {
			v.add(what, "name: defined twice", "voicemail", "mailboxes", i, "name")
		}
		boxes[m.Name] = true
		if m.Email != "" {
			if _, err := mail.ParseAddress(m.Email); err != nil {
				v.add(what, fmt.Sprintf("email: %q is not an address", m.Email), "voicemail", "mailboxes", i, "email")
			}
		}
	}
	if s := c.Voicemail.SMTP; s.Addr != "" {
		if _, _, err := net.SplitHostPort(s.Addr); err != nil {
			v.add("voicemail", fmt.Sprintf("smtp: addr: %q is not host:port", s.Addr), "voicemail", "smtp", "addr")
		}
		if _, err := mail.ParseAddress(s.From); err != nil {
			v.add("voicemail", fmt.Sprintf("smtp: from: %q is not an address", s.From), "voicemail", "smtp", "from")
		}
	}
	if c.Voicemail.MaxLength < 0 || c.Voicemail.Silence < 0 {
		v.add("voicemail", "max_length and silence must be >= 0", "voicemail")
	}
	for i, t := range c.Trunks {
		o := t.Outbound
		if o == nil {
			continue
		}
		what := fmt.Sprintf("trunk %q", t.Name)
		if _, _, err := net.SplitHostPort(o.Host); err != nil {
			v.add(what, fmt.Sprintf("outbound: host: %q is not host:port", o.Host), "trunks", i, "outbound", "host")
		}
		if o.Transport != "udp" && o.Transport != "tcp" && o.Transport != "tls" {
			v.add(what, fmt.Sprintf("outbound: transport: %q is not udp, tcp or tls", o.Transport), "trunks", i, "outbound", "transport")
		}
		if o.Register && (o.Username == "" || o.Password == "" && o.PasswordFile == "") { // a file that failed is reported by provisionSecrets
			v.add(what, "outbound: register needs username and password", "trunks", i, "outbound", "register")
		}
		if o.CallerID != "" && !isDigits(o.CallerID) && o.CallerID[0] != '+' {
			v.add(what, fmt.Sprintf("outbound: caller_id: %q is not a number", o.CallerID), "trunks", i, "outbound", "caller_id")
		}
	}
	for i, q := range c.Queues {
		what := fmt.Sprintf("queue %q", q.Name)
		at := func(key ...any) []any { return append([]any{"queues", i}, key...) }
		if q.Record != RecordNone && q.Record != RecordAll && q.Record != RecordOnDemand {
			v.add(what, fmt.Sprintf("record: %q is not none, all or on_demand", q.Record), at("record")...)
		}
		if q.RecordingRetention < 0 {
			v.add(what, "recording_retention: must be >= 0", at("recording_retention")...)
		}
		if q.Hold.RemindEvery < 0 || (q.Hold.RemindEvery > 0 && q.Hold.RemindEvery < 5*time.Second) {
			v.add(what, "hold: remind_every: must be 0 (never) or at least 5s", at("hold", "remind_every")...)
		}
		if q.Hold.Max < 0 {
			v.add(what, "hold: max: must be >= 0", at("hold", "max")...)
		}
		if q.Announce.Every < 0 {
			v.add(what, "announce: every: must be >= 0", at("announce", "every")...)
		}
		uses := map[string]bool{}
		for digit, opt := range q.Options {
			if len(digit) != 1 || !slices.Contains([]byte("0123456789*#"), digit[0]) {
				v.add(what, fmt.Sprintf("options: %q is not one key", digit), at("options", digit)...)
			}
			if opt != OptionCallback && opt != OptionVoicemail {
				v.add(what, fmt.Sprintf("options: %s: %q is not callback or voicemail", digit, opt), at("options", digit)...)
			}
			uses[opt] = true
		}
		check := func(key string, o *Overflow) {
			if o == nil {
				return
			}
			switch o.Action {
			case ActionQueue:
				if !queues[o.Queue] || o.Queue == q.Name {
					v.add(what, fmt.Sprintf("%s: queue: %q is not another queue", key, o.Queue), at(key, "queue")...)
				}
			case ActionVoicemail, ActionCallback, ActionHangup:
				uses[o.Action] = true
			default:
				v.add(what, fmt.Sprintf("%s: action: %q is not queue, voicemail, callback or hangup", key, o.Action), at(key, "action")...)
			}
		}
		check("max_wait", q.MaxWait)
		check("max_length", q.MaxLength)
		check("no_agents", q.NoAgents)
		if q.MaxWait != nil && q.MaxWait.After <= 0 {
			v.add(what, "max_wait: after: must be > 0", at("max_wait", "after")...)
		}
		if q.MaxLength != nil && q.MaxLength.Calls <= 0 {
			v.add(what, "max_length: calls: must be > 0", at("max_length", "calls")...)
		}
		if uses[ActionVoicemail] && !boxes[q.Voicemail] {
			v.add(what, fmt.Sprintf("voicemail: mailbox %q is not defined under voicemail: mailboxes", q.Voicemail), at("voicemail")...)
		}
		if uses[ActionCallback] {
			if _, ok := c.OutboundTrunk(q.Callback.Trunk); !ok {
				v.add(what, "callback: needs a trunk with an outbound side", at("callback")...)
			}
			if q.Callback.Attempts < 1 || q.Callback.RetryAfter < 0 || q.Callback.RingTimeout <= 0 {
				v.add(what, "callback: attempts must be >= 1, ring_timeout > 0", at("callback")...)
			}
		}
	}
	cards := map[string]bool{}
	for i, sc := range c.QA.Scorecards {
		what := fmt.Sprintf("scorecard %q", sc.Name)
		if sc.Name == "" || cards[sc.Name] {
			v.add(what, "name: required and unique", "qa", "scorecards", i)
		}
		cards[sc.Name] = true
		ids := map[string]bool{}
		total := 0
		for j, sec := range sc.Sections {
			for k, q := range sec.Questions {
				if q.ID == "" || ids[q.ID] {
					v.add(what, fmt.Sprintf("question %q: id required and unique", q.ID), "qa", "scorecards", i, "sections", j, "questions", k)
				}
				ids[q.ID] = true
				if q.Weight < 0 {
					v.add(what, fmt.Sprintf("question %q: weight must be >= 0", q.ID), "qa", "scorecards", i, "sections", j, "questions", k)
				}
				total += q.Weight
			}
		}
		if total == 0 {
			v.add(what, "the questions' weights add up to 0", "qa", "scorecards", i)
		}
	}
	if c.QA.SamplePerAgent < 0 || c.QA.LongCall < 0 {
		v.add("qa", "sample_per_agent and long_call must be >= 0", "qa")
	}
	for i, w := range c.Webhooks {
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add(fmt.Sprintf("webhooks[%d]", i), fmt.Sprintf("url: %q is not an http(s) URL", w.URL), "webhooks", i, "url")
		}
	}
	for i, a := range c.Agents {
		if a.Voicemail != "" && !boxes[a.Voicemail] {
			v.add(fmt.Sprintf("agent %q", a.Extension), fmt.Sprintf("voicemail: mailbox %q is not defined", a.Voicemail), "agents", i, "voicemail")
		}
	}
}
