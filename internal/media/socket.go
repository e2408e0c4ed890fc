package media

import (
	"net"
	"net/netip"
)

// rtpSocket is a leg's RTP socket: what the leg sends goes out through it;
// how it is read depends on the kind (attach).
type rtpSocket interface {
	writeTo(pkt []byte, to netip.AddrPort) error
	close() error
}

// udpSocket is a Go socket, read by a goroutine of the leg's own (read):
// where no poller serves the engine.
type udpSocket struct{ c *net.UDPConn }

func (s udpSocket) writeTo(pkt []byte, to netip.AddrPort) error {
	_, err := s.c.WriteToUDPAddrPort(pkt, to)
	return err
}

func (s udpSocket) close() error { return s.c.Close() }

func bindUDP(ip netip.Addr, port int) (udpSocket, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
	if err != nil {
		return udpSocket{}, err
	}
	_ = c.SetReadBuffer(256 << 10)
	_ = c.SetWriteBuffer(256 << 10)
	return udpSocket{c}, nil
}
