package call

import (
	"slices"
	"testing"
)

func TestStateCommands(t *testing.T) {
	tests := []struct {
		st       State
		answered bool
		rec      string
		has, not []string
	}{
		{st: StateConnected, has: []string{"hangup", "hold", "dtmf", "transfer", "consult", "conference"},
			not: []string{"resume", "leave", "recording/pause", "recording/resume", "recording/start"}},
		{st: StateConnected, rec: RecOn, has: []string{"recording/pause"}, not: []string{"recording/resume", "recording/start"}},
		{st: StateHeld, rec: RecPaused, has: []string{"recording/resume"}, not: []string{"recording/pause"}},
		{st: StateHeld, rec: RecOnDemand, has: []string{"recording/start"}, not: []string{"recording/pause"}},
		{st: StateConsulting, rec: RecOnDemand, not: []string{"recording/start"}},
		{st: StateConference, rec: RecOn, has: []string{"recording/pause"}},
		{st: StateQueued, rec: RecOn, not: []string{"recording/pause"}},
		{st: StateRinging, rec: RecOnDemand, not: []string{"hangup", "hold", "recording/start"}},
		{st: StateHeld, has: []string{"hangup", "resume", "transfer"}, not: []string{"hold", "dtmf"}},
		{st: StateConsulting, has: []string{"consult/cancel"}, not: []string{"consult/complete", "merge", "transfer", "hold"}},
		{st: StateConsulting, answered: true, has: []string{"consult/complete", "merge", "consult/cancel"}, not: []string{"transfer"}},
		{st: StateConference, has: []string{"hold", "resume", "leave", "remove", "conference"}, not: []string{"transfer", "consult"}},
		{st: StateQueued, not: []string{"hangup", "hold"}},
		{st: StateIVR, not: []string{"hangup"}},
		{st: StateEnded, not: []string{"hangup"}},
	}
	for _, tc := range tests {
		got := tc.st.Commands(tc.answered, tc.rec)
		if got == nil {
			t.Errorf("%s: nil, want a list (JSON [])", tc.st)
		}
		for _, c := range tc.has {
			if !slices.Contains(got, c) {
				t.Errorf("%s (answered %v, recording %q): %v lacks %s", tc.st, tc.answered, tc.rec, got, c)
			}
		}
		for _, c := range tc.not {
			if slices.Contains(got, c) {
				t.Errorf("%s (answered %v, recording %q): %v has %s", tc.st, tc.answered, tc.rec, got, c)
			}
		}
	}
}
