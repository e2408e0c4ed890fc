package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Prompt is a sound uploaded or recorded through the admin console.
type Prompt struct {
	Name string `json:"name"`
	// WAV is 8 kHz mono 16-bit; lists leave it out.
	WAV []byte `json:"-"`
	// Format is what was sent (wav, mp3).
	Format string    `json:"format"`
	At     time.Time `json:"at"`
	Actor  string    `json:"by"`
	// Seconds is how long it plays.
	Seconds float64 `json:"seconds"`
}

// SavePrompt stores p, replacing a prompt of its name.
func (s *Store) SavePrompt(ctx context.Context, p Prompt) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO prompts (name, wav, format, at, actor) VALUES (?,?,?,?,?)
 ON CONFLICT (name) DO UPDATE SET wav = excluded.wav, format = excluded.format, at = excluded.at, actor = excluded.actor`,
		p.Name, p.WAV, p.Format, ms(p.At), p.Actor)
	if err != nil {
		return fmt.Errorf("store: save prompt %s: %w", p.Name, err)
	}
	return nil
}

// PromptN is the prompt called name, with its audio.
func (s *Store) PromptN(ctx context.Context, name string) (Prompt, bool, error) {
	var (
		p  Prompt
		at int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT name, wav, format, at, actor FROM prompts WHERE name = ?`, name).Scan(&p.Name, &p.WAV, &p.Format, &at, &p.Actor)
	if errors.Is(err, sql.ErrNoRows) {
		return Prompt{}, false, nil
	}
	if err != nil {
		return Prompt{}, false, fmt.Errorf("store: prompt %s: %w", name, err)
	}
	p.At = time.UnixMilli(at).UTC()
	p.Seconds = wavSeconds(len(p.WAV))
	return p, true, nil
}

// Prompts lists every prompt by name, with their audio when withAudio.
func (s *Store) Prompts(ctx context.Context, withAudio bool) ([]Prompt, error) {
	audio := "x''"
	if s.db.pg {
		audio = "''::bytea"
	}
	if withAudio {
		audio = "wav"
	}
	rows, err := s.db.QueryContext(ctx, `SELECT name, `+audio+`, length(wav), format, at, actor FROM prompts ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: prompts: %w", err)
	}
	defer rows.Close()
	out := []Prompt{}
	for rows.Next() {
		var (
			p        Prompt
			at, size int64
		)
		if err := rows.Scan(&p.Name, &p.WAV, &size, &p.Format, &at, &p.Actor); err != nil {
			return nil, fmt.Errorf("store: prompts: %w", err)
		}
		p.At = time.UnixMilli(at).UTC()
		p.Seconds = wavSeconds(int(size))
		if !withAudio {
			p.WAV = nil
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeletePrompt removes the prompt called name; found says whether there was one.
func (s *Store) DeletePrompt(ctx context.Context, name string) (found bool, err error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM prompts WHERE name = ?`, name)
	if err != nil {
		return false, fmt.Errorf("store: delete prompt %s: %w", name, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// wavSeconds is how long an 8 kHz mono 16-bit WAV of size bytes plays.
func wavSeconds(size int) float64 {
	if size <= 44 {
		return 0
	}
	return float64(size-44) / 16000
}
