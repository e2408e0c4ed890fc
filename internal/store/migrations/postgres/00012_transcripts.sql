-- Transcripts of calls (issue 19): the whole transcript as JSON, its words
-- for full-text search (a generated tsvector with a GIN index), and the
-- phrases spotted for the trends report.

-- +goose Up
CREATE TABLE transcripts (
  call_id TEXT PRIMARY KEY,
  body TEXT NOT NULL,
  words TEXT NOT NULL,
  summary TEXT NOT NULL,
  queue TEXT NOT NULL,
  agent TEXT NOT NULL,
  sentiment_start DOUBLE PRECISION NOT NULL,
  sentiment_end DOUBLE PRECISION NOT NULL,
  turned INTEGER NOT NULL,
  call_started BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  node TEXT NOT NULL DEFAULT '',
  tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', words || ' ' || summary)) STORED
);
CREATE INDEX transcripts_started ON transcripts (call_started);
CREATE INDEX transcripts_tsv ON transcripts USING GIN (tsv);
CREATE TABLE spots (
  call_id TEXT NOT NULL,
  phrase TEXT NOT NULL,
  channel TEXT NOT NULL,
  at DOUBLE PRECISION NOT NULL,
  queue TEXT NOT NULL,
  agent TEXT NOT NULL,
  call_started BIGINT NOT NULL,
  PRIMARY KEY (call_id, phrase, at)
);
CREATE INDEX spots_started ON spots (call_started);

-- +goose Down
DROP TABLE spots;
DROP TABLE transcripts;
