package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/node"
)

// serveGCPercent is the server's GOGC unless the environment sets one.
const serveGCPercent = 50

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf setupFlags
	sf.register(fs)
	level := fs.String("log-level", "info", "debug, info, warn or error")
	sipTLS := fs.String("sip-tls", "", "SIP over TLS listen address host:port, overrides the setup "+
		"(with --sip alone, TLS moves to that host on a free port)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	if os.Getenv("GOGC") == "" {
		// The heap may grow by half its live size between collections,
		// not by all of it (Go's default): at 1,000 bridged calls that is
		// about 9 KiB less per call, for a collector that costs a few
		// per cent of the CPU at 200 new calls a second (BENCHMARKS.md).
		debug.SetGCPercent(serveGCPercent)
	}

	cfg, err := sf.load()
	if err != nil {
		return err
	}
	if err := applySIPTLS(cfg, sf.sip, *sipTLS); err != nil {
		return err
	}
	if cfg.Server.Demo {
		for _, a := range []string{cfg.Server.SIPListen, cfg.Server.HTTPListen, cfg.Server.SIPTLSListen} {
			if a == "" {
				continue
			}
			if !config.IsLoopback(a) {
				return fmt.Errorf("refusing to listen on %s: this setup uses the published demo passwords (server.demo: true); "+
					"listen on a loopback address, or run your own setup with --config", a)
			}
		}
	}
	parse := func(data []byte) (*config.Config, error) {
		c, err := sf.parse(data)
		if err != nil {
			return nil, err
		}
		return c, applySIPTLS(c, sf.sip, *sipTLS)
	}
	// SIGHUP is caught from before the node is built (its start may take a
	// while: recovery, the recordings index), so a reload asked for then
	// does not kill the process; it applies once the node is built.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	n, err := node.New(cfg, log, node.WithSetup(node.Setup{Path: sf.config, Read: sf.read, Parse: parse}))
	if err != nil {
		return err
	}
	stop := reloadOnHangup(ctx, hup, n, log)
	defer stop()
	return n.Run(ctx)
}

// reloadOnHangup applies the setup file again each time hup delivers
// SIGHUP, until the returned stop is called; an invalid file is logged and
// changes nothing.
func reloadOnHangup(ctx context.Context, hup <-chan os.Signal, n *node.Node, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				log.Info("SIGHUP: reading the setup again")
				if _, err := n.ReloadBy(ctx, "SIGHUP"); err != nil {
					log.Error("setup not reloaded; nothing changed", "err", err)
				}
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// applySIPTLS applies --sip-tls. Without it, a --sip that moves SIP also
// moves the setup's TLS listener to that host, on a port the kernel picks
// (logged at start): two nodes started with their own --sip (tests, a
// second demo) must not both claim the setup's fixed TLS port.
func applySIPTLS(cfg *config.Config, sipFlag, tlsFlag string) error {
	switch {
	case tlsFlag != "":
		if _, _, err := net.SplitHostPort(tlsFlag); err != nil {
			return fmt.Errorf("--sip-tls: %w", err)
		}
		cfg.Server.SIPTLSListen = tlsFlag
	case sipFlag != "" && cfg.Server.SIPTLSListen != "":
		host, _, err := net.SplitHostPort(sipFlag)
		if err != nil {
			return fmt.Errorf("--sip: %w", err)
		}
		cfg.Server.SIPTLSListen = net.JoinHostPort(host, "0")
	}
	return nil
}
