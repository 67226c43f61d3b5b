-- guardian:foreign-keys-off
-- Guardian schema, version 5: report documents are encrypted at rest.
--
-- The <report> and <fileDetails> documents, their JSON and the assessment
-- derived from them are stored sealed under the report's data key (see
-- sqlstore.Sealer): their columns become BLOBs without json_valid checks,
-- and a sealed flag says which rows are sealed. Rows an older guardian wrote
-- arrive here with sealed = 0 and are sealed by the store, in batches, the
-- next time it opens with the master key; the partial indexes find them.
--
-- SQLite cannot drop a CHECK constraint or change a column's type, so each
-- table is rebuilt as https://sqlite.org/lang_altertable.html#otheralter
-- describes. The first line has the migration runner turn foreign keys off
-- around this migration (dropping a table others refer to would otherwise
-- fail) and run PRAGMA foreign_key_check before it commits. The tables have
-- no triggers or views; their indexes are created again below.

CREATE TABLE new_reports (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	reporter_id  INTEGER NOT NULL REFERENCES reporters (id),
	state        TEXT    NOT NULL CHECK (state IN ('open', 'finished', 'retracted', 'expired')),
	opened_at    INTEGER NOT NULL,
	modified_at  INTEGER NOT NULL,
	finished_at  INTEGER,
	retracted_at INTEGER,
	expired_at   INTEGER,
	xml          BLOB    NOT NULL,  -- the <report> as received, sealed
	document     BLOB    NOT NULL,  -- xml parsed, as JSON, sealed
	sealed       INTEGER NOT NULL CHECK (sealed IN (0, 1)),  -- 0: xml and document in the clear (before version 5)
	wrapped_key  BLOB,              -- the data key; NULL once evidence and documents are destroyed
	file_count   INTEGER NOT NULL DEFAULT 0 CHECK (file_count >= 0),
	CHECK (state <> 'open' OR wrapped_key IS NOT NULL)
) STRICT;

INSERT INTO new_reports (id, reporter_id, state, opened_at, modified_at, finished_at, retracted_at, expired_at,
	xml, document, sealed, wrapped_key, file_count)
SELECT id, reporter_id, state, opened_at, modified_at, finished_at, retracted_at, expired_at,
	xml, CAST(document AS BLOB), 0, wrapped_key, file_count
FROM reports;

-- Report ids are never handed out twice: the new table continues the old
-- one's AUTOINCREMENT counter, not the largest id it holds.
UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'reports')
WHERE name = 'new_reports' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'reports');

DROP TABLE reports;
ALTER TABLE new_reports RENAME TO reports;

CREATE INDEX reports_reporter_id ON reports (reporter_id, id);
CREATE INDEX reports_open_opened_at ON reports (opened_at) WHERE state = 'open';
CREATE INDEX reports_unsealed ON reports (id) WHERE NOT sealed;

CREATE TABLE new_files (
	id          TEXT    PRIMARY KEY CHECK (length(id) = 32 AND id NOT GLOB '*[^0-9a-f]*'),
	report_id   INTEGER NOT NULL REFERENCES reports (id),
	position    INTEGER NOT NULL CHECK (position > 0),  -- 1, 2, ... in upload order
	name        TEXT    NOT NULL,
	size        INTEGER NOT NULL CHECK (size >= 0),
	md5         TEXT    NOT NULL,
	sha1        TEXT    NOT NULL,
	sha256      TEXT    NOT NULL,
	uploaded_at INTEGER NOT NULL,
	blob_key    TEXT    NOT NULL,  -- the encrypted blob in the evidence store
	wrapped_key BLOB    NOT NULL,  -- the file key, wrapped by the report's data key
	details_xml BLOB,              -- the <fileDetails> as received, sealed
	details     BLOB,              -- details_xml parsed, as JSON, sealed
	details_at  INTEGER,
	sealed      INTEGER NOT NULL CHECK (sealed IN (0, 1)),  -- 0: details in the clear (before version 5)
	CHECK ((details_xml IS NULL) = (details IS NULL) AND (details IS NULL) = (details_at IS NULL)),
	UNIQUE (report_id, position)
) STRICT;

-- A file without details has nothing to seal.
INSERT INTO new_files (id, report_id, position, name, size, md5, sha1, sha256, uploaded_at, blob_key, wrapped_key,
	details_xml, details, details_at, sealed)
SELECT id, report_id, position, name, size, md5, sha1, sha256, uploaded_at, blob_key, wrapped_key,
	details_xml, CAST(details AS BLOB), details_at, details_xml IS NULL
FROM files;

DROP TABLE files;
ALTER TABLE new_files RENAME TO files;

CREATE INDEX files_blob_key ON files (blob_key);
CREATE INDEX files_unsealed ON files (id) WHERE NOT sealed;

CREATE TABLE new_report_assessments (
	report_id     INTEGER PRIMARY KEY REFERENCES reports (id),
	assessment    BLOB    NOT NULL,  -- JSON of guardian.Assessment, sealed
	triage        BLOB    NOT NULL,  -- JSON of guardian.Triage, sealed
	sealed        INTEGER NOT NULL CHECK (sealed IN (0, 1)),  -- 0: in the clear (before version 5)
	rules_version TEXT    NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;

INSERT INTO new_report_assessments (report_id, assessment, triage, sealed, rules_version, created_at, updated_at)
SELECT report_id, CAST(assessment AS BLOB), CAST(triage AS BLOB), 0, rules_version, created_at, updated_at
FROM report_assessments;

DROP TABLE report_assessments;
ALTER TABLE new_report_assessments RENAME TO report_assessments;

CREATE INDEX report_assessments_unsealed ON report_assessments (report_id) WHERE NOT sealed;
