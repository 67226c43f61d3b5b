-- Guardian schema, version 8: delivery. What happens to a referral once it
-- leaves the hub (guardian.DeliveryStore): its escalation, the agency's
-- decline and outcome, the messages between the agency and the hub, the
-- notifications sent about it, and the secrets the agencies' webhooks are
-- signed with (guardian.WebhookSecretStore).

-- escalation: guardian.EscalationNone, EscalationLiaison or EscalationHub.
-- decline: JSON of guardian.Decline, '' for none. The outcome column of
-- version 3 now holds the JSON of guardian.Outcome ('' for none); nothing
-- wrote it before this version.
ALTER TABLE referrals ADD COLUMN escalation INTEGER NOT NULL DEFAULT 0 CHECK (escalation BETWEEN 0 AND 2);
ALTER TABLE referrals ADD COLUMN escalated_at INTEGER;
ALTER TABLE referrals ADD COLUMN liaison_agency_id TEXT NOT NULL DEFAULT '';
ALTER TABLE referrals ADD COLUMN decline TEXT NOT NULL DEFAULT '' CHECK (decline = '' OR json_valid(decline));

-- priority_rank orders priorities for the lists (guardian.Priority.Rank:
-- E 0, then 1, 2, 3). It is computed from priority by the database, so that
-- existing rows have it and no write can let the two disagree.
ALTER TABLE referrals ADD COLUMN priority_rank INTEGER GENERATED ALWAYS AS
	(CASE priority WHEN 'E' THEN 0 WHEN '1' THEN 1 WHEN '2' THEN 2 WHEN '3' THEN 3 ELSE 4 END) VIRTUAL;

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
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	referral_id      INTEGER NOT NULL REFERENCES referrals (id),
	thread_agency_id TEXT    NOT NULL CHECK (thread_agency_id <> ''),
	sender           TEXT    NOT NULL CHECK (sender GLOB 'hub:?*' OR sender GLOB 'agency:?*'),
	author           TEXT    NOT NULL,
	kind             TEXT    NOT NULL CHECK (kind IN ('request-info', 'reply', 'note')),
	body             BLOB    NOT NULL,
	created_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX referral_messages_thread ON referral_messages (referral_id, thread_agency_id, id);

-- Notifications sent, or finally given up on. They carry no content.
-- referral_id is NULL for a digest; agency_id '' for the hub's supervisors.
CREATE TABLE notifications (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	referral_id INTEGER REFERENCES referrals (id),
	agency_id   TEXT    NOT NULL,
	event       TEXT    NOT NULL CHECK (event <> ''),
	channel     TEXT    NOT NULL CHECK (channel IN ('email', 'webhook')),
	target      TEXT    NOT NULL CHECK (target <> ''),
	attempts    INTEGER NOT NULL CHECK (attempts >= 0),
	error       TEXT    NOT NULL DEFAULT '',
	sent        INTEGER NOT NULL CHECK (sent IN (0, 1)),
	created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX notifications_referral ON notifications (referral_id, id);

-- Each agency's webhook signing secret, sealed under the hub's master key
-- by the caller: the store never sees it in the clear.
CREATE TABLE webhook_secrets (
	agency_id  TEXT    PRIMARY KEY CHECK (agency_id <> ''),
	secret     BLOB    NOT NULL CHECK (length(secret) > 0),
	updated_at INTEGER NOT NULL
) STRICT;
