-- Guardian schema, version 1. Tables are created in the first schema of the
-- connection's search_path, so that one database can hold several hubs
-- (or test runs) in separate schemas.

CREATE TABLE reporters (
	id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name          text        NOT NULL UNIQUE CHECK (name <> ''),
	password_hash text        NOT NULL,
	created_at    timestamptz NOT NULL,
	disabled      boolean     NOT NULL DEFAULT false
);

-- Identity values are never handed out twice: report ids are given to
-- reporters.
CREATE TABLE reports (
	id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	reporter_id  bigint      NOT NULL REFERENCES reporters (id),
	state        text        NOT NULL CHECK (state IN ('open', 'finished', 'retracted', 'expired')),
	opened_at    timestamptz NOT NULL,
	modified_at  timestamptz NOT NULL,
	finished_at  timestamptz,
	retracted_at timestamptz,
	expired_at   timestamptz,
	xml          bytea       NOT NULL,  -- the <report> as received, byte for byte
	document     json        NOT NULL,  -- xml parsed; json, not jsonb, keeps the bytes as given
	wrapped_key  bytea,                 -- the data key; NULL once evidence is destroyed
	CHECK (state <> 'open' OR wrapped_key IS NOT NULL)
);

CREATE INDEX reports_reporter_id ON reports (reporter_id, id);
-- Expiry scans only the open reports.
CREATE INDEX reports_open_opened_at ON reports (opened_at) WHERE state = 'open';

CREATE TABLE files (
	id          text        PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
	report_id   bigint      NOT NULL REFERENCES reports (id),
	position    integer     NOT NULL CHECK (position > 0),  -- 1, 2, ... in upload order
	name        text        NOT NULL,
	size        bigint      NOT NULL CHECK (size >= 0),
	md5         text        NOT NULL,
	sha1        text        NOT NULL,
	sha256      text        NOT NULL,
	uploaded_at timestamptz NOT NULL,
	blob_key    text        NOT NULL,  -- the encrypted blob in the evidence store
	wrapped_key bytea       NOT NULL,  -- the file key, wrapped by the report's data key
	details_xml bytea,                 -- the <fileDetails> as received
	details     json,
	details_at  timestamptz,
	CHECK ((details_xml IS NULL) = (details IS NULL) AND (details IS NULL) = (details_at IS NULL)),
	UNIQUE (report_id, position)
);

CREATE INDEX files_blob_key ON files (blob_key);

-- The audit record. id comes from an identity sequence, which no writer
-- waits on; ids increase in the order they are drawn, so a transaction that
-- commits later may hold a smaller one. Text fields absent from an event are
-- ''; report_id and file_id are NULL when the event concerns no report or
-- file, and are not foreign keys because a refused request may name one
-- that does not exist.
CREATE TABLE audit_events (
	id                 bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	time               timestamptz NOT NULL,
	actor_kind         text        NOT NULL CHECK (actor_kind <> ''),
	actor_id           text        NOT NULL,
	actor_name         text        NOT NULL,
	actor_organisation text        NOT NULL,
	category           text        NOT NULL CHECK (category <> ''),
	action             text        NOT NULL CHECK (action <> ''),
	object_kind        text        NOT NULL,
	object_id          text        NOT NULL,
	report_id          bigint,
	file_id            text,
	outcome            text        NOT NULL CHECK (outcome IN ('success', 'failure')),
	reason             text        NOT NULL,
	justification      text        NOT NULL,
	recipients         jsonb,      -- JSON array of strings
	request_id         text        NOT NULL,
	client_addr        text        NOT NULL
);

CREATE INDEX audit_events_report_id ON audit_events (report_id, id) WHERE report_id IS NOT NULL;
CREATE INDEX audit_events_action ON audit_events (action, id);

-- Append-only in the database itself, whoever connects: row triggers refuse
-- UPDATE and DELETE, a statement trigger TRUNCATE (which fires no row
-- trigger).
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP;
END;
$$;

CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
	FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
	FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
