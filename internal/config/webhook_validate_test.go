package config

import (
	"strings"
	"testing"
)

// A webhook's events are checked against the event vocabulary at load.
func TestWebhookEventsValidated(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must be in the error; none: no error
	}{
		{
			name: "known kinds",
			yaml: "webhooks:\n  - url: http://127.0.0.1:9/h\n    events: [answered, agent_state, ended]\n",
		},
		{
			name: "no list sends every kind",
			yaml: "webhooks:\n  - url: http://127.0.0.1:9/h\n",
		},
		{
			name: "misspelt kind",
			yaml: "webhooks:\n  - url: http://127.0.0.1:9/h\n    events:\n      - answered\n      - answerd\n",
			want: []string{`x.yaml:5: webhooks[0]: events: unknown event kind "answerd"`},
		},
		{
			name: "second hook, flow list",
			yaml: "webhooks:\n  - url: http://127.0.0.1:9/a\n  - url: http://127.0.0.1:9/b\n    events: [queued, Queued, queued]\n",
			want: []string{`x.yaml:4: webhooks[1]: events: unknown event kind "Queued"`, `webhooks[1]: events: "queued" listed twice`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.yaml))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
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
