-- Whitelist entries added through the API (admins), beside `[inbox.automations] whitelist`
-- and the accounts' overrides: an E.164 number or a prefix ending in `*` (the syntax the
-- configuration accepts), for one WhatsApp account or (account NULL) every account.
CREATE TABLE whitelist_entries (
    id INTEGER PRIMARY KEY,
    account TEXT,
    pattern TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
-- One entry per account and pattern; NULL (every account) counts as one account.
CREATE UNIQUE INDEX whitelist_entries_account_pattern
    ON whitelist_entries (COALESCE(account, ''), pattern);

-- FAQ entries added through the API, beside `[[inbox.faq]]`: a question, its answer (a text
-- with the conversation's variables), the question's language (ISO 639-1), for one WhatsApp
-- account or (account NULL) every account.
CREATE TABLE faq_entries (
    id INTEGER PRIMARY KEY,
    account TEXT,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    language TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX faq_entries_account_language_question
    ON faq_entries (COALESCE(account, ''), language, question);

-- A counter per managed list, raised in the transaction of every change to it: a process
-- keeps the list in memory (the FAQ's search index) and reads the counter, one row, to know
-- whether it is still current.
CREATE TABLE list_revisions (
    list TEXT PRIMARY KEY,
    revision BIGINT NOT NULL
);
INSERT INTO list_revisions (list, revision) VALUES ('whitelist', 0), ('faq', 0);
