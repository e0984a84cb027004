-- Settings admins change while the gateway runs, one row per scope (`inbox`, `account:NAME`,
-- `site:NAME`, `flow:NAME`, `queue:NAME`): the keys it overrides, as a JSON object, applied
-- over the configuration file's. Every change raises the `settings` revision, so that each
-- process reloads them.
CREATE TABLE setting_overrides (
    scope TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_by BIGINT REFERENCES agents (id) ON DELETE SET NULL,
    updated_at BIGINT NOT NULL
);

INSERT INTO list_revisions (list, revision) VALUES ('settings', 0);
