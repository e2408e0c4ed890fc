package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/switchboard/switchboard/internal/recording"
)

// Run serves until ctx ends, Shutdown is called or a component fails, then
// shuts the node down in order and releases it:
//
//  1. the gate closes: new INVITEs get 503 (sip.Server.Drain);
//  2. the call manager is told to stop taking work (Shutdown, once it has one);
//  3. calls in progress may end on their own for the drain grace
//     (WithDrainGrace); those still up are hung up and the manager's
//     goroutines end;
//  4. the SIP edge stops (legs left over are hung up, sockets closed);
//  5. the HTTP server stops (and HTTPS, when on);
//  6. the media engine, voicemail, webhooks, recordings and retention stop;
//  7. the store is flushed and closed.
//
// Steps 3 to 6 share one deadline (WithShutdownTimeout); past it Run returns
// ErrShutdownTimeout naming what was still running. Run returns the first
// component's error, if one failed.
func (n *Node) Run(ctx context.Context) error {
	if !n.running.CompareAndSwap(false, true) {
		return errors.New("node: Run called twice")
	}
	defer close(n.done)
	defer n.release()

	// Each stage has its own lifetime so shutdown can end them in order;
	// the errgroup's context only says that one of them failed.
	g, failed := errgroup.WithContext(context.Background())
	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	sipCtx, stopSIP := context.WithCancel(context.Background())
	defer stopSIP()
	httpBase, stopHTTP := context.WithCancel(context.Background())
	defer stopHTTP()
	n.httpSrv.BaseContext = func(net.Listener) context.Context { return httpBase }

	stages := map[string]chan struct{}{}
	start := func(name string, f func() error) {
		done := make(chan struct{})
		stages[name] = done
		g.Go(func() error {
			defer close(done)
			if err := f(); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			return nil
		})
	}
	start("media", func() error { n.eng.Run(bg); return nil })
	start("voicemail", func() error { n.vm.Run(bg); return nil })
	start("webhooks", func() error { n.hooks.Run(bg); return nil })
	start("recordings", func() error { n.recs.Run(bg.Done()); return nil })
	start("retention", func() error { n.expireRecordings(bg); return nil })
	if n.speech != nil {
		start("speech", func() error { n.speech.run(bg); return nil })
	}
	// The heartbeat tells the next start when this run was last alive.
	start("heartbeat", func() error { n.st.KeepAlive(bg, heartbeatEvery); return nil })
	if n.st.Shared() {
		// Several nodes on one database: heartbeats, the leader lease and
		// the closing of lost nodes' calls (internal/cluster).
		m := n.clusterMember()
		n.acd.Start()
		start("cluster", func() error { m.Run(bg); return nil })
	}
	start("calls", func() error { n.mgr.Run(n.calls); return nil })
	// The dialer places campaigns' calls until shutdown begins.
	dialCtx, stopDialing := context.WithCancel(bg)
	defer stopDialing()
	start("dialer", func() error { n.dialer.run(dialCtx); return nil })
	sipReady := make(chan struct{})
	start("sip", func() error { return n.sip.Run(sipCtx, sipReady) })
	start("http", func() error {
		if err := n.httpSrv.Serve(n.httpLn); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	if n.httpsSrv != nil {
		start("https", func() error { return n.serveHTTPS(httpBase) })
	}

	select {
	case <-sipReady:
		close(n.ready)
		n.log.Info("switchboard ready", "sip", n.SIPAddr().String(), "http", n.webURL(),
			"queues", len(n.cfg.Queues), "agents", len(n.cfg.Agents), "numbers", numbers(n.cfg))
		select {
		case <-ctx.Done():
		case <-n.stop:
		case <-failed.Done():
		}
	case <-ctx.Done():
	case <-n.stop:
	case <-failed.Done():
	}

	// The gate closes first: nothing new starts while the rest stops.
	n.sip.Drain()
	stopDialing()
	if s, ok := any(n.mgr).(interface{ Shutdown() }); ok {
		s.Shutdown()
	}
	n.log.Info("switchboard stopping", "active_calls", n.mgr.Active())
	n.drain()
	deadline := time.Now().Add(n.opts.shutdownTimeout)
	wait := func(names ...string) {
		for _, name := range names {
			select {
			case <-stages[name]:
			case <-time.After(time.Until(deadline)):
			}
		}
	}
	n.cancelCalls()
	wait("calls")
	stopSIP()
	wait("sip")
	stopHTTP()
	sctx, cancel := context.WithDeadline(context.Background(), deadline)
	for _, srv := range n.httpServers() {
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
		}
	}
	cancel()
	stopBG()

	all := make(chan error, 1)
	go func() { all <- g.Wait() }()
	var err error
	select {
	case err = <-all:
	case <-time.After(time.Until(deadline)):
		var running []string
		for name, done := range stages {
			select {
			case <-done:
			default:
				running = append(running, name)
			}
		}
		err = fmt.Errorf("%w after %s: still running: %s", ErrShutdownTimeout, n.opts.shutdownTimeout, strings.Join(running, ", "))
		n.log.Error("switchboard did not stop in time", "running", running)
	}
	if err == nil {
		n.log.Info("switchboard stopped")
	}
	return err
}

// heartbeatEvery is how often the store notes the node is alive: at most
// this much of a crash is charged to the agents' states, and the calls a
// kill cut are closed at most this long before it. One small write a
// second, batched with the writer's others.
const heartbeatEvery = time.Second

// drain waits, for at most the drain grace, until no call is in
// progress: neither this node's nor another node's call on one of its
// softphones.
func (n *Node) drain() {
	active := func() int {
		a := n.mgr.Active()
		if n.softphones != nil {
			a += n.softphones.serving()
		}
		return a
	}
	if n.opts.drainGrace <= 0 || active() == 0 {
		return
	}
	deadline := time.Now().Add(n.opts.drainGrace)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for active() > 0 && time.Now().Before(deadline) {
		<-t.C
	}
	if a := active(); a > 0 {
		n.log.Info("drain grace over; hanging up the calls still up", "active_calls", a)
	}
}

// expireRecordings deletes recordings past their queue's retention, at
// start and every retentionEvery.
func (n *Node) expireRecordings(ctx context.Context) {
	t := time.NewTicker(retentionEvery)
	defer t.Stop()
	for {
		retention := map[string]time.Duration{} // the setup in force: a reload may change it
		for _, q := range n.current().Queues {
			retention[q.Name] = q.RecordingRetention
		}
		if _, err := recording.Expire(ctx, n.st, retention, time.Now(), n.log); err != nil && ctx.Err() == nil {
			n.log.Warn("recording retention", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
