// Package config holds Switchboard's setup: the struct tree that mirrors the
// YAML file, its defaults, and its validation. It knows nothing of SIP, media
// or SQL; other packages read the values it produces.
package config

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole setup of one Switchboard node.
type Config struct {
	Server  Server   `yaml:"server"`
	Users   []User   `yaml:"users"`
	Trunks  []Trunk  `yaml:"trunks"`
	Agents  []Agent  `yaml:"agents"`
	Queues  []Queue  `yaml:"queues"`
	Hours   []Hours  `yaml:"hours"`
	Numbers []Number `yaml:"numbers"`
	Flows   []Flow   `yaml:"flows"`
	// FeatureCodes maps what an agent's phone dials to an action.
	FeatureCodes FeatureCodes `yaml:"feature_codes"`
	// Voicemail is message storage and email delivery.
	Voicemail Voicemail `yaml:"voicemail"`
	// Webhooks receive call and agent events.
	Webhooks []Webhook `yaml:"webhooks"`
	// CRM is looked up for the agent's screen pop.
	CRM CRM `yaml:"crm"`
	// QA is quality review: scorecards and the weekly review sample.
	QA QA `yaml:"qa"`
	// Security bans sources that keep failing SIP authentication.
	Security Security `yaml:"security"`
	// Limits is the node's capacity for new calls.
	Limits Limits `yaml:"limits"`
	// Store is the database (store.go); Node names this server in it.
	Store Store `yaml:"store"`
	Node  Node  `yaml:"node"`
	// Console says what supervisors may edit in the admin console and API.
	Console Console `yaml:"console"`
	// WebCaller is the "call us" page at /call.
	WebCaller WebCaller `yaml:"web_caller"`
	// Campaigns are outbound campaigns (campaign.go).
	Campaigns []Campaign `yaml:"campaigns"`
	// Speech is speech analytics (speech.go).
	Speech Speech `yaml:"speech"`
}

// WebCaller is the "call us" page (/call): a visitor's browser calls
// Number like any caller, without logging in.
type WebCaller struct {
	// Number is the setup's number the page calls; empty turns /call off.
	Number string `yaml:"number"`
	// MaxCalls bounds the web calls up at once (default 20).
	MaxCalls int `yaml:"max_calls"`
	// PerMinute is how many calls one address may start a minute (default 3).
	PerMinute int `yaml:"per_minute"`
}

// Console is what the admin console lets each role edit.
type Console struct {
	// SupervisorsEdit names what supervisors may edit besides hours
	// overrides: agents, dispositions, scripts (the default when absent),
	// and also queues, flows, numbers, hours, mailboxes, scorecards,
	// prompts. Users, trunks and webhooks are for admins only.
	SupervisorsEdit *[]string `yaml:"supervisors_edit"`
}

// SupervisorMayEdit says whether supervisors may edit what (a collection,
// "dispositions", "scripts" or "prompts").
func (c Console) SupervisorMayEdit(what string) bool {
	list := []string{"agents", "dispositions", "scripts", "campaigns"}
	if c.SupervisorsEdit != nil {
		list = *c.SupervisorsEdit
	}
	return slices.Contains(list, what)
}

// SupervisorEditable is what console.supervisors_edit may name.
func SupervisorEditable() []string {
	return []string{"agents", "dispositions", "scripts", "campaigns", "queues", "flows", "numbers", "hours", "mailboxes", "scorecards", "prompts"}
}

// QA configures quality review.
type QA struct {
	Scorecards []Scorecard `yaml:"scorecards"`
	// SamplePerAgent is how many calls per agent per week are drawn at
	// random for review, besides those the rules pick.
	SamplePerAgent int `yaml:"sample_per_agent"`
	// LongCall: answered calls talking longer are always reviewed (0: no rule).
	LongCall time.Duration `yaml:"long_call"`
	// ReviewDispositions: calls closed with these codes are always reviewed.
	ReviewDispositions []string `yaml:"review_dispositions"`
}

// Scorecard is a form a reviewer fills for a call.
type Scorecard struct {
	Name     string      `yaml:"name"`
	Sections []QASection `yaml:"sections"`
}

// QASection groups a scorecard's questions.
type QASection struct {
	Name      string       `yaml:"name"`
	Questions []QAQuestion `yaml:"questions"`
}

// QAQuestion is one item: met or not, worth Weight points; an auto-fail
// item not met fails the whole call (score 0).
type QAQuestion struct {
	ID       string `yaml:"id"`
	Text     string `yaml:"text"`
	Weight   int    `yaml:"weight"`
	AutoFail bool   `yaml:"auto_fail"`
}

// CRM is an HTTP lookup of the caller: URL with {number} replaced by the
// caller's number (escaped) returns a JSON object, shown as fields; Link,
// with {number} too, is shown as a link to the caller's page in the CRM.
type CRM struct {
	URL     string        `yaml:"url"`
	Link    string        `yaml:"link"`
	Timeout time.Duration `yaml:"timeout"`
}

// Webhook is an HTTP endpoint that receives events as signed JSON POSTs.
type Webhook struct {
	URL string `yaml:"url"`
	// Secret signs each body (HMAC-SHA256, header X-Switchboard-Signature).
	// It, like every secret of the setup, may be ${env:NAME}, or read from
	// SecretFile instead (secrets.go).
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
	// Events lists the event kinds sent (queued, offered, answered, ended,
	// voicemail_left, transfer, agent_state, ...); empty sends every one.
	Events []string `yaml:"events"`
}

// Server holds listening addresses and process-wide settings.
type Server struct {
	// SIPListen is the host:port SIP listens on, UDP and TCP.
	SIPListen string `yaml:"sip_listen"`
	// SIPTLSListen is the host:port SIP over TLS listens on; empty: no TLS.
	SIPTLSListen string `yaml:"sip_tls_listen"`
	// TLSCert and TLSKey are the TLS listener's PEM certificate and key.
	// When both are empty, a self-signed certificate is created in DataDir
	// at first start and reused afterwards (see TLSFiles).
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// HTTPListen is the host:port of the REST API and web UI; with TLS
	// set it only redirects to HTTPSListen.
	HTTPListen string `yaml:"http_listen"`
	// TLS, when set, serves the web UI and the API over HTTPS (httptls.go).
	TLS HTTPTLS `yaml:"tls"`
	// HTTPSListen is the host:port of HTTPS; empty: HTTPListen's host at
	// port 8443 (see HTTPSListenAddr).
	HTTPSListen string `yaml:"https_listen"`
	// DataDir holds the database and recordings.
	DataDir string `yaml:"data_dir"`
	// MediaIP is the address written in SDP and bound for RTP; defaults to the SIP host.
	MediaIP    string `yaml:"media_ip"`
	RTPPortMin int    `yaml:"rtp_port_min"`
	RTPPortMax int    `yaml:"rtp_port_max"`
	// SoundsDir holds prompt and music WAV files; empty means the built-in demo sounds.
	SoundsDir string `yaml:"sounds_dir"`
	// Realm is the digest-authentication realm.
	Realm string `yaml:"realm"`
	// Demo marks a setup that uses the published demo passwords: such a
	// server refuses to listen on anything but loopback.
	Demo bool `yaml:"demo"`
	// RegisterMaxExpires caps the registration lifetime a phone may ask for.
	RegisterMaxExpires time.Duration `yaml:"register_max_expires"`
	// RegisterMinExpires is the shortest registration accepted (423 below it).
	RegisterMinExpires time.Duration `yaml:"register_min_expires"`
	// NoAnswerTimeout bounds how long an unanswered call may stay in the IVR without input.
	MaxCallDuration time.Duration `yaml:"max_call_duration"`
}

// User is a person who signs in to the API or web UI.
type User struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// PasswordHash is a bcrypt hash used instead of Password, so the setup
	// need not hold the password itself.
	PasswordHash string `yaml:"password_hash"`
	// PasswordFile and PasswordHashFile name files holding Password or
	// PasswordHash instead (secrets.go).
	PasswordFile     string `yaml:"password_file"`
	PasswordHashFile string `yaml:"password_hash_file"`
	Role             string `yaml:"role"`
}

// Roles a user may have.
const (
	RoleAdmin      = "admin"
	RoleSupervisor = "supervisor"
	RoleAgent      = "agent"
)

// Trunk is a carrier connection. Calls from an inbound source are accepted
// without authentication.
type Trunk struct {
	Name           string   `yaml:"name"`
	InboundSources []string `yaml:"inbound_sources"`
	// Outbound, when set, carries calls to external numbers (callbacks,
	// transfers to a number).
	Outbound *OutboundTrunk `yaml:"outbound"`
	// SRTP is whether the trunk's media is encrypted (srtp.go); unset is
	// optional for its calls in, off for calls out.
	SRTP SRTPPolicy `yaml:"srtp"`
}

// Agent is a person who takes calls, identified by an extension.
type Agent struct {
	Extension string `yaml:"extension"`
	Name      string `yaml:"name"`
	// Password is the SIP password (and the web login's); PasswordHA1
	// stands for it: the digest HA1, MD5(extension:realm:password) for
	// server.realm, so the setup need not hold the password. Exactly one
	// of them is set, each possibly from a file (secrets.go).
	Password        string   `yaml:"password"`
	PasswordFile    string   `yaml:"password_file"`
	PasswordHA1     string   `yaml:"password_ha1"`
	PasswordHA1File string   `yaml:"password_ha1_file"`
	Queues          []string `yaml:"queues"`
	// Skills maps a skill to the agent's proficiency, 1 (novice) to 10 (expert).
	Skills map[string]int `yaml:"skills"`
	// LoginOnRegister logs the agent in, available, when their phone registers.
	LoginOnRegister bool `yaml:"login_on_register"`
	// Voicemail names the agent's mailbox.
	Voicemail string `yaml:"voicemail"`
	// Supervisor lets the agent's phone listen to, whisper to and barge
	// into other agents' calls (feature codes).
	Supervisor bool `yaml:"supervisor"`
	// SRTP is whether the media of the agent's phone is encrypted
	// (srtp.go); unset is optional for its calls in, off for calls to it.
	SRTP SRTPPolicy `yaml:"srtp"`
}

// Queue holds waiting callers until an agent takes them.
type Queue struct {
	Name     string `yaml:"name"`
	Strategy string `yaml:"strategy"`
	// RingTimeout is how long one agent's phone rings before the next is tried.
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// WrapUp is the after-call work time before the agent is offered again.
	WrapUp time.Duration `yaml:"wrap_up"`
	// Music is the sound looped while callers wait.
	Music string `yaml:"music"`
	// ServiceLevel is the answer-time threshold of the service-level metric.
	ServiceLevel time.Duration `yaml:"service_level"`
	// Priority: an agent in several queues takes calls of the higher first.
	Priority int `yaml:"priority"`
	// Skills the queue's calls need: skill → minimum proficiency (1–10).
	Skills map[string]int `yaml:"skills"`
	// Escalation steps widen who may take a call as it waits.
	Escalation []Escalation `yaml:"escalation"`
	// MissedToAway sets an agent away (reason "missed") after this many
	// ring-no-answers in a row; 0 never.
	MissedToAway int `yaml:"missed_to_away"`

	// Announce tells waiting callers their position and estimated wait.
	Announce Announce `yaml:"announce"`
	// Options maps a key a waiting caller may press to callback or
	// voicemail; OptionsPrompt offers them after each announcement.
	Options       map[string]string `yaml:"options"`
	OptionsPrompt string            `yaml:"options_prompt"`
	// Voicemail is the queue's mailbox (voicemail option and actions).
	Voicemail string   `yaml:"voicemail"`
	Callback  Callback `yaml:"callback"`
	// MaxWait, MaxLength and NoAgents are the queue's limits and what
	// happens to a call that meets them.
	MaxWait   *Overflow `yaml:"max_wait"`
	MaxLength *Overflow `yaml:"max_length"`
	// NoAgents applies when no agent of the queue is logged in: to a call
	// arriving (unless JoinEmpty) and to waiting calls (with LeaveWhenEmpty).
	NoAgents       *Overflow `yaml:"no_agents"`
	JoinEmpty      bool      `yaml:"join_empty"`
	LeaveWhenEmpty bool      `yaml:"leave_when_empty"`

	// Record is the recording policy: none (the default), all, or
	// on_demand (started through the API).
	Record string `yaml:"record"`
	// Hold checks on a caller put on hold: reminders and a maximum.
	Hold Hold `yaml:"hold"`
	// RecordingRetention deletes the queue's recordings this long after
	// the call; 0 keeps them.
	RecordingRetention time.Duration `yaml:"recording_retention"`

	// Dispositions are the codes an agent closes the queue's calls with
	// (any code when empty).
	Dispositions []string `yaml:"dispositions"`
	// Script is shown to the agent during the call (markdown); {{caller}},
	// {{caller_name}}, {{queue}} and {{digits}} are filled in.
	Script string `yaml:"script"`
	// Spot are phrases listened for on the queue's callers while calls
	// run (speech.go).
	Spot []SpotRule `yaml:"spot"`
}

// Hold says how long a caller may be left on hold. Every RemindEvery
// the agent is reminded (a beep on a SIP phone, an alert on the desktop)
// and the caller hears CallerPrompt between the music; after Max the call
// rings back to the agent, then goes back to the queue.
type Hold struct {
	RemindEvery  time.Duration `yaml:"remind_every"`
	CallerPrompt string        `yaml:"caller_prompt"`
	Max          time.Duration `yaml:"max"`
}

// Recording policies.
const (
	RecordNone     = "none"
	RecordAll      = "all"
	RecordOnDemand = "on_demand"
)

// Escalation is one step of a queue's escalation.
type Escalation struct {
	After time.Duration `yaml:"after"`
	// MinProficiency lowers every required skill's minimum to this.
	MinProficiency int `yaml:"min_proficiency"`
	// AddQueues' agents are offered the calls too.
	AddQueues []string `yaml:"add_queues"`
}

// Strategies a queue may route with (the acd package implements them).
const StrategyLongestIdle = "longest_idle"

// Strategies lists every strategy name.
var Strategies = []string{"longest_idle", "round_robin", "fewest_calls", "least_talk_time", "random", "linear", "ring_all", "best_proficiency"}

// Hours is a weekly schedule in a time zone.
type Hours struct {
	Name     string `yaml:"name"`
	Timezone string `yaml:"timezone"`
	// Weekly maps mon..sun to ranges "09:00-17:30"; a missing day is closed.
	Weekly map[string][]string `yaml:"weekly"`
	// Holidays are closed all day: "2026-12-25", or a range "2026-12-24..2026-12-26".
	Holidays []string `yaml:"holidays"`
}

// Number maps a dialled number (DID) to a flow, or straight to a queue.
type Number struct {
	Number string `yaml:"number"`
	Flow   string `yaml:"flow"`
	Queue  string `yaml:"queue"`
	// Priority of calls a number sends straight to a queue.
	Priority int `yaml:"priority"`
}

// Flow is an IVR: named steps, starting at Start.
type Flow struct {
	Name  string          `yaml:"name"`
	Start string          `yaml:"start"`
	Steps map[string]Step `yaml:"steps"`
}

// Step is one node of a flow. Type selects which fields apply.
type Step struct {
	// Type is play, menu, hours, queue, extension or hangup.
	Type string `yaml:"type"`
	// Prompts are played in order (play, menu).
	Prompts []string `yaml:"prompts"`
	// Next is the step after play.
	Next string `yaml:"next"`
	// Options maps a digit to the next step (menu).
	Options map[string]string `yaml:"options"`
	// Timeout is how long a menu waits for a digit after its prompts.
	Timeout time.Duration `yaml:"timeout"`
	// Attempts is how many times a menu is offered before giving up.
	Attempts int `yaml:"attempts"`
	// InvalidPrompt is played after a digit that is no option.
	InvalidPrompt string `yaml:"invalid_prompt"`
	// NoInput is the step after every attempt timed out; Invalid after the last was invalid.
	NoInput string `yaml:"no_input"`
	Invalid string `yaml:"invalid"`
	// Hours names the schedule of an hours step; Open and Closed are its branches.
	Hours  string `yaml:"hours"`
	Open   string `yaml:"open"`
	Closed string `yaml:"closed"`
	// Queue and Priority apply to a queue step.
	Queue    string `yaml:"queue"`
	Priority int    `yaml:"priority"`
	// Extension is the agent a call is sent to (extension step).
	Extension string `yaml:"extension"`
	// Mailbox takes a message (voicemail step).
	Mailbox string `yaml:"mailbox"`
	// Callers maps calling numbers to the next step (caller step): an
	// exact number, or a prefix ending in "*"; Next when none matches.
	Callers map[string]string `yaml:"callers"`
	// Say maps a menu's keys to what a caller may say instead (menu,
	// with speech analytics on): by default an option's name is its
	// step's (a queue step's: its queue), when that is words. Spoken
	// false turns spoken choices off for the menu.
	Say    map[string]string `yaml:"say"`
	Spoken *bool             `yaml:"spoken"`
}

// Step types.
const (
	StepPlay      = "play"
	StepMenu      = "menu"
	StepHours     = "hours"
	StepQueue     = "queue"
	StepExtension = "extension"
	StepHangup    = "hangup"
	StepVoicemail = "voicemail"
	StepCaller    = "caller"
)

// FeatureCodes are numbers an agent's phone dials to act on the agent.
type FeatureCodes struct {
	// LoginToggle logs the agent in when out, out when in.
	LoginToggle string `yaml:"login_toggle"`
	// Listen, Whisper and Barge, followed by an agent's extension, join
	// that agent's call (agents with supervisor: true only); on the call
	// 4, 5 and 6 switch between the three.
	Listen  string `yaml:"listen"`
	Whisper string `yaml:"whisper"`
	Barge   string `yaml:"barge"`
	// RecordToggle, keyed on the agent's phone during a call, pauses the
	// recording, or resumes it (card numbers read out).
	RecordToggle string `yaml:"record_toggle"`
	// Conference, dialled from the agent's phone followed by an extension
	// or a number while the agent is on a call, adds that party to the
	// call: caller, agent and the party all hear each other.
	Conference string `yaml:"conference"`
}

// ConferenceCode splits a number dialled from an agent's phone into the
// conference code's target; ok is false for other numbers.
func (f FeatureCodes) ConferenceCode(dialed string) (target string, ok bool) {
	p := f.Conference
	if p == "" || len(dialed) <= len(p) || dialed[:len(p)] != p {
		return "", false
	}
	return dialed[len(p):], true
}

// MonitorCode splits a dialled number into a monitor mode (listen,
// whisper, barge) and an extension; ok is false for other numbers.
func (f FeatureCodes) MonitorCode(dialed string) (mode, ext string, ok bool) {
	for _, c := range []struct{ prefix, mode string }{{f.Listen, "listen"}, {f.Whisper, "whisper"}, {f.Barge, "barge"}} {
		if c.prefix != "" && len(dialed) > len(c.prefix) && dialed[:len(c.prefix)] == c.prefix {
			return c.mode, dialed[len(c.prefix):], true
		}
	}
	return "", "", false
}

// Defaults returns a config with every default set; a file overrides them.
func Defaults() Config {
	return Config{
		Server: Server{
			SIPListen:          "127.0.0.1:5060",
			HTTPListen:         "127.0.0.1:8080",
			DataDir:            "./switchboard-data",
			RTPPortMin:         20000,
			RTPPortMax:         29999,
			Realm:              "switchboard",
			RegisterMaxExpires: time.Hour,
			RegisterMinExpires: 10 * time.Second,
			MaxCallDuration:    4 * time.Hour,
		},
		FeatureCodes: FeatureCodes{LoginToggle: "*45", Listen: "*55", Whisper: "*56", Barge: "*57", RecordToggle: "*1", Conference: "*3"},
		Security:     securityDefaults(),
	}
}

// Parse decodes a YAML setup named name (its path: used in error messages,
// and relative secret files are under its directory), applies defaults,
// resolves its secrets (environment references and files, secrets.go) and
// validates it. Every problem found is reported, each as
// "name:line: what: problem".
func Parse(name string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(name, err)
	}
	cfg := Defaults()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(name, err)
	}
	cfg.applyDefaults()
	errs := cfg.provisionSecrets(&root, filepath.Dir(name), os.LookupEnv)
	if errs = append(errs, cfg.validate(&root)...); len(errs) > 0 {
		sort.SliceStable(errs, func(a, b int) bool { return errs[a].Line < errs[b].Line })
		return nil, &ValidationError{File: name, Problems: errs}
	}
	return &cfg, nil
}

func (c *Config) applyDefaults() {
	if c.Node.Name == "" && c.Store.Driver != DriverPostgres {
		c.Node.Name = defaultNodeName() // with postgres it must be given (store.go)
	}
	for i := range c.Queues {
		q := &c.Queues[i]
		if q.Strategy == "" {
			q.Strategy = StrategyLongestIdle
		}
		if q.RingTimeout == 0 {
			q.RingTimeout = 15 * time.Second
		}
		if q.ServiceLevel == 0 {
			q.ServiceLevel = 20 * time.Second
		}
		if q.Music == "" {
			q.Music = "hold-music"
		}
	}
	for _, f := range c.Flows {
		for id, s := range f.Steps {
			if s.Type == StepMenu {
				if s.Timeout == 0 {
					s.Timeout = 5 * time.Second
				}
				if s.Attempts == 0 {
					s.Attempts = 2
				}
			}
			f.Steps[id] = s
		}
	}
	c.waitingDefaults()
	c.campaignDefaults()
	c.speechDefaults()
	if c.Server.MediaIP == "" {
		c.Server.MediaIP = hostOf(c.Server.SIPListen)
	}
}

// QueueByName returns the named queue.
func (c *Config) QueueByName(name string) (Queue, bool) {
	for _, q := range c.Queues {
		if q.Name == name {
			return q, true
		}
	}
	return Queue{}, false
}

// FlowByName returns the named flow.
func (c *Config) FlowByName(name string) (Flow, bool) {
	for _, f := range c.Flows {
		if f.Name == name {
			return f, true
		}
	}
	return Flow{}, false
}

// HoursByName returns the named schedule.
func (c *Config) HoursByName(name string) (Hours, bool) {
	for _, h := range c.Hours {
		if h.Name == name {
			return h, true
		}
	}
	return Hours{}, false
}

// Sounds lists every sound the setup refers to, so they can be checked at start.
func (c *Config) Sounds() []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, k := range c.Campaigns {
		add(k.Identification)
		if k.AMD.Machine == AMDMessage {
			add(k.AMD.Message)
		}
	}
	for _, q := range c.Queues {
		add(q.Music)
		add(q.OptionsPrompt)
		add(q.Hold.CallerPrompt)
		for _, o := range []*Overflow{q.MaxWait, q.MaxLength, q.NoAgents} {
			if o != nil {
				add(o.Prompt)
			}
		}
	}
	for _, m := range c.Voicemail.Mailboxes {
		add(m.Greeting)
	}
	for _, f := range c.Flows {
		for _, s := range f.Steps {
			for _, p := range s.Prompts {
				add(p)
			}
			add(s.InvalidPrompt)
		}
	}
	return out
}
