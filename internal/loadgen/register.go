package loadgen

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// DefaultRegisterExpiry is the registration lifetime agents ask for.
const DefaultRegisterExpiry = 600 * time.Second

// registerAll registers (or with expires 0, unregisters) every agent, 50 at
// a time; registered, when set, is told each agent registered and for how
// long the server granted it.
func (g *Generator) registerAll(ctx context.Context, expires int, registered func(ext string, granted time.Duration)) (int, error) {
	var ok atomic.Int64
	sem := make(chan struct{}, 50)
	var wg sync.WaitGroup
	for i := 0; i < g.cfg.Agents; i++ {
		ext := strconv.Itoa(g.cfg.FirstExt + i)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			granted, err := g.register(ctx, ext, expires)
			if err != nil {
				if expires > 0 {
					g.fail("register %s: %v", ext, err)
				}
				return
			}
			ok.Add(1)
			if registered != nil {
				registered(ext, granted)
			}
		}()
	}
	wg.Wait()
	if expires > 0 && int(ok.Load()) < g.cfg.Agents {
		g.mu.Lock()
		first := ""
		if len(g.rep.Errors) > 0 {
			first = ": " + g.rep.Errors[0]
		}
		g.mu.Unlock()
		return int(ok.Load()), fmt.Errorf("load: only %d of %d agents registered%s", ok.Load(), g.cfg.Agents, first)
	}
	return int(ok.Load()), nil
}

// keepRegistered re-registers an agent before its registration expires
// until ctx ends.
func (g *Generator) keepRegistered(ctx context.Context, ext string, expires int, granted time.Duration) {
	refresh(ctx, granted, func(ctx context.Context) (time.Duration, error) {
		d, err := g.register(ctx, ext, expires)
		if err != nil && ctx.Err() == nil {
			g.cfg.Log.Warn("re-register", "agent", ext, "err", err)
		}
		return d, err
	}, time.After)
}

// refresh calls register at about half of each granted lifetime until ctx
// ends; after a failure it tries again sooner, while the last registration
// still stands. after is time.After (a fake one in tests).
func refresh(ctx context.Context, granted time.Duration, register func(context.Context) (time.Duration, error), after func(time.Duration) <-chan time.Time) {
	left := granted // of the registration standing
	wait := refreshAfter(granted)
	for granted > 0 {
		select {
		case <-ctx.Done():
			return
		case <-after(wait):
		}
		d, err := register(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			left -= wait
			wait = max(left/2, time.Second)
		default:
			granted, left = d, d
			wait = refreshAfter(d)
		}
	}
}

// refreshAfter is when to re-register a registration granted for d: at
// half of it, as phones do, but not more often than every second.
func refreshAfter(d time.Duration) time.Duration {
	return max(d/2, time.Second)
}

// register sends one REGISTER (with digest auth) and returns the lifetime
// the server granted.
func (g *Generator) register(ctx context.Context, ext string, expires int) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var target gosip.Uri
	if err := gosip.ParseUri("sip:"+g.cfg.Target, &target); err != nil {
		return 0, err
	}
	req := gosip.NewRequest(gosip.REGISTER, target)
	aor := gosip.Uri{Scheme: "sip", User: ext, Host: target.Host}
	from := &gosip.FromHeader{Address: aor, Params: gosip.NewParams()}
	from.Params.Add("tag", gosip.GenerateTagN(12))
	req.AppendHeader(from)
	req.AppendHeader(&gosip.ToHeader{Address: aor, Params: gosip.NewParams()})
	req.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: ext, Host: g.cfg.Local, Port: g.cfg.SIPPort}})
	req.AppendHeader(gosip.NewHeader("Expires", strconv.Itoa(expires)))
	res, err := g.client.Do(ctx, req)
	if err != nil {
		return 0, err
	}
	if res.StatusCode == 401 {
		res, err = g.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: ext, Password: g.cfg.PasswordPrefix + ext})
		if err != nil {
			return 0, err
		}
	}
	if res.StatusCode != 200 {
		return 0, fmt.Errorf("%d %s", res.StatusCode, res.Reason)
	}
	return grantedExpiry(res, ext, time.Duration(expires)*time.Second), nil
}

// grantedExpiry reads the lifetime a 200 to a REGISTER grants our contact:
// its Contact's expires parameter, else the Expires header, else what was
// asked for (RFC 3261 10.2.4).
func grantedExpiry(res *gosip.Response, ext string, asked time.Duration) time.Duration {
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*gosip.ContactHeader)
		if !ok || c.Address.User != ext || c.Params == nil {
			continue
		}
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(h.Value()); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
	}
	return asked
}
