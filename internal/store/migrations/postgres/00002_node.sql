-- Every call record and event carries the node that handled it.

-- +goose Up
ALTER TABLE calls ADD COLUMN node TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN node TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE events DROP COLUMN node;
ALTER TABLE calls DROP COLUMN node;
