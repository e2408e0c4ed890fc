package store

import (
	"context"
	"fmt"
	"time"
)

// HoursOverride is a schedule forced open or closed by hand (PUT
// /api/v1/hours/{name}/override), kept so that it stays in force after a
// restart until someone clears it.
type HoursOverride struct {
	Name  string
	Open  bool
	SetAt time.Time
}

// SaveHoursOverride writes a schedule's override (open nil: cleared). It
// waits on the disk: when it returns nil the change survives a kill.
func (s *Store) SaveHoursOverride(ctx context.Context, name string, open *bool, at time.Time) error {
	var err error
	if open == nil {
		_, err = s.db.ExecContext(ctx, `DELETE FROM hours_overrides WHERE name = ?`, name)
	} else {
		_, err = s.db.ExecContext(ctx, `INSERT INTO hours_overrides (name, open, set_at) VALUES (?,?,?)
 ON CONFLICT(name) DO UPDATE SET open = excluded.open, set_at = excluded.set_at`, name, b2i(*open), ms(at))
	}
	if err != nil {
		return fmt.Errorf("store: save hours override of %s: %w", name, err)
	}
	return nil
}

// HoursOverrides returns the overrides in force, by name.
func (s *Store) HoursOverrides(ctx context.Context) ([]HoursOverride, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, open, set_at FROM hours_overrides ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: hours overrides: %w", err)
	}
	defer rows.Close()
	var out []HoursOverride
	for rows.Next() {
		var (
			o    HoursOverride
			open int64
			at   int64
		)
		if err := rows.Scan(&o.Name, &open, &at); err != nil {
			return nil, fmt.Errorf("store: hours overrides: %w", err)
		}
		o.Open = open != 0
		o.SetAt = time.UnixMilli(at).UTC()
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: hours overrides: %w", err)
	}
	return out, nil
}

// b2i is a flag as the INTEGER column both engines keep it in.
func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
