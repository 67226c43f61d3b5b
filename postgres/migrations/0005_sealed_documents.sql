-- Guardian schema, version 5: report documents are encrypted at rest.
--
-- The <report> and <fileDetails> documents, their JSON and the assessment
-- derived from them are stored sealed under the report's data key (see
-- sqlstore.Sealer): their columns become bytea, and a sealed flag says which
-- rows are sealed. Rows an older guardian wrote arrive here with sealed =
-- false, their JSON as the bytes it was given, and are sealed by the store,
-- in batches, the next time it opens with the master key; the partial
-- indexes find them. The flag has no default: every write says.

ALTER TABLE reports
	ALTER COLUMN document TYPE bytea USING convert_to(document::text, 'UTF8'),
	ADD COLUMN sealed boolean NOT NULL DEFAULT false;
ALTER TABLE reports ALTER COLUMN sealed DROP DEFAULT;
CREATE INDEX reports_unsealed ON reports (id) WHERE NOT sealed;

ALTER TABLE files
	ALTER COLUMN details TYPE bytea USING convert_to(details::text, 'UTF8'),
	ADD COLUMN sealed boolean NOT NULL DEFAULT false;
-- A file without details has nothing to seal.
UPDATE files SET sealed = true WHERE details_xml IS NULL;
ALTER TABLE files ALTER COLUMN sealed DROP DEFAULT;
CREATE INDEX files_unsealed ON files (id) WHERE NOT sealed;

ALTER TABLE report_assessments
	ALTER COLUMN assessment TYPE bytea USING convert_to(assessment::text, 'UTF8'),
	ALTER COLUMN triage TYPE bytea USING convert_to(triage::text, 'UTF8'),
	ADD COLUMN sealed boolean NOT NULL DEFAULT false;
ALTER TABLE report_assessments ALTER COLUMN sealed DROP DEFAULT;
CREATE INDEX report_assessments_unsealed ON report_assessments (report_id) WHERE NOT sealed;

COMMENT ON COLUMN reports.sealed IS 'false: xml and document in the clear, written before version 5';
COMMENT ON COLUMN files.sealed IS 'false: details_xml and details in the clear, written before version 5';
COMMENT ON COLUMN report_assessments.sealed IS 'false: assessment and triage in the clear, written before version 5';
