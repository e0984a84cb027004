-- Who wrote a message: the customer, an agent, an automation (welcome, auto-replies,
-- templates) or a bot. Older rows are told apart as before: inbound ones are the customer's,
-- outgoing ones with an agent the agent's, the rest automatic.
ALTER TABLE messages ADD COLUMN sender TEXT NOT NULL DEFAULT 'customer';
UPDATE messages SET sender = CASE
    WHEN direction = 'in' THEN 'customer'
    WHEN agent_id IS NOT NULL THEN 'agent'
    ELSE 'automation'
END;

-- When the contact was last welcomed (the welcome is not repeated within a period).
ALTER TABLE contacts ADD COLUMN welcomed_at BIGINT;
