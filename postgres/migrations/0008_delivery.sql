-- Guardian schema, version 8 (PostgreSQL): delivery. What happens to a
-- referral once it leaves the hub (guardian.DeliveryStore): its escalation,
-- the agency's decline and outcome, the messages between the agency and the
-- hub, the notifications sent about it, and the secrets the agencies'
-- webhooks are signed with (guardian.WebhookSecretStore).

-- escalation: guardian.EscalationNone, EscalationLiaison or EscalationHub.
-- decline: JSON of guardian.Decline, '' for none. The outcome column of
-- version 3 now holds the JSON of guardian.Outcome ('' for none); nothing
-- wrote it before this version. Both are text, as in the SQLite schema, so
-- that the store reads both alike.
ALTER TABLE referrals ADD COLUMN escalation smallint NOT NULL DEFAULT 0 CHECK (escalation BETWEEN 0 AND 2);
ALTER TABLE referrals ADD COLUMN escalated_at timestamptz;
ALTER TABLE referrals ADD COLUMN liaison_agency_id text NOT NULL DEFAULT '';
ALTER TABLE referrals ADD COLUMN decline text NOT NULL DEFAULT '' CHECK (decline = '' OR (decline::jsonb) IS NOT NULL);

-- priority_rank orders priorities for the lists (guardian.Priority.Rank:
-- E 0, then 1, 2, 3). It is computed from priority by the database, so that
-- existing rows have it and no write can let the two disagree.
ALTER TABLE referrals ADD COLUMN priority_rank smallint GENERATED ALWAYS AS
	(CASE priority WHEN 'E' THEN 0 WHEN '1' THEN 1 WHEN '2' THEN 2 WHEN '3' THEN 3 ELSE 4 END) STORED;

-- The orders of the referral lists (guardian.ReferralOrder): an agency's
-- inbox, most urgent first or oldest change first; the same across every
-- agency for the hub; and the few escalated referrals a liaison office
-- sees beside its own. Each list reads its page straight off one index.
CREATE INDEX referrals_agency_urgent ON referrals (agency_id, priority_rank, deadline, id);
CREATE INDEX referrals_agency_updated ON referrals (agency_id, updated_at, id);
CREATE INDEX referrals_urgent ON referrals (priority_rank, deadline, id);
CREATE INDEX referrals_updated ON referrals (updated_at, id);
CREATE INDEX referrals_escalated_urgent ON referrals (priority_rank, deadline, id) WHERE escalation >= 1;
CREATE INDEX referrals_escalated_updated ON referrals (updated_at, id) WHERE escalation >= 1;

-- The threads between the agencies that see a referral and the hub. The
-- body is sealed under the report's data key (label message/ID/body), as
-- the report's own documents are.
CREATE TABLE referral_messages (
	id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	referral_id      bigint      NOT NULL REFERENCES referrals (id),
	thread_agency_id text        NOT NULL CHECK (thread_agency_id <> ''),
	sender           text        NOT NULL CHECK (sender ~ '^(hub|agency):.+$'),
	author           text        NOT NULL,
	kind             text        NOT NULL CHECK (kind IN ('request-info', 'reply', 'note')),
	body             bytea       NOT NULL,
	created_at       timestamptz NOT NULL
);

CREATE INDEX referral_messages_thread ON referral_messages (referral_id, thread_agency_id, id);

-- Notifications sent, or finally given up on. They carry no content.
-- referral_id is NULL for a digest; agency_id '' for the hub's supervisors.
CREATE TABLE notifications (
	id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	referral_id bigint      REFERENCES referrals (id),
	agency_id   text        NOT NULL,
	event       text        NOT NULL CHECK (event <> ''),
	channel     text        NOT NULL CHECK (channel IN ('email', 'webhook')),
	target      text        NOT NULL CHECK (target <> ''),
	attempts    integer     NOT NULL CHECK (attempts >= 0),
	error       text        NOT NULL DEFAULT '',
	sent        boolean     NOT NULL,
	created_at  timestamptz NOT NULL
);

CREATE INDEX notifications_referral ON notifications (referral_id, id);

-- Each agency's webhook signing secret, sealed under the hub's master key
-- by the caller: the store never sees it in the clear.
CREATE TABLE webhook_secrets (
	agency_id  text        PRIMARY KEY CHECK (agency_id <> ''),
	secret     bytea       NOT NULL CHECK (length(secret) > 0),
	updated_at timestamptz NOT NULL
);
