-- The name the customer saw on an agent's message: the agent's display name when the message
-- was stored (a snapshot — renaming the agent later does not rewrite what was shown). NULL for
-- the customer's, the bot's and the inbox's own messages, and for messages stored before.
ALTER TABLE messages ADD COLUMN sender_name TEXT;

-- Labels agents put on conversations ("billing", "vip"): normalised (trimmed, lower case, at
-- most 32 characters of a-z, 0-9, space, '-' and '_'), one row per label and conversation.
-- A contact's labels are the union of its conversations'.
CREATE TABLE conversation_labels (
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    label TEXT NOT NULL,
    -- The agent who added it (NULL: an API token without an agent, or an agent since deleted).
    added_by BIGINT,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, label)
);
-- The label filter of the conversation list and the counts per label.
CREATE INDEX conversation_labels_label ON conversation_labels (label, conversation_id);
