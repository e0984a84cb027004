-- Files agents upload for a conversation, checked and stored in the attachment store, until
-- a message sends them: then the file becomes an attachment of that message (same token, so
-- its URL stays the same) and the upload row goes. Rows older than a day can no longer be
-- sent and are removed by the attachment worker.
CREATE TABLE uploads (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    -- Who uploaded it.
    agent_id INTEGER,
    -- image, audio, video, document or sticker: read from the bytes.
    kind TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    size BIGINT NOT NULL,
    mime_type TEXT NOT NULL,
    filename TEXT,
    -- The random part of its URL (/api/v1/attachments/<token>).
    token TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX uploads_created ON uploads (created_at);
-- The ids a provider gave to stored files uploaded to it (Meta's media ids live 30 days):
-- a file sent again, or a send retried, is not uploaded again while its id is fresh.
CREATE TABLE provider_media (
    account TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    media_id TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    PRIMARY KEY (account, blob_key)
);
-- Keys the gateway generates for itself (the signing key of the links under which providers
-- fetch files), created once by whichever process needs one first and shared by all.
CREATE TABLE gateway_keys (
    name TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
