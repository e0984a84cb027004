-- When each agent's presence last changed (the board shows "away for 12 min"); NULL until it
-- first changes after this migration.
ALTER TABLE agents ADD COLUMN presence_since BIGINT;
