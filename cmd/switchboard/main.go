// Command switchboard is the call-handling server and its tools.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/switchboard/switchboard/internal/sip"
)

const usage = `switchboard — self-hosted call handling

Usage:
  switchboard serve [--config FILE] [--sip HOST:PORT] [--http HOST:PORT] [--data DIR]
  switchboard token create --user NAME [--expires 720h] [--config FILE] [--data DIR]
  switchboard token list|revoke ID [--config FILE] [--data DIR]
  switchboard config check -f FILE
  switchboard config apply -f FILE [--server URL] [--token T | --user NAME] [--ca FILE]
  switchboard config reload [--server URL] [--token T | --user NAME] [--ca FILE]
  switchboard cert --host NAME|IP [--host ...] [--out DIR] [--days 365]
  switchboard ha1 --user EXTENSION [--realm REALM] < password
  switchboard simulate --outbound [--agents 20] [--answer-rate 0.3] [--mode all|predictive|power|progressive] [--json]
  switchboard simulate --arrivals-per-hour N --aht 180s --agents N [--patience 120s] [--hours 8] [--profile 1,2,1] [--json]
  switchboard load --callee [--listen 127.0.0.1:5080] [--answer-rate 0.3] [--machine-rate 0.1] [--busy-rate 0.05] [--numbers N=human,...] [--json]
  switchboard load [--target 127.0.0.1:5060] [--agents 50] [--calls 100] [--rate 5] [--aht 30s] [--patience 60s] [--server-pid PID] [--json]
  switchboard report [--config FILE] [--data DIR] [--from RFC3339] [--to RFC3339] [--interval 1h] [--all] [--json]
  switchboard cluster status [--config FILE] [--json]
  switchboard erlang --arrivals-per-hour N --aht 180s (--agents N | --target-sl 0.8) [--patience 120s] [--sl-threshold 20s] [--json]

With no --config, serve runs the built-in demo (examples/demo.yaml).
serve applies its setup file again on SIGHUP, without dropping a call.
`

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		sip.ShortenAcceptedTimers() // before any SIP traffic: see its comment
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "token":
		return tokenCmd(ctx, args[1:], stdout, stderr)
	case "config":
		return configCmd(ctx, args[1:], os.Stdin, stdout, stderr)
	case "cert":
		return certCmd(args[1:], stdout, stderr)
	case "ha1":
		return ha1Cmd(args[1:], os.Stdin, stdout, stderr)
	case "erlang":
		return erlangCmd(args[1:], stdout, stderr)
	case "simulate":
		return simulateCmd(args[1:], stdout, stderr)
	case "load":
		return loadCmd(ctx, args[1:], stdout, stderr)
	case "report":
		return reportCmd(ctx, args[1:], stdout, stderr)
	case "cluster":
		return clusterCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
