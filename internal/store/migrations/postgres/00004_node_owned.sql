-- What a node does for itself on a shared database carries the node: its
-- webhook deliveries, voicemail emails, recordings (files on its disk),
-- pending callbacks and the phones registered with it.

-- +goose Up
ALTER TABLE webhook_outbox ADD COLUMN node TEXT NOT NULL DEFAULT '';
ALTER TABLE voicemails ADD COLUMN node TEXT NOT NULL DEFAULT '';
ALTER TABLE recordings ADD COLUMN node TEXT NOT NULL DEFAULT '';
ALTER TABLE pending_callbacks ADD COLUMN node TEXT NOT NULL DEFAULT '';
ALTER TABLE registrations ADD COLUMN node TEXT NOT NULL DEFAULT '';
CREATE INDEX calls_node_open ON calls(node) WHERE outcome = 'in_progress';
CREATE INDEX events_node_at ON events(node, at);

-- +goose Down
DROP INDEX events_node_at;
DROP INDEX calls_node_open;
ALTER TABLE registrations DROP COLUMN node;
ALTER TABLE pending_callbacks DROP COLUMN node;
ALTER TABLE recordings DROP COLUMN node;
ALTER TABLE voicemails DROP COLUMN node;
ALTER TABLE webhook_outbox DROP COLUMN node;
