-- The position in its queue a waiting customer was last told ([inbox.automations]
-- queue_message); none: not told.
ALTER TABLE conversations ADD COLUMN queue_notice INTEGER;

-- How long conversations waited in their queue before an agent took them (the last day's:
-- older rows are deleted as new ones come), for the estimated wait of a queue notice.
CREATE TABLE queue_waits (
    id INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    waited_ms INTEGER NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX queue_waits_queue ON queue_waits (queue, at);
