-- Guardian schema, version 13: a report's provisional priority.
--
-- The priority the report's own document gives it at submit, before triage
-- knows its files, location and hash lists (triage.Provisional): '1' for
-- an escalated report or one whose annotations and incident type already
-- make it urgent, else '2' or '3'. The triage job's place in the queue
-- follows it, so that urgent reports are routed ahead of a backlog of
-- ordinary ones. NULL for reports stored before this version.

ALTER TABLE reports ADD COLUMN provisional_priority text CHECK (provisional_priority IN ('1', '2', '3'));
