-- Guardian schema, version 4: each report counts its files, and a new
-- file's position is the count the UPDATE that touches the report returns
-- (PostgreSQL needs this; SQLite keeps the same schema and queries).
ALTER TABLE reports ADD COLUMN file_count INTEGER NOT NULL DEFAULT 0 CHECK (file_count >= 0);

UPDATE reports SET file_count = COALESCE((SELECT MAX(position) FROM files WHERE files.report_id = reports.id), 0);
