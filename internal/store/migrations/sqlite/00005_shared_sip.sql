-- What the nodes sharing a store need to share for SIP: a phone
-- registered through proxies (Kamailio) is reached through them, so its
-- REGISTER's Path (RFC 3327, one entry per line) is kept with the binding
-- for any node to ring it; and the key that signs digest nonces is one
-- for all, so a challenge from one node is answered to another.

-- +goose Up
ALTER TABLE registrations ADD COLUMN path TEXT NOT NULL DEFAULT '';
CREATE INDEX registrations_expires ON registrations(expires_at);
CREATE TABLE cluster_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);

-- +goose Down
DROP TABLE cluster_secrets;
DROP INDEX registrations_expires;
ALTER TABLE registrations DROP COLUMN path;
