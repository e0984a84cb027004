-- The target a transfer step sent the call to (its URI), whether or not the transfer
-- succeeded: the outcome says.
ALTER TABLE calls ADD COLUMN transfer_target TEXT;
