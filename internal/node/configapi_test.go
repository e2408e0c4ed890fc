package node_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// jsonRequest sends body (JSON) as c with the given headers; it returns
// the status, the ETag and the decoded answer.
func jsonRequest(t *testing.T, n *nodetest.Node, c nodetest.Credential, method, path, body string, header ...string) (int, string, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, n.URL+path, strings.NewReader(body))
	req.SetBasicAuth(c.User, c.Password)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, res.Header.Get("ETag"), out
}

// The setup's collections through the API: a queue, an agent and a
// number added take the next call; a bad field is named; a stale edit
// gets 409; what the rest of the setup needs cannot be removed;
// supervisors edit what console.supervisors_edit lets them; each change
// is one version whose diff is the item's lines; secrets are never shown.
func TestSetupCollections(t *testing.T) {
	n, _ := reloadable(t, nodetest.Demo(t))
	admin, sup := nodetest.Admin, nodetest.Supervisor

	code, etag, list := jsonRequest(t, n, admin, "GET", "/api/v1/config/queues", "")
	if code != 200 || etag != `"1"` || len(list["items"].([]any)) != 2 {
		t.Fatalf("queues: %d %s %v", code, etag, list)
	}
	code, qtag, q := jsonRequest(t, n, admin, "POST", "/api/v1/config/queues", `{"name": "billing", "strategy": "ring_all", "dispositions": ["paid"]}`)
	if code != 201 || q["name"] != "billing" || !strings.HasPrefix(qtag, `"item-`) {
		t.Fatalf("create a queue: %d %s %v", code, qtag, q)
	}
	var diff struct {
		Diff string `json:"diff"`
	}
	if code := n.API("GET", "/api/v1/config/versions/2", nil, &diff); code != 200 || strings.Contains(diff.Diff, "\n-") || !strings.Contains(diff.Diff, "+  - name: billing\n") {
		t.Fatalf("version 2's diff is not the new queue's lines alone: %d\n%s", code, diff.Diff)
	}
	if code, _, out := jsonRequest(t, n, admin, "POST", "/api/v1/config/queues", `{"name": "billing"}`); code != 409 {
		t.Fatalf("the queue again: %d %v", code, out)
	}
	code, _, a := jsonRequest(t, n, admin, "POST", "/api/v1/config/agents", `{"extension": "1005", "name": "Eve", "password": "demo1005", "queues": ["billing"], "login_on_register": true}`)
	if code != 201 || a["name"] != "Eve" {
		t.Fatalf("create an agent: %d %v", code, a)
	}
	if _, shown := a["password"]; shown {
		t.Fatal("the agent's password is shown")
	}
	if code, _, out := jsonRequest(t, n, admin, "PUT", "/api/v1/config/numbers/200", `{"queue": "billing"}`); code != 200 || out["number"] != "200" {
		t.Fatalf("add a number: %d %v", code, out)
	}

	// The next call to 200 reaches Eve in billing.
	eve := nodetest.NewPhone(t, n.SIPAddr(), "1005", "demo1005")
	nodetest.WaitFor(t, 5*time.Second, "agent 1005 available", func() bool { return n.AgentState("1005") == "available" })
	caller := n.Dial(t, "200")
	offer := eve.NextCall(t, 10*time.Second)
	select {
	case <-offer.Answered():
	case <-time.After(5 * time.Second):
		t.Fatal("agent 1005 did not answer the call to 200")
	}
	caller.Hangup()

	// A bad field is named; nothing changes.
	code, _, out := jsonRequest(t, n, admin, "PUT", "/api/v1/config/queues/billing", `{"strategy": "ring_all", "ring_timeout": "soon"}`)
	if code != 422 || !strings.Contains(strings.Join(strs(out["errors"]), "\n"), "queues[billing].ring_timeout") {
		t.Fatalf("a bad duration: %d %v", code, out)
	}
	code, _, out = jsonRequest(t, n, admin, "PUT", "/api/v1/config/queues/billing", `{"strategy": "fastest"}`)
	if code != 422 || !strings.Contains(strings.Join(strs(out["errors"]), "\n"), `queue "billing"`) {
		t.Fatalf("an unknown strategy: %d %v", code, out)
	}
	code, _, out = jsonRequest(t, n, admin, "PUT", "/api/v1/config/queues/billing?dry_run=true", `{"strategy": "round_robin"}`)
	if code != 200 || out["valid"] != true {
		t.Fatalf("a dry run: %d %v", code, out)
	}
	// A stale edit: the item changed since its ETag was read.
	if code, _, _ := jsonRequest(t, n, admin, "PUT", "/api/v1/config/queues/billing", `{"strategy": "linear"}`, "If-Match", qtag); code != 200 {
		t.Fatalf("an edit on the item's ETag: %d", code)
	}
	if code, _, out := jsonRequest(t, n, admin, "PUT", "/api/v1/config/queues/billing", `{"strategy": "random"}`, "If-Match", qtag); code != 409 {
		t.Fatalf("an edit on a stale ETag: %d %v", code, out)
	}
	if code, _, _ := jsonRequest(t, n, admin, "PUT", "/api/v1/config/queues/billing", `{"strategy": "random"}`, "If-Match", `"2"`); code != 409 {
		t.Fatalf("an edit on a stale version: %d", code)
	}
	// What the rest of the setup needs stays.
	code, _, out = jsonRequest(t, n, admin, "DELETE", "/api/v1/config/queues/billing", "")
	if code != 422 || !strings.Contains(strings.Join(strs(out["errors"]), "\n"), "billing") {
		t.Fatalf("remove a queue in use: %d %v", code, out)
	}
	if code, _, _ := jsonRequest(t, n, admin, "DELETE", "/api/v1/config/queues/nope", ""); code != 404 {
		t.Fatalf("remove a queue that is not there: %d", code)
	}

	// Supervisors: dispositions and scripts yes, queues and users no.
	if code, _, out := jsonRequest(t, n, sup, "PUT", "/api/v1/config/queues/sales/dispositions", `{"dispositions": ["sale", "no sale", "callback"]}`); code != 200 || len(out["dispositions"].([]any)) != 3 {
		t.Fatalf("a supervisor sets dispositions: %d %v", code, out)
	}
	if code, _, out := jsonRequest(t, n, sup, "GET", "/api/v1/config/queues/sales/dispositions", ""); code != 200 || strs(out["dispositions"])[2] != "callback" {
		t.Fatalf("the dispositions: %d %v", code, out)
	}
	if code, _, _ := jsonRequest(t, n, sup, "PUT", "/api/v1/config/queues/sales/script", `{"script": "# Sales\nGreet {{caller_name}}.\n"}`); code != 200 {
		t.Fatalf("a supervisor sets a script: %d", code)
	}
	if code, _, _ := jsonRequest(t, n, sup, "PUT", "/api/v1/config/queues/sales", `{"strategy": "random"}`); code != 403 {
		t.Fatalf("a supervisor edits a queue: %d", code)
	}
	if code, _, _ := jsonRequest(t, n, sup, "GET", "/api/v1/config/users", ""); code != 403 {
		t.Fatalf("a supervisor reads the users: %d", code)
	}
	if code, _, _ := jsonRequest(t, n, nodetest.Credential{User: "1001", Password: "demo1001"}, "GET", "/api/v1/config/queues", ""); code != 403 {
		t.Fatalf("an agent reads the queues: %d", code)
	}
	code, _, out = jsonRequest(t, n, admin, "GET", "/api/v1/config/users", "")
	if code != 200 || strings.Contains(mustJSON(t, out), "demo-admin") {
		t.Fatalf("users: %d %v", code, out)
	}

	// What supervisors may edit, set by an admin: queues added, scripts
	// taken away; a supervisor may then edit a queue and not a script.
	if code, _, out := jsonRequest(t, n, sup, "PUT", "/api/v1/config/roles", `{"supervisors_edit": ["agents", "queues"]}`); code != 403 {
		t.Fatalf("a supervisor sets the roles: %d %v", code, out)
	}
	if code, _, out := jsonRequest(t, n, admin, "PUT", "/api/v1/config/roles", `{"supervisors_edit": ["agents", "users"]}`); code != 422 ||
		!strings.Contains(strings.Join(strs(out["errors"]), "\n"), "supervisors_edit") {
		t.Fatalf("supervisors given the users: %d %v", code, out)
	}
	code, _, out = jsonRequest(t, n, admin, "PUT", "/api/v1/config/roles", `{"supervisors_edit": ["agents", "dispositions", "queues"]}`)
	if code != 200 || !strings.Contains(mustJSON(t, out), `"edits":["hours_overrides","agents","dispositions","queues"]`) {
		t.Fatalf("set the roles: %d %v", code, out)
	}
	if code, _, out := jsonRequest(t, n, sup, "PUT", "/api/v1/config/queues/billing", `{"strategy": "round_robin"}`); code != 200 {
		t.Fatalf("a supervisor edits a queue once allowed: %d %v", code, out)
	}
	if code, _, _ := jsonRequest(t, n, sup, "PUT", "/api/v1/config/queues/sales/script", `{"script": "x"}`); code != 403 {
		t.Fatalf("a supervisor edits a script once not allowed: %d", code)
	}
	req, _ := http.NewRequest("GET", n.URL+"/api/v1/config", nil)
	req.SetBasicAuth(admin.User, admin.Password)
	req.Header.Set("Accept", "application/yaml")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	exported, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(exported), "supervisors_edit: [agents, dispositions, queues]") {
		t.Fatalf("the setup's console:\n%s", exported)
	}

	// The OpenAPI document has every route, with the items' schemas.
	var doc struct {
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if code := n.API("GET", "/api/openapi.json", nil, &doc); code != 200 {
		t.Fatalf("openapi: %d", code)
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if op["summary"] == "" {
				t.Errorf("%s %s has no summary", method, path)
			}
		}
	}
	// The rest of the API has its bodies too: a generated client knows a
	// call record and a transfer's body.
	withResponse := 0
	for _, ops := range doc.Paths {
		for _, op := range ops {
			if strings.Contains(mustJSON(t, op["responses"]), "application/json") {
				withResponse++
			}
		}
	}
	if withResponse < 100 {
		t.Errorf("%d operations have a JSON response schema", withResponse)
	}
	if got := mustJSON(t, doc.Paths["/api/v1/calls/{id}/transfer"]["post"]["requestBody"]); !strings.Contains(got, `"to"`) {
		t.Errorf("the transfer's request body: %s", got)
	}
	if got := mustJSON(t, doc.Paths["/api/v1/calls/{id}"]["get"]["responses"]); !strings.Contains(got, "schemas/") && !strings.Contains(got, `"answered_at"`) {
		t.Errorf("a call record's schema: %s", got)
	}
	post := doc.Paths["/api/v1/config/queues"]["post"]
	if !strings.Contains(mustJSON(t, post["requestBody"]), "#/components/schemas/SetupQueue") ||
		doc.Components.Schemas["SetupQueue"].Properties["ring_timeout"]["type"] != "string" ||
		doc.Components.Schemas["SetupAgent"].Properties["password"]["writeOnly"] != true {
		t.Fatalf("the queue's schema: %v %v", post["requestBody"], doc.Components.Schemas["SetupQueue"])
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// toneWAV is a WAV file of a tone: 48 kHz, stereo, 16-bit (what a
// recording program writes), seconds long.
func toneWAV(hz, seconds float64) []byte {
	const rate = 48000
	n := int(rate * seconds)
	data := make([]byte, 44+4*n)
	copy(data, "RIFF")
	binary.LittleEndian.PutUint32(data[4:], uint32(36+4*n))
	copy(data[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(data[16:], 16)
	binary.LittleEndian.PutUint16(data[20:], 1)
	binary.LittleEndian.PutUint16(data[22:], 2)
	binary.LittleEndian.PutUint32(data[24:], rate)
	binary.LittleEndian.PutUint32(data[28:], rate*4)
	binary.LittleEndian.PutUint16(data[32:], 4)
	binary.LittleEndian.PutUint16(data[34:], 16)
	copy(data[36:], "data")
	binary.LittleEndian.PutUint32(data[40:], uint32(4*n))
	for i := 0; i < n; i++ {
		v := uint16(int16(12000 * math.Sin(2*math.Pi*hz*float64(i)/rate)))
		binary.LittleEndian.PutUint16(data[44+4*i:], v)
		binary.LittleEndian.PutUint16(data[46+4*i:], v)
	}
	return data
}

// A prompt uploaded as a 48 kHz stereo WAV plays, converted, to the next
// caller of a flow published to play it; the setup cannot lose a prompt
// it plays; no audio is refused.
func TestUploadedPromptPlays(t *testing.T) {
	n, _ := reloadable(t, nodetest.Demo(t))
	admin := nodetest.Admin
	upload := func(name string, body []byte) (int, map[string]any) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "PUT", n.URL+"/api/v1/config/prompts/"+name, bytes.NewReader(body))
		req.SetBasicAuth(admin.User, admin.Password)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	if code, out := upload("tone-1000", toneWAV(1000, 3)); code != 200 || out["format"] != "wav" || out["seconds"].(float64) < 2.9 {
		t.Fatalf("upload: %d %v", code, out)
	}
	if code, out := upload("junk", []byte("not audio")); code != 422 {
		t.Fatalf("an upload of no audio: %d %v", code, out)
	}
	if code, _ := upload("Bad Name", toneWAV(1000, 0.1)); code != 422 {
		t.Fatalf("a bad name: %d", code)
	}
	var list struct {
		Prompts []struct {
			Name     string `json:"name"`
			Uploaded bool   `json:"uploaded"`
			InUse    bool   `json:"in_use"`
		} `json:"prompts"`
	}
	if code := n.API("GET", "/api/v1/config/prompts", nil, &list); code != 200 || len(list.Prompts) < 2 {
		t.Fatalf("prompts: %d %+v", code, list)
	}
	if code, _, _ := getBytes(t, n, "/api/v1/config/prompts/tone-1000/wav"); code != 200 {
		t.Fatalf("playback: %d", code)
	}
	if code, _, out := jsonRequest(t, n, admin, "POST", "/api/v1/config/flows", `{"name": "tone", "start": "play", "steps": {"play": {"type": "play", "prompts": ["tone-1000"], "next": "bye"}, "bye": {"type": "hangup"}}}`); code != 201 {
		t.Fatalf("a flow playing it: %d %v", code, out)
	}
	if code, _, out := jsonRequest(t, n, admin, "PUT", "/api/v1/config/numbers/300", `{"flow": "tone"}`); code != 200 {
		t.Fatalf("a number for it: %d %v", code, out)
	}
	caller := n.Dial(t, "300")
	nodetest.WaitFor(t, 5*time.Second, "the uploaded tone, heard", func() bool { return caller.RTP.ToneLevel(1000) > 0.8 })
	caller.Hangup()
	if code, _, _ := jsonRequest(t, n, admin, "DELETE", "/api/v1/config/prompts/tone-1000", ""); code != 409 {
		t.Fatalf("remove a prompt in use: %d", code)
	}
	if code, _, _ := jsonRequest(t, n, admin, "DELETE", "/api/v1/config/numbers/300", ""); code != 204 {
		t.Fatalf("remove the number: %d", code)
	}
	if code, _, _ := jsonRequest(t, n, admin, "DELETE", "/api/v1/config/flows/tone", ""); code != 204 {
		t.Fatalf("remove the flow: %d", code)
	}
	if code, _, _ := jsonRequest(t, n, admin, "DELETE", "/api/v1/config/prompts/tone-1000", ""); code != 204 {
		t.Fatalf("remove the prompt: %d", code)
	}
	if code, _, _ := jsonRequest(t, n, admin, "DELETE", "/api/v1/config/prompts/never-uploaded", ""); code != 404 {
		t.Fatalf("remove a prompt never uploaded: %d", code)
	}
}

func getBytes(t *testing.T, n *nodetest.Node, path string) (int, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", n.URL+path, nil)
	req.SetBasicAuth(nodetest.Admin.User, nodetest.Admin.Password)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), b
}

// Several items' changes published together (the console's draft): a
// queue, an agent in it and a number to it are one version, and the next
// call to the number reaches the agent; one bad change refuses them all
// and nothing changes; a change on an item's stale ETag, or on a stale
// version, is refused with 409; each change needs its collection's right.
func TestSetupChangesPublishTogether(t *testing.T) {
	n, _ := reloadable(t, nodetest.Demo(t))
	admin, sup := nodetest.Admin, nodetest.Supervisor
	version := func() float64 {
		var v struct {
			Running float64 `json:"running"`
		}
		n.API("GET", "/api/v1/config/versions?limit=1", nil, &v)
		return v.Running
	}
	_, salesTag, _ := jsonRequest(t, n, admin, "GET", "/api/v1/config/queues/sales", "")
	before := version()
	draft := `{"changes": [
		{"collection": "agents", "op": "create", "item": {"extension": "1005", "name": "Eve", "password": "demo1005", "queues": ["billing"], "login_on_register": true}},
		{"collection": "numbers", "op": "put", "id": "200", "item": {"queue": "billing"}},
		{"collection": "queues", "op": "create", "item": {"name": "billing", "strategy": "ring_all"}},
		{"collection": "queues", "op": "put", "id": "sales", "if_match": ` + mustJSON(t, salesTag) + `, "item": {"strategy": "round_robin", "dispositions": ["sale"]}}
	]}`
	if code, _, out := jsonRequest(t, n, admin, "POST", "/api/v1/config/changes?dry_run=true", draft); code != 200 || out["valid"] != true || version() != before {
		t.Fatalf("a dry run of the draft: %d %v (version %v, was %v)", code, out, version(), before)
	}
	code, _, out := jsonRequest(t, n, admin, "POST", "/api/v1/config/changes", draft)
	if code != 200 || out["version"] != before+1 || out["changes"] != 4.0 || version() != before+1 {
		t.Fatalf("publish the draft: %d %v (version %v, was %v)", code, out, version(), before)
	}
	var diff struct {
		Diff string `json:"diff"`
	}
	if code := n.API("GET", fmt.Sprintf("/api/v1/config/versions/%v", before+1), nil, &diff); code != 200 ||
		!strings.Contains(diff.Diff, "name: billing") || !strings.Contains(diff.Diff, "1005") || !strings.Contains(diff.Diff, "round_robin") {
		t.Fatalf("the version's diff lacks a change: %d\n%s", code, diff.Diff)
	}
	eve := nodetest.NewPhone(t, n.SIPAddr(), "1005", "demo1005")
	nodetest.WaitFor(t, 5*time.Second, "agent 1005 available", func() bool { return n.AgentState("1005") == "available" })
	caller := n.Dial(t, "200")
	offer := eve.NextCall(t, 10*time.Second)
	select {
	case <-offer.Answered():
	case <-time.After(5 * time.Second):
		t.Fatal("agent 1005 did not answer the call to 200")
	}
	caller.Hangup()

	// One bad change: all refused, each problem named, nothing changes.
	now := version()
	code, _, out = jsonRequest(t, n, admin, "POST", "/api/v1/config/changes", `{"changes": [
		{"collection": "queues", "op": "create", "item": {"name": "claims"}},
		{"collection": "queues", "op": "put", "id": "billing", "item": {"strategy": "ring_all", "ring_timeout": "soon"}}]}`)
	if code != 422 || !strings.Contains(strings.Join(strs(out["errors"]), "\n"), "queues[billing].ring_timeout") || version() != now {
		t.Fatalf("a draft with a bad field: %d %v (version %v, was %v)", code, out, version(), now)
	}
	if code, _, _ := jsonRequest(t, n, admin, "GET", "/api/v1/config/queues/claims", ""); code != 404 {
		t.Fatalf("a refused draft's other change was made: %d", code)
	}
	if code, _, out := jsonRequest(t, n, admin, "POST", "/api/v1/config/changes", `{"changes": [{"collection": "moons", "op": "create", "item": {}}]}`); code != 422 {
		t.Fatalf("an unknown collection: %d %v", code, out)
	}
	// Webhooks are named by position, which an earlier change would move.
	if code, _, out := jsonRequest(t, n, admin, "POST", "/api/v1/config/changes", `{"changes": [
		{"collection": "webhooks", "op": "delete", "id": "0"}, {"collection": "webhooks", "op": "delete", "id": "1"}]}`); code != 422 ||
		!strings.Contains(strings.Join(strs(out["errors"]), "\n"), "one change of webhooks") {
		t.Fatalf("two changes of webhooks: %d %v", code, out)
	}
	// A misspelt pin is refused, not taken as none.
	if code, _, out := jsonRequest(t, n, admin, "POST", "/api/v1/config/changes", `{"changes": [
		{"collection": "queues", "op": "put", "id": "sales", "etag": "x", "item": {"strategy": "linear"}}]}`); code != 400 {
		t.Fatalf("an unknown field: %d %v", code, out)
	}
	// Stale: the sales queue's ETag from before the draft; a version pinned.
	if code, _, out := jsonRequest(t, n, admin, "POST", "/api/v1/config/changes", `{"changes": [
		{"collection": "queues", "op": "put", "id": "sales", "if_match": `+mustJSON(t, salesTag)+`, "item": {"strategy": "linear"}}]}`); code != 409 {
		t.Fatalf("a change on a stale item ETag: %d %v", code, out)
	}
	if code, _, _ := jsonRequest(t, n, admin, "POST", "/api/v1/config/changes", `{"changes": [{"collection": "queues", "op": "put", "id": "billing", "item": {"strategy": "linear"}}]}`,
		"If-Match", fmt.Sprintf(`"%v"`, before)); code != 409 {
		t.Fatalf("a draft on a stale version: %d", code)
	}
	// Supervisors may edit agents, not queues: a draft with both is refused.
	if code, _, _ := jsonRequest(t, n, sup, "POST", "/api/v1/config/changes", `{"changes": [
		{"collection": "agents", "op": "put", "id": "1005", "item": {"name": "Eve B", "queues": ["billing"]}},
		{"collection": "queues", "op": "put", "id": "billing", "item": {"strategy": "linear"}}]}`); code != 403 {
		t.Fatalf("a supervisor's draft with a queue: %d", code)
	}
	_, tag1004, _ := jsonRequest(t, n, sup, "GET", "/api/v1/config/agents/1004", "")
	if code, _, out := jsonRequest(t, n, sup, "POST", "/api/v1/config/changes", `{"changes": [
		{"collection": "agents", "op": "put", "id": "1005", "item": {"name": "Eve B", "queues": ["billing"]}},
		{"collection": "agents", "op": "delete", "id": "1004"}]}`); code != 200 || version() != now+1 {
		t.Fatalf("a supervisor's draft of agents: %d %v", code, out)
	}
	// An item read, then removed by someone else: its change is stale.
	if code, _, out := jsonRequest(t, n, admin, "POST", "/api/v1/config/changes", `{"changes": [
		{"collection": "agents", "op": "put", "id": "1004", "if_match": `+mustJSON(t, tag1004)+`, "item": {"name": "Dan"}}]}`); code != 409 {
		t.Fatalf("a change of an item removed since it was read: %d %v", code, out)
	}
}
