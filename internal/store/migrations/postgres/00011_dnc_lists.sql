-- A number may be on several do-not-call lists (the internal one and an
-- imported registry's): one row per number and list, so that removing one
-- list's entry leaves the others blocking it.

-- +goose Up
ALTER TABLE dnc DROP CONSTRAINT dnc_pkey;
ALTER TABLE dnc ADD PRIMARY KEY (number, list);
CREATE INDEX dnc_list ON dnc (list);

-- +goose Down
DROP INDEX dnc_list;
DELETE FROM dnc a USING dnc b WHERE a.number = b.number AND a.list > b.list;
ALTER TABLE dnc DROP CONSTRAINT dnc_pkey;
ALTER TABLE dnc ADD PRIMARY KEY (number);
