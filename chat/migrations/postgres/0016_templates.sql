-- The message templates of each WhatsApp account, as last listed from its provider (Meta's
-- WhatsApp Business Account, Twilio's Content API): one row per account, name and language,
-- with the template as the inbox reads it (JSON) and its status and category to filter on.
-- A listing replaces its account's rows in one transaction.
CREATE TABLE templates (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    language TEXT NOT NULL,
    status TEXT NOT NULL,
    category TEXT,
    definition TEXT NOT NULL,
    fetched_at BIGINT NOT NULL,
    PRIMARY KEY (account, name, language)
);

-- Each account's last listing: when it was tried, when one last succeeded, and why the last
-- one failed (NULL when it succeeded). A failure leaves the templates as they were.
CREATE TABLE template_refreshes (
    account TEXT PRIMARY KEY,
    attempted_at BIGINT NOT NULL,
    succeeded_at BIGINT,
    error TEXT
);
