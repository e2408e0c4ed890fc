-- The setup as data: every setup put in force (at a start from a changed
-- file, a reload, an apply, a restore) is a version, with who made it,
-- how, when, its YAML exactly as given and its diff from the one before.

-- +goose Up
CREATE TABLE config_versions (version BIGINT PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, origin TEXT NOT NULL,
  node TEXT NOT NULL DEFAULT '', yaml TEXT NOT NULL, diff TEXT NOT NULL DEFAULT '');

-- +goose Down
DROP TABLE config_versions;
