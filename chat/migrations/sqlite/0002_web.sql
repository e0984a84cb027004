-- Web, API and integrations: canned answers, agents' sessions, API tokens, outgoing webhooks,
-- and two conversation columns (metadata from the API; when the widget offered WhatsApp).

ALTER TABLE conversations ADD COLUMN metadata TEXT;
ALTER TABLE conversations ADD COLUMN escalation_at INTEGER;

-- Canned answers: global (account NULL) or for one WhatsApp account; placeholders {{…}}.
CREATE TABLE canned_answers (
    id INTEGER PRIMARY KEY,
    account TEXT,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_by INTEGER REFERENCES agents (id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Agents' browser sessions (the cookie's token stored hashed) with their CSRF token.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    agent_id INTEGER NOT NULL REFERENCES agents (id),
    csrf TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_agent ON sessions (agent_id);

-- API tokens for integrations (stored hashed); a token acts as its agent.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    agent_id INTEGER NOT NULL REFERENCES agents (id),
    created_by INTEGER REFERENCES agents (id),
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);

-- Outgoing webhooks: one row per endpoint and logged event it subscribes to, written in the
-- event's own transaction. state: pending | sending | done | dead.
CREATE TABLE hook_deliveries (
    id INTEGER PRIMARY KEY,
    endpoint TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    conversation_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER NOT NULL,
    lease_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER,
    UNIQUE (endpoint, event_id)
);
CREATE INDEX hook_deliveries_due ON hook_deliveries (endpoint, state, due_at);
CREATE INDEX hook_deliveries_order ON hook_deliveries (endpoint, conversation_id, id);
