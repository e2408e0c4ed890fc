package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// calleeProc is `switchboard load --callee`, the public network, as its
// own process.
type calleeProc struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{} // closed when the process has exited
}

func startCallee(t *testing.T, listen, rtp string, args ...string) *calleeProc {
	t.Helper()
	c := &calleeProc{done: make(chan struct{})}
	logf, err := os.Create(filepath.Join(outDir, strings.ReplaceAll(t.Name(), "/", "_")+".callee.log"))
	if err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command(serverBin, append([]string{"load", "--callee", "--listen", listen, "--rtp-ports", rtp, "--json", "--list", "--duration", "6m"}, args...)...)
	c.cmd.Stdout, c.cmd.Stderr = &c.out, logf
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.cmd.Wait(); logf.Close(); close(c.done) }()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.done
	})
	return c
}

type calleeCall struct {
	Number   string  `json:"number"`
	Behavior string  `json:"behavior"`
	Answered bool    `json:"answered"`
	Heard    float64 `json:"heard_seconds"`
}

// stop ends the called party and returns the calls it took.
func (c *calleeProc) stop(t *testing.T) []calleeCall {
	t.Helper()
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		t.Fatal("the called party did not stop")
	}
	var rep struct {
		List []calleeCall `json:"list"`
	}
	if err := json.Unmarshal(c.out.Bytes(), &rep); err != nil {
		t.Fatalf("the called party's report: %v\n%s", err, c.out.String())
	}
	return rep.List
}

type campaignStatus struct {
	State       string  `json:"state"`
	Contacts    int     `json:"contacts"`
	Pending     int     `json:"pending"`
	Attempts    int     `json:"attempts"`
	Connected   int     `json:"connected"`
	Live        int     `json:"live"`
	Machines    int     `json:"machines"`
	DNCSkipped  int     `json:"dnc_skipped"`
	Abandoned   int     `json:"abandoned"`
	AbandonRate float64 `json:"abandon_rate"`
	Lines       int     `json:"lines"`
	Skipped     map[string]int
}

func postCSV(t *testing.T, s *server, path, body string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.http+path, strings.NewReader(body))
	req.SetBasicAuth("supervisor", "demo-supervisor")
	req.Header.Set("Content-Type", "text/csv")
	res, err := s.httpClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("POST %s: %d", path, res.StatusCode)
	}
}

// A predictive campaign dials the demo trunk's public network (the load
// generator's called party: people, machines with greetings and beeps,
// busies, no answers) for two SIPp agents: people reach agents, machines
// are detected and hung up on, busies are tried again by the retry rule,
// do-not-call numbers are never dialled, every person dropped heard the
// identification message and the drops stay under the target; a second
// campaign's contact waits, skipped, until its calling window opens.
func TestPredictiveCampaign(t *testing.T) {
	t.Parallel()
	var calleeAddr, calleeRTP string
	s := startServerWith(t, func(p ports) []string {
		sp, _ := p.phone(9)
		calleeAddr = fmt.Sprintf("127.0.0.1:%d", sp)
		calleeRTP = fmt.Sprintf("%d-%d", p.base+80, p.base+99)
		return []string{
			`outbound: {host: "127.0.0.1:5080", transport: udp}`, fmt.Sprintf(`outbound: {host: %q, transport: udp}`, calleeAddr),
			"rtp_port_min: 20000", fmt.Sprintf("rtp_port_min: %d", p.base+60),
			"rtp_port_max: 29999", fmt.Sprintf("rtp_port_max: %d", p.base+79),
		}
	})
	// 40 contacts: 5550100+i; the first two are on the do-not-call list,
	// the next two always busy, the rest a mix.
	fixed := "5550102=busy,5550103=busy"
	callee := startCallee(t, calleeAddr, calleeRTP, "--answer-rate", "0.55", "--machine-rate", "0.2", "--busy-rate", "0.1",
		"--ring", "700ms", "--talk", "5s", "--seed", "7", "--numbers", fixed)
	registerAgent(t, s, 0, "1001", "agent_answer.xml", 40, "-timeout", "300s") // sales' agents, for the whole run
	registerAgent(t, s, 1, "1002", "agent_answer.xml", 40, "-timeout", "300s")
	for _, n := range []string{"5550100", "5550101"} {
		if code := s.apiAs("supervisor", "demo-supervisor", "POST", "/api/v1/dnc", map[string]string{"number": n}, nil); code != 201 {
			t.Fatalf("dnc %s: %d", n, code)
		}
	}
	campaign := map[string]any{"name": "renewals", "mode": "predictive", "queue": "sales", "caller_id": "5550100",
		"window": map[string]string{"start": "00:00", "end": "24:00"}, "max_attempts": 2, "ring_timeout": "15s", "max_lines": 6,
		"retry": map[string]string{"busy": "5s", "no_answer": "0s", "machine": "0s"}}
	if code := s.apiAs("supervisor", "demo-supervisor", "POST", "/api/v1/campaigns", campaign, nil); code != 201 {
		t.Fatalf("create: %d", code)
	}
	var list strings.Builder
	list.WriteString("number,name\n")
	for i := range 40 {
		fmt.Fprintf(&list, "%d,Contact %d\n", 5550100+i, i)
	}
	postCSV(t, s, "/api/v1/campaigns/renewals/contacts", list.String())

	// A second campaign whose window opens in a minute or two (UTC).
	now := time.Now().UTC()
	open := now.Add(20 * time.Second).Truncate(time.Minute).Add(time.Minute) // 40 to 100 s from now
	later := open.Format("15:04") < open.Add(10*time.Minute).Format("15:04") // not across midnight
	if later {
		c2 := map[string]any{"name": "later", "mode": "progressive", "queue": "sales", "caller_id": "5550100", "timezone": "UTC",
			"window": map[string]string{"start": open.Format("15:04"), "end": open.Add(10 * time.Minute).Format("15:04")}, "max_attempts": 1}
		if code := s.apiAs("supervisor", "demo-supervisor", "POST", "/api/v1/campaigns", c2, nil); code != 201 {
			t.Fatalf("create the later campaign: %d", code)
		}
		postCSV(t, s, "/api/v1/campaigns/later/contacts", "number,timezone\n5550199,UTC\n")
		s.apiAs("supervisor", "demo-supervisor", "POST", "/api/v1/campaigns/later/start", nil, nil)
		var l campaignStatus
		waitFor(t, 10*time.Second, "the later contact skipped until its window", func() bool {
			s.apiAs("supervisor", "demo-supervisor", "GET", "/api/v1/campaigns/later", nil, &l)
			return l.Skipped["window"] == 1
		})
		if l.Attempts != 0 {
			t.Fatalf("the later campaign dialled before its window: %+v", l)
		}
	}
	if code := s.apiAs("supervisor", "demo-supervisor", "POST", "/api/v1/campaigns/renewals/start", nil, nil); code != 200 {
		t.Fatalf("start: %d", code)
	}

	var st campaignStatus
	waitFor(t, 4*time.Minute, "the campaign through its list", func() bool {
		s.apiAs("supervisor", "demo-supervisor", "GET", "/api/v1/campaigns/renewals", nil, &st)
		return st.Pending == 0 && st.Lines == 0
	})
	if later {
		var l campaignStatus
		waitFor(t, time.Until(open)+30*time.Second, "the later contact dialled once its window opened", func() bool {
			s.apiAs("supervisor", "demo-supervisor", "GET", "/api/v1/campaigns/later", nil, &l)
			return l.Attempts == 1 && l.Lines == 0
		})
	}
	calls := callee.stop(t)
	dialled := map[string]int{}
	for _, c := range calls {
		dialled[c.Number]++
	}
	if dialled["5550100"]+dialled["5550101"] != 0 {
		t.Fatalf("do-not-call numbers dialled: %v", dialled)
	}
	if dialled["5550102"] != 2 || dialled["5550103"] != 2 {
		t.Fatalf("busy numbers not tried twice (retry after 5 s, 2 attempts): %v", dialled)
	}
	if later && dialled["5550199"] != 1 {
		t.Fatalf("the later contact dialled %d times", dialled["5550199"])
	}
	if st.DNCSkipped != 2 || st.Attempts < 38 || st.Connected == 0 || st.Machines == 0 {
		t.Fatalf("status %+v", st)
	}
	if st.AbandonRate > 0.03 {
		t.Fatalf("abandonment %.1f%% over the 3%% target: %+v", st.AbandonRate*100, st)
	}
	type record struct {
		ID      string `json:"id"`
		Caller  string `json:"caller"`
		Source  string `json:"source"`
		Outcome string `json:"outcome"`
	}
	var recs []record
	var page struct {
		Calls *[]record `json:"calls"`
	}
	page.Calls = &recs
	s.api("GET", "/api/v1/calls?limit=200", nil, &page)
	outcomes := map[string]int{}
	heard := map[string]float64{}
	for _, c := range calls {
		heard[c.Number] += c.Heard
	}
	for _, r := range recs {
		if r.Source != "campaign:renewals" {
			continue
		}
		outcomes[r.Outcome]++
		// every person dropped heard the identification message
		if r.Outcome == "dropped" && heard[r.Caller] < 1 {
			t.Errorf("%s was dropped and heard %.1f s (no identification message)", r.Caller, heard[r.Caller])
		}
	}
	if outcomes["answered"] != st.Connected || outcomes["machine"] != st.Machines || outcomes["dropped"] != st.Abandoned || outcomes["busy"] < 4 {
		t.Fatalf("records by outcome %v, status %+v", outcomes, st)
	}
}
