package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/store"
)

// Offline is a stopped server's setup, worked on in its data directory's
// store (`switchboard config apply|export` without --server).
type Offline struct {
	// Boot is the setup the server starts from (its file or the built-in
	// demo, with the command line's overrides): it names the store.
	Boot *config.Config
	// Path is the server's setup file, rewritten by Apply ("" for the
	// built-in demo: the server then starts from the store's version).
	Path string
	// Parse, when set, validates a setup as the server would (its path for
	// secret files, the command line's overrides); else config.Parse.
	Parse func(name string, data []byte) (*config.Config, error)
	Log   *slog.Logger
}

// ErrServerRunning refuses to work on the data directory of a server that
// answers on its HTTP address: apply through its API instead.
var ErrServerRunning = errors.New("a server is running on this data directory")

// open opens the store once it is sure no server runs on it.
func (o Offline) open(ctx context.Context) (*store.Store, error) {
	if o.Boot.Store.Driver == config.DriverPostgres {
		return nil, errors.New("the store is a cluster's (PostgreSQL): apply through a node's API with --server")
	}
	if addr := o.Boot.Server.HTTPListen; addr != "" {
		// Anything answering there (a redirect to HTTPS included) is the
		// server; so is a listener that takes the connection but is slow
		// to answer.
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
		if err == nil {
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			if err == nil || errors.Is(err, context.DeadlineExceeded) {
				return nil, fmt.Errorf("%w (it answers on %s): apply through it with --server http://%s --user admin", ErrServerRunning, addr, addr)
			}
		}
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return store.New(StoreOptions(o.Boot), log)
}

// Export is version n of the setup (0: the latest), exactly as given.
func (o Offline) Export(ctx context.Context, n int64) (store.ConfigVersion, error) {
	st, err := o.open(ctx)
	if err != nil {
		return store.ConfigVersion{}, err
	}
	defer st.Close()
	var (
		v  store.ConfigVersion
		ok bool
	)
	if n > 0 {
		v, ok, err = st.ConfigVersionN(ctx, n)
	} else {
		v, ok, err = st.LatestConfigVersion(ctx)
	}
	switch {
	case err != nil:
		return store.ConfigVersion{}, err
	case !ok && n > 0:
		return store.ConfigVersion{}, fmt.Errorf("%w: %d", ErrNoVersion, n)
	case !ok:
		return store.ConfigVersion{}, fmt.Errorf("no version of the setup is saved in %s yet: start the server once", o.Boot.Server.DataDir)
	}
	return v, nil
}

// Apply validates data (named name in errors) as the server would at its
// next start, saves it as the latest version made by by and, when the
// server has a setup file, writes it there (the previous one kept as
// .prev). Nothing changes when it is invalid.
func (o Offline) Apply(ctx context.Context, name string, data []byte, by string) (store.ConfigVersion, error) {
	parse := o.Parse
	if parse == nil {
		parse = config.Parse
	}
	cfg, err := parse(name, data)
	if err != nil {
		return store.ConfigVersion{}, err
	}
	cfg.Server = o.Boot.Server // the sounds the server has; its addresses stay the file's
	st, err := o.open(ctx)
	if err != nil {
		return store.ConfigVersion{}, err
	}
	defer st.Close()
	if o.Path == "" {
		// Without a file to write, the demo runs the store's version only
		// once a start has saved the demo's own (else its first start
		// saves the demo on top).
		if _, ok, err := st.LatestConfigVersionOf(ctx, "start"); err != nil {
			return store.ConfigVersion{}, err
		} else if !ok {
			return store.ConfigVersion{}, fmt.Errorf("the server has not started on %s yet: start it once, or give its --config", o.Boot.Server.DataDir)
		}
	}
	sounds, err := LoadSounds(cfg)
	if err != nil {
		return store.ConfigVersion{}, fmt.Errorf("the sounds: %w", err)
	}
	if err := addPrompts(ctx, st, sounds); err != nil {
		return store.ConfigVersion{}, err
	}
	if err := call.CheckSetup(cfg, sounds); err != nil {
		return store.ConfigVersion{}, fmt.Errorf("check the setup: %w", err)
	}
	v, err := st.SaveConfigVersion(ctx, store.ConfigVersion{At: time.Now(), Actor: by, Origin: "apply (server stopped)", YAML: string(data)}, versionDiff)
	made := err == nil
	if err != nil && !errors.Is(err, store.ErrSameConfig) {
		return store.ConfigVersion{}, err
	}
	if o.Path != "" {
		if err := replaceFile(o.Path, data); err != nil {
			if made {
				_ = st.DeleteConfigVersion(ctx, v.Version)
			}
			return store.ConfigVersion{}, err
		}
	}
	return v, nil
}
