package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ConfigVersion is one setup that was put in force.
type ConfigVersion struct {
	Version int64     `json:"version"`
	At      time.Time `json:"at"`
	// Actor is who made it (a user, or "file" for a start or a signal);
	// Origin how: start, reload, apply, restore of N.
	Actor  string `json:"by"`
	Origin string `json:"origin"`
	Node   string `json:"node,omitempty"`
	// YAML is the setup exactly as given; Diff its unified diff from the
	// version before (empty for the first). Lists leave YAML out.
	YAML string `json:"yaml,omitempty"`
	Diff string `json:"diff,omitempty"`
	// Base, when not 0, is the version the setup was made from: saving
	// is refused with ErrStaleConfig when the latest is another one.
	Base int64 `json:"-"`
}

// ErrSameConfig is SaveConfigVersion's answer when the setup is the
// latest version's already: no version is made.
var ErrSameConfig = errors.New("store: the setup is the latest version's")

// ErrStaleConfig is SaveConfigVersion's answer when the setup was made
// from a version (Base) that is no longer the latest.
var ErrStaleConfig = errors.New("store: the setup was made from a version that is no longer the latest")

// SaveConfigVersion makes v the next version, numbered one above the
// latest, with diff computed by diff(latest YAML, v.YAML); it returns the
// version made, or ErrSameConfig (and the latest) when the YAML is the
// latest's, or ErrStaleConfig (and the latest) when v.Base is set and is
// not the latest. Nodes saving at once are ordered by the version's key: the
// loser tries again on top of the winner.
func (s *Store) SaveConfigVersion(ctx context.Context, v ConfigVersion, diff func(old, new string) string) (ConfigVersion, error) {
	for attempt := 0; ; attempt++ {
		latest, found, err := s.LatestConfigVersion(ctx)
		if err != nil {
			return ConfigVersion{}, err
		}
		if found && latest.YAML == v.YAML {
			return latest, ErrSameConfig
		}
		if v.Base > 0 && (!found || latest.Version != v.Base) {
			return latest, ErrStaleConfig
		}
		v.Version, v.Diff = 1, ""
		if found {
			v.Version, v.Diff = latest.Version+1, diff(latest.YAML, v.YAML)
		}
		if v.Node == "" {
			v.Node = s.node
		}
		_, err = s.db.ExecContext(ctx, `INSERT INTO config_versions (version, at, actor, origin, node, yaml, diff) VALUES (?,?,?,?,?,?,?)
 ON CONFLICT (version) DO NOTHING`, v.Version, ms(v.At), v.Actor, v.Origin, v.Node, v.YAML, v.Diff)
		if err != nil {
			return ConfigVersion{}, fmt.Errorf("store: save setup version: %w", err)
		}
		got, ok, err := s.ConfigVersionN(ctx, v.Version)
		if err != nil {
			return ConfigVersion{}, err
		}
		if ok && got.YAML == v.YAML && got.Actor == v.Actor && got.At.Equal(time.UnixMilli(ms(v.At)).UTC()) {
			return got, nil
		}
		if attempt >= 5 {
			return ConfigVersion{}, errors.New("store: save setup version: other nodes keep taking the next number")
		}
	}
}

// LatestConfigVersion returns the newest version, with its YAML.
func (s *Store) LatestConfigVersion(ctx context.Context) (ConfigVersion, bool, error) {
	return s.configVersion(ctx, `SELECT version, at, actor, origin, node, yaml, diff FROM config_versions ORDER BY version DESC LIMIT 1`)
}

// LatestConfigVersionOf returns the newest version made by origin (start,
// apply, ...), with its YAML.
func (s *Store) LatestConfigVersionOf(ctx context.Context, origin string) (ConfigVersion, bool, error) {
	return s.configVersion(ctx, `SELECT version, at, actor, origin, node, yaml, diff FROM config_versions WHERE origin = ? ORDER BY version DESC LIMIT 1`, origin)
}

// ConfigVersionN returns version n, with its YAML and diff.
func (s *Store) ConfigVersionN(ctx context.Context, n int64) (ConfigVersion, bool, error) {
	return s.configVersion(ctx, `SELECT version, at, actor, origin, node, yaml, diff FROM config_versions WHERE version = ?`, n)
}

func (s *Store) configVersion(ctx context.Context, query string, args ...any) (ConfigVersion, bool, error) {
	var (
		v  ConfigVersion
		at int64
	)
	err := s.db.QueryRowContext(ctx, query, args...).Scan(&v.Version, &at, &v.Actor, &v.Origin, &v.Node, &v.YAML, &v.Diff)
	if errors.Is(err, sql.ErrNoRows) {
		return ConfigVersion{}, false, nil
	}
	if err != nil {
		return ConfigVersion{}, false, fmt.Errorf("store: setup version: %w", err)
	}
	v.At = time.UnixMilli(at).UTC()
	return v, true, nil
}

// ConfigVersions lists the versions, newest first, at most limit, without
// their YAML and diffs.
func (s *Store) ConfigVersions(ctx context.Context, limit int) ([]ConfigVersion, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT version, at, actor, origin, node FROM config_versions ORDER BY version DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: setup versions: %w", err)
	}
	defer rows.Close()
	out := []ConfigVersion{}
	for rows.Next() {
		var (
			v  ConfigVersion
			at int64
		)
		if err := rows.Scan(&v.Version, &at, &v.Actor, &v.Origin, &v.Node); err != nil {
			return nil, fmt.Errorf("store: setup versions: %w", err)
		}
		v.At = time.UnixMilli(at).UTC()
		out = append(out, v)
	}
	return out, rows.Err()
}

// DeleteConfigVersion removes version n: one saved for a setup that then
// could not be put in force.
func (s *Store) DeleteConfigVersion(ctx context.Context, n int64) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM config_versions WHERE version = ?`, n); err != nil {
		return fmt.Errorf("store: delete setup version %d: %w", n, err)
	}
	return nil
}
