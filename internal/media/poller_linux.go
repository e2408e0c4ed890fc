//go:build linux

package media

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/pion/rtp"
	"golang.org/x/sys/unix"
)

// Receiving on Linux: instead of one goroutine per leg blocked in the Go
// netpoller (per packet a wake-up of the process, one recvfrom and one more
// that finds the socket empty; per leg a goroutine's stack and buffers),
// each leg's RTP socket is a raw non-blocking socket the Go runtime does
// not watch, in the epoll set of one of a few pollers; every pollTick a
// poller drains each of its ready sockets with one recvmmsg of up to
// readBatch datagrams. An arriving packet wakes nobody; one wake-up a tick
// serves every packet that arrived in it.

const (
	readBatch = 8   // datagrams one recvmmsg may take from a socket
	pollSize  = 256 // ready sockets one epoll_wait may report
	maxPacket = 1500
	pollTick  = 2 * time.Millisecond
)

// batch is one poller's receive buffers, reused for every socket it drains.
type batch struct {
	msgs  [readBatch]unix.Mmsghdr
	iovs  [readBatch]unix.Iovec
	names [readBatch]unix.RawSockaddrInet6
	ctrl  [readBatch][ctrlSize]byte // SCM_TIMESTAMPNS: when the kernel received it
	bufs  [readBatch][maxPacket]byte
	n     int // datagrams in the last recvmmsg
	errs  int // recvmmsg failures other than an empty socket
	out   [maxPacket]byte
	h     rtp.Header
}

// ctrlSize holds one control message with a timespec (32 bytes on 64-bit).
const ctrlSize = 64

func newBatch() *batch {
	b := &batch{}
	for i := range b.msgs {
		b.iovs[i].Base = &b.bufs[i][0]
		b.iovs[i].SetLen(maxPacket)
		b.msgs[i].Hdr.Iov = &b.iovs[i]
		b.msgs[i].Hdr.SetIovlen(1)
		b.msgs[i].Hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.msgs[i].Hdr.Control = &b.ctrl[i][0]
	}
	return b
}

// recv runs recvmmsg on s without waiting; b.n is how many came.
func (b *batch) recv(s *rawSocket) {
	b.n = 0
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.fd < 0 {
		return
	}
	for i := range b.msgs {
		b.msgs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		b.msgs[i].Hdr.SetControllen(ctrlSize)
		b.msgs[i].Len = 0
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&b.msgs[0])), readBatch, unix.MSG_DONTWAIT, 0, 0)
	switch errno {
	case 0:
		b.n = int(n)
	case unix.EAGAIN, unix.EINTR:
	default:
		b.errs++
	}
}

// at is when the kernel received datagram i (SO_TIMESTAMPNS), or now.
func (b *batch) at(i int) time.Time {
	m := &b.msgs[i].Hdr
	if int(m.Controllen) >= unix.CmsgLen(int(unsafe.Sizeof(unix.Timespec{}))) {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b.ctrl[i][0]))
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS {
			ts := (*unix.Timespec)(unsafe.Pointer(&b.ctrl[i][unix.CmsgLen(0)]))
			return time.Unix(int64(ts.Sec), int64(ts.Nsec))
		}
	}
	return time.Now()
}

// from is the source address of datagram i.
func (b *batch) from(i int) netip.AddrPort {
	sa := &b.names[i]
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&sa4.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET6:
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}

// rxState is how a leg's socket is read: the poller it is on.
type rxState struct {
	poller *poller
	id     int32
}

// rawSocket is a non-blocking UDP socket the Go runtime does not know:
// an arriving packet wakes no thread (a poller finds it at its next tick),
// and sends are one sendto each. mu guards fd against its reuse: every
// system call on it holds mu for reading, close holds it for writing.
type rawSocket struct {
	mu  sync.RWMutex
	fd  int // -1 once closed
	six bool
}

func bindRaw(ip netip.Addr, port int) (*rawSocket, error) {
	ip = ip.Unmap()
	family, six := unix.AF_INET, ip.Is6()
	if six {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("media: socket: %w", err)
	}
	if six { // as net.ListenUDP: a "::" media IP also takes IPv4
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0)
	}
	var sa unix.Sockaddr = &unix.SockaddrInet4{Port: port, Addr: ip.As4()}
	if six {
		sa = &unix.SockaddrInet6{Port: port, Addr: ip.As16()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("media: bind %v: %w", netip.AddrPortFrom(ip, uint16(port)), err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 256<<10)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 256<<10)
	// The kernel's receive time of each packet: a poller reads it up to a
	// tick later, and jitter is measured on when it arrived.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	return &rawSocket{fd: fd, six: six}, nil
}

// writeTo sends pkt to to; a full send buffer drops it (RTP is not
// retransmitted, and a sender must not stall the relay).
func (s *rawSocket) writeTo(pkt []byte, to netip.AddrPort) error {
	if len(pkt) == 0 {
		return nil
	}
	var (
		sa6 unix.RawSockaddrInet6
		sa4 unix.RawSockaddrInet4
		sa  unsafe.Pointer
		l   uintptr
	)
	addr, port := to.Addr(), to.Port()
	switch {
	case !s.six && addr.Unmap().Is4():
		sa4.Family, sa4.Addr = unix.AF_INET, addr.Unmap().As4()
		p := (*[2]byte)(unsafe.Pointer(&sa4.Port))
		p[0], p[1] = byte(port>>8), byte(port)
		sa, l = unsafe.Pointer(&sa4), unix.SizeofSockaddrInet4
	case s.six:
		sa6.Family, sa6.Addr = unix.AF_INET6, addr.As16()
		p := (*[2]byte)(unsafe.Pointer(&sa6.Port))
		p[0], p[1] = byte(port>>8), byte(port)
		sa, l = unsafe.Pointer(&sa6), unix.SizeofSockaddrInet6
	default:
		return errWrongFamily
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.fd < 0 {
		return errClosedSocket
	}
	_, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(s.fd), uintptr(unsafe.Pointer(&pkt[0])), uintptr(len(pkt)), 0, uintptr(sa), l)
	if errno != 0 {
		return errno
	}
	return nil
}

func (s *rawSocket) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return nil
	}
	err := unix.Close(s.fd)
	s.fd = -1
	return err
}

var (
	errClosedSocket = errors.New("media: socket closed")
	errWrongFamily  = errors.New("media: address of the other IP family")
)

// bindRTP binds a leg's RTP socket: raw when pollers read the engine's
// legs, a Go socket (read by a goroutine of the leg's own) otherwise.
func (e *Engine) bindRTP(port int) (rtpSocket, error) {
	if e.polls == nil || e.ip.Zone() != "" { // a link-local IP's zone: the Go socket knows it
		return bindUDP(e.ip, port)
	}
	return bindRaw(e.ip, port)
}

// poller reads the sockets of the legs given to it, from their own epoll
// set, once every pollTick: one timer wake-up serves every socket that has
// received since the last, so under load a wake-up (and the scheduling it
// costs) is shared by dozens of packets instead of paid by each; a packet
// waits about pollTick for it (longer when a harvest overruns the tick).
// It runs while it has legs.
type poller struct {
	mu     sync.Mutex
	epfd   int           // -1 while not running
	stop   chan struct{} // closed when the last leg leaves
	legs   map[int32]*Endpoint
	nextID int32
}

type pollers struct {
	mu   sync.Mutex // serialises pick
	list []*poller
}

func newPollers(n int) *pollers {
	ps := &pollers{}
	for range max(n, 1) {
		ps.list = append(ps.list, &poller{epfd: -1, legs: map[int32]*Endpoint{}})
	}
	return ps
}

// attach starts receiving ep's RTP: a raw socket on a poller (pick), a Go
// socket on a goroutine of its own.
func (e *Engine) attach(ep *Endpoint) error {
	sock, ok := ep.sock.(*rawSocket)
	if !ok {
		go ep.read(ep.sock.(udpSocket).c)
		return nil
	}
	return e.polls.pick().add(ep, sock)
}

// pollerFill is how many legs a poller takes before the next one is used:
// a light load keeps one poller (one wake-up a tick) busy rather than
// several mostly idle; past it, legs go to the least loaded.
const pollerFill = 256

// pick chooses the poller for a new leg.
func (ps *pollers) pick() *poller {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	best, bestN := ps.list[0], -1
	for _, p := range ps.list {
		p.mu.Lock()
		n := len(p.legs)
		p.mu.Unlock()
		if n < pollerFill {
			return p
		}
		if bestN < 0 || n < bestN {
			best, bestN = p, n
		}
	}
	return best
}

// detach stops receiving ep's RTP; it runs before ep's socket closes.
func (e *Engine) detach(ep *Endpoint) {
	if p := ep.rx.poller; p != nil {
		p.remove(ep)
	}
}

// startLocked makes the epoll set and starts the goroutine that serves it.
func (p *poller) startLocked() error {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("media: epoll_create1: %w", err)
	}
	// Each run has buffers of its own: a stopping run may still be
	// draining when the next starts.
	p.epfd, p.stop = fd, make(chan struct{})
	go p.run(fd, p.stop, newBatch())
	return nil
}

func (p *poller) add(ep *Endpoint, sock *rawSocket) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.epfd < 0 {
		if err := p.startLocked(); err != nil {
			return err
		}
	}
	p.nextID++
	id := p.nextID
	sock.mu.RLock()
	err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, sock.fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: id})
	sock.mu.RUnlock()
	if err != nil {
		if len(p.legs) == 0 { // do not leave a run with nothing to serve
			p.stopLocked()
		}
		return fmt.Errorf("media: epoll_ctl: %w", err)
	}
	ep.rx = rxState{poller: p, id: id}
	p.legs[id] = ep
	return nil
}

// remove takes ep off the set; the last leg's removal stops the poller.
func (p *poller) remove(ep *Endpoint) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.legs[ep.rx.id] != ep {
		return
	}
	delete(p.legs, ep.rx.id)
	if p.epfd < 0 {
		return
	}
	if sock, ok := ep.sock.(*rawSocket); ok {
		sock.mu.RLock()
		if sock.fd >= 0 {
			_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, sock.fd, nil)
		}
		sock.mu.RUnlock()
	}
	if len(p.legs) == 0 {
		p.stopLocked()
	}
}

// stopLocked ends the running goroutine, which closes the set.
func (p *poller) stopLocked() {
	close(p.stop)
	p.epfd, p.stop = -1, nil
}

// run drains the ready sockets of the set every pollTick until stop.
func (p *poller) run(epfd int, stop <-chan struct{}, b *batch) {
	defer unix.Close(epfd)
	var (
		events  [pollSize]unix.EpollEvent
		ready   [pollSize]*Endpoint
		handled int
	)
	t := time.NewTicker(pollTick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		for range 64 { // bounded: a full harvest is followed by another
			n, err := unix.EpollWait(epfd, events[:], 0)
			if err != nil || n <= 0 {
				break
			}
			p.mu.Lock()
			for i := range n {
				ready[i] = p.legs[events[i].Fd]
			}
			p.mu.Unlock()
			for i := range n {
				if ep := ready[i]; ep != nil {
					drain(ep, b)
					if handled += b.n; handled >= yieldEvery {
						handled = 0
						runtime.Gosched() // see yieldEvery
					}
				}
				ready[i] = nil
			}
			if n < pollSize || stopped(stop) {
				break
			}
		}
	}
}

// drain takes what ep's socket holds (up to readBatch datagrams) and
// handles it. A socket closed meanwhile yields nothing.
func drain(ep *Endpoint, b *batch) {
	b.recv(ep.sock.(*rawSocket))
	for i := range b.n {
		ep.at = b.at(i)
		ep.handle(b.bufs[i][:b.msgs[i].Len], b.from(i), b.out[:], &b.h)
	}
	ep.at = time.Time{}
	if b.errs > 0 {
		ep.e.Stats.RecvFailed.Add(uint64(b.errs))
		b.errs = 0
	}
}

func stopped(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
