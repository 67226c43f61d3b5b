-- Guardian schema, version 6: the people of the hub and the agencies, their
-- sessions, the partners' API tokens, and the records of access to referral
-- content (guardian.UserStore and guardian.AccessStore).
--
-- Rows of users are never deleted: disabling keeps the names the audit log
-- refers to resolvable. Secrets are never stored: passwords as argon2id
-- hashes, sessions and tokens as SHA-256 of their secrets, recovery codes as
-- their hashes, and the TOTP secret encrypted under the master key by the
-- caller.

CREATE TABLE users (
	id                  INTEGER PRIMARY KEY AUTOINCREMENT,
	name                TEXT    NOT NULL UNIQUE CHECK (name <> ''),
	display_name        TEXT    NOT NULL DEFAULT '',
	email               TEXT    NOT NULL DEFAULT '',
	organisation        TEXT    NOT NULL CHECK (organisation GLOB 'hub:?*' OR organisation GLOB 'agency:?*'),
	roles               TEXT    NOT NULL CHECK (roles <> ''),  -- comma-separated guardian.Role names
	password_hash       TEXT    NOT NULL DEFAULT '',
	totp_secret         BLOB,              -- encrypted under the master key; NULL after a reset
	totp_last_step      INTEGER NOT NULL DEFAULT 0,
	recovery_hashes     TEXT    NOT NULL DEFAULT '',  -- comma-separated hashes of unused recovery codes
	vetting_expires_at  INTEGER,
	training_expires_at INTEGER,
	disabled            INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	failed_signins      INTEGER NOT NULL DEFAULT 0 CHECK (failed_signins >= 0),
	locked_until        INTEGER,
	language            TEXT    NOT NULL DEFAULT '',
	time_zone           TEXT    NOT NULL DEFAULT '',
	created_at          INTEGER NOT NULL,
	updated_at          INTEGER NOT NULL
) STRICT;

CREATE INDEX users_organisation ON users (organisation, id);

CREATE TABLE sessions (
	hash         TEXT    PRIMARY KEY CHECK (length(hash) = 64 AND hash NOT GLOB '*[^0-9a-f]*'),
	user_id      INTEGER NOT NULL REFERENCES users (id),
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	locked       INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
	client_addr  TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_created_at ON sessions (created_at);

-- guardian.APIToken: partners' machine clients, scoped to an organisation
-- and one role. (api_tokens, from version 2, keeps the auditor and admin
-- tokens of guardian.Token.)
CREATE TABLE client_tokens (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	name         TEXT    NOT NULL UNIQUE CHECK (name <> ''),
	token_hash   TEXT    NOT NULL UNIQUE CHECK (length(token_hash) = 64 AND token_hash NOT GLOB '*[^0-9a-f]*'),
	organisation TEXT    NOT NULL CHECK (organisation GLOB 'hub:?*' OR organisation GLOB 'agency:?*'),
	role         TEXT    NOT NULL CHECK (role <> ''),
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	revoked_at   INTEGER,
	last_used_at INTEGER
) STRICT;

-- One row per person, referral and UTC day (guardian.ConsultationDay): the
-- primary key makes "once a day" hold under concurrent requests.
CREATE TABLE consultations (
	user_id     INTEGER NOT NULL REFERENCES users (id),
	referral_id INTEGER NOT NULL REFERENCES referrals (id),
	day         TEXT    NOT NULL CHECK (length(day) = 10),  -- 2006-01-02, UTC
	event_id    INTEGER NOT NULL,                           -- the audit event it appended
	PRIMARY KEY (user_id, referral_id, day)
) STRICT;

CREATE TABLE legal_authorities (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	referral_id INTEGER NOT NULL REFERENCES referrals (id),
	file_ids    TEXT    NOT NULL CHECK (file_ids <> ''),  -- comma-separated file ids
	reference   TEXT    NOT NULL CHECK (reference <> ''),
	user_id     INTEGER NOT NULL REFERENCES users (id),
	recorded_at INTEGER NOT NULL
) STRICT;

CREATE INDEX legal_authorities_referral_id ON legal_authorities (referral_id, id);
