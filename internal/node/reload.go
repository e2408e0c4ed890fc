package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"time"

	"github.com/switchboard/switchboard/internal/api"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/store"
)

// Setup is where a node's setup comes from, so it can be read again
// (Reload) or replaced (ApplyFile).
type Setup struct {
	// Path is the setup file; empty when the node runs the built-in demo
	// (a setup applied then lasts until the process ends).
	Path string
	// Read reads the setup file (or the built-in demo) as it is now.
	Read func() ([]byte, error)
	// Parse validates a setup as the node's own: named Path in errors,
	// its secret files beside it, the command line's overrides applied.
	Parse func(data []byte) (*config.Config, error)
}

// WithSetup gives the node where its setup comes from; without it Reload
// and ApplyFile say the node has none.
func WithSetup(s Setup) Option { return func(o *options) { o.setup = s } }

// ErrNoSetup is the error of Reload and ApplyFile when the node was given
// no Setup.
var ErrNoSetup = errors.New("this node was started without a setup file to read again")

// Applied is what Reload or Apply changed.
type Applied struct {
	AgentsAdded   []string `json:"agents_added"`
	AgentsRemoved []string `json:"agents_removed"`
	// RestartNeeded names the sections that changed but apply only at the
	// next start (listen addresses, the data directory, trunk
	// registrations, security, webhooks, the voicemail mail server).
	RestartNeeded []string `json:"restart_needed"`
}

// Reload reads the setup again and applies it (Apply), as a new version of
// the setup made by by when it changed. An invalid setup is refused whole
// (the error is a *config.ValidationError naming file:line) and nothing
// changes.
func (n *Node) Reload(ctx context.Context, by string) (Applied, error) {
	su := n.opts.setup
	if su.Read == nil || su.Parse == nil {
		return Applied{}, ErrNoSetup
	}
	data, err := su.Read()
	if err != nil {
		return Applied{}, &api.IOError{Err: fmt.Errorf("read the setup: %w", err)}
	}
	cfg, err := su.Parse(data)
	if err != nil {
		return Applied{}, err
	}
	res, err := n.apply(ctx, cfg, func() (func(), error) { return n.saveVersion(ctx, data, by, "reload", 0) })
	if err == nil {
		n.noteFile(ctx, data) // what runs is the file as it is now
	}
	return res, err
}

// noteFile keeps the hash of the setup file as the node last read or wrote
// it (storedSetup compares the file with it at the next start).
func (n *Node) noteFile(ctx context.Context, data []byte) {
	if n.opts.setup.Path == "" {
		return // the built-in demo: storedSetup goes by the versions' origins
	}
	if err := n.st.SaveMarker(ctx, fileMarker(n.cfg), fileHash(data)); err != nil {
		n.log.Error("the setup file's hash not noted", "err", err)
	}
}

// ApplyFile makes data the node's setup: validated as its own setup file
// (refused whole, nothing changed, when invalid), saved as a new version
// made by by, written over that file (the previous one kept beside it as
// .prev) so the next start runs it too, then applied (Apply). Persisted is
// false when the node runs the built-in demo: the setup is applied but
// lasts until the process ends.
func (n *Node) ApplyFile(ctx context.Context, data []byte, by string) (res Applied, persisted bool, err error) {
	return n.applyFile(ctx, data, by, "apply", 0)
}

// ApplyFileOn is ApplyFile for a setup made from version base: refused
// with an *api.StaleError, nothing changed, when base is no longer the
// latest version (0: whatever it is).
func (n *Node) ApplyFileOn(ctx context.Context, data []byte, by string, base int64) (res Applied, persisted bool, err error) {
	return n.applyFile(ctx, data, by, "apply", base)
}

func (n *Node) applyFile(ctx context.Context, data []byte, by, origin string, base int64) (res Applied, persisted bool, err error) {
	su := n.opts.setup
	if su.Parse == nil {
		return Applied{}, false, ErrNoSetup
	}
	cfg, err := su.Parse(data)
	if err != nil {
		return Applied{}, false, err
	}
	// The version is saved and the file written once everything that
	// could refuse the setup has accepted it, and within the same reload:
	// the file, the latest version and what runs never disagree, whoever
	// applies at the same time.
	commit := func() (func(), error) {
		undo, err := n.saveVersion(ctx, data, by, origin, base)
		if err != nil {
			return nil, err
		}
		if su.Path == "" {
			return undo, nil
		}
		if err := replaceFile(su.Path, data); err != nil {
			undo()
			return nil, &api.IOError{Err: err}
		}
		n.noteFile(ctx, data)
		return undo, nil
	}
	res, err = n.apply(ctx, cfg, commit)
	return res, err == nil && su.Path != "", err
}

// CheckFile validates data as ApplyFile would (the file's rules, then the
// call core's: sounds, flows' targets), changing nothing.
func (n *Node) CheckFile(data []byte) error {
	su := n.opts.setup
	if su.Parse == nil {
		return ErrNoSetup
	}
	cfg, err := su.Parse(data)
	if err != nil {
		return err
	}
	keepRunning(cfg, n.current())
	// The uploaded prompts are in the manager's library already: a check
	// (the console's, as often as it types) reads only the sounds
	// directory.
	sounds := n.opts.sounds
	if sounds == nil {
		if sounds, err = LoadSounds(cfg); err != nil {
			return err
		}
	}
	if err := n.mgr.Check(cfg, sounds); err != nil {
		return fmt.Errorf("check the setup: %w", err)
	}
	return nil
}

// RestoreVersion applies version v of the setup again (as ApplyFile), as
// a new version made by by.
func (n *Node) RestoreVersion(ctx context.Context, v int64, by string) (Applied, bool, error) {
	old, ok, err := n.st.ConfigVersionN(ctx, v)
	if err != nil {
		return Applied{}, false, &api.IOError{Err: err}
	}
	if !ok {
		return Applied{}, false, fmt.Errorf("%w: %d", ErrNoVersion, v)
	}
	return n.applyFile(ctx, []byte(old.YAML), by, fmt.Sprintf("restore of %d", v), 0)
}

// ErrNoVersion is RestoreVersion's error for a version that does not exist.
var ErrNoVersion = errors.New("no such version of the setup")

// saveVersion saves data as the next version of the setup, made by by
// (origin: how), and notes that this node runs it; undo removes it again,
// for a setup that then was not put in force. The latest version's setup
// again makes no version. The store refusing refuses the setup, as does
// a base (when not 0) that is no longer the latest version.
func (n *Node) saveVersion(ctx context.Context, data []byte, by, origin string, base int64) (undo func(), err error) {
	v, err := n.st.SaveConfigVersion(ctx, store.ConfigVersion{At: time.Now(), Actor: by, Origin: origin, YAML: string(data), Base: base}, versionDiff)
	if errors.Is(err, store.ErrSameConfig) {
		n.version.Store(v.Version)
		return func() {}, nil
	}
	if errors.Is(err, store.ErrStaleConfig) {
		return nil, &api.StaleError{Base: base, Latest: v.Version}
	}
	if err != nil {
		return nil, &api.IOError{Err: fmt.Errorf("save the setup's version: %w", err)}
	}
	before := n.version.Swap(v.Version)
	n.log.Info("setup version saved", "version", v.Version, "by", by, "origin", origin)
	return func() {
		n.version.Store(before)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := n.st.DeleteConfigVersion(ctx, v.Version); err != nil {
			n.log.Error("a version of a setup not put in force not removed", "version", v.Version, "err", err)
		}
	}, nil
}

// versionDiff is the diff between two versions' YAML.
func versionDiff(old, new string) string { return config.Diff(old, new, "before", "after") }

// storedSetup picks the setup the node starts with: the file's (or the
// built-in demo's), unless the store holds a later version published on
// top of it (through the API, the console, another node, or `config
// apply` to the data directory while the server was stopped), which then
// runs, so that what was published outlives a restart:
//   - with a file, when the file is exactly as this node last read or wrote
//     it (its hash, noted at every start, reload and apply); the file is
//     then written with that version, so a later reload does not undo it.
//     A file edited since — by hand, or put back from .prev or git — wins
//     (recordStartVersion saves it as a new version). A node with no note
//     yet (its first start here) runs the later version when its file is
//     the latest version a start was made from;
//   - with the built-in demo, which nobody edits, whenever the latest
//     version was published rather than made by a start (a new release's
//     demo replaces an old demo, not what was published).
//
// The server, store and node sections stay the file's and the command
// line's: the store is open already, and a stored version must not move
// a demo off loopback.
func (n *Node) storedSetup() error {
	su := n.opts.setup
	if su.Read == nil || su.Parse == nil {
		return nil
	}
	data, err := su.Read()
	if err != nil {
		return fmt.Errorf("node: read the setup: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	latest, found, err := n.st.LatestConfigVersion(ctx)
	if err != nil {
		return fmt.Errorf("node: the setup's versions: %w", err)
	}
	if !found || latest.YAML == string(data) {
		return nil
	}
	if su.Path == "" {
		if latest.Origin == "start" {
			return nil
		}
	} else {
		seen, err := n.st.Marker(ctx, fileMarker(n.cfg))
		if err != nil {
			return fmt.Errorf("node: the setup file last started from: %w", err)
		}
		if seen == "" {
			start, ok, err := n.st.LatestConfigVersionOf(ctx, "start")
			if err != nil {
				return fmt.Errorf("node: the setup's versions: %w", err)
			}
			if !ok || start.YAML != string(data) {
				return nil
			}
		} else if seen != fileHash(data) {
			return nil
		}
	}
	cfg, err := su.Parse([]byte(latest.YAML))
	if err != nil {
		n.log.Warn("the store's latest setup is not valid here; starting from the file", "version", latest.Version, "err", err)
		return nil
	}
	cfg.Server, cfg.Store, cfg.Node = n.cfg.Server, n.cfg.Store, n.cfg.Node
	if err := n.checkStart(cfg); err != nil {
		n.log.Warn("the store's latest setup cannot start here; starting from the file", "version", latest.Version, "err", err)
		return nil
	}
	if su.Path != "" {
		if err := replaceFile(su.Path, []byte(latest.YAML)); err != nil {
			n.log.Warn("the store's latest setup not written over the file; starting from the file", "version", latest.Version, "err", err)
			return nil
		}
	}
	n.cfg = cfg
	n.startVersion = latest.Version
	n.log.Info("running the store's latest setup, published since the file was last read", "version", latest.Version,
		"by", latest.Actor, "origin", latest.Origin, "file", su.Path)
	return nil
}

// fileMarker names the marker of the setup file a node last started from.
func fileMarker(cfg *config.Config) string { return "setup_file:" + cfg.Node.Name }

// fileHash is the marker's value for a setup file's bytes.
func fileHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// checkStart is call.CheckSetup with the node's sounds.
func (n *Node) checkStart(cfg *config.Config) error {
	sounds, err := n.loadSounds(cfg)
	if err != nil {
		return err
	}
	return call.CheckSetup(cfg, sounds)
}

// recordStartVersion saves the setup the node started with as a version
// (made by "file", at "start") when it is not the latest already.
func (n *Node) recordStartVersion() {
	if n.opts.setup.Read == nil {
		return
	}
	data, err := n.opts.setup.Read()
	if err != nil {
		n.log.Warn("the setup's version not saved: the file could not be read again", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n.noteFile(ctx, data)
	if n.startVersion > 0 {
		n.version.Store(n.startVersion) // storedSetup's: the latest
		return
	}
	if _, err := n.saveVersion(ctx, data, "file", "start", 0); err != nil {
		n.log.Error("the setup's version not saved", "err", err)
	}
}

// RunningVersion is the version of the setup this node runs (0: none saved).
func (n *Node) RunningVersion() int64 { return n.version.Load() }

// replaceFile writes data over path through a temporary file in its
// directory, keeping what was there as path.prev.
func replaceFile(path string, data []byte) error {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real // a setup file that is a link (into a checkout) stays one
	}
	mode := os.FileMode(0o640)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write the setup: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write the setup: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write the setup: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write the setup: %w", err)
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return fmt.Errorf("write the setup: %w", err)
	}
	if old, err := os.ReadFile(path); err == nil {
		if err := os.WriteFile(path+".prev", old, mode); err != nil {
			return fmt.Errorf("keep the previous setup: %w", err)
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write the setup: %w", err)
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil { // the rename itself durable
		_ = dir.Sync()
		dir.Close()
	}
	return nil
}

// Apply puts a new, validated setup in force without dropping a call:
// the calls, the ACD, the SIP edge's credentials and numbers, and the API
// take it at once; live calls finish normally (see call.Manager.Apply for
// what happens to a call in a queue that was removed and to an agent who
// was); sections that only apply at the next start are left as they were
// and named in RestartNeeded. Reloads are one at a time.
func (n *Node) Apply(ctx context.Context, cfg *config.Config) (Applied, error) {
	return n.apply(ctx, cfg, nil)
}

// apply is Apply with commit, when not nil, run once the setup has passed
// every check and before anything changes; its error refuses the setup,
// and its undo is called when the setup fails after it.
func (n *Node) apply(ctx context.Context, cfg *config.Config, commit func() (undo func(), err error)) (Applied, error) {
	n.reloadMu.Lock()
	defer n.reloadMu.Unlock()
	if err := ctx.Err(); err != nil {
		return Applied{}, err
	}
	// What applies only at the next start stays as it runs now, so the
	// node's view of its own setup stays true.
	restart := keepRunning(cfg, n.current())
	sounds, err := n.loadSounds(cfg)
	if err != nil {
		return Applied{}, err
	}
	if err := n.mgr.Check(cfg, sounds); err != nil {
		return Applied{}, fmt.Errorf("apply the setup: %w", err)
	}
	undo := func() {}
	if commit != nil {
		var err error
		if undo, err = commit(); err != nil {
			return Applied{}, err
		}
	}
	res, err := n.mgr.Apply(cfg, sounds)
	if err != nil {
		undo()
		return Applied{}, fmt.Errorf("apply the setup: %w", err)
	}
	n.applySIP(cfg)
	n.api.Apply(cfg)
	n.live.Store(cfg)
	out := Applied{AgentsAdded: nonNil(res.Added), AgentsRemoved: nonNil(res.Removed), RestartNeeded: nonNil(restart)}
	n.log.Info("setup applied", "queues", len(cfg.Queues), "agents", len(cfg.Agents), "numbers", numbers(cfg),
		"agents_added", out.AgentsAdded, "agents_removed", out.AgentsRemoved, "restart_needed", out.RestartNeeded)
	return out, nil
}

// current is the setup in force.
func (n *Node) current() *config.Config {
	if c := n.live.Load(); c != nil {
		return c
	}
	return n.cfg
}

// keepRunning copies into cfg, as they run now, the sections of the setup
// that only apply at the next start, and names those that cfg changed.
// Trunks are kept whole: their registrations, trusted sources, pinned CAs
// and SRTP are the started ones, and calls out must match them. Agents'
// SRTP policies are named but not kept: the SIP edge reads the started
// ones until the next start either way.
func keepRunning(cfg, old *config.Config) (restart []string) {
	keep := func(name string, now, running any, put func()) {
		if !reflect.DeepEqual(now, running) {
			restart = append(restart, name)
		}
		put()
	}
	keep("server", cfg.Server, old.Server, func() { cfg.Server = old.Server })
	keep("security", cfg.Security, old.Security, func() { cfg.Security = old.Security })
	keep("store", cfg.Store, old.Store, func() { cfg.Store = old.Store })
	keep("node", cfg.Node, old.Node, func() { cfg.Node = old.Node })
	keep("webhooks", cfg.Webhooks, old.Webhooks, func() { cfg.Webhooks = old.Webhooks })
	keep("voicemail.smtp", cfg.Voicemail.SMTP, old.Voicemail.SMTP, func() { cfg.Voicemail.SMTP = old.Voicemail.SMTP })
	keep("limits.max_lag", cfg.Limits.MaxLag, old.Limits.MaxLag, func() { cfg.Limits.MaxLag = old.Limits.MaxLag })
	srtpBefore := srtpPolicies(cfg) // with the new trunks, before they are kept
	keep("trunks", cfg.Trunks, old.Trunks, func() { cfg.Trunks = old.Trunks })
	keep("srtp (agents' and trunks' policies)", srtpBefore, srtpPolicies(old), func() {})
	slices.Sort(restart)
	return restart
}

// srtpPolicies are the SRTP policies a setup sets, by agent and trunk.
func srtpPolicies(cfg *config.Config) map[string]config.SRTPPolicy {
	out := map[string]config.SRTPPolicy{}
	for _, a := range cfg.Agents {
		if a.SRTP != "" {
			out["agent "+a.Extension] = a.SRTP
		}
	}
	for _, t := range cfg.Trunks {
		if t.SRTP != "" {
			out["trunk "+t.Name] = t.SRTP
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// edgeSetup is what the SIP edge checks from the setup in force.
type edgeSetup struct {
	ha1s    map[string]string // by extension: the edge checks digests from HA1s, configured or computed
	numbers map[string]bool   // the setup's numbers, reached without credentials from trusted sources
}

// applySIP gives the SIP edge the credentials and numbers of cfg.
func (n *Node) applySIP(cfg *config.Config) {
	e := &edgeSetup{ha1s: make(map[string]string, len(cfg.Agents)), numbers: make(map[string]bool, len(cfg.Numbers))}
	for _, a := range cfg.Agents {
		e.ha1s[a.Extension] = a.HA1(cfg.Server.Realm)
	}
	for _, nb := range cfg.Numbers {
		e.numbers[nb.Number] = true
	}
	n.edge.Store(e)
}

// setups gives the API the node's Reload and ApplyFile.
type setups struct{ n *Node }

func (s setups) Reload(ctx context.Context, by string) (any, error) { return s.n.Reload(ctx, by) }

func (s setups) ApplyFile(ctx context.Context, data []byte, by string, base int64) (any, bool, error) {
	return s.n.ApplyFileOn(ctx, data, by, base)
}

func (s setups) Restore(ctx context.Context, version int64, by string) (any, bool, error) {
	return s.n.RestoreVersion(ctx, version, by)
}

func (s setups) Check(data []byte) error { return s.n.CheckFile(data) }

func (s setups) Running() int64 { return s.n.RunningVersion() }

func (s setups) File() string { return s.n.opts.setup.Path }
