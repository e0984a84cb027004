-- Outgoing webhook endpoints added through the API (admins), beside `[[http.webhooks]]`:
-- the same fields; `events` is a JSON array of webhook types (empty: all of them). A name
-- is unique here and is never one of the configuration's (the API refuses it). Deliveries
-- name their endpoint (hook_deliveries.endpoint).
CREATE TABLE webhook_endpoints (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    signing_secret TEXT NOT NULL,
    events TEXT NOT NULL,
    max_attempts BIGINT NOT NULL,
    timeout_ms BIGINT NOT NULL,
    enabled BIGINT NOT NULL, -- 1: events are delivered to it; 0: none
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Raised with every change to them: each process keeps the endpoints in memory.
INSERT INTO list_revisions (list, revision) VALUES ('webhooks', 0);
