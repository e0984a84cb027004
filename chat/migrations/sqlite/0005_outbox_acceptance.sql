-- The outbox keeps the provider's id of an accepted send on the row itself, so that once a
-- provider has accepted a message it is recorded (and retried as a record), never sent again.
-- state: pending | sending | unconfirmed | accepted | sent | dead (see chat/src/outbox).
ALTER TABLE outbox ADD COLUMN external_id TEXT;
