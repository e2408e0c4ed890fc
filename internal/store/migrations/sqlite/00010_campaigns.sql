-- Outbound campaigns' operational data: whether each runs, its contacts
-- (imported lists) and its attempts and skips; the internal do-not-call
-- list. The campaigns themselves are part of the setup (config versions).

-- +goose Up
CREATE TABLE campaign_runs (campaign TEXT PRIMARY KEY, state TEXT NOT NULL, at BIGINT NOT NULL, actor TEXT NOT NULL);
CREATE TABLE campaign_contacts (
  campaign TEXT NOT NULL, number TEXT NOT NULL, zone TEXT NOT NULL, fields TEXT NOT NULL,
  state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at BIGINT NOT NULL DEFAULT 0,
  last_outcome TEXT NOT NULL DEFAULT '', agent TEXT NOT NULL DEFAULT '', node TEXT NOT NULL DEFAULT '', added_at BIGINT NOT NULL,
  PRIMARY KEY (campaign, number));
CREATE INDEX campaign_contacts_due ON campaign_contacts (campaign, state, next_at);
CREATE TABLE campaign_attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT, campaign TEXT NOT NULL, number TEXT NOT NULL, call_id TEXT NOT NULL, at BIGINT NOT NULL,
  outcome TEXT NOT NULL, amd TEXT NOT NULL, live INTEGER NOT NULL, dropped INTEGER NOT NULL,
  skip TEXT NOT NULL, agent TEXT NOT NULL);
CREATE INDEX campaign_attempts_at ON campaign_attempts (campaign, at);
CREATE INDEX campaign_attempts_when ON campaign_attempts (at);
CREATE TABLE dnc (number TEXT PRIMARY KEY, list TEXT NOT NULL, at BIGINT NOT NULL, actor TEXT NOT NULL);

-- +goose Down
DROP TABLE dnc;
DROP TABLE campaign_attempts;
DROP TABLE campaign_contacts;
DROP TABLE campaign_runs;
