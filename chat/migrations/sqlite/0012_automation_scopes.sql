-- The IVR flow whose deflected call opened a conversation (set when the deflection creates
-- it): the flow's automations ([ivr.flows.automations]) apply to the conversation, as a
-- widget site's do to its conversations (site).
ALTER TABLE conversations ADD COLUMN flow TEXT;

-- The contact's language, when known: an ISO 639-1 code in lower case ("nl"), from a
-- deflected call's flow or a widget visitor's browser. The welcome is sent in it when it has
-- a translation (welcome_translations).
ALTER TABLE contacts ADD COLUMN language TEXT;
