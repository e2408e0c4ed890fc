package node_test

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// A call's agent is offered only the recording actions its queue's policy
// and the recording allow: none on a queue that does not record (and a
// pause is refused), Record on one that records on demand and, once it
// runs, Pause, then Resume.
func TestRecordingCommandsFollowThePolicy(t *testing.T) {
	tests := []struct {
		policy string
		want   string   // the recording action offered when connected
		then   []string // actions taken in turn, each 200
	}{
		{policy: "none", want: ""},
		{policy: "on_demand", want: "recording/start", then: []string{"recording/start", "recording/pause", "recording/resume"}},
		{policy: "all", want: "recording/pause", then: []string{"recording/pause", "recording/resume"}},
	}
	for _, tc := range tests {
		t.Run(tc.policy, func(t *testing.T) {
			t.Parallel()
			n := nodetest.Start(t, nodetest.Demo(t, "    record: all\n    dispositions: [sale", "    record: "+tc.policy+"\n    dispositions: [sale"))
			alice := n.Phone(t, "1001")
			nodetest.WaitFor(t, 5*time.Second, "agent 1001 available", func() bool { return n.AgentState("1001") == "available" })
			c := n.Dial(t, "100", nodetest.Tone(1000))
			if c.Code != 200 {
				t.Fatalf("INVITE to 100: %d", c.Code)
			}
			nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
			c.SendDTMF("1") // sales
			call := alice.NextCall(t, 10*time.Second)
			var id string
			nodetest.WaitFor(t, 10*time.Second, "1001 on the call", func() bool {
				var a struct {
					State  string `json:"state"`
					CallID string `json:"call_id"`
				}
				n.API("GET", "/api/v1/agents/1001", nil, &a)
				id = a.CallID
				return a.State == "on_call"
			})
			offered := func() []string {
				var v struct {
					Commands []string `json:"commands"`
				}
				n.API("GET", "/api/v1/calls/"+id, nil, &v)
				return slices.DeleteFunc(v.Commands, func(c string) bool { return len(c) < 10 || c[:10] != "recording/" })
			}
			want := []string{}
			if tc.want != "" {
				want = []string{tc.want}
			}
			nodetest.WaitFor(t, 5*time.Second, "the recording actions "+tc.want, func() bool { return slices.Equal(offered(), want) })
			if tc.policy == "none" {
				if code := n.API("POST", "/api/v1/calls/"+id+"/recording/pause", nil, nil); code != 409 {
					t.Fatalf("pause on an unrecorded call: %d, want 409", code)
				}
			}
			next := map[string]string{"recording/start": "recording/pause", "recording/pause": "recording/resume", "recording/resume": "recording/pause"}
			for _, action := range tc.then {
				if code := n.API("POST", "/api/v1/calls/"+id+"/"+action, nil, nil); code != 200 {
					t.Fatalf("%s: %d", action, code)
				}
				nodetest.WaitFor(t, 5*time.Second, "after "+action+", "+next[action], func() bool {
					return slices.Equal(offered(), []string{next[action]})
				})
			}
			c.Hangup()
			call.WaitEnded(t, 5*time.Second)
		})
	}
}
