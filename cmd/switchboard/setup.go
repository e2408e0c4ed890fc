package main

import (
	"flag"
	"fmt"
	"io/fs"
	"os"

	"github.com/switchboard/switchboard/examples"
	"github.com/switchboard/switchboard/internal/config"
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
