package main

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"

	"github.com/switchboard/switchboard/examples"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/node"
	"github.com/switchboard/switchboard/internal/store"
)

// setupFlags are the flags every command that reads a setup shares.
type setupFlags struct {
	config, sip, http, data string
}

func (f *setupFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "setup file (YAML); empty runs the built-in demo")
	fs.StringVar(&f.sip, "sip", "", "SIP listen address host:port (UDP and TCP), overrides the setup")
	fs.StringVar(&f.http, "http", "", "HTTP listen address host:port, overrides the setup")
	fs.StringVar(&f.data, "data", "", "data directory, overrides the setup")
}

// load reads the setup (or the embedded demo) and applies flag overrides.
func (f *setupFlags) load() (*config.Config, error) {
	data, err := f.read()
	if err != nil {
		return nil, err
	}
	return f.parse(data)
}

// openStore loads the setup and opens the store it names, logging to
// stderr from level on.
func (f *setupFlags) openStore(stderr io.Writer, level slog.Level) (*config.Config, *store.Store, error) {
	cfg, err := f.load()
	if err != nil {
		return nil, nil, err
	}
	st, err := store.New(node.StoreOptions(cfg), slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))
	if err != nil {
		return nil, nil, err
	}
	return cfg, st, nil
}

// name is the setup's name in error messages: its path, or demo.yaml.
func (f *setupFlags) name() string {
	if f.config == "" {
		return "demo.yaml"
	}
	return f.config
}

// read reads the setup file, or the embedded demo.
func (f *setupFlags) read() ([]byte, error) {
	var (
		data []byte
		err  error
	)
	if f.config == "" {
		data, err = fs.ReadFile(examples.FS, "demo.yaml")
	} else {
		data, err = os.ReadFile(f.config)
	}
	if err != nil {
		return nil, fmt.Errorf("read setup: %w", err)
	}
	return data, nil
}

// parse validates data as the setup named by the flags and applies the
// flag overrides.
func (f *setupFlags) parse(data []byte) (*config.Config, error) {
	cfg, err := config.Parse(f.name(), data)
	if err != nil {
		return nil, err
	}
	if f.sip != "" {
		cfg.Server.SIPListen = f.sip
	}
	if f.http != "" {
		cfg.Server.HTTPListen = f.http
	}
	if f.data != "" {
		cfg.Server.DataDir = f.data
	}
	return cfg, nil
}
