package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"
)

// sipvicious (svwar, svcrack, svmap: what real scanners run against SIP
// servers) against the running demo. Each scanner gets its own 127.0.0.x
// source, so a ban hits only it. sipvicious 0.3.3 parses -b but svwar and
// svcrack never bind it (their packets leave from 127.0.0.1), so they run
// through testdata/sipvicious_bind.py, which hands the address on.

// runSipvicious runs tool (svwar, svcrack, svmap) with args, bounded by
// limit; its output is kept in test/out/<test>/<name>.txt and returned.
func runSipvicious(t *testing.T, name string, limit time.Duration, tool string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed (the test command installs sipvicious)", tool)
		}
		t.Skipf("%s not installed", tool)
	}
	// The Debian scripts' own interpreter (their #! line), which finds the
	// package beside them.
	head, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	python := "/usr/bin/python3"
	if line, _, _ := strings.Cut(string(head), "\n"); strings.HasPrefix(line, "#!") {
		python = strings.Fields(strings.TrimPrefix(line, "#!"))[0]
	}
	shim, _ := filepath.Abs(filepath.Join("testdata", "sipvicious_bind.py"))
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, append([]string{shim, path}, args...)...)
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	dir := filepath.Join(outDir, strings.ReplaceAll(t.Name(), "/", "_"))
	_ = os.MkdirAll(dir, 0o755)
	_ = os.WriteFile(filepath.Join(dir, name+".txt"), out, 0o644)
	if ctx.Err() != nil {
		t.Fatalf("%s %v: still running after %s:\n%s", tool, args, limit, tail(string(out), 3000))
	}
	if err != nil {
		t.Fatalf("%s %v: %v:\n%s", tool, args, err, tail(string(out), 3000))
	}
	t.Logf("%s %s: %s", tool, strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond))
	return string(out)
}

var tableRow = regexp.MustCompile(`(?m)^\|\s*(\S+)\s*\|\s*(\S+)\s*\|$`)

// resultTable reads the table svwar and svcrack print of what they found
// (first column → second), without its header.
func resultTable(out string) map[string]string {
	rows := map[string]string{}
	for _, m := range tableRow.FindAllStringSubmatch(out, -1) {
		if m[1] != "Extension" {
			rows[m[1]] = m[2]
		}
	}
	return rows
}

// callCount is how many call records the server holds (up to 1000).
func callCount(t *testing.T, s *server) int {
	t.Helper()
	var list struct{ Calls []callRecord }
	if code := s.api("GET", "/api/v1/calls?limit=1000", nil, &list); code != 200 {
		t.Fatalf("GET /api/v1/calls: %d", code)
	}
	return len(list.Calls)
}

type securityEvent struct {
	Kind   string `json:"kind"`
	Source string `json:"source"`
	User   string `json:"user"`
	Method string `json:"method"`
	Detail string `json:"detail"`
	Until  string `json:"until"`
}

type securityReport struct {
	Counts  map[string]int  `json:"counts"`
	Dropped int             `json:"dropped"`
	Recent  []securityEvent `json:"recent"`
}

func securityEvents(t *testing.T, s *server) securityReport {
	t.Helper()
	var r securityReport
	if code := s.api("GET", "/api/v1/security/events", nil, &r); code != 200 {
		t.Fatalf("GET /api/v1/security/events: %d", code)
	}
	return r
}

// eventsFrom counts the recent security events of kind from source.
func (r securityReport) eventsFrom(source, kind string) int {
	n := 0
	for _, e := range r.Recent {
		if e.Source == source && e.Kind == kind {
			n++
		}
	}
	return n
}

type ban struct {
	Source   string `json:"source"`
	Since    string `json:"since"`
	Until    string `json:"until"`
	Failures int    `json:"failures"`
}

func bans(t *testing.T, s *server) []ban {
	t.Helper()
	var b []ban
	if code := s.api("GET", "/api/v1/security/bans", nil, &b); code != 200 {
		t.Fatalf("GET /api/v1/security/bans: %d", code)
	}
	return b
}

// sipClient is a UDP socket on a chosen loopback address for hand-made
// SIP requests.
type sipClient struct {
	conn   *net.UDPConn
	server *net.UDPAddr
	local  string
	seq    int
}

func newSIPClient(t *testing.T, s *server, localIP string, port int) *sipClient {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(localIP), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	srv, err := net.ResolveUDPAddr("udp", s.sipAddr)
	if err != nil {
		t.Fatal(err)
	}
	return &sipClient{conn: conn, server: srv, local: conn.LocalAddr().String()}
}

// send sends a request made of the start line and headers (CRLF added, a
// Via with a fresh branch first) and returns the first response within
// wait, or "" if none came.
func (c *sipClient) send(t *testing.T, wait time.Duration, start string, headers ...string) string {
	t.Helper()
	c.seq++
	msg := start + "\r\nVia: SIP/2.0/UDP " + c.local + ";rport;branch=z9hG4bK-sv" + strconv.Itoa(c.seq) + strconv.FormatInt(time.Now().UnixNano(), 36) +
		"\r\nMax-Forwards: 70\r\n" + strings.Join(headers, "\r\n") + "\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.conn.WriteToUDP([]byte(msg), c.server); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	deadline := time.Now().Add(wait)
	for {
		_ = c.conn.SetReadDeadline(deadline)
		n, _, err := c.conn.ReadFromUDP(buf)
		if err != nil {
			return ""
		}
		if r := string(buf[:n]); !strings.HasPrefix(r, "SIP/2.0 100 ") {
			return r
		}
	}
}

func (c *sipClient) options(t *testing.T, wait time.Duration) string {
	t.Helper()
	return c.send(t, wait, "OPTIONS sip:"+c.server.String()+" SIP/2.0",
		"From: <sip:probe@"+c.local+">;tag=opt"+strconv.Itoa(c.seq),
		"To: <sip:"+c.server.String()+">",
		fmt.Sprintf("Call-ID: sv-options-%d-%d@%s", c.seq, time.Now().UnixNano(), c.local),
		"CSeq: 1 OPTIONS")
}

func statusLine(resp string) string {
	line, _, _ := strings.Cut(resp, "\r\n")
	return line
}

// TestSipviciousFindsNoExtension: svwar scanning 1000–1010 (agents 1001–1004
// exist) by INVITE, REGISTER and OPTIONS from 127.0.0.8 finds none (to
// INVITE and REGISTER a made-up number is challenged like a real one, so
// svwar gives up; to OPTIONS every number gets the same 200). svmap finds
// the server. No scan leaves a call record.
func TestSipviciousFindsNoExtension(t *testing.T) {
	s := startServer(t)
	port := strconv.Itoa(s.ports.sip())
	// Each run its own source port: the server goes on retransmitting its
	// 401 to the INVITE svwar left unacknowledged, and a later run on the
	// same port read that as an answer for its made-up number.
	next := s.ports.base + 20
	local := func() string { next++; return strconv.Itoa(next) }
	for _, method := range []string{"INVITE", "REGISTER", "OPTIONS"} {
		out := runSipvicious(t, "svwar-"+method, 60*time.Second, "svwar", "-e1000-1010", "-m", method, "127.0.0.1", "-p", port,
			"-b", "127.0.0.8", "-P", local(), "--maximumtime", "10")
		if found := resultTable(out); len(found) > 0 || !strings.Contains(out, "found nothing") {
			t.Errorf("svwar -m %s found %v:\n%s", method, found, tail(out, 2000))
		}
	}
	out := runSipvicious(t, "svmap", 60*time.Second, "svmap", "127.0.0.1", "-p", port, "-b", "127.0.0.8", "-P", local())
	if !strings.Contains(out, "127.0.0.1:"+port) {
		t.Errorf("svmap did not find the server:\n%s", tail(out, 2000))
	}
	if n := callCount(t, s); n != 0 {
		t.Errorf("the scans left %d call records", n)
	}
}

// TestSipviciousCrackIsBanned: svcrack guesses 1001's password from
// 127.0.0.9 with a list of 300 words, the right one 200th; the demo bans
// the source after 10 failures within 60 s, so it never gets there. The ban
// is listed (source, until), the banned source's OPTIONS goes unanswered,
// the scan wrote no call record, and once the ban is lifted through the
// API the source is answered again. svcrack -n (one nonce for every guess)
// from 127.0.0.10 finds nothing either, and a REGISTER's Authorization
// sent a second time is refused.
func TestSipviciousCrackIsBanned(t *testing.T) {
	s := startServer(t)
	port := strconv.Itoa(s.ports.sip())
	words := make([]string, 300)
	for i := range words {
		words[i] = fmt.Sprintf("guess%03d", i+1)
	}
	words[199] = "demo1001"
	list := filepath.Join(t.TempDir(), "words.txt")
	if err := os.WriteFile(list, []byte(strings.Join(words, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	probe := newSIPClient(t, s, "127.0.0.9", s.ports.base+36)
	if r := probe.options(t, 5*time.Second); !strings.HasPrefix(r, "SIP/2.0 200 ") {
		t.Fatalf("OPTIONS from 127.0.0.9 before the scan: %q", statusLine(r))
	}
	calls := callCount(t, s)

	out := runSipvicious(t, "svcrack", 90*time.Second, "svcrack", "-u1001", "-d", list, "-b", "127.0.0.9",
		"-P", strconv.Itoa(s.ports.base+32), "--maximumtime", "20", "-vv", "127.0.0.1", "-p", port)
	if found := resultTable(out); len(found) > 0 || strings.Contains(out, "demo1001") && strings.Contains(out, "password for") {
		t.Fatalf("svcrack found %v:\n%s", found, tail(out, 2000))
	}
	tried := strings.Count(out, "DEBUG:ASipOfRedWine:trying ")
	ev := securityEvents(t, s)
	failures := ev.eventsFrom("127.0.0.9", "auth_failure")
	t.Logf("svcrack sent %d guesses; the server counted %d failed authentications from 127.0.0.9 and left %d requests from banned sources unanswered",
		tried, failures, ev.Dropped)
	if failures != 10 || ev.eventsFrom("127.0.0.9", "ban") != 1 {
		t.Errorf("security events from 127.0.0.9: %d auth failures, %d bans; want 10 and 1", failures, ev.eventsFrom("127.0.0.9", "ban"))
	}
	if tried >= 200 {
		t.Errorf("svcrack got to guess %d", tried)
	}
	var b *ban
	for _, x := range bans(t, s) {
		if x.Source == "127.0.0.9" {
			b = &x
		}
	}
	if b == nil {
		t.Fatalf("127.0.0.9 is not among the bans %+v", bans(t, s))
	}
	until, err := time.Parse(time.RFC3339Nano, b.Until)
	if err != nil || time.Until(until) < 8*time.Minute || time.Until(until) > 10*time.Minute+time.Second {
		t.Errorf("ban %+v: until should be 10 minutes after it began", *b)
	}
	if r := probe.options(t, 2*time.Second); r != "" {
		t.Errorf("banned 127.0.0.9 got an answer: %q", statusLine(r))
	}
	if n := callCount(t, s); n != calls {
		t.Errorf("call records: %d before the scan, %d after", calls, n)
	}

	if code := s.api("DELETE", "/api/v1/security/bans/127.0.0.9", nil, nil); code != 200 {
		t.Fatalf("DELETE the ban: %d", code)
	}
	for _, x := range bans(t, s) {
		if x.Source == "127.0.0.9" {
			t.Fatalf("ban still listed after DELETE: %+v", x)
		}
	}
	if r := probe.options(t, 5*time.Second); !strings.HasPrefix(r, "SIP/2.0 200 ") {
		t.Errorf("OPTIONS from 127.0.0.9 after the ban was lifted: %q", statusLine(r))
	}

	// -n: svcrack reuses its first nonce for every guess.
	out = runSipvicious(t, "svcrack-reusenonce", 90*time.Second, "svcrack", "-u1001", "-d", list, "-n", "-b", "127.0.0.10",
		"-P", strconv.Itoa(s.ports.base+34), "--maximumtime", "10", "-vv", "127.0.0.1", "-p", port)
	if found := resultTable(out); len(found) > 0 {
		t.Errorf("svcrack -n found %v:\n%s", found, tail(out, 2000))
	}
	t.Logf("svcrack -n: %d guesses sent, %d failures counted from 127.0.0.10",
		strings.Count(out, "DEBUG:ASipOfRedWine:trying "), securityEvents(t, s).eventsFrom("127.0.0.10", "auth_failure"))
	if strings.Contains(out, "KeyError: 'algorithm'") {
		// sipvicious 0.3.3 fills in qop and algorithm only for a fresh
		// nonce, so against a qop=auth challenge -n stops at its first guess.
		t.Log("svcrack -n stopped at its first guess (KeyError: 'algorithm', a sipvicious 0.3.3 bug with qop=auth)")
	}

	// What -n means to do, done right: an Authorization that once
	// succeeded, sent again unchanged, is refused.
	replayRefused(t, s, newSIPClient(t, s, "127.0.0.10", s.ports.base+38))
	if n := callCount(t, s); n != calls {
		t.Errorf("call records: %d before the scans, %d after", calls, n)
	}
}

// replayRefused registers 1001 (Expires: 0, so nothing stays bound) with
// the right password, then sends the same Authorization again.
func replayRefused(t *testing.T, s *server, c *sipClient) {
	t.Helper()
	uri := "sip:" + s.sipAddr
	callID := fmt.Sprintf("sv-replay-%d@%s", time.Now().UnixNano(), c.local)
	register := func(cseq int, auth string) string {
		h := []string{"From: <sip:1001@" + s.sipAddr + ">;tag=replay", "To: <sip:1001@" + s.sipAddr + ">", "Call-ID: " + callID,
			fmt.Sprintf("CSeq: %d REGISTER", cseq), "Contact: <sip:1001@" + c.local + ">", "Expires: 0"}
		if auth != "" {
			h = append(h, "Authorization: "+auth)
		}
		return c.send(t, 5*time.Second, "REGISTER "+uri+" SIP/2.0", h...)
	}
	r := register(1, "")
	m := regexp.MustCompile(`(?mi)^WWW-Authenticate:\s*(.*?)\r?$`).FindStringSubmatch(r)
	if !strings.HasPrefix(r, "SIP/2.0 401 ") || m == nil {
		t.Fatalf("REGISTER without credentials: %q", r)
	}
	chal, err := digest.ParseChallenge(m[1])
	if err != nil {
		t.Fatalf("challenge %q: %v", m[1], err)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: uri, Username: "1001", Password: "demo1001", Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r := register(2, cred.String()); !strings.HasPrefix(r, "SIP/2.0 200 ") {
		t.Fatalf("REGISTER with the right password: %q", statusLine(r))
	}
	before := securityEvents(t, s).eventsFrom("127.0.0.10", "nonce_replay")
	r = register(3, cred.String())
	if strings.HasPrefix(r, "SIP/2.0 2") {
		t.Fatalf("the replayed Authorization was accepted: %q", statusLine(r))
	}
	after := securityEvents(t, s).eventsFrom("127.0.0.10", "nonce_replay")
	t.Logf("replayed Authorization: %q, nonce_replay events %d → %d", statusLine(r), before, after)
	if after != before+1 {
		t.Errorf("the replay is not a nonce_replay security event (%d before, %d after)", before, after)
	}
}
