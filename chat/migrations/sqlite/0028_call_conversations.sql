-- The conversation a call belongs to (a widget visitor's, the WhatsApp caller's), when one.
ALTER TABLE calls ADD COLUMN conversation_id INTEGER;
CREATE INDEX calls_conversation ON calls (conversation_id);
