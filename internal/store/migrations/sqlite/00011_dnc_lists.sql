-- A number may be on several do-not-call lists (the internal one and an
-- imported registry's): one row per number and list, so that removing one
-- list's entry leaves the others blocking it.

-- +goose Up
CREATE TABLE dnc_new (number TEXT NOT NULL, list TEXT NOT NULL, at BIGINT NOT NULL, actor TEXT NOT NULL, PRIMARY KEY (number, list));
INSERT INTO dnc_new SELECT number, list, at, actor FROM dnc;
DROP TABLE dnc;
ALTER TABLE dnc_new RENAME TO dnc;
CREATE INDEX dnc_list ON dnc (list);

-- +goose Down
CREATE TABLE dnc_old (number TEXT PRIMARY KEY, list TEXT NOT NULL, at BIGINT NOT NULL, actor TEXT NOT NULL);
INSERT OR IGNORE INTO dnc_old SELECT number, list, at, actor FROM dnc;
DROP TABLE dnc;
ALTER TABLE dnc_old RENAME TO dnc;
