-- What each agent has read of each conversation: the newest message shown to them when they
-- last had it open. It never moves back. The list's unread count is the customer's messages
-- after it; each agent has their own (a supervisor reading leaves the agent's count alone).
CREATE TABLE conversation_reads (
    agent_id BIGINT NOT NULL REFERENCES agents (id),
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    message_id BIGINT NOT NULL,
    read_at BIGINT NOT NULL,
    PRIMARY KEY (agent_id, conversation_id)
);

-- An agent's own choices: offers they take at once (auto-accept) and the inbox's language
-- (NULL: the browser's).
ALTER TABLE agents ADD COLUMN auto_accept BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN language TEXT;
