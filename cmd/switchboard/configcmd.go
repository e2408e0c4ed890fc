package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/node"
)

const configUsage = `usage:
  switchboard config check -f FILE
  switchboard config apply -f FILE [--server URL] [--token T | --user NAME [--password P]] [--ca FILE]
  switchboard config apply -f FILE [--config SERVER-SETUP] [--data DIR]      (server stopped)
  switchboard config reload [--server URL] [--token T | --user NAME [--password P]] [--ca FILE]
  switchboard config export [--version N] [--server URL] [--token T | --user NAME [--password P]] [--ca FILE]
  switchboard config export [--version N] [--config SERVER-SETUP] [--data DIR]  (server stopped)

apply sends FILE to the running server, which validates it as its own setup
file (nothing changes when it is invalid), writes it there and applies it
without dropping a call; reload makes the server read its setup file again
(as SIGHUP does). Each setup put in force is a version of it, kept in the
store with who made it and its diff; export prints the version the server
runs (or --version N) exactly as it was given, so apply then export gives
the file back. Through the server they need an admin: a token (--token, or
SWITCHBOARD_TOKEN) or a user whose password is --password,
SWITCHBOARD_PASSWORD or the first line of stdin.

Without --server, --token or --user, apply and export work on the data
directory of a stopped server (the one its --config and --data name; the
built-in demo's without them): apply validates FILE as the server would,
saves it as the latest version and, with --config, writes it over that
file; the server runs it when it next starts.`

func configCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "check" && args[0] != "apply" && args[0] != "reload" && args[0] != "export") {
		fmt.Fprintln(stderr, configUsage)
		return errors.New("config: give check, apply, reload or export")
	}
	if args[0] == "check" {
		return configCheck(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("config "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "apply: the setup file to apply")
	server := fs.String("server", "http://127.0.0.1:8080", "the server's API base URL")
	token := fs.String("token", os.Getenv("SWITCHBOARD_TOKEN"), "an admin's API token (default $SWITCHBOARD_TOKEN)")
	user := fs.String("user", "", "an admin's user name, instead of a token; the password is --password, $SWITCHBOARD_PASSWORD or the first line of stdin")
	pass := fs.String("password", "", "the --user's password")
	ca := fs.String("ca", "", "PEM certificate(s) to trust for an https server (a self-signed one)")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the server")
	version := fs.Int64("version", 0, "export: the version to print (default the one the server runs)")
	var sf setupFlags
	sf.register(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	remote := os.Getenv("SWITCHBOARD_TOKEN") != "" || args[0] == "reload"
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "server", "token", "user", "password", "ca":
			remote = true
		}
	})
	if !remote {
		return configOffline(ctx, args[0], sf, *file, *version, stdout)
	}
	var body []byte
	method, path := http.MethodPost, "/api/v1/config/reload"
	switch args[0] {
	case "export":
		method, path = http.MethodGet, "/api/v1/config/export"
		if *version > 0 {
			path += "?version=" + strconv.FormatInt(*version, 10)
		}
	case "apply":
		if *file == "" {
			return errors.New("config apply: -f FILE is required")
		}
		var err error
		if body, err = os.ReadFile(*file); err != nil {
			return fmt.Errorf("config apply: %w", err)
		}
		path = "/api/v1/config/apply"
	}
	client := &http.Client{Timeout: *timeout}
	if *ca != "" {
		pem, err := os.ReadFile(*ca)
		if err != nil {
			return fmt.Errorf("--ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--ca %s: no PEM certificate in it", *ca)
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(*server, "/")+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("--server: %w", err)
	}
	req.Header.Set("Content-Type", "application/yaml")
	switch {
	case *user != "":
		p := *pass
		if p == "" {
			var err error
			if p, err = password(stdin); err != nil {
				return err
			}
		}
		req.SetBasicAuth(*user, p)
	case *token != "":
		req.Header.Set("Authorization", "Bearer "+*token)
	default:
		return errors.New("config " + args[0] + ": give an admin's --token (or SWITCHBOARD_TOKEN) or --user")
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("config %s: %w", args[0], err)
	}
	defer resp.Body.Close()
	if args[0] == "export" && resp.StatusCode == http.StatusOK {
		if _, err := io.Copy(stdout, resp.Body); err != nil {
			return fmt.Errorf("config export: %w", err)
		}
		return nil
	}
	var out struct {
		Applied   bool            `json:"applied"`
		Persisted *bool           `json:"persisted"`
		File      string          `json:"file"`
		Changes   json.RawMessage `json:"changes"`
		Errors    []string        `json:"errors"`
		Error     string          `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := json.Unmarshal(raw, &out); err != nil {
		return fmt.Errorf("config %s: HTTP %d: %s", args[0], resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	if resp.StatusCode != http.StatusOK {
		for _, e := range out.Errors {
			// The server names the problems in its own file; they are the
			// lines of the file sent.
			if *file != "" && out.File != "" {
				e = strings.Replace(e, out.File+":", *file+":", 1)
			}
			fmt.Fprintln(stderr, e)
		}
		if out.Error != "" {
			fmt.Fprintln(stderr, out.Error)
		}
		return fmt.Errorf("config %s: refused (HTTP %d); nothing changed", args[0], resp.StatusCode)
	}
	where := out.File
	if where == "" {
		where = "the built-in demo (not kept after the server stops)"
	}
	fmt.Fprintf(stdout, "applied (%s): %s\n", where, out.Changes)
	return nil
}

// configOffline is apply or export on a stopped server's data directory.
func configOffline(ctx context.Context, verb string, sf setupFlags, file string, version int64, stdout io.Writer) error {
	boot, err := sf.load()
	if err != nil {
		return err
	}
	o := node.Offline{Boot: boot, Path: sf.config}
	if sf.config != "" {
		// Checked where it will be written: secret files beside the
		// server's setup, the command line's overrides applied.
		o.Parse = func(name string, data []byte) (*config.Config, error) {
			cfg, err := sf.parse(data)
			var ve *config.ValidationError
			if errors.As(err, &ve) {
				ve.File = name // its lines are the applied file's
			}
			return cfg, err
		}
	}
	if verb == "export" {
		v, err := o.Export(ctx, version)
		if err != nil {
			return fmt.Errorf("config export: %w", err)
		}
		_, err = io.WriteString(stdout, v.YAML)
		return err
	}
	if file == "" {
		return errors.New("config apply: -f FILE is required")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("config apply: %w", err)
	}
	by := "offline"
	if u, err := user.Current(); err == nil {
		by = u.Username + " (offline)"
	}
	v, err := o.Apply(ctx, file, data, by)
	if err != nil {
		return fmt.Errorf("config apply: %w; nothing changed", err)
	}
	fmt.Fprintf(stdout, "saved as version %d in %s; the server runs it when it next starts\n", v.Version, boot.Server.DataDir)
	return nil
}

// password is $SWITCHBOARD_PASSWORD, or the first line of stdin.
func password(stdin io.Reader) (string, error) {
	if p := os.Getenv("SWITCHBOARD_PASSWORD"); p != "" {
		return p, nil
	}
	return readPassword(stdin)
}

func configCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "setup file to check")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sf := setupFlags{config: *file}
	cfg, err := sf.load()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d queues, %d agents, %d flows, %d numbers)\n", *file, len(cfg.Queues), len(cfg.Agents), len(cfg.Flows), len(cfg.Numbers))
	return nil
}
