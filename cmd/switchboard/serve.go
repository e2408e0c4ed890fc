package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/node"
)

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf setupFlags
	sf.register(fs)
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))

	cfg, err := sf.load()
	if err != nil {
		return err
	}
	if cfg.Server.Demo {
		for _, a := range []string{cfg.Server.SIPListen, cfg.Server.HTTPListen} {
			if !config.IsLoopback(a) {
				return fmt.Errorf("refusing to listen on %s: this setup uses the published demo passwords (server.demo: true); "+
					"listen on a loopback address, or run your own setup with --config", a)
			}
		}
	}
	n, err := node.New(cfg, log)
	if err != nil {
		return err
	}
	return n.Run(ctx)
}
