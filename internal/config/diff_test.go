package config

import (
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	old := "queues:\n  - name: sales\n    strategy: longest_idle\n"
	new := "queues:\n  - name: sales\n    strategy: round_robin\n"
	d := Diff(old, new, "version 1", "version 2")
	for _, want := range []string{"--- version 1", "+++ version 2", "-    strategy: longest_idle", "+    strategy: round_robin"} {
		if !strings.Contains(d, want) {
			t.Errorf("diff lacks %q:\n%s", want, d)
		}
	}
	if d := Diff(old, old, "a", "b"); d != "" {
		t.Errorf("diff of the same text: %q", d)
	}
}
