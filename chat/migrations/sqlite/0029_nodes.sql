-- The processes working on this database ("nodes"): each writes its row when it starts and
-- beats every few seconds; one silent for longer than the others allow is marked lost, and
-- the work it had leased is taken over at once instead of when its leases run out.
-- state: running | draining | stopped | lost.
CREATE TABLE nodes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    http TEXT NOT NULL,
    sip TEXT NOT NULL,
    state TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    seen_at BIGINT NOT NULL,
    calls BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX nodes_seen ON nodes (state, seen_at);

-- Which node holds a row's lease (NULL: none, or a node from before this column).
ALTER TABLE outbox ADD COLUMN leased_by BIGINT;
ALTER TABLE hook_deliveries ADD COLUMN leased_by BIGINT;
ALTER TABLE bot_turns ADD COLUMN leased_by BIGINT;
ALTER TABLE attachments ADD COLUMN leased_by BIGINT;
