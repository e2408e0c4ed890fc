-- Nodes sharing the database: each one's heartbeat and addresses, and the
-- leader's epoch (the lease itself is an advisory lock, cluster.go).

-- +goose Up
CREATE TABLE cluster_nodes (
  name TEXT PRIMARY KEY,
  sip TEXT NOT NULL DEFAULT '', http TEXT NOT NULL DEFAULT '', rtp TEXT NOT NULL DEFAULT '',
  started_at BIGINT NOT NULL, beat_at BIGINT NOT NULL, calls BIGINT NOT NULL DEFAULT 0,
  stopped_at BIGINT, lost_at BIGINT
);
CREATE TABLE cluster_leader (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  node TEXT NOT NULL, epoch BIGINT NOT NULL, since BIGINT NOT NULL
);

-- +goose Down
DROP TABLE cluster_leader;
DROP TABLE cluster_nodes;
