-- no-transaction
-- Provider message ids are unique per WhatsApp account, not per channel: messages carry the
-- account they went through or came in on, and (account, external_id) is unique. SQLite
-- cannot drop a table's UNIQUE constraint, so `messages` is rebuilt, with foreign keys off
-- (possible only outside a transaction: hence this file runs without sqlx's own one and
-- opens its own). Running it again after an interruption is harmless.
-- Early statuses (those that overtook the provider's answer to a send) are keyed the same way;
-- any waiting at the upgrade are dropped: later statuses of those messages still arrive.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE messages_rebuilt (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    direction TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT,
    payload TEXT,
    internal INTEGER NOT NULL DEFAULT 0,
    agent_id INTEGER REFERENCES agents (id),
    channel TEXT NOT NULL,
    account TEXT,
    external_id TEXT,
    client_key TEXT,
    status TEXT NOT NULL,
    status_rank INTEGER NOT NULL DEFAULT 0,
    error_code INTEGER,
    error_title TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (conversation_id, client_key)
);
INSERT INTO messages_rebuilt (id, conversation_id, direction, kind, body, payload, internal,
    agent_id, channel, account, external_id, client_key, status, status_rank, error_code,
    error_title, created_at)
SELECT m.id, m.conversation_id, m.direction, m.kind, m.body, m.payload, m.internal,
    m.agent_id, m.channel, CASE WHEN m.channel = 'whatsapp' THEN c.account END, m.external_id,
    m.client_key, m.status, m.status_rank, m.error_code, m.error_title, m.created_at
FROM messages m JOIN conversations c ON c.id = m.conversation_id;
DROP TABLE messages;
ALTER TABLE messages_rebuilt RENAME TO messages;
CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE UNIQUE INDEX messages_external ON messages (account, external_id);

DROP TABLE early_statuses;
CREATE TABLE early_statuses (
    account TEXT NOT NULL,
    external_id TEXT NOT NULL,
    status TEXT NOT NULL,
    status_rank INTEGER NOT NULL,
    error_code INTEGER,
    error_title TEXT,
    at INTEGER NOT NULL,
    PRIMARY KEY (account, external_id)
);

COMMIT;
PRAGMA foreign_keys = ON;
