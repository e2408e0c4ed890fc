-- The schema as it stood when the store moved to goose (2026-12). Every
-- statement is IF NOT EXISTS: a database made before then is first brought
-- to that schema by the store's legacy migrations (migrate.go), and this
-- migration then finds everything in place.

-- +goose Up
CREATE TABLE IF NOT EXISTS calls (
  id TEXT PRIMARY KEY,
  caller TEXT NOT NULL DEFAULT '', caller_name TEXT NOT NULL DEFAULT '',
  dialed TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '',
  flow TEXT NOT NULL DEFAULT '', digits TEXT NOT NULL DEFAULT '', path TEXT NOT NULL DEFAULT '',
  queue TEXT NOT NULL DEFAULT '', agent TEXT NOT NULL DEFAULT '',
  arrived_at INTEGER NOT NULL, answered_at INTEGER, queued_at INTEGER, offered_at INTEGER,
  connected_at INTEGER, ended_at INTEGER,
  wait_seconds REAL NOT NULL DEFAULT 0, talk_seconds REAL NOT NULL DEFAULT 0,
  outcome TEXT NOT NULL DEFAULT '', hangup_by TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '',
  sip_call_id TEXT NOT NULL DEFAULT '',
  rtp_in INTEGER NOT NULL DEFAULT 0, rtp_out INTEGER NOT NULL DEFAULT 0, rtp_lost INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS calls_arrived ON calls(arrived_at);
CREATE INDEX IF NOT EXISTS calls_queue_arrived ON calls(queue, arrived_at);
CREATE INDEX IF NOT EXISTS calls_caller_arrived ON calls(caller, arrived_at);
CREATE INDEX IF NOT EXISTS calls_queued ON calls(queued_at) WHERE queued_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS calls_connected ON calls(connected_at) WHERE connected_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL, kind TEXT NOT NULL,
  call_id TEXT NOT NULL DEFAULT '', agent TEXT NOT NULL DEFAULT '', queue TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '', state TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_call ON events(call_id, seq);
CREATE INDEX IF NOT EXISTS events_at ON events(at);
CREATE INDEX IF NOT EXISTS events_kind_at ON events(kind, at);
CREATE INDEX IF NOT EXISTS events_agent ON events(agent, seq) WHERE agent != '';

CREATE TABLE IF NOT EXISTS tokens (
  hash TEXT PRIMARY KEY, username TEXT NOT NULL, created_at INTEGER NOT NULL,
  expires_at INTEGER, revoked_at INTEGER
);

CREATE TABLE IF NOT EXISTS voicemails (
  id TEXT PRIMARY KEY, call_id TEXT NOT NULL, mailbox TEXT NOT NULL, email TEXT NOT NULL DEFAULT '',
  caller TEXT NOT NULL DEFAULT '', caller_name TEXT NOT NULL DEFAULT '',
  at INTEGER NOT NULL, duration_ms INTEGER NOT NULL, path TEXT NOT NULL,
  delivered_at INTEGER, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS voicemails_mailbox_at ON voicemails(mailbox, at);

CREATE TABLE IF NOT EXISTS recordings (
  call_id TEXT PRIMARY KEY, path TEXT NOT NULL, started_at INTEGER NOT NULL,
  seconds REAL NOT NULL DEFAULT 0, pauses TEXT NOT NULL DEFAULT '', queue TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS recordings_queue_started ON recordings(queue, started_at);

CREATE TABLE IF NOT EXISTS dispositions (
  call_id TEXT PRIMARY KEY, agent TEXT NOT NULL, code TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '',
  notes TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS qa_scores (
  call_id TEXT PRIMARY KEY, agent TEXT NOT NULL, scorecard TEXT NOT NULL, reviewer TEXT NOT NULL,
  answers TEXT NOT NULL, score REAL NOT NULL, auto_failed INTEGER NOT NULL, comment TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS qa_scores_agent_at ON qa_scores(agent, at);

CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);

CREATE TABLE IF NOT EXISTS queue_segments (
  call_id TEXT NOT NULL, seq INTEGER NOT NULL, queue TEXT NOT NULL,
  entered_at INTEGER NOT NULL, left_at INTEGER, how TEXT NOT NULL DEFAULT '', agent TEXT NOT NULL DEFAULT '',
  wait_seconds REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (call_id, seq)
);
CREATE INDEX IF NOT EXISTS queue_segments_entered ON queue_segments(entered_at);

CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL, target TEXT NOT NULL DEFAULT '', result INTEGER NOT NULL DEFAULT 0,
  detail TEXT NOT NULL DEFAULT '', before TEXT NOT NULL DEFAULT '', after TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
-- +goose StatementBegin
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
-- +goose StatementEnd

CREATE TABLE IF NOT EXISTS webhook_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  receiver TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL, created_at INTEGER NOT NULL,
  done_at INTEGER, gave_up INTEGER NOT NULL DEFAULT 0,
  UNIQUE (receiver, id)
);
CREATE INDEX IF NOT EXISTS webhook_outbox_pending ON webhook_outbox(done_at, seq);

CREATE TABLE IF NOT EXISTS web_sessions (hash TEXT PRIMARY KEY, username TEXT NOT NULL, expires_at INTEGER NOT NULL);

CREATE TABLE IF NOT EXISTS pending_callbacks (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  call_id TEXT NOT NULL UNIQUE, queue TEXT NOT NULL, number TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0,
  dialed TEXT NOT NULL DEFAULT '', caller TEXT NOT NULL DEFAULT '',
  requested_at INTEGER NOT NULL, queued_at INTEGER NOT NULL, line_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS registrations (
  username TEXT PRIMARY KEY, contact TEXT NOT NULL, source TEXT NOT NULL DEFAULT '', transport TEXT NOT NULL DEFAULT '',
  expires_at INTEGER NOT NULL, version INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS hours_overrides (name TEXT PRIMARY KEY, open INTEGER NOT NULL, set_at INTEGER NOT NULL);

-- +goose Down
-- The baseline is not undone: it would drop every record.
SELECT 1;
