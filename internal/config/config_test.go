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
			want: []string{"x.yaml", "line 3", "ring_timout"},
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
