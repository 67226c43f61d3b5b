-- Guardian schema, version 4: each report counts its files.
--
-- A file's position was MAX(position) + 1 over the report's files, read in
-- the transaction that had locked the report. An upload is now one
-- statement (see sqlstore's writable CTEs), whose snapshot is taken before
-- it waits for the report's lock: MAX would miss a file committed while it
-- waited. The counter is read from the report row itself, which the UPDATE
-- that locks it sees in its newest version.
ALTER TABLE reports ADD COLUMN file_count integer NOT NULL DEFAULT 0 CHECK (file_count >= 0);

UPDATE reports SET file_count = f.n
FROM (SELECT report_id, MAX(position) AS n FROM files GROUP BY report_id) f
WHERE f.report_id = reports.id;
