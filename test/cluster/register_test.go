package cluster_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"
)

// sipResponse is a SIP response read off the wire: its status and headers
// (by lower-case name, every value).
type sipResponse struct {
	code    int
	headers map[string][]string
}

func (r sipResponse) header(name string) string {
	if v := r.headers[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// registerClient is a phone that registers over UDP from its own socket:
// enough SIP to send REGISTERs and read the final answers.
type registerClient struct {
	t      *testing.T
	conn   *net.UDPConn
	user   string
	callID string
	cseq   int
	// expires is what the next REGISTER asks for (0 unregisters).
	expires int
}

func newRegisterClient(t *testing.T, user string) *registerClient {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &registerClient{t: t, conn: conn, user: user, callID: fmt.Sprintf("reg-%x@127.0.0.1", rand.Uint64()), expires: 300}
}

func (c *registerClient) port() int { return c.conn.LocalAddr().(*net.UDPAddr).Port }

// register sends one REGISTER to dest (host:port), with authorization if
// not empty, and returns the final answer.
func (c *registerClient) register(dest, authorization string) sipResponse {
	c.t.Helper()
	c.cseq++
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER sip:127.0.0.1 SIP/2.0\r\n")
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP 127.0.0.1:%d;rport;branch=z9hG4bK%x\r\n", c.port(), rand.Uint64())
	fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: <sip:%s@127.0.0.1>;tag=%x\r\nTo: <sip:%s@127.0.0.1>\r\n", c.user, rand.Uint32(), c.user)
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d REGISTER\r\nContact: <sip:%s@127.0.0.1:%d>\r\nExpires: %d\r\n", c.callID, c.cseq, c.user, c.port(), c.expires)
	if authorization != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", authorization)
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	addr, err := net.ResolveUDPAddr("udp", dest)
	if err != nil {
		c.t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		if _, err := c.conn.WriteToUDP([]byte(b.String()), addr); err != nil {
			c.t.Fatal(err)
		}
		if err := c.conn.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
			c.t.Fatal(err)
		}
		buf := make([]byte, 8192)
		for {
			n, _, err := c.conn.ReadFromUDP(buf)
			if err != nil {
				break // retransmit
			}
			if r, ok := parseResponse(string(buf[:n])); ok && r.code >= 200 && strings.Contains(r.header("CSeq"), strconv.Itoa(c.cseq)+" ") {
				return r
			}
		}
	}
	c.t.Fatalf("no answer to REGISTER from %s", dest)
	return sipResponse{}
}

func parseResponse(msg string) (sipResponse, bool) {
	head, _, _ := strings.Cut(msg, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	f := strings.Fields(lines[0])
	if len(f) < 2 || f[0] != "SIP/2.0" {
		return sipResponse{}, false
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return sipResponse{}, false
	}
	r := sipResponse{code: code, headers: map[string][]string{}}
	for _, l := range lines[1:] {
		if name, v, ok := strings.Cut(l, ":"); ok {
			k := strings.ToLower(strings.TrimSpace(name))
			r.headers[k] = append(r.headers[k], strings.TrimSpace(v))
		}
	}
	return r, true
}

// unregister removes the phone's binding through dest, answering the
// challenge.
func (c *registerClient) unregister(dest, password string) {
	c.t.Helper()
	c.expires = 0
	r := c.register(dest, "")
	if r.code == 401 {
		r = c.register(dest, answerChallenge(c.t, r, c.user, password))
	}
	if r.code != 200 {
		c.t.Fatalf("unregistering %s: %d", c.user, r.code)
	}
}

// answerChallenge computes the Authorization for a 401's challenge.
func answerChallenge(t *testing.T, r sipResponse, user, password string) string {
	t.Helper()
	chal, err := digest.ParseChallenge(r.header("WWW-Authenticate"))
	if err != nil {
		t.Fatalf("challenge %q: %v", r.header("WWW-Authenticate"), err)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:127.0.0.1", Username: user, Password: password,
		Count: 1, Cnonce: fmt.Sprintf("%x", rand.Uint32())})
	if err != nil {
		t.Fatal(err)
	}
	return cred.String()
}

// psql runs one query on the cluster's database and returns its fields.
func psql(t *testing.T, query string) []string {
	t.Helper()
	var out []string
	for _, r := range psqlRows(t, query) {
		out = append(out, strings.Fields(r)...)
	}
	return out
}

// psqlRows runs one query and returns its rows, fields joined by "|".
func psqlRows(t *testing.T, query string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "psql", "-h", "127.0.0.1", "-p", "5433", "-U", "postgres", "-d", "switchboard",
		"-At", "-F", "|", "-c", query).CombinedOutput()
	if err != nil {
		t.Fatalf("psql %q: %v\n%s", query, err, out)
	}
	var rows []string
	for _, r := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if r != "" {
			rows = append(rows, r)
		}
	}
	return rows
}

// The nodes share what SIP needs across them: a challenge from one node
// is accepted by the other (one nonce key); a phone registering through
// Kamailio is stored with its Path, which the answer carries back, for
// any node to reach it.
func checkSharedSIP(t *testing.T) {
	phone := newRegisterClient(t, "1003")
	chal := phone.register(nodeIP("node1")+":5060", "")
	if chal.code != 401 {
		t.Fatalf("node1 answered the first REGISTER %d, want a 401 challenge", chal.code)
	}
	if r := phone.register(nodeIP("node2")+":5060", answerChallenge(t, chal, "1003", "demo1003")); r.code != 200 {
		t.Fatalf("node2 answered node1's challenge with %d, want 200", r.code)
	}
	if rows := psql(t, "SELECT node FROM registrations WHERE username = '1003' AND contact <> ''"); len(rows) != 1 || rows[0] != "node2" {
		t.Fatalf("1003's registration in the store: %q, want it by node2", rows)
	}
	phone.unregister(nodeIP("node2")+":5060", "demo1003") // no calls for a phone that does not answer

	agent := newRegisterClient(t, "1004")
	chal = agent.register("127.0.0.1:5060", "")
	if chal.code != 401 {
		t.Fatalf("through Kamailio, the first REGISTER got %d, want 401", chal.code)
	}
	r := agent.register("127.0.0.1:5060", answerChallenge(t, chal, "1004", "demo1004"))
	path := r.header("Path")
	if r.code != 200 || !strings.HasPrefix(path, "<sip:127.0.0.1;lr") {
		t.Fatalf("through Kamailio: %d, Path %q; want 200 with Kamailio's Path", r.code, path)
	}
	if rows := psql(t, "SELECT path FROM registrations WHERE username = '1004' AND contact <> ''"); len(rows) != 1 || rows[0] != path {
		t.Fatalf("1004's stored Path: %q, want %q", rows, path)
	}
	agent.unregister("127.0.0.1:5060", "demo1004")
}
