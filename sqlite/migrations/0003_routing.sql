-- Guardian schema, version 3: triage, routing and the analysts' queue.
-- River's own tables (river_job, ...) are created by River's migrator right
-- after ours (see jobs.Migrate), not here.

-- What triage concluded, with its full explanation (JSON of
-- guardian.Assessment and guardian.Triage). One row per report, replaced
-- when a re-run concludes differently.
CREATE TABLE report_assessments (
	report_id     INTEGER PRIMARY KEY REFERENCES reports (id),
	assessment    TEXT    NOT NULL CHECK (json_valid(assessment)),
	triage        TEXT    NOT NULL CHECK (json_valid(triage)),
	rules_version TEXT    NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;

-- One referral per report and agency: the UNIQUE constraint makes a
-- duplicate impossible whatever the code does.
CREATE TABLE referrals (
	id                    INTEGER PRIMARY KEY AUTOINCREMENT,
	report_id             INTEGER NOT NULL REFERENCES reports (id),
	agency_id             TEXT    NOT NULL,
	network               TEXT    NOT NULL,
	countries             TEXT    NOT NULL,  -- comma-separated ISO codes, rank order
	channel               TEXT    NOT NULL,
	reason                TEXT    NOT NULL,
	priority              TEXT    NOT NULL CHECK (priority IN ('1', '2', '3', 'E')),
	label                 TEXT    NOT NULL,
	handling_code         TEXT    NOT NULL,
	data_scope            TEXT    NOT NULL,
	acknowledge_within_us INTEGER NOT NULL,
	retention_days        INTEGER NOT NULL,
	deadline              INTEGER NOT NULL,
	held                  INTEGER NOT NULL CHECK (held IN (0, 1)),
	state                 TEXT    NOT NULL CHECK (state IN ('new', 'delivered', 'opened', 'acknowledged', 'closed', 'withdrawn', 're-routed')),
	received_at           INTEGER NOT NULL,
	triaged_at            INTEGER NOT NULL,
	routed_at             INTEGER NOT NULL,
	delivered_at          INTEGER,
	opened_at             INTEGER,
	acknowledged_at       INTEGER,
	closed_at             INTEGER,
	withdrawn_at          INTEGER,
	updated_at            INTEGER NOT NULL,
	assignee              TEXT    NOT NULL DEFAULT '',
	outcome               TEXT    NOT NULL DEFAULT '',
	UNIQUE (report_id, agency_id)
) STRICT;

CREATE INDEX referrals_agency_state ON referrals (agency_id, state);

-- Every network file the hub has run on, so that a referral's network
-- digest can always be looked up.
CREATE TABLE network_versions (
	digest    TEXT    PRIMARY KEY,
	content   BLOB    NOT NULL,
	loaded_at INTEGER NOT NULL
) STRICT;

-- Reports waiting for an analyst: one row per report, resolved_at NULL
-- while it waits.
CREATE TABLE analyst_queue (
	report_id   INTEGER PRIMARY KEY REFERENCES reports (id),
	reason      TEXT    NOT NULL,
	since       INTEGER NOT NULL,
	resolved_at INTEGER
) STRICT;

CREATE INDEX analyst_queue_open ON analyst_queue (since) WHERE resolved_at IS NULL;

-- Analysts' decisions, oldest first; routing applies them on every run.
CREATE TABLE routing_overrides (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	report_id  INTEGER NOT NULL REFERENCES reports (id),
	agency_id  TEXT    NOT NULL,
	action     TEXT    NOT NULL CHECK (action IN ('add', 'withdraw', 'clear')),
	actor      TEXT    NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX routing_overrides_report ON routing_overrides (report_id, id);
