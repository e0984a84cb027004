-- deflect inbox schema. Times are milliseconds since the Unix epoch; flags are 0/1.

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    name TEXT,
    phone TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX contacts_phone ON contacts (phone);

-- How a contact is reached: a WhatsApp id (wa_id), a web visitor, ... Unique per channel.
CREATE TABLE contact_identities (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (channel, external_id)
);

-- One row per configured queue: routing locks it so two processes never over-assign.
CREATE TABLE queues (
    name TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);

CREATE TABLE agents (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    presence TEXT NOT NULL DEFAULT 'offline',
    last_offer_at INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE agent_queues (
    agent_id INTEGER NOT NULL REFERENCES agents (id),
    queue TEXT NOT NULL,
    PRIMARY KEY (agent_id, queue)
);

CREATE TABLE agent_accounts (
    agent_id INTEGER NOT NULL REFERENCES agents (id),
    account TEXT NOT NULL,
    PRIMARY KEY (agent_id, account)
);

-- status: pending (template sent, waiting for the customer), queued, offered (to agent_id),
-- assigned (to agent_id), closed. channel: whatsapp | web. origin: call | web | whatsapp.
CREATE TABLE conversations (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    identity_id INTEGER REFERENCES contact_identities (id),
    channel TEXT NOT NULL,
    origin TEXT NOT NULL,
    account TEXT,
    site TEXT,
    status TEXT NOT NULL,
    queue TEXT NOT NULL,
    agent_id INTEGER REFERENCES agents (id),
    return_agent_id INTEGER REFERENCES agents (id),
    declined TEXT NOT NULL DEFAULT '',
    queued_at INTEGER,
    last_inbound_at INTEGER,
    last_activity_at INTEGER NOT NULL,
    unreachable INTEGER NOT NULL DEFAULT 0,
    disposition TEXT,
    closed_by INTEGER REFERENCES agents (id),
    closed_at INTEGER,
    event_seq INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
-- At most one open conversation per identity and account: a new message joins it.
CREATE UNIQUE INDEX conversations_open_identity ON conversations (identity_id, account)
    WHERE status <> 'closed' AND identity_id IS NOT NULL;
CREATE INDEX conversations_status_queue ON conversations (status, queue, queued_at);
CREATE INDEX conversations_agent ON conversations (agent_id, status);
CREATE INDEX conversations_created ON conversations (created_at);

-- direction: in | out. kind: text | template | interactive | button | image | audio | video |
-- document | sticker | location | contacts | reaction | unsupported | note | system.
-- status: received | queued | sent | delivered | read | failed | dead; status_rank only grows.
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    direction TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT,
    payload TEXT,
    internal INTEGER NOT NULL DEFAULT 0,
    agent_id INTEGER REFERENCES agents (id),
    channel TEXT NOT NULL,
    external_id TEXT,
    client_key TEXT,
    status TEXT NOT NULL,
    status_rank INTEGER NOT NULL DEFAULT 0,
    error_code INTEGER,
    error_title TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (channel, external_id),
    UNIQUE (conversation_id, client_key)
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);

-- Delivery statuses that arrived before the message they refer to was recorded.
CREATE TABLE early_statuses (
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    status TEXT NOT NULL,
    status_rank INTEGER NOT NULL,
    error_code INTEGER,
    error_title TEXT,
    at INTEGER NOT NULL,
    PRIMARY KEY (channel, external_id)
);

CREATE TABLE assignments (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    agent_id INTEGER REFERENCES agents (id),
    queue TEXT NOT NULL,
    action TEXT NOT NULL,
    by_agent_id INTEGER REFERENCES agents (id),
    at INTEGER NOT NULL
);
CREATE INDEX assignments_conversation ON assignments (conversation_id, id);

CREATE TABLE deflections (
    call_id TEXT PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    caller TEXT,
    callback_number TEXT NOT NULL,
    dialled_number TEXT,
    flow TEXT,
    language TEXT,
    started_at INTEGER NOT NULL,
    ended_at INTEGER NOT NULL,
    input_method TEXT NOT NULL,
    transcript TEXT,
    account TEXT NOT NULL,
    queue TEXT NOT NULL,
    message_id INTEGER REFERENCES messages (id),
    created_at INTEGER NOT NULL
);
CREATE INDEX deflections_conversation ON deflections (conversation_id);

-- Durable timers: kind offer | wait | transfer | inactivity, one per conversation and kind.
CREATE TABLE timers (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    kind TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    agent_id INTEGER,
    lease_until INTEGER,
    UNIQUE (conversation_id, kind)
);
CREATE INDEX timers_due ON timers (due_at);

-- Outgoing messages: committed here first, then sent by a worker.
-- state: pending | sending | sent | dead.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL UNIQUE REFERENCES messages (id),
    account TEXT NOT NULL,
    recipient TEXT NOT NULL,
    request TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER NOT NULL,
    lease_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE INDEX outbox_due ON outbox (state, due_at);

-- Append-only event log; seq orders a conversation's events.
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER,
    seq INTEGER NOT NULL DEFAULT 0,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX events_conversation ON events (conversation_id, seq);

-- Web visitors: an opaque token (stored hashed) identifies a browser.
CREATE TABLE web_visitors (
    token_hash TEXT PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    identity_id INTEGER NOT NULL REFERENCES contact_identities (id),
    site TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- One-time codes that link a WhatsApp message to an existing (web) conversation.
CREATE TABLE handoff_codes (
    code TEXT PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    account TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    spent_at INTEGER
);
CREATE INDEX handoff_codes_conversation ON handoff_codes (conversation_id);
