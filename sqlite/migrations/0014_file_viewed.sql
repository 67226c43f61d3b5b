-- Guardian schema, version 14: whether the reporter viewed each file.
--
-- fileViewedByEsp of the file's details, kept beside the sealed details:
-- 1 viewed, 0 not, NULL without details (absent, which triage reads as not
-- viewed) and for files stored before this version. Finishing a report
-- reads it to place the report's triage in the queue: a report none of
-- whose files the reporter viewed is priority E, notified at once, and is
-- triaged ahead of ordinary ones (guardian.Report.TriageFirst). It says
-- nothing of the content.

ALTER TABLE files ADD COLUMN viewed_by_reporter INTEGER CHECK (viewed_by_reporter IN (0, 1));
