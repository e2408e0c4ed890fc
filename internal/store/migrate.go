package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
)

// The schema of each engine is a series of goose migrations, numbered the
// same on both (migrations/sqlite, migrations/postgres), applied at Open,
// each once. A change is a new file on both, never an edit of an old one.
//
//go:embed migrations
var migrationFiles embed.FS

// migrateKey is the advisory lock nodes migrate under.
const migrateKey = 0x5357424d // "SWBM"

// upgrade brings d's schema up to date. On PostgreSQL, nodes starting
// together take turns: each holds an advisory lock, on a connection of
// its own, while it migrates.
func upgrade(ctx context.Context, d *db, log *slog.Logger) error {
	dir, dialect := "migrations/sqlite", goose.DialectSQLite3
	if d.pg {
		dir, dialect = "migrations/postgres", goose.DialectPostgres
		conn, err := d.sql.Conn(ctx)
		if err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrateKey); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, migrateKey) //nolint:errcheck // the lock ends with the session anyway
	} else if err := legacyUpgrade(ctx, d.sql); err != nil {
		return err
	}
	fsys, err := fs.Sub(migrationFiles, dir)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(dialect, d.sql, fsys)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	for _, r := range results {
		log.Info("store migrated", "migration", r.Source.Path, "took", r.Duration)
	}
	if !d.pg {
		// A database made here says it has had every legacy migration, so
		// a server of before the move to goose opens it without running
		// them again.
		if _, err := d.sql.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations))); err != nil {
			return fmt.Errorf("schema version: %w", err)
		}
	}
	return nil
}

// legacyUpgrade brings a SQLite database made before the store used goose
// (its tables there, goose's not) to the schema of the goose baseline, with
// the migrations it had then; PRAGMA user_version counts those applied.
func legacyUpgrade(ctx context.Context, db *sql.DB) error {
	var calls, goosed int
	err := db.QueryRowContext(ctx, `SELECT
 (SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'calls'),
 (SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version')`).Scan(&calls, &goosed)
	if err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	if calls == 0 || goosed == 1 {
		return nil
	}
	return migrate(ctx, db)
}

// migrations are the legacy migrations, frozen: they bring a database of
// the first schema up to the goose baseline, in order, each once; the
// database's PRAGMA user_version counts those applied. Tables the first
// schema lacked and none of these make, the baseline creates.
var migrations = []struct {
	name string
	sql  string
}{
	{"events: typed agent state and reason", `
ALTER TABLE events ADD COLUMN state TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN reason TEXT NOT NULL DEFAULT '';`},
	{"meta: last time the server was seen alive", `
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);`},
	{"queue segments, one per queued call so far", `
CREATE TABLE queue_segments (
  call_id TEXT NOT NULL, seq INTEGER NOT NULL, queue TEXT NOT NULL,
  entered_at INTEGER NOT NULL, left_at INTEGER, how TEXT NOT NULL DEFAULT '', agent TEXT NOT NULL DEFAULT '',
  wait_seconds REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (call_id, seq)
);
CREATE INDEX queue_segments_entered ON queue_segments(entered_at);
INSERT INTO queue_segments (call_id, seq, queue, entered_at, left_at, how, agent, wait_seconds)
SELECT id, 1, queue, queued_at,
  CASE WHEN connected_at IS NOT NULL THEN connected_at
       WHEN outcome = 'in_progress' THEN NULL
       ELSE queued_at + CAST(wait_seconds * 1000 AS INTEGER) END,
  CASE WHEN connected_at IS NOT NULL THEN 'answered'
       WHEN outcome = 'abandoned' THEN 'abandoned'
       WHEN outcome = 'in_progress' THEN ''
       ELSE 'withdrawn' END,
  CASE WHEN connected_at IS NOT NULL THEN agent ELSE '' END,
  wait_seconds
FROM calls WHERE queued_at IS NOT NULL AND queue != '';`},
	{"audit log, append-only", `
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL, target TEXT NOT NULL DEFAULT '', result INTEGER NOT NULL DEFAULT 0,
  detail TEXT NOT NULL DEFAULT '', before TEXT NOT NULL DEFAULT '', after TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit(at);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;`},
	{"tokens: expiry and revocation", `
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE tokens ADD COLUMN revoked_at INTEGER;`},
	{"webhook outbox", `
CREATE TABLE webhook_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  receiver TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL, created_at INTEGER NOT NULL,
  done_at INTEGER, gave_up INTEGER NOT NULL DEFAULT 0,
  UNIQUE (receiver, id)
);
CREATE INDEX webhook_outbox_pending ON webhook_outbox(done_at, seq);`},
	{"web sessions kept across restarts", `
CREATE TABLE web_sessions (hash TEXT PRIMARY KEY, username TEXT NOT NULL, expires_at INTEGER NOT NULL);`},
	{"pending callbacks kept across restarts", `
CREATE TABLE pending_callbacks (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  call_id TEXT NOT NULL UNIQUE, queue TEXT NOT NULL, number TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0,
  dialed TEXT NOT NULL DEFAULT '', caller TEXT NOT NULL DEFAULT '',
  requested_at INTEGER NOT NULL, queued_at INTEGER NOT NULL, line_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0
);`},
	{"SIP registrations kept across restarts", `
CREATE TABLE registrations (
  username TEXT PRIMARY KEY, contact TEXT NOT NULL, source TEXT NOT NULL DEFAULT '', transport TEXT NOT NULL DEFAULT '',
  expires_at INTEGER NOT NULL, version INTEGER NOT NULL
);`},
	{"hours overrides kept across restarts", `
CREATE TABLE hours_overrides (name TEXT PRIMARY KEY, open INTEGER NOT NULL, set_at INTEGER NOT NULL);`},
	{"events by agent, for the states agents are restored to", `
CREATE INDEX events_agent ON events(agent, seq) WHERE agent != '';`},
}

// migrate applies the legacy migrations db has not had, each in a transaction.
func migrate(ctx context.Context, db *sql.DB) error {
	var version int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	for i := version; i < len(migrations); i++ {
		m := migrations[i]
		if err := func() error {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			// PRAGMA takes no parameters; i+1 is a small integer of ours.
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, i+1)); err != nil {
				return err
			}
			return tx.Commit()
		}(); err != nil {
			return fmt.Errorf("migration %d (%s): %w", i+1, m.name, err)
		}
	}
	return nil
}
