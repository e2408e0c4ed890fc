package node

import (
	"testing"

	"github.com/switchboard/switchboard/internal/event"
	"github.com/switchboard/switchboard/internal/store"
)

func TestAuditOfCallEvents(t *testing.T) {
	for _, tc := range []struct {
		e      store.Event
		ok     bool
		actor  string
		action string
	}{
		{store.Event{Kind: event.MonitorStarted, CallID: "c1", Agent: "1001", Detail: "mode=listen supervisor=1004"}, true, "1004", "monitor_started"},
		{store.Event{Kind: event.MonitorEnded, CallID: "c1", Agent: "1001", Detail: "supervisor=1004: supervisor hung up"}, true, "1004", "monitor_ended"},
		{store.Event{Kind: event.RecordingPaused, CallID: "c1", Detail: "by agent 1001 (*1)"}, true, "1001", "recording_paused"},
		{store.Event{Kind: event.RecordingResumed, CallID: "c1", Detail: "by supervisor"}, true, "supervisor", "recording_resumed"},
		{store.Event{Kind: event.Connected, CallID: "c1", Agent: "1001"}, false, "", ""},
	} {
		a, ok := auditOf(tc.e)
		if ok != tc.ok || a.Actor != tc.actor || a.Action != tc.action || (ok && a.Target != "c1") {
			t.Errorf("auditOf(%+v) = %+v, %v; want actor %q action %q", tc.e, a, ok, tc.actor, tc.action)
		}
	}
}
