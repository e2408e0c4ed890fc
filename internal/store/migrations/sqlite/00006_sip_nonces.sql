-- The digest nonces that authenticated requests, for the nodes sharing
-- the store: a nonce's count must rise and its uses stay bounded across
-- all of them, so a captured Authorization cannot be replayed to another
-- node. Rows older than the nonce lifetime are pruned.

-- +goose Up
CREATE TABLE sip_nonces (nonce TEXT PRIMARY KEY, nc BIGINT NOT NULL, uses INTEGER NOT NULL, issued BIGINT NOT NULL);
CREATE INDEX sip_nonces_issued ON sip_nonces(issued);

-- +goose Down
DROP TABLE sip_nonces;
