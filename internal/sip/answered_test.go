package sip

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestAnsweredKeepsForTheTimerOnly(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	type step struct {
		at   time.Duration
		put  string // key to put (its response is "r-"+key), or
		get  string // key to get
		want string // the response get should find ("" none)
		size int    // entries kept after the step
	}
	cases := []struct {
		name  string
		max   int
		steps []step
	}{
		{"kept within the timer", 10, []step{
			{at: 0, put: "a", size: 1},
			{at: 31 * time.Second, get: "a", want: "r-a", size: 1},
		}},
		{"gone at the timer", 10, []step{
			{at: 0, put: "a", size: 1},
			{at: 5 * time.Second, put: "b", size: 2},
			{at: 32 * time.Second, get: "a", want: "", size: 1},
			{at: 32 * time.Second, get: "b", want: "r-b", size: 1},
			{at: 37 * time.Second, get: "b", want: "", size: 0},
		}},
		{"the oldest goes beyond max", 2, []step{
			{at: 0, put: "a", size: 1},
			{at: 1 * time.Second, put: "b", size: 2},
			{at: 2 * time.Second, put: "c", size: 2},
			{at: 3 * time.Second, get: "a", want: "", size: 2},
			{at: 3 * time.Second, get: "b", want: "r-b", size: 2},
			{at: 3 * time.Second, get: "c", want: "r-c", size: 2},
		}},
		{"a key put again is kept once", 10, []step{
			{at: 0, put: "a", size: 1},
			{at: 1 * time.Second, put: "a", size: 1},
			{at: 32 * time.Second, get: "a", want: "", size: 0},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newAnswered(32*time.Second, tc.max)
			for i, s := range tc.steps {
				now := t0.Add(s.at)
				if s.put != "" {
					a.put(s.put, []byte("r-"+s.put), now)
				} else if got := string(a.get(s.get, now)); got != s.want {
					t.Fatalf("step %d: get %s = %q, want %q", i, s.get, got, s.want)
				}
				if n := a.len(); n != s.size {
					t.Fatalf("step %d: %d kept, want %d", i, n, s.size)
				}
			}
		})
	}
}

// Many entries put and expired in turn: the queue's slice stays within
// twice the entries kept, in order.
func TestAnsweredQueueStaysSmall(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	a := newAnswered(time.Second, 1<<10)
	for i := range 10_000 {
		now := t0.Add(time.Duration(i) * 10 * time.Millisecond) // 100 kept at a time
		a.put(fmt.Sprint(i), []byte("x"), now)
		if n := a.len(); n > 100 {
			t.Fatalf("after %d: %d kept, want at most 100", i, n)
		}
		if live := len(a.queue) - a.head; live != a.len() {
			t.Fatalf("after %d: queue holds %d live, map %d", i, live, a.len())
		}
		if cap(a.queue) > 4*100 {
			t.Fatalf("after %d: queue capacity %d", i, cap(a.queue))
		}
	}
}

// Over UDP, a retransmitted request gets the final response its first copy
// got (the same challenge, the same To tag) and is not handled again; the
// transaction is gone, only the response's text is kept.
func TestRetransmissionGetsTheSameAnswer(t *testing.T) {
	p := startRawPeer(t, 42400, nil)
	s := p.s
	exchange := func(msg string) string { t.Helper(); return p.exchange(t, msg) }
	request := func(method, branch string) string {
		return method + " sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP " + p.local() + ";branch=z9hG4bK-" + branch +
			"\r\nMax-Forwards: 70\r\nFrom: <sip:1001@127.0.0.1>;tag=t1\r\nTo: <sip:1001@127.0.0.1>\r\nCall-ID: retrans-" + branch +
			"\r\nCSeq: 1 " + method + "\r\nContact: <sip:1001@127.0.0.1:5999>\r\nExpires: 300\r\nContent-Length: 0\r\n\r\n"
	}
	header := func(res, name string) string {
		for _, l := range strings.Split(res, "\r\n") {
			if v, ok := strings.CutPrefix(l, name+": "); ok {
				return v
			}
		}
		return ""
	}
	for _, tc := range []struct{ method, header string }{
		{"OPTIONS", "To"},                // a new response would carry a new tag
		{"REGISTER", "WWW-Authenticate"}, // a new challenge would carry a new nonce
	} {
		req := request(tc.method, "retrans-"+tc.method)
		first := exchange(req)
		again := exchange(req)
		if h1, h2 := header(first, tc.header), header(again, tc.header); h1 == "" || h1 != h2 {
			t.Fatalf("%s: %s %q then %q:\n%s\n%s", tc.method, tc.header, h1, h2, first, again)
		}
		other := exchange(request(tc.method, "other-"+tc.method))
		if header(other, tc.header) == header(first, tc.header) {
			t.Fatalf("%s: a new request got the kept answer:\n%s", tc.method, other)
		}
	}
	// A BYE that matches no dialog gets 481 each time, and nothing is kept
	// for it (the count below): anyone can send those. Its copy is handled
	// again, or, when it comes before the transaction has ended (the 481
	// goes out first), answered by sipgo's transaction.
	bye := request("BYE", "no-dialog")
	for range 2 {
		if r := exchange(bye); !strings.HasPrefix(r, "SIP/2.0 481") {
			t.Fatalf("BYE outside a dialog: %s", r)
		}
	}
	reqs, _ := s.metrics.Snapshot()
	if reqs["BYE"] == 0 {
		t.Fatal("the BYE was never handled")
	}
	if reqs["OPTIONS"] != 2 || reqs["REGISTER"] != 2 {
		t.Fatalf("handled %d OPTIONS and %d REGISTER, want 2 each (the retransmissions absorbed)", reqs["OPTIONS"], reqs["REGISTER"])
	}
	if n := s.answered.len(); n != 4 {
		t.Fatalf("%d answers kept, want 4", n)
	}
}
