package sip

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/security"
)

// dialFrom opens a TCP connection to addr from ip (any of 127/8 on Linux).
func dialFrom(t *testing.T, ip string, addr net.Addr) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByServer reports whether the server closed c within d: a read
// ends with EOF or a reset rather than the deadline.
func closedByServer(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// serveEcho accepts from ln until it is closed, echoing what each
// connection sends, as sipgo would read it.
func serveEcho(t *testing.T, ln net.Listener) {
	t.Helper()
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				buf := make([]byte, 512)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
}

func TestConnectionCaps(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var shed []security.Event
	l := newConnLimits(EdgeConfig{MaxConnsPerSource: 4, MaxConns: 6})
	l.shed = func(e security.Event) { mu.Lock(); shed = append(shed, e); mu.Unlock() }
	ln := l.listener(inner)
	serveEcho(t, ln)

	// Six from one address: four are kept, two closed at once.
	var conns []net.Conn
	for range 6 {
		conns = append(conns, dialFrom(t, "127.0.0.5", inner.Addr()))
	}
	kept := 0
	for _, c := range conns {
		if !closedByServer(c, 300*time.Millisecond) {
			kept++
		}
	}
	if kept != 4 {
		t.Fatalf("%d of 6 connections from one address kept, want the cap, 4", kept)
	}
	// Another address has its own cap, up to the total of 6.
	other := []net.Conn{dialFrom(t, "127.0.0.6", inner.Addr()), dialFrom(t, "127.0.0.6", inner.Addr()), dialFrom(t, "127.0.0.6", inner.Addr())}
	if closedByServer(other[0], 300*time.Millisecond) || closedByServer(other[1], 300*time.Millisecond) {
		t.Fatal("another address's first two connections were closed")
	}
	if !closedByServer(other[2], 2*time.Second) {
		t.Fatal("a seventh connection in all was kept past the total of 6")
	}
	perSource, total, _, open := l.stats()
	if perSource != 2 || total != 1 || open != 6 {
		t.Fatalf("refused %d per source, %d over the total, %d open; want 2, 1, 6", perSource, total, open)
	}
	// A connection closed gives its place back.
	conns[0].Close()
	waitFor(t, 2*time.Second, "the closed connection's place back", func() bool { _, _, _, open := l.stats(); return open == 5 })
	again := dialFrom(t, "127.0.0.6", inner.Addr())
	if closedByServer(again, 300*time.Millisecond) {
		t.Fatal("a connection was refused after one closed")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(shed) != 3 || shed[0].Kind != security.KindConnectionLimit || shed[0].Source.String() != "127.0.0.5" {
		t.Fatalf("shed %+v", shed)
	}
}

func TestIdleConnectionIsClosed(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newConnLimits(EdgeConfig{ConnIdle: 300 * time.Millisecond})
	serveEcho(t, l.listener(inner))
	idle := dialFrom(t, "127.0.0.5", inner.Addr())
	talking := dialFrom(t, "127.0.0.5", inner.Addr())
	start := time.Now()
	// The talking one sends a CRLF keepalive every 100 ms for a second.
	for range 10 {
		if _, err := talking.Write([]byte("\r\n")); err != nil {
			t.Fatalf("keepalive: %v", err)
		}
		buf := make([]byte, 2)
		_ = talking.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := talking.Read(buf); err != nil {
			t.Fatalf("the talking connection was closed after %s: %v", time.Since(start), err)
		}
		time.Sleep(100 * time.Millisecond) // the keepalive's pace, not synchronisation
	}
	if !closedByServer(idle, time.Second) {
		t.Fatal("the silent connection is still open after 1 s; idle is 300 ms")
	}
	_, _, idleClosed, open := l.stats()
	if idleClosed != 1 || open != 1 {
		t.Fatalf("%d closed idle, %d open; want 1, 1", idleClosed, open)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A connection that carried a registration or a call (vouched) may stay
// silent far longer than the idle time.
func TestVouchedConnectionOutlivesIdle(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newConnLimits(EdgeConfig{ConnIdle: 200 * time.Millisecond})
	serveEcho(t, l.listener(inner))
	phone := dialFrom(t, "127.0.0.5", inner.Addr())
	stranger := dialFrom(t, "127.0.0.5", inner.Addr())
	deadline := time.Now().Add(2 * time.Second)
	for { // the server side is accepted asynchronously: vouch once it is known
		l.mu.Lock()
		c := l.byRemote[phone.LocalAddr().String()]
		l.mu.Unlock()
		if c != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the phone's connection was never accepted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	l.vouch(phone.LocalAddr().String())
	if !closedByServer(stranger, time.Second) {
		t.Fatal("the silent stranger is still open after 1 s; idle is 200 ms")
	}
	if closedByServer(phone, 600*time.Millisecond) {
		t.Fatal("the vouched connection was closed for idling")
	}
}
