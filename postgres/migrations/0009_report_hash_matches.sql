-- Guardian schema, version 9: the files of each report found in the hash
-- lists, so that reports whose files match the same list item can be
-- bundled. The full matches (with the list's version and the distance) are
-- also sealed with the report's triage; these rows are what the bundle
-- query joins on. Routing a report again replaces its rows.
CREATE TABLE report_hash_matches (
	report_id bigint  NOT NULL REFERENCES reports (id),
	file_id   text    NOT NULL REFERENCES files (id),
	list      text    NOT NULL,
	type      text    NOT NULL CHECK (type IN ('md5', 'sha1', 'sha256', 'pdq')),
	hash      text    NOT NULL CHECK (hash ~ '^[0-9a-f]+$'),
	category  text    NOT NULL,
	distance  integer NOT NULL CHECK (distance BETWEEN 0 AND 256)
);

CREATE INDEX report_hash_matches_report ON report_hash_matches (report_id);
CREATE INDEX report_hash_matches_item ON report_hash_matches (type, hash, report_id);
