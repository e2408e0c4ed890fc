//go:build !linux

package media

// Elsewhere than Linux each leg's socket is read by a goroutine of its own.

type rxState struct{}

type pollers struct{}

func newPollers(int) *pollers { return nil }

func (e *Engine) attach(ep *Endpoint) error {
	go ep.read(ep.sock.(udpSocket).c)
	return nil
}

func (e *Engine) bindRTP(port int) (rtpSocket, error) { return bindUDP(e.ip, port) }

func (e *Engine) detach(*Endpoint) {}
