package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/node"
	"github.com/switchboard/switchboard/internal/node/nodetest"
)

// reloadable starts a node on setup written to a file it can read again;
// the file's server section is the running node's (as the command line's
// overrides would make it), so only what a test edits differs.
func reloadable(t *testing.T, setup string) (*nodetest.Node, string) {
	t.Helper()
	return reloadableWide(t, setup, 1)
}

// reloadableWide is reloadable with blocks blocks of 100 RTP ports.
func reloadableWide(t *testing.T, setup string, blocks int) (*nodetest.Node, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "setup.yaml")
	if err := os.WriteFile(path, []byte(setup), 0o600); err != nil {
		t.Fatal(err)
	}
	var running *nodetest.Node
	parse := func(data []byte) (*config.Config, error) {
		c, err := config.Parse(path, data)
		if err != nil {
			return nil, err
		}
		c.Server = running.Config().Server
		return c, nil
	}
	read := func() ([]byte, error) { return os.ReadFile(path) }
	cfg, err := config.Parse(path, []byte(setup))
	if err != nil {
		t.Fatal(err)
	}
	running = nodetest.StartWide(t, cfg, blocks, node.WithSetup(node.Setup{Path: path, Read: read, Parse: parse}))
	return running, path
}

// reload POSTs /api/v1/config/reload and decodes the answer.
func reload(t *testing.T, n *nodetest.Node) (int, map[string]any) {
	t.Helper()
	code, out, err := postAdmin(t, n, "/api/v1/config/reload", nil)
	if err != nil {
		t.Fatal(err)
	}
	return code, out
}

// postAdmin POSTs body as admin (the API helper sends JSON and decodes only
// successes; these answers matter on 422 too) and decodes the JSON answer.
func postAdmin(t *testing.T, n *nodetest.Node, path string, body io.Reader) (int, map[string]any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, n.URL+path, body)
	req.SetBasicAuth(nodetest.Admin.User, nodetest.Admin.Password)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	err = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out, err
}

// A reload under a live call changes a queue's strategy, adds an agent and
// removes another who is on the call: the call goes on with audio both
// ways, the new agent can register and take calls, the removed one is
// logged out once the call ends, and an invalid setup changes nothing.
func TestReloadKeepsCallsAndChangesSetup(t *testing.T) {
	setup := nodetest.Demo(t)
	n, path := reloadable(t, setup)
	alice := n.Phone(t, "1001")
	alice.SetTone(440)
	nodetest.WaitFor(t, 5*time.Second, "agent 1001 available", func() bool { return n.AgentState("1001") == "available" })

	c := n.Dial(t, "100", nodetest.Tone(1000))
	if c.Code != 200 {
		t.Fatalf("INVITE to 100: %d", c.Code)
	}
	nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c.RTP.Received() > 10 })
	c.SendDTMF("1") // sales
	call := alice.NextCall(t, 10*time.Second)
	select {
	case <-call.Answered():
	case <-time.After(5 * time.Second):
		t.Fatal("the phone did not answer")
	}
	nodetest.WaitFor(t, 5*time.Second, "the agent's tone at the caller", func() bool { return c.RTP.ToneLevel(440) > 0.5 })

	// An invalid setup: refused with file:line, nothing changes.
	bad := strings.Replace(setup, "strategy: longest_idle", "strategy: fastest_first", 1)
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := reload(t, n)
	errs, _ := out["errors"].([]any)
	if code != 422 || len(errs) == 0 || !strings.HasPrefix(errs[0].(string), path+":") {
		t.Fatalf("reload of an invalid setup: %d %v, want 422 with file:line errors", code, out)
	}

	// The good one: sales rings everybody, 1005 joins, 1001 (on the call) goes.
	good := strings.Replace(setup, "strategy: longest_idle", "strategy: ring_all", 1)
	good = strings.Replace(good, `  - {extension: "1001", name: Alice, password: demo1001, queues: [sales], login_on_register: true}`+"\n",
		`  - {extension: "1005", name: Erin, password: demo1005, queues: [sales], login_on_register: true}`+"\n", 1)
	if good == setup || !strings.Contains(good, "1005") || strings.Contains(good, `extension: "1001"`) {
		t.Fatal("the demo changed: the test's edits no longer apply")
	}
	if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out = reload(t, n)
	if code != 200 {
		t.Fatalf("reload: %d %v", code, out)
	}
	ch, _ := out["changes"].(map[string]any)
	if !slices.Equal(strs(ch["agents_added"]), []string{"1005"}) || !slices.Equal(strs(ch["agents_removed"]), []string{"1001"}) {
		t.Fatalf("changes %v", ch)
	}
	var q struct {
		Strategy string `json:"strategy"`
	}
	if code := n.API("GET", "/api/v1/queues/sales", nil, &q); code != 200 || q.Strategy != "ring_all" {
		t.Fatalf("sales after the reload: %d %+v", code, q)
	}

	// The call is untouched: audio both ways, 1001 still on it.
	select {
	case <-c.Ended():
		t.Fatal("the reload hung the call up")
	case <-time.After(500 * time.Millisecond):
	}
	before := call.RTP.Received()
	nodetest.WaitFor(t, 5*time.Second, "the caller's audio at the agent after the reload", func() bool { return call.RTP.Received() > before+20 })
	nodetest.WaitFor(t, 5*time.Second, "the caller's tone at the agent", func() bool { return call.RTP.ToneLevel(1000) > 0.5 })
	if st := n.AgentState("1001"); st != "on_call" {
		t.Fatalf("1001 during its call after being removed: %q, want on_call", st)
	}

	// The new agent registers with the new password and is offered calls.
	erin := n.Phone(t, "1005")
	nodetest.WaitFor(t, 5*time.Second, "agent 1005 available", func() bool { return n.AgentState("1005") == "available" })

	// The removed agent is gone once the call ends.
	c.Hangup()
	nodetest.WaitFor(t, 10*time.Second, "1001 gone after its call", func() bool {
		return n.API("GET", "/api/v1/agents/1001", nil, nil) == 404
	})
	rec := n.EndedCall(t, 5*time.Second, func(r nodetest.CallRecord) bool { return r.Agent == "1001" })
	if rec.Outcome != "answered" {
		t.Fatalf("the call across the reload: %+v", rec)
	}

	c2 := n.Dial(t, "100")
	if c2.Code != 200 {
		t.Fatalf("INVITE after the reload: %d", c2.Code)
	}
	nodetest.WaitFor(t, 5*time.Second, "the welcome prompt", func() bool { return c2.RTP.Received() > 10 })
	c2.SendDTMF("1")
	call2 := erin.NextCall(t, 10*time.Second)
	select {
	case <-call2.Answered():
	case <-time.After(5 * time.Second):
		t.Fatal("the new agent's phone did not answer")
	}
	c2.Hangup()
}

func strs(v any) []string {
	l, _ := v.([]any)
	out := []string{}
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// A reload from outside the API (SIGHUP) is in the audit log, refused or not.
func TestReloadBySignalIsAudited(t *testing.T) {
	n, path := reloadable(t, nodetest.Demo(t))
	if _, err := n.ReloadBy(context.Background(), "SIGHUP"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("queues: [{name: x, strategy: nope}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := n.ReloadBy(context.Background(), "SIGHUP"); err == nil {
		t.Fatal("an invalid setup was applied")
	}
	var entries []struct {
		Actor, Action, Detail string
		Result                int
	}
	if code := n.API("GET", "/api/v1/audit?limit=10", nil, &entries); code != 200 || len(entries) < 2 {
		t.Fatalf("GET /api/v1/audit: %d %+v", code, entries)
	}
	refused, applied := entries[0], entries[1]
	if refused.Actor != "SIGHUP" || refused.Action != "config_reload" || refused.Result != 422 || !strings.Contains(refused.Detail, path) ||
		applied.Actor != "SIGHUP" || applied.Result != 200 {
		t.Fatalf("audit entries %+v", entries[:2])
	}
}

// POST /api/v1/config/apply writes the file only for a setup it applied:
// one naming a prompt the sounds directory lacks is refused (422) and the
// file and the running setup stay as they were; a good one is written
// over the file, the previous one kept as .prev.
func TestApplyWritesOnlyWhatItApplied(t *testing.T) {
	setup := nodetest.Demo(t)
	n, path := reloadable(t, setup)
	post := func(body string) (int, map[string]any) {
		code, out, _ := postAdmin(t, n, "/api/v1/config/apply", strings.NewReader(body))
		return code, out
	}
	missing := strings.Replace(setup, "prompts: [welcome]", "prompts: [no-such-prompt]", 1)
	if code, out := post(missing); code != 422 || !strings.Contains(fmt.Sprint(out["errors"]), "no-such-prompt") {
		t.Fatalf("apply with a missing prompt: %d %v, want 422 naming it", code, out)
	}
	if b, _ := os.ReadFile(path); string(b) != setup {
		t.Fatal("a refused apply changed the setup file")
	}
	good := strings.Replace(setup, "strategy: longest_idle", "strategy: ring_all", 1)
	if code, out := post(good); code != 200 || out["persisted"] != true {
		t.Fatalf("apply: %d %v", code, out)
	}
	if b, _ := os.ReadFile(path); string(b) != good {
		t.Fatal("the applied setup was not written over the file")
	}
	if b, _ := os.ReadFile(path + ".prev"); string(b) != setup {
		t.Fatal("the previous setup was not kept as .prev")
	}
}

// getText GETs path as admin and returns the status and body.
func getText(t *testing.T, n *nodetest.Node, path string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.URL+path, nil)
	req.SetBasicAuth(nodetest.Admin.User, nodetest.Admin.Password)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// Every setup put in force is a version: the start's file (by "file"), an
// apply (by its admin, with the diff from the one before), a reload of a
// changed file; a refused setup makes none, nor does the same setup
// again. Export gives the running version's YAML back exactly; a restore
// puts an earlier version in force as a new one.
func TestSetupVersions(t *testing.T) {
	setup := nodetest.Demo(t)
	n, path := reloadable(t, setup)
	type version struct {
		Version int64  `json:"version"`
		Actor   string `json:"by"`
		Origin  string `json:"origin"`
		YAML    string `json:"yaml"`
		Diff    string `json:"diff"`
	}
	var list struct {
		Running  int64     `json:"running"`
		Versions []version `json:"versions"`
	}
	versions := func() []version {
		t.Helper()
		if code := n.API("GET", "/api/v1/config/versions", nil, &list); code != 200 {
			t.Fatalf("versions: %d", code)
		}
		return list.Versions
	}
	if v := versions(); len(v) != 1 || v[0].Version != 1 || v[0].Actor != "file" || v[0].Origin != "start" || list.Running != 1 {
		t.Fatalf("after the start: %+v running %d", v, list.Running)
	}
	if code, body := getText(t, n, "/api/v1/config/export"); code != 200 || body != setup {
		t.Fatalf("export of the start's setup: %d, same as the file %v", code, body == setup)
	}

	ringAll := strings.Replace(setup, "strategy: longest_idle", "strategy: ring_all", 1) + "# ring everyone\n"
	if code, out, _ := postAdmin(t, n, "/api/v1/config/apply", strings.NewReader(ringAll)); code != 200 || out["version"] != 2.0 {
		t.Fatalf("apply: %d %v", code, out)
	}
	if code, _, _ := postAdmin(t, n, "/api/v1/config/apply", strings.NewReader("queues: [{name: x, strategy: nope}]\n")); code != 422 {
		t.Fatalf("an invalid apply: %d", code)
	}
	if code, _, _ := postAdmin(t, n, "/api/v1/config/apply", strings.NewReader(ringAll)); code != 200 {
		t.Fatalf("the same apply again: %d", code)
	}
	if v := versions(); len(v) != 2 || v[0].Actor != "admin" || v[0].Origin != "apply" {
		t.Fatalf("after the applies: %+v", v)
	}
	var two version
	if code := n.API("GET", "/api/v1/config/versions/2", nil, &two); code != 200 || two.YAML != ringAll ||
		!strings.Contains(two.Diff, "-    strategy: longest_idle") || !strings.Contains(two.Diff, "+    strategy: ring_all") {
		t.Fatalf("version 2: %d %+v", code, two)
	}
	if code, body := getText(t, n, "/api/v1/config/export"); code != 200 || body != ringAll {
		t.Fatalf("export after the apply: %d, the applied YAML exactly %v", code, body == ringAll)
	}
	if code, body := getText(t, n, "/api/v1/config/versions/2/diff?against=1"); code != 200 || !strings.Contains(body, "+# ring everyone") {
		t.Fatalf("diff 1..2: %d %s", code, body)
	}

	// The file edited and reloaded: version 3.
	roundRobin := strings.Replace(setup, "strategy: longest_idle", "strategy: round_robin", 1)
	if err := os.WriteFile(path, []byte(roundRobin), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _ := reload(t, n); code != 200 {
		t.Fatalf("reload: %d", code)
	}
	// Version 1 restored: version 4, the file and what runs are the start's again.
	var restored map[string]any
	if code := n.API("POST", "/api/v1/config/versions/1/restore", nil, &restored); code != 200 || restored["version"] != 4.0 {
		t.Fatalf("restore of 1: %d %v", code, restored)
	}
	if v := versions(); len(v) != 4 || v[0].Origin != "restore of 1" || v[1].Origin != "reload" || v[1].Actor != "admin" {
		t.Fatalf("after the reload and the restore: %+v", v)
	}
	if b, _ := os.ReadFile(path); string(b) != setup {
		t.Fatal("the restore did not write the restored setup over the file")
	}
	if code, body := getText(t, n, "/api/v1/config/export?version=3"); code != 200 || body != roundRobin {
		t.Fatalf("export of version 3: %d", code)
	}
	if code := n.API("POST", "/api/v1/config/versions/99/restore", nil, nil); code != 404 {
		t.Fatalf("restore of a version that does not exist: %d", code)
	}
}

// setupRequest sends body to path as admin with the given headers and
// returns the answer's status, ETag and body.
func setupRequest(t *testing.T, n *nodetest.Node, method, path, body string, header ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, n.URL+path, strings.NewReader(body))
	req.SetBasicAuth(nodetest.Admin.User, nodetest.Admin.Password)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("ETag"), string(b)
}

// The contract of GET and PUT /api/v1/config: YAML with its version as
// the ETag; a PUT publishes a version, refuses a stale If-Match with 409
// and an invalid setup with 422 {"errors": ["<line>: ..."]}, changing
// nothing; POST /api/v1/config/validate checks without applying.
func TestConfigGetAndPut(t *testing.T) {
	setup := nodetest.Demo(t)
	n, _ := reloadable(t, setup)
	yamlType := []string{"Content-Type", "application/yaml"}
	code, etag, body := setupRequest(t, n, "GET", "/api/v1/config", "", "Accept", "application/yaml")
	if code != 200 || etag != `"1"` || body != setup {
		t.Fatalf("GET: %d etag %s, the file's YAML %v", code, etag, body == setup)
	}
	ringAll := strings.Replace(setup, "strategy: longest_idle", "strategy: ring_all", 1)
	code, etag, body = setupRequest(t, n, "PUT", "/api/v1/config", ringAll, append(yamlType, "If-Match", `"1"`)...)
	if code != 200 || etag != `"2"` || !strings.Contains(body, `"version": 2`) {
		t.Fatalf("PUT on 1: %d etag %s %s", code, etag, body)
	}
	roundRobin := strings.Replace(setup, "strategy: longest_idle", "strategy: round_robin", 1)
	code, etag, body = setupRequest(t, n, "PUT", "/api/v1/config", roundRobin, append(yamlType, "If-Match", `"1"`)...)
	if code != 409 || etag != `"2"` || !strings.Contains(body, "version 2 has been published") {
		t.Fatalf("a stale PUT: %d etag %s %s", code, etag, body)
	}
	code, _, body = setupRequest(t, n, "PUT", "/api/v1/config", setup+"queues: nope\n", yamlType...)
	var problems struct{ Errors []string }
	_ = json.Unmarshal([]byte(body), &problems)
	if code != 422 || len(problems.Errors) == 0 || !startsWithLine(problems.Errors[0]) {
		t.Fatalf("an invalid PUT: %d %s", code, body)
	}
	if code, _, body := setupRequest(t, n, "GET", "/api/v1/config", "", "Accept", "application/yaml"); code != 200 || body != ringAll {
		t.Fatalf("after the refused PUTs: %d, version 2's YAML %v", code, body == ringAll)
	}
	if code, _, body := setupRequest(t, n, "POST", "/api/v1/config/validate", roundRobin, yamlType...); code != 200 || !strings.Contains(body, `"valid": true`) {
		t.Fatalf("validate a valid setup: %d %s", code, body)
	}
	unknownSound := strings.Replace(setup, "music: hold-music", "music: no-such-sound", 1)
	if code, _, body := setupRequest(t, n, "POST", "/api/v1/config/validate", unknownSound, yamlType...); code != 422 || !strings.Contains(body, "no-such-sound") {
		t.Fatalf("validate a setup naming a missing sound: %d %s", code, body)
	}
	if code, _, _ := setupRequest(t, n, "PUT", "/api/v1/config", roundRobin, append(yamlType, "If-Match", "twelve")...); code != 400 {
		t.Fatalf("a malformed If-Match: %d", code)
	}
	var list struct {
		Versions []map[string]any `json:"versions"`
	}
	if code := n.API("GET", "/api/v1/config/versions", nil, &list); code != 200 || len(list.Versions) != 2 ||
		list.Versions[0]["version"] != 2.0 || list.Versions[0]["by"] != "admin" || list.Versions[0]["at"] == nil {
		t.Fatalf("versions: %d %v", code, list.Versions)
	}
}

func startsWithLine(s string) bool {
	line, _, ok := strings.Cut(s, ": ")
	if !ok || line == "" {
		return false
	}
	for _, r := range line {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// A server without a file to write to (the built-in demo) starts again on
// the version published through its API, and on one `config apply` saved
// in its data directory while it was stopped; a file edited since wins.
func TestStoredSetupOutlivesRestart(t *testing.T) {
	setup := nodetest.Demo(t)
	data := filepath.Join(t.TempDir(), "data")
	boot, path := setup, ""
	start := func() *nodetest.Node {
		t.Helper()
		cfg, err := config.Parse("demo.yaml", []byte(boot))
		if err != nil {
			t.Fatal(err)
		}
		var server config.Server
		parse := func(b []byte) (*config.Config, error) {
			c, err := config.Parse("demo.yaml", b)
			if err == nil {
				c.Server = server
			}
			return c, err
		}
		fixed := boot
		su := node.Setup{Read: func() ([]byte, error) { return []byte(fixed), nil }, Parse: parse}
		if path != "" {
			su.Path, su.Read = path, func() ([]byte, error) { return os.ReadFile(path) }
		}
		n := nodetest.StartConfigIn(t, cfg, data, node.WithSetup(su))
		server = n.Config().Server
		return n
	}
	running := func(n *nodetest.Node) string {
		t.Helper()
		code, etag, body := setupRequest(t, n, "GET", "/api/v1/config", "", "Accept", "application/yaml")
		if code != 200 {
			t.Fatalf("GET: %d", code)
		}
		return etag + " " + strings.Split(strings.SplitAfter(body, "strategy: ")[1], "\n")[0]
	}
	n := start()
	ringAll := strings.Replace(setup, "strategy: longest_idle", "strategy: ring_all", 1)
	if code, _, body := setupRequest(t, n, "PUT", "/api/v1/config", ringAll, "Content-Type", "application/yaml"); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	boot2 := n.Config()
	if err := n.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	n = start()
	if got := running(n); got != `"2" ring_all` {
		t.Fatalf("after a restart: %s, want version 2 (ring_all)", got)
	}
	if err := n.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}

	off := node.Offline{Boot: boot2}
	off.Boot.Server.HTTPListen = "" // the stopped node's port 0
	roundRobin := strings.Replace(setup, "strategy: longest_idle", "strategy: round_robin", 1)
	if _, err := off.Apply(context.Background(), "new.yaml", []byte(setup+"queues: nope\n"), "tester"); err == nil {
		t.Fatal("an invalid offline apply was accepted")
	}
	v, err := off.Apply(context.Background(), "new.yaml", []byte(roundRobin), "tester")
	if err != nil || v.Version != 3 {
		t.Fatalf("offline apply: %+v %v", v, err)
	}
	if got, err := off.Export(context.Background(), 0); err != nil || got.YAML != roundRobin {
		t.Fatalf("offline export: %v, the applied YAML %v", err, got.YAML == roundRobin)
	}
	n = start()
	if got := running(n); got != `"3" round_robin` {
		t.Fatalf("after an offline apply: %s, want version 3 (round_robin)", got)
	}
	if err := n.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}

	// A new release's demo: what was published still runs.
	boot = strings.Replace(setup, "strategy: longest_idle", "strategy: fewest_calls", 1)
	n = start()
	if got := running(n); got != `"3" round_robin` {
		t.Fatalf("after the built-in demo changed: %s, want version 3 (published)", got)
	}
	if err := n.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}

	// From a file: one that is no version a start was made from wins.
	path = filepath.Join(t.TempDir(), "setup.yaml")
	if err := os.WriteFile(path, []byte(boot), 0o600); err != nil {
		t.Fatal(err)
	}
	n = start()
	if got := running(n); got != `"4" fewest_calls` {
		t.Fatalf("from a new file: %s, want version 4 (the file's)", got)
	}
	ringAgain := strings.Replace(setup, "strategy: longest_idle", "strategy: ring_all", 1)
	if code, _, body := setupRequest(t, n, "PUT", "/api/v1/config", ringAgain, "Content-Type", "application/yaml"); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if err := n.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	// The file put back by hand (from .prev): it wins over the version
	// the PUT wrote into it.
	prev, err := os.ReadFile(path + ".prev")
	if err != nil || string(prev) != boot {
		t.Fatalf(".prev: %v", err)
	}
	if err := os.WriteFile(path, prev, 0o600); err != nil {
		t.Fatal(err)
	}
	n = start()
	if got := running(n); got != `"6" fewest_calls` {
		t.Fatalf("after the file was put back: %s, want version 6 (the file's)", got)
	}
	if err := n.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	// A version saved while it was stopped (as another node of a cluster
	// would publish one): it runs, and is written over the unchanged file.
	v, err = off.Apply(context.Background(), "new.yaml", []byte(roundRobin), "tester")
	if err != nil || v.Version != 7 {
		t.Fatalf("offline apply: %+v %v", v, err)
	}
	n = start()
	if got := running(n); got != `"7" round_robin` {
		t.Fatalf("after a version saved while stopped: %s, want version 7", got)
	}
	if b, _ := os.ReadFile(path); string(b) != roundRobin {
		t.Fatal("the file was not written with the version that runs")
	}
}
