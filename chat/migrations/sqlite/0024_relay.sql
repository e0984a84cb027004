-- Conversations relayed to agents' own WhatsApp numbers (the deflection API's `agents`).
-- `agents` is the JSON array the call gave (`[{"name", "number"}]`, in the order they are
-- offered the conversation); `position` the one offered it or holding it; `state`:
-- waiting (for the customer's first message), offered, active, ended.
CREATE TABLE relays (
    conversation_id INTEGER PRIMARY KEY REFERENCES conversations (id),
    account TEXT NOT NULL,
    agents TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    agent_number TEXT,
    offered_at INTEGER,
    updated_at INTEGER NOT NULL
);
CREATE INDEX relays_agent ON relays (account, agent_number, state);

-- Agents' WhatsApp numbers (digits, as WhatsApp ids) registered by relays on an account:
-- their messages are read as an agent's (commands, replies to relay), never as a customer's.
-- `current_conversation_id`: the relayed conversation their messages go to when they answer
-- none in particular.
CREATE TABLE relay_agents (
    account TEXT NOT NULL,
    wa_id TEXT NOT NULL,
    name TEXT NOT NULL,
    current_conversation_id INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account, wa_id)
);
