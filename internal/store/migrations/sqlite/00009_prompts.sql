-- Prompts uploaded or recorded through the admin console: 8 kHz mono
-- 16-bit WAV, converted from what was sent; they take precedence over the
-- sounds directory's files of the same name.

-- +goose Up
CREATE TABLE prompts (name TEXT PRIMARY KEY, wav BLOB NOT NULL, format TEXT NOT NULL, at BIGINT NOT NULL, actor TEXT NOT NULL);

-- +goose Down
DROP TABLE prompts;
