-- Transcripts of calls (issue 19): the whole transcript as JSON, its words
-- for full-text search (FTS5, kept by triggers), and the phrases spotted
-- for the trends report.

-- +goose Up
-- id is the FTS index's key: an explicit INTEGER PRIMARY KEY, which VACUUM
-- keeps (an implicit rowid it may renumber).
CREATE TABLE transcripts (
  id INTEGER PRIMARY KEY,
  call_id TEXT NOT NULL UNIQUE,
  body TEXT NOT NULL,
  words TEXT NOT NULL,
  summary TEXT NOT NULL,
  queue TEXT NOT NULL,
  agent TEXT NOT NULL,
  sentiment_start REAL NOT NULL,
  sentiment_end REAL NOT NULL,
  turned INTEGER NOT NULL,
  call_started BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  node TEXT NOT NULL DEFAULT ''
);
CREATE INDEX transcripts_started ON transcripts (call_started);
CREATE VIRTUAL TABLE transcripts_fts USING fts5(words, summary, content='transcripts', content_rowid='id');
-- +goose StatementBegin
CREATE TRIGGER transcripts_ai AFTER INSERT ON transcripts BEGIN
  INSERT INTO transcripts_fts (rowid, words, summary) VALUES (new.id, new.words, new.summary);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER transcripts_ad AFTER DELETE ON transcripts BEGIN
  INSERT INTO transcripts_fts (transcripts_fts, rowid, words, summary) VALUES ('delete', old.id, old.words, old.summary);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER transcripts_au AFTER UPDATE ON transcripts BEGIN
  INSERT INTO transcripts_fts (transcripts_fts, rowid, words, summary) VALUES ('delete', old.id, old.words, old.summary);
  INSERT INTO transcripts_fts (rowid, words, summary) VALUES (new.id, new.words, new.summary);
END;
-- +goose StatementEnd
CREATE TABLE spots (
  call_id TEXT NOT NULL,
  phrase TEXT NOT NULL,
  channel TEXT NOT NULL,
  at REAL NOT NULL,
  queue TEXT NOT NULL,
  agent TEXT NOT NULL,
  call_started BIGINT NOT NULL,
  PRIMARY KEY (call_id, phrase, at)
);
CREATE INDEX spots_started ON spots (call_started);

-- +goose Down
DROP TABLE spots;
DROP TRIGGER transcripts_au;
DROP TRIGGER transcripts_ad;
DROP TRIGGER transcripts_ai;
DROP TABLE transcripts_fts;
DROP TABLE transcripts;
