-- Abuse limits on deflections: one row per deflection and key (`caller:<number>`,
-- `number:<callback number>`) within the last hour; older rows are deleted as keys are checked.
CREATE TABLE deflection_limit_uses (
    key TEXT NOT NULL,
    call_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (key, call_id)
);
