package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestDemoParses(t *testing.T) {
	b, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("demo.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	if q, ok := cfg.QueueByName("sales"); !ok || q.RingTimeout != 15*time.Second {
		t.Fatalf("sales queue %+v", q)
	}
	if len(cfg.Agents) != 4 || cfg.Agents[1].Extension != "1002" || len(cfg.Agents[1].Queues) != 2 {
		t.Fatalf("agents %+v", cfg.Agents)
	}
	if !cfg.Server.Demo || cfg.Server.MediaIP != "127.0.0.1" {
		t.Fatalf("server %+v", cfg.Server)
	}
	// The demo contract: the outbound trunk, support's announcements and
	// options, sales' overflow, voicemail to support@demo.example.
	if tr, ok := cfg.OutboundTrunk(""); !ok || tr.Outbound.Host != "127.0.0.1:5080" || tr.Outbound.Transport != "udp" || tr.Outbound.Register {
		t.Fatalf("outbound trunk %+v", tr)
	}
	sup, _ := cfg.QueueByName("support")
	if sup.Announce.Every != 30*time.Second || !sup.Announce.Position || !sup.Announce.EstimatedWait ||
		sup.Options["1"] != OptionCallback || sup.Options["2"] != OptionVoicemail {
		t.Fatalf("support %+v", sup)
	}
	if s, _ := cfg.QueueByName("sales"); s.MaxWait == nil || s.MaxWait.After != time.Minute || s.MaxWait.Action != ActionQueue || s.MaxWait.Queue != "support" {
		t.Fatalf("sales max_wait %+v", s.MaxWait)
	}
	if m, ok := cfg.MailboxByName(sup.Voicemail); !ok || m.Email != "support@demo.example" || cfg.Voicemail.SMTP.Addr != "127.0.0.1:2525" || cfg.Voicemail.SMTP.StartTLS {
		t.Fatalf("voicemail %+v %+v", m, cfg.Voicemail.SMTP)
	}
}

func TestValidationNamesFileLineAndField(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "bad ring timeout and unknown queue",
			yaml: "queues:\n  - name: sales\n    ring_timeout: -1s\nagents:\n  - extension: \"1001\"\n    password: x\n    queues: [nope]\n",
			want: []string{`x.yaml:3: queue "sales": ring_timeout: must be > 0`, `x.yaml:7: agent "1001": queues: unknown queue "nope"`},
		},
		{
			name: "unknown field",
			yaml: "queues:\n  - name: sales\n    ring_timout: 5s\n",
			want: []string{"x.yaml", "x.yaml:3:", "ring_timout"},
		},
		{
			name: "flow to missing step",
			yaml: "flows:\n  - name: main\n    start: a\n    steps:\n      a: {type: menu, prompts: [x], options: {\"1\": b, \"55\": a}}\n",
			want: []string{`x.yaml:5: flow "main": step "a": options: 1: no step "b"`, `options: "55" is not a single DTMF digit`},
		},
		{
			name: "invalid yaml",
			yaml: "queues: [\n",
			want: []string{"x.yaml"},
		},
		{
			name: "bad hours",
			yaml: "hours:\n  - name: h\n    timezone: Mars/Olympus\n    weekly: {mon: [\"17:00-09:00\"], xyz: []}\n    holidays: [\"2026-13-01\", \"2026-12-26..2026-12-24\"]\n",
			want: []string{"unknown time zone", "ends before it starts", `"xyz" is not one of`,
				`x.yaml:5: hours "h": holidays: "2026-13-01" is not a date`, `holidays: "2026-12-26..2026-12-24" ends before it starts`},
		},
		{
			name: "bad strategy, skills and escalation",
			yaml: "queues:\n  - name: sales\n    strategy: fastest\n    skills: {spanish: 11}\n    escalation:\n      - {after: 0s, add_queues: [nope]}\n      - {after: 30s}\nagents:\n  - extension: \"1001\"\n    password: x\n    skills: {spanish: 0}\n",
			want: []string{`x.yaml:3: queue "sales": strategy: unknown strategy "fastest" (known: longest_idle, round_robin`,
				`x.yaml:4: queue "sales": skills: spanish: proficiency 11 is not 1 to 10`,
				`x.yaml:6: queue "sales": escalation: after: must be > 0`, `escalation: add_queues: "nope" is not another queue`,
				`x.yaml:7: queue "sales": escalation: a step needs min_proficiency or add_queues`,
				`x.yaml:11: agent "1001": skills: spanish: proficiency 0 is not 1 to 10`},
		},
		{
			name: "waiting options, limits, voicemail and trunks",
			yaml: "trunks:\n  - name: t\n    outbound: {host: nohost, transport: sctp, register: true, caller_id: abc}\n" +
				"queues:\n  - name: q\n    options: {\"1\": callback, \"22\": voicemail, \"3\": dance}\n" +
				"    max_wait: {after: 0s, action: queue, queue: q}\n    max_length: {calls: 0, action: explode}\n" +
				"    no_agents: {action: voicemail}\n" +
				"voicemail:\n  smtp: {addr: nope, from: not-an-address}\n  mailboxes:\n    - {name: m, email: bad}\n    - {name: m}\n",
			want: []string{`x.yaml:3: trunk "t": outbound: host: "nohost" is not host:port`, `outbound: transport: "sctp" is not udp, tcp or tls`,
				`outbound: register needs username and password`, `outbound: caller_id: "abc" is not a number`,
				`options: "22" is not one key`, `options: 3: "dance" is not callback or voicemail`,
				`max_wait: queue: "q" is not another queue`, `max_wait: after: must be > 0`,
				`max_length: action: "explode" is not queue, voicemail, callback or hangup`, `max_length: calls: must be > 0`,
				`voicemail: mailbox "" is not defined under voicemail: mailboxes`,
				`smtp: addr: "nope" is not host:port`, `smtp: from: "not-an-address" is not an address`,
				`mailbox "m": email: "bad" is not an address`, `mailbox "m": name: defined twice`},
		},
		{
			name: "campaigns",
			yaml: "queues:\n  - {name: sales, dispositions: [sale]}\n" +
				"campaigns:\n  - name: renewals\n    mode: turbo\n    queue: nope\n    caller_id: abc\n" +
				"    window: {start: \"8:00\", end: \"07:00\", days: [mon, funday], holidays: [xmas]}\n" +
				"    ring_timeout: 10s\n    abandon_target: 0.2\n    max_attempts: 0\n    timezone: Mars/Olympus\n" +
				"    retry: {busy: 10m, lunch: 1h}\n    amd: {machine: message}\n  - {name: renewals, mode: preview, queue: sales, caller_id: \"5550100\", dnc_dispositions: [nope]}\n",
			want: []string{`x.yaml:5: campaign "renewals": mode: unknown dialing mode "turbo"`, `x.yaml:6: campaign "renewals": queue: "nope" is not a queue`,
				`x.yaml:7: campaign "renewals": caller_id: "abc" is not a phone number`, `trunk: no trunk has an outbound side`,
				`window: start: "8:00" is not a time of day`, `window: days: "funday" is not mon`, `window: holidays: "xmas" is not a date`,
				`x.yaml:9: campaign "renewals": ring_timeout: must be 15s..2m`, `abandon_target: must be above 0 and at most 0.05`,
				`timezone: "Mars/Olympus" is not an IANA time zone`, `retry: "lunch" is neither an outcome`,
				`amd: message: required when machines get a message`, `x.yaml:15: campaign "renewals": name: defined twice`,
				`dnc_dispositions: "nope" is not one of queue "sales"'s dispositions`},
		},
		{
			name: "number to unknown flow",
			yaml: "numbers:\n  - {number: \"100\", flow: nope}\n",
			want: []string{`x.yaml:2: number "100": flow: unknown flow "nope"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:5060": true, "[::1]:80": true, "localhost:1": true, "0.0.0.0:5060": false, "10.1.2.3:5060": false, "bad": false} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v", addr, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("../../examples/demo.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("queues: [{name: a, ring_timeout: 1s}]"))
	f.Add([]byte("flows: [{name: x, start: y, steps: {y: {type: hangup}}}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := Parse("fuzz.yaml", b)
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
	})
}
