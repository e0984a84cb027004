-- The facts the supervisors' reports read, each set once, when it happens, in the
-- transaction of the change: when the conversation first entered a queue, when an agent
-- first took it (accepted, claimed, took over or had it returned), and when an agent first
-- wrote to the customer (a message the customer sees; notes and automatic messages are not
-- answers). Who handled a closed conversation is its agent_id (kept at closing) and when it
-- closed is closed_at, as before.
ALTER TABLE conversations ADD COLUMN first_queued_at BIGINT;
ALTER TABLE conversations ADD COLUMN first_assigned_at BIGINT;
ALTER TABLE conversations ADD COLUMN first_response_at BIGINT;

-- The conversations there are: from their history and their messages.
UPDATE conversations SET
    first_queued_at = (SELECT MIN(a.at) FROM assignments a
        WHERE a.conversation_id = conversations.id AND a.action = 'queued'),
    first_assigned_at = (SELECT MIN(a.at) FROM assignments a
        WHERE a.conversation_id = conversations.id
        AND a.action IN ('accepted', 'claimed', 'taken over', 'returned')),
    first_response_at = (SELECT MIN(m.created_at) FROM messages m
        WHERE m.conversation_id = conversations.id AND m.direction = 'out'
        AND m.sender = 'agent' AND m.internal = 0);

-- Reports over a period are range scans of these (covering) indexes: conversations closed
-- in it, conversations that entered a queue in it, conversations first taken in it.
CREATE INDEX conversations_closed_report ON conversations
    (closed_at, queue, agent_id, first_queued_at, first_assigned_at, first_response_at)
    WHERE closed_at IS NOT NULL;
CREATE INDEX conversations_queued_report ON conversations (first_queued_at, queue)
    WHERE first_queued_at IS NOT NULL;
CREATE INDEX conversations_assigned_report ON conversations (first_assigned_at, agent_id)
    WHERE first_assigned_at IS NOT NULL;
-- Ratings by when they were given, with what the report groups them by.
CREATE INDEX conversations_csat_report ON conversations (csat_at, queue, agent_id, csat_score)
    WHERE csat_at IS NOT NULL;
-- Deflections by when they were made, with their flow and input method.
CREATE INDEX deflections_created_report ON deflections
    (created_at, flow, input_method, conversation_id);
