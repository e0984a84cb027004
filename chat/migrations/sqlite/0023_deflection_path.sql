-- The IVR path of a deflected call: the flow's steps the caller went through, in order, with
-- what chose each step's way out — a JSON array of `{"step", "exit"}` (deflect-config's
-- `PathStep`). NULL for a call deflected before paths were recorded: it reads as no steps.
ALTER TABLE deflections ADD COLUMN path TEXT;
