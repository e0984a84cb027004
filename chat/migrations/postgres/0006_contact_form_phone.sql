-- A contact's number is the one they are reached on (their WhatsApp identity once they wrote
-- from WhatsApp); a different number typed into a form (the widget's pre-chat form, an API
-- hand-off) is kept beside it.
ALTER TABLE contacts ADD COLUMN form_phone TEXT;
