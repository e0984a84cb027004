-- What makes a message interactive, as JSON (the API's `interactive`): for an outgoing
-- message the reply buttons, list or link button sent, with its body; for a customer's
-- answer the button or list row chosen (`button_reply` / `list_reply`: id and title).
-- NULL for any other message.
ALTER TABLE messages ADD COLUMN interactive TEXT;
