-- The bot a conversation started with (kept after it handed over: history and reports).
ALTER TABLE conversations ADD COLUMN bot TEXT;

-- Customers' messages waiting to be passed to their conversation's bot, in order; a worker
-- takes the first of a conversation (leased until lease_until), calls the bot outside the
-- transaction and stores its answer.
CREATE TABLE bot_turns (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    message_id INTEGER NOT NULL REFERENCES messages (id),
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_until BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX bot_turns_conversation ON bot_turns (conversation_id, id);
