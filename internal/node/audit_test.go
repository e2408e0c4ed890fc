package node_test

import (
	"testing"

	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// A supervisor setting an agent away is in the node's audit log, with the
// agent's state before and after; a failed login is too.
func TestSupervisorActionsAreAudited(t *testing.T) {
	n := nodetest.Start(t, "")
	if code := n.API("POST", "/api/v1/agents/1001/login", nil, nil); code != 200 {
		t.Fatalf("login 1001: %d", code)
	}
	if code := n.APIAs(nodetest.Supervisor, "POST", "/api/v1/agents/1001/state", map[string]string{"state": "away", "reason": "coaching"}, nil); code != 200 {
		t.Fatalf("set 1001 away: %d", code)
	}
	n.APIAs(nodetest.Credential{User: "supervisor", Password: "wrong"}, "GET", "/api/v1/me", nil, nil)
	var entries []struct {
		Actor, Role, Source, Action, Target, Before, After string
		Result                                             int
	}
	if code := n.API("GET", "/api/v1/audit?limit=10", nil, &entries); code != 200 {
		t.Fatalf("GET /api/v1/audit: %d", code)
	}
	if len(entries) < 3 {
		t.Fatalf("audit log %+v", entries)
	}
	failed, change := entries[0], entries[1]
	if failed.Actor != "supervisor" || failed.Action != "login_failed" || failed.Source != "127.0.0.1" {
		t.Fatalf("the failed login's entry %+v", failed)
	}
	if change.Actor != "supervisor" || change.Action != "POST /api/v1/agents/{id}/state" || change.Target != "1001" ||
		change.Result != 200 || change.Before != "available" || change.After != "away: coaching" {
		t.Fatalf("the state change's entry %+v", change)
	}
}
