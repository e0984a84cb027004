-- Customer satisfaction: when the survey went out (the interactive message or the template
-- outside the 24 h window), the customer's score (1 bad – 5 good; good, neutral and bad are
-- 5, 3 and 1), when they gave it, and what they added after it.
ALTER TABLE conversations ADD COLUMN csat_sent_at BIGINT;
ALTER TABLE conversations ADD COLUMN csat_score BIGINT;
ALTER TABLE conversations ADD COLUMN csat_at BIGINT;
ALTER TABLE conversations ADD COLUMN csat_comment TEXT;

-- A customer's latest closed conversation on an account: the survey their words may answer.
CREATE INDEX conversations_identity_closed ON conversations (identity_id, account, closed_at)
    WHERE status = 'closed' AND identity_id IS NOT NULL;
-- The report reads rated conversations by when they were rated.
CREATE INDEX conversations_csat_at ON conversations (csat_at) WHERE csat_at IS NOT NULL;
