-- The files customers' messages carry (images, voice notes, videos, documents, stickers):
-- written with the message, pending, then downloaded from the provider by a worker outside
-- any transaction and stored in the attachment store (the blob under blob_key, its type
-- read from the bytes). A download that fails is tried again at next_attempt_at, up to a
-- number of attempts, then the attachment is failed with the reason in error. While a worker
-- downloads it, next_attempt_at is the end of its lease; attempts counts the attempts begun,
-- and only the latest records its outcome.
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages (id),
    -- The WhatsApp account whose credentials fetch it.
    account TEXT NOT NULL,
    -- image, audio, video, document or sticker: its size cap and accepted types.
    kind TEXT NOT NULL,
    -- Where it is fetched: Meta's media id, or Twilio's MediaUrlN.
    media_id TEXT,
    media_url TEXT,
    -- What the sender said (never trusted: mime_type is read from the bytes).
    declared_mime TEXT,
    filename TEXT,
    caption TEXT,
    -- pending, stored or failed.
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    blob_key TEXT,
    size BIGINT,
    mime_type TEXT,
    error TEXT,
    -- The random part of its URL (/api/v1/attachments/<token>): not the blob's key, not
    -- guessable.
    token TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    stored_at BIGINT
);
CREATE INDEX attachments_message ON attachments (message_id, id);
CREATE INDEX attachments_due ON attachments (state, next_attempt_at);
