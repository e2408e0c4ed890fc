package node_test

import (
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// The campaigns API: a supervisor creates a campaign (checked as the setup
// is), imports a list (bad rows reported, duplicates left), starts and
// pauses it and reads its figures; the do-not-call list is edited.
func TestCampaignsAPI(t *testing.T) {
	n, _ := reloadable(t, nodetest.Demo(t))
	sup := nodetest.Supervisor
	body := `{"name": "renewals", "mode": "progressive", "queue": "sales", "caller_id": "5550100", "window": {"start": "08:00", "end": "21:00"}, "max_attempts": 3}`
	if code, _, out := jsonRequest(t, n, sup, "POST", "/api/v1/campaigns", body); code != 201 || out["name"] != "renewals" {
		t.Fatalf("create: %d %v", code, out)
	}
	if code, _, out := jsonRequest(t, n, sup, "POST", "/api/v1/campaigns", body); code != 409 {
		t.Fatalf("create again: %d %v", code, out)
	}
	code, _, out := jsonRequest(t, n, sup, "POST", "/api/v1/campaigns", `{"name": "bad", "mode": "turbo", "queue": "nope", "caller_id": "5550100"}`)
	if errs := strings.Join(strs(out["errors"]), "\n"); code != 422 || !strings.Contains(errs, "mode") || !strings.Contains(errs, `"nope" is not a queue`) {
		t.Fatalf("a bad campaign: %d %v", code, out)
	}
	code, _, st := jsonRequest(t, n, sup, "GET", "/api/v1/campaigns/renewals", "")
	if code != 200 || st["state"] != "stopped" || st["contacts"] != 0.0 || st["abandon_rate"] != 0.0 {
		t.Fatalf("status: %d %v", code, st)
	}
	for _, k := range []string{"state", "contacts", "attempts", "connected", "dnc_skipped", "abandoned", "abandon_rate"} {
		if _, ok := st[k]; !ok {
			t.Errorf("the status has no %q: %v", k, st)
		}
	}
	list := "number,name,plan\n5550001,Ann,gold\n5550002,Bob,silver\nnot-a-number,Cy,x\n5550001,Ann again,x\n"
	code, _, imp := jsonRequest(t, n, sup, "POST", "/api/v1/campaigns/renewals/contacts", list, "Content-Type", "text/csv")
	if code != 200 || imp["added"] != 2.0 || len(imp["rejected"].([]any)) != 2 || strings.Join(strs(imp["fields"]), ",") != "name,plan" {
		t.Fatalf("import: %d %v", code, imp)
	}
	code, _, imp = jsonRequest(t, n, sup, "POST", "/api/v1/campaigns/renewals/contacts?map=Phone:number", "Phone\n5550002\n5550003\n", "Content-Type", "text/csv")
	if code != 200 || imp["added"] != 1.0 || strings.Join(strs(imp["duplicates"]), ",") != "5550002" {
		t.Fatalf("import mapped: %d %v", code, imp)
	}
	if code, _, out := jsonRequest(t, n, sup, "POST", "/api/v1/campaigns/renewals/contacts", "phone\n1\n", "Content-Type", "text/csv"); code != 422 {
		t.Fatalf("no number column: %d %v", code, out)
	}
	if code, _, _ := jsonRequest(t, n, sup, "POST", "/api/v1/campaigns/renewals/contacts", list); code != 415 {
		t.Fatalf("JSON sent as the list: %d", code)
	}
	if code, _, _ := jsonRequest(t, n, sup, "POST", "/api/v1/campaigns/nope/contacts", list, "Content-Type", "text/csv"); code != 404 {
		t.Fatalf("no such campaign: %d", code)
	}
	if code, _, st := jsonRequest(t, n, sup, "POST", "/api/v1/campaigns/renewals/start", ""); code != 200 || st["state"] != "running" || st["contacts"] != 3.0 {
		t.Fatalf("start: %d %v", code, st)
	}
	if code, _, st := jsonRequest(t, n, sup, "POST", "/api/v1/campaigns/renewals/pause", ""); code != 200 || st["state"] != "paused" {
		t.Fatalf("pause: %d %v", code, st)
	}
	if code, _, out := jsonRequest(t, n, sup, "GET", "/api/v1/campaigns", ""); code != 200 || len(out["campaigns"].([]any)) != 1 {
		t.Fatalf("list: %d %v", code, out)
	}
	if code, _, out := jsonRequest(t, n, sup, "GET", "/api/v1/campaigns/renewals/contacts?limit=2", ""); code != 200 || len(out["contacts"].([]any)) != 2 {
		t.Fatalf("contacts: %d %v", code, out)
	}

	if code, _, e := jsonRequest(t, n, sup, "POST", "/api/v1/dnc", `{"number": "555-1234"}`); code != 201 || e["number"] != "5551234" {
		t.Fatalf("dnc add: %d %v", code, e)
	}
	if code, _, _ := jsonRequest(t, n, sup, "POST", "/api/v1/dnc", `{"number": "call me"}`); code != 422 {
		t.Fatalf("dnc junk: %d", code)
	}
	if code, _, _ := jsonRequest(t, n, sup, "POST", "/api/v1/dnc", `{"numbr": "5551234"}`); code != 400 {
		t.Fatalf("dnc typo: %d", code)
	}
	if code, _, out := jsonRequest(t, n, sup, "GET", "/api/v1/dnc", ""); code != 200 || len(out["numbers"].([]any)) != 1 {
		t.Fatalf("dnc list: %d %v", code, out)
	}
	if code, _, _ := jsonRequest(t, n, sup, "DELETE", "/api/v1/dnc/5551234", ""); code != 204 {
		t.Fatalf("dnc remove: %d", code)
	}
	if code, _, _ := jsonRequest(t, n, sup, "DELETE", "/api/v1/dnc/5551234", ""); code != 404 {
		t.Fatalf("dnc remove again: %d", code)
	}
	if code, _, _ := jsonRequest(t, n, nodetest.Credential{User: "1001", Password: "demo1001"}, "GET", "/api/v1/campaigns", ""); code != 403 {
		t.Fatalf("an agent lists campaigns: %d", code)
	}

	// An imported do-not-call list (a registry's file): numbers and
	// prefixes, a header and a bad line; again with replace; removed.
	jsonRequest(t, n, sup, "POST", "/api/v1/dnc", `{"number": "5551000"}`) // on the internal list already
	body = "number,source\n5551000,reg\n+1 (555) 100-2000,reg\n555300*\nnot a number\n"
	code, _, imp = jsonRequest(t, n, nodetest.Admin, "POST", "/api/v1/dnc/lists/national", body, "Content-Type", "text/csv")
	if code != 200 || imp["added"] != 3.0 || imp["entries"] != 3.0 || len(imp["rejected"].([]any)) != 1 {
		t.Fatalf("import a do-not-call list: %d %v", code, imp)
	}
	if code, _, _ := jsonRequest(t, n, sup, "POST", "/api/v1/dnc/lists/national", body, "Content-Type", "text/csv"); code != 403 {
		t.Fatalf("a supervisor imports a list: %d", code)
	}
	if code, _, _ := jsonRequest(t, n, nodetest.Admin, "POST", "/api/v1/dnc/lists/internal", body, "Content-Type", "text/csv"); code != 422 {
		t.Fatalf("an import named internal: %d", code)
	}
	_, _, lists := jsonRequest(t, n, sup, "GET", "/api/v1/dnc/lists", "")
	if got := mustJSON(t, lists["lists"]); got != `[{"entries":1,"list":"internal"},{"entries":3,"list":"national"}]` {
		t.Fatalf("the lists: %s", got)
	}
	if code, _, imp := jsonRequest(t, n, nodetest.Admin, "POST", "/api/v1/dnc/lists/national?replace=true", "5559999\n", "Content-Type", "text/plain"); code != 200 || imp["entries"] != 1.0 {
		t.Fatalf("replace the list: %d %v", code, imp)
	}
	if code, _, out := jsonRequest(t, n, nodetest.Admin, "DELETE", "/api/v1/dnc/lists/national", ""); code != 200 || out["removed"] != 1.0 {
		t.Fatalf("remove the list: %d %v", code, out)
	}
	if code, _, _ := jsonRequest(t, n, nodetest.Admin, "DELETE", "/api/v1/dnc/lists/internal", ""); code != 409 {
		t.Fatalf("remove the internal list whole: %d", code)
	}
}
