package node

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/switchboard/switchboard/internal/api"
	"github.com/switchboard/switchboard/internal/webcall"
)

// startWebCalls starts the "call us" page's gateway when the setup has a
// web_caller (it may be given one by a reload: the gateway is cheap, so
// it always runs) and trusts its calls at the SIP edge.
func (n *Node) startWebCalls() error {
	server := n.sip.Addr()
	if server.Addr().IsUnspecified() {
		server = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), server.Port())
	}
	maxCalls := n.cfg.WebCaller.MaxCalls
	if maxCalls <= 0 {
		maxCalls = 20
	}
	g, err := webcall.New(webcall.Config{Server: server, MaxCalls: maxCalls, Log: n.log})
	if err != nil {
		return fmt.Errorf("node: the web caller: %w", err)
	}
	n.onClose(g.Close)
	n.sip.TrustGateway(g.Addr())
	n.api.ServeWebCalls(webCalls{g})
	return nil
}

// webCalls gives the API the gateway, its errors as the API's.
type webCalls struct{ g *webcall.Gateway }

func (w webCalls) Start(ctx context.Context, number, source, offer string, maxCalls int) (string, string, error) {
	id, answer, err := w.g.Start(ctx, number, source, offer, maxCalls)
	switch {
	case errors.Is(err, webcall.ErrFull):
		return "", "", api.ErrWebCallsFull
	case errors.Is(err, webcall.ErrBadOffer):
		return "", "", fmt.Errorf("%w: %v", api.ErrWebOffer, err)
	}
	return id, answer, err
}

func (w webCalls) DTMF(ctx context.Context, id, digits string) error {
	err := w.g.DTMF(ctx, id, digits)
	switch {
	case errors.Is(err, webcall.ErrBadDigit):
		return api.ErrWebDigit
	case errors.Is(err, webcall.ErrNoCall):
		return api.ErrNoWebCall
	case errors.Is(err, webcall.ErrNotConnected):
		return api.ErrWebNotUp
	}
	return err
}

func (w webCalls) State(id string) (string, string, bool) { return w.g.State(id) }

func (w webCalls) Hangup(id string) { w.g.Hangup(id) }
