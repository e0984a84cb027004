-- Provider message ids are unique per WhatsApp account, not per channel: messages carry the
-- account they went through or came in on, and (account, external_id) is unique.
-- Early statuses (those that overtook the provider's answer to a send) are keyed the same way;
-- any waiting at the upgrade are dropped: later statuses of those messages still arrive.
ALTER TABLE messages ADD COLUMN account TEXT;
UPDATE messages m SET account = c.account FROM conversations c
    WHERE c.id = m.conversation_id AND m.channel = 'whatsapp';
ALTER TABLE messages DROP CONSTRAINT messages_channel_external_id_key;
CREATE UNIQUE INDEX messages_external ON messages (account, external_id);

DROP TABLE early_statuses;
CREATE TABLE early_statuses (
    account TEXT NOT NULL,
    external_id TEXT NOT NULL,
    status TEXT NOT NULL,
    status_rank BIGINT NOT NULL,
    error_code BIGINT,
    error_title TEXT,
    at BIGINT NOT NULL,
    PRIMARY KEY (account, external_id)
);
