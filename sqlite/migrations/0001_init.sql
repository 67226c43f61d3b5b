-- Guardian schema, version 1.
--
-- Times are INTEGER microseconds since the Unix epoch, UTC: they compare
-- exactly, sort correctly and are what PostgreSQL's timestamptz keeps.
-- Tables are STRICT so that a value of the wrong type is an error, not a
-- silent conversion.

CREATE TABLE reporters (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	name          TEXT    NOT NULL UNIQUE CHECK (name <> ''),
	password_hash TEXT    NOT NULL,
	created_at    INTEGER NOT NULL,
	disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
) STRICT;

-- AUTOINCREMENT: report ids are given to reporters and must never be
-- handed out twice, even if the newest report were deleted.
CREATE TABLE reports (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	reporter_id  INTEGER NOT NULL REFERENCES reporters (id),
	state        TEXT    NOT NULL CHECK (state IN ('open', 'finished', 'retracted', 'expired')),
	opened_at    INTEGER NOT NULL,
	modified_at  INTEGER NOT NULL,
	finished_at  INTEGER,
	retracted_at INTEGER,
	expired_at   INTEGER,
	xml          BLOB    NOT NULL,                               -- the <report> as received
	document     TEXT    NOT NULL CHECK (json_valid(document)),  -- xml parsed, as JSON
	wrapped_key  BLOB,                                           -- the data key; NULL once evidence is destroyed
	CHECK (state <> 'open' OR wrapped_key IS NOT NULL)
) STRICT;

CREATE INDEX reports_reporter_id ON reports (reporter_id, id);
-- Expiry scans only the open reports.
CREATE INDEX reports_open_opened_at ON reports (opened_at) WHERE state = 'open';

CREATE TABLE files (
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
	details_xml BLOB,              -- the <fileDetails> as received
	details     TEXT    CHECK (details IS NULL OR json_valid(details)),
	details_at  INTEGER,
	CHECK ((details_xml IS NULL) = (details IS NULL) AND (details IS NULL) = (details_at IS NULL)),
	UNIQUE (report_id, position)
) STRICT;

CREATE INDEX files_blob_key ON files (blob_key);

-- The audit record. id is the rowid: with deletes impossible, max+1 is never
-- reused, and no counter row serialises writers. Text fields absent from an
-- event are ''; report_id and file_id are NULL when the event concerns no
-- report or file, and are not foreign keys because a refused request may
-- name one that does not exist.
CREATE TABLE audit_events (
	id                 INTEGER PRIMARY KEY,
	time               INTEGER NOT NULL,
	actor_kind         TEXT    NOT NULL CHECK (actor_kind <> ''),
	actor_id           TEXT    NOT NULL,
	actor_name         TEXT    NOT NULL,
	actor_organisation TEXT    NOT NULL,
	category           TEXT    NOT NULL CHECK (category <> ''),
	action             TEXT    NOT NULL CHECK (action <> ''),
	object_kind        TEXT    NOT NULL,
	object_id          TEXT    NOT NULL,
	report_id          INTEGER,
	file_id            TEXT,
	outcome            TEXT    NOT NULL CHECK (outcome IN ('success', 'failure')),
	reason             TEXT    NOT NULL,
	justification      TEXT    NOT NULL,
	recipients         TEXT    CHECK (recipients IS NULL OR json_valid(recipients)),  -- JSON array of strings
	request_id         TEXT    NOT NULL,
	client_addr        TEXT    NOT NULL
) STRICT;

CREATE INDEX audit_events_report_id ON audit_events (report_id, id) WHERE report_id IS NOT NULL;
CREATE INDEX audit_events_action ON audit_events (action, id);

-- Append-only in the database itself, whoever connects.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
	SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
	SELECT RAISE(ABORT, 'audit_events is append-only');
END;
