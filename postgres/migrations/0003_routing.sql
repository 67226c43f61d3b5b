-- Guardian schema, version 3 (PostgreSQL): triage, routing and the analysts' queue.
-- River's own tables (river_job, ...) are created by River's migrator right
-- after ours (see jobs.Migrate), not here.

-- What triage concluded, with its full explanation (JSON of
-- guardian.Assessment and guardian.Triage). One row per report, replaced
-- when a re-run concludes differently.
CREATE TABLE report_assessments (
	report_id     bigint PRIMARY KEY REFERENCES reports (id),
	assessment    json NOT NULL,
	triage        json NOT NULL,
	rules_version text    NOT NULL,
	created_at    timestamptz NOT NULL,
	updated_at    timestamptz NOT NULL
);

-- One referral per report and agency: the UNIQUE constraint makes a
-- duplicate impossible whatever the code does.
CREATE TABLE referrals (
	id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	report_id             bigint NOT NULL REFERENCES reports (id),
	agency_id             text    NOT NULL,
	network               text    NOT NULL,
	countries             text    NOT NULL,  -- comma-separated ISO codes, rank order
	channel               text    NOT NULL,
	reason                text    NOT NULL,
	priority              text    NOT NULL CHECK (priority IN ('1', '2', '3', 'E')),
	label                 text    NOT NULL,
	handling_code         text    NOT NULL,
	data_scope            text    NOT NULL,
	acknowledge_within_us bigint NOT NULL,
	retention_days        integer NOT NULL,
	deadline              timestamptz NOT NULL,
	held                  boolean NOT NULL,
	state                 text    NOT NULL CHECK (state IN ('new', 'delivered', 'opened', 'acknowledged', 'closed', 'withdrawn', 're-routed')),
	received_at           timestamptz NOT NULL,
	triaged_at            timestamptz NOT NULL,
	routed_at             timestamptz NOT NULL,
	delivered_at          timestamptz,
	opened_at             timestamptz,
	acknowledged_at       timestamptz,
	closed_at             timestamptz,
	withdrawn_at          timestamptz,
	updated_at            timestamptz NOT NULL,
	assignee              text    NOT NULL DEFAULT '',
	outcome               text    NOT NULL DEFAULT '',
	UNIQUE (report_id, agency_id)
);

CREATE INDEX referrals_agency_state ON referrals (agency_id, state);

-- Every network file the hub has run on, so that a referral's network
-- digest can always be looked up.
CREATE TABLE network_versions (
	digest    text    PRIMARY KEY,
	content   bytea    NOT NULL,
	loaded_at timestamptz NOT NULL
);

-- Reports waiting for an analyst: one row per report, resolved_at NULL
-- while it waits.
CREATE TABLE analyst_queue (
	report_id   bigint PRIMARY KEY REFERENCES reports (id),
	reason      text    NOT NULL,
	since       timestamptz NOT NULL,
	resolved_at timestamptz
);

CREATE INDEX analyst_queue_open ON analyst_queue (since) WHERE resolved_at IS NULL;

-- Analysts' decisions, oldest first; routing applies them on every run.
CREATE TABLE routing_overrides (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	report_id  bigint NOT NULL REFERENCES reports (id),
	agency_id  text    NOT NULL,
	action     text    NOT NULL CHECK (action IN ('add', 'withdraw', 'clear')),
	actor      text    NOT NULL,
	created_at timestamptz NOT NULL
);

CREATE INDEX routing_overrides_report ON routing_overrides (report_id, id);
