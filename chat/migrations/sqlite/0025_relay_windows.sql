-- The agent's side of a relay is a WhatsApp conversation of its own, with its own 24 h
-- window: when the agent last wrote (it opens), when the template asking them to reopen it
-- went out (once per closed window), and the last relayed message that failed for a closed
-- window and was sent again once the agent wrote.
ALTER TABLE relay_agents ADD COLUMN last_inbound_at INTEGER;
ALTER TABLE relay_agents ADD COLUMN reopen_sent_at INTEGER;
ALTER TABLE relay_agents ADD COLUMN resent_through INTEGER;
