-- The schema of a database made before the store used goose (before
-- 2026-12): the legacy migrations (migrate.go) start from it.
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
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL, kind TEXT NOT NULL,
  call_id TEXT NOT NULL DEFAULT '', agent TEXT NOT NULL DEFAULT '', queue TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_call ON events(call_id, seq);
CREATE INDEX IF NOT EXISTS events_at ON events(at);
CREATE TABLE IF NOT EXISTS tokens (
  hash TEXT PRIMARY KEY, username TEXT NOT NULL, created_at INTEGER NOT NULL
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
CREATE INDEX IF NOT EXISTS calls_queued ON calls(queued_at) WHERE queued_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS calls_connected ON calls(connected_at) WHERE connected_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_kind_at ON events(kind, at);
CREATE TABLE IF NOT EXISTS dispositions (
  call_id TEXT PRIMARY KEY, agent TEXT NOT NULL, code TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '',
  notes TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_caller_arrived ON calls(caller, arrived_at);
CREATE TABLE IF NOT EXISTS qa_scores (
  call_id TEXT PRIMARY KEY, agent TEXT NOT NULL, scorecard TEXT NOT NULL, reviewer TEXT NOT NULL,
  answers TEXT NOT NULL, score REAL NOT NULL, auto_failed INTEGER NOT NULL, comment TEXT NOT NULL DEFAULT '', at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS qa_scores_agent_at ON qa_scores(agent, at);
