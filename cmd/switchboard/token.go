package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/store"
)

func tokenCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage: switchboard token create --user NAME [--config FILE] [--data DIR]")
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf setupFlags
	sf.register(fs)
	user := fs.String("user", "", "the user the token acts as")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := sf.load()
	if err != nil {
		return err
	}
	known := false
	for _, u := range cfg.Users {
		known = known || u.Username == *user
	}
	for _, a := range cfg.Agents {
		known = known || a.Extension == *user
	}
	if !known {
		return fmt.Errorf("--user: no user %q in the setup", *user)
	}
	st, err := store.Open(cfg.Server.DataDir, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	defer st.Close()
	tok, err := st.CreateToken(ctx, *user)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

func configCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		return fmt.Errorf("usage: switchboard config check -f FILE")
	}
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "setup file to check")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	sf := setupFlags{config: *file}
	cfg, err := sf.load()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d queues, %d agents, %d flows, %d numbers)\n", *file, len(cfg.Queues), len(cfg.Agents), len(cfg.Flows), len(cfg.Numbers))
	_ = config.RoleAdmin
	return nil
}
