-- The browser softphones connected in the cluster: which node each
-- agent's desktop holds its WebRTC connection with, so a call on another
-- node rings the agent there. A node writes its own rows as desktops
-- connect and go, and clears them when it starts.

-- +goose Up
CREATE TABLE softphones (agent TEXT PRIMARY KEY, node TEXT NOT NULL, since BIGINT NOT NULL);

-- +goose Down
DROP TABLE softphones;
