package sip

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/security"
)

// connLimits caps the inbound TCP and TLS connections, per source address
// and in all, and closes those that stay silent too long. One connLimits
// serves both listeners, so a source's cap counts its connections over
// either.
type connLimits struct {
	perSource, total int
	idle             time.Duration
	// shed, when set, is told of each connection refused.
	shed func(security.Event)
	// banned, when set, says whether a source is banned: its connections
	// are closed at accept.
	banned func(netip.Addr) bool
	// idleClosed counts connections closed for being silent too long.
	idleClosed atomic.Uint64

	mu               sync.Mutex
	open             map[netip.Addr]int
	byRemote         map[string]*limitedConn // remote "ip:port" → connection, for vouch
	n                int
	refusedPerSource uint64
	refusedTotal     uint64
	detailPerSource  string
	detailTotal      string
}

func newConnLimits(cfg EdgeConfig) *connLimits {
	return &connLimits{perSource: cfg.MaxConnsPerSource, total: cfg.MaxConns, idle: cfg.ConnIdle, open: map[netip.Addr]int{},
		byRemote:        map[string]*limitedConn{},
		detailPerSource: "over " + strconv.Itoa(cfg.MaxConnsPerSource) + " connections from one address",
		detailTotal:     "over " + strconv.Itoa(cfg.MaxConns) + " connections in all"}
}

// take counts a new connection from a, unless that would pass a cap.
func (l *connLimits) take(a netip.Addr) bool {
	l.mu.Lock()
	var detail string
	switch {
	case l.total > 0 && l.n >= l.total:
		l.refusedTotal++
		detail = l.detailTotal
	case l.perSource > 0 && l.open[a] >= l.perSource:
		l.refusedPerSource++
		detail = l.detailPerSource
	default:
		l.n++
		l.open[a]++
		l.mu.Unlock()
		return true
	}
	l.mu.Unlock()
	if l.shed != nil {
		l.shed(security.Event{Kind: security.KindConnectionLimit, Source: a, Detail: detail})
	}
	return false
}

// release uncounts a connection from a.
func (l *connLimits) release(a netip.Addr) {
	l.mu.Lock()
	l.n--
	if l.open[a]--; l.open[a] <= 0 {
		delete(l.open, a)
	}
	l.mu.Unlock()
}

func (l *connLimits) stats() (refusedPerSource, refusedTotal, idleClosed uint64, open int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refusedPerSource, l.refusedTotal, l.idleClosed.Load(), l.n
}

// listener wraps ln so that what it accepts is counted against the caps.
func (l *connLimits) listener(ln net.Listener) net.Listener {
	return &limitedListener{Listener: ln, limits: l}
}

// limitedListener closes a connection over a cap as soon as it is
// accepted, before sipgo (or a TLS handshake) spends anything on it, and
// goes on accepting.
type limitedListener struct {
	net.Listener
	limits *connLimits
}

func (ln *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		var src netip.Addr
		if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			src = security.Key(ta.AddrPort().Addr())
		}
		if ln.limits.banned != nil && ln.limits.banned(src) {
			c.Close()
			continue
		}
		if !ln.limits.take(src) {
			c.Close()
			continue
		}
		lc := &limitedConn{Conn: c, limits: ln.limits, src: src, remote: c.RemoteAddr().String()}
		ln.limits.mu.Lock()
		ln.limits.byRemote[lc.remote] = lc
		ln.limits.mu.Unlock()
		return lc, nil
	}
}

// limitedConn gives its place back when closed, and closes itself when
// nothing arrives on it for the idle time: each read waits at most that
// long.
type limitedConn struct {
	net.Conn
	limits *connLimits
	src    netip.Addr
	once   sync.Once
	remote string
	// vouched is set once the connection carried a successful REGISTER
	// or an admitted call (vouch): it is then a phone's or a trunk's,
	// which may stay quiet between registrations and through a long call,
	// and gets sipConnIdle instead of the idle time.
	vouched atomic.Bool
}

// vouch gives the connection a request came in on (remote, its source
// "ip:port") the long idle time; it does nothing for UDP sources.
func (l *connLimits) vouch(remote string) {
	l.mu.Lock()
	c := l.byRemote[remote]
	l.mu.Unlock()
	if c != nil && !c.vouched.Swap(true) && l.idle > 0 {
		// A read already waiting has the short deadline: lengthen it.
		_ = c.Conn.SetReadDeadline(time.Now().Add(max(l.idle, sipConnIdle)))
	}
}

// sipConnIdle is how long a connection that has carried SIP may be silent:
// beyond the longest registration a phone refreshes (an hour) and a long
// call with no SIP on it.
const sipConnIdle = 2 * time.Hour

func (c *limitedConn) Read(b []byte) (int, error) {
	idle := c.limits.idle
	if idle > 0 && c.vouched.Load() {
		idle = max(idle, sipConnIdle)
	}
	if idle > 0 {
		if err := c.Conn.SetReadDeadline(time.Now().Add(idle)); err != nil {
			return 0, err
		}
	}
	n, err := c.Conn.Read(b)
	if idle > 0 && n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		// Silent for the idle time: the end of this connection, which
		// sipgo takes quietly as an EOF.
		c.limits.idleClosed.Add(1)
		c.Close()
		return 0, io.EOF
	}
	return n, err
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.limits.mu.Lock()
		if c.limits.byRemote[c.remote] == c {
			delete(c.limits.byRemote, c.remote)
		}
		c.limits.mu.Unlock()
		c.limits.release(c.src)
	})
	return err
}
