-- Guardian schema, version 6: the people of the hub and the agencies, their
-- sessions, the partners' API tokens, and the records of access to referral
-- content (guardian.UserStore and guardian.AccessStore).
--
-- Rows of users are never deleted: disabling keeps the names the audit log
-- refers to resolvable. Secrets are never stored: passwords as argon2id
-- hashes, sessions and tokens as SHA-256 of their secrets, recovery codes as
-- their hashes, and the TOTP secret encrypted under the master key by the
-- caller. Lists (roles, recovery code hashes, file ids) are comma-separated
-- text, as in the SQLite schema, so that the store reads both alike.

CREATE TABLE users (
	id                  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name                text        NOT NULL UNIQUE CHECK (name <> ''),
	display_name        text        NOT NULL DEFAULT '',
	email               text        NOT NULL DEFAULT '',
	organisation        text        NOT NULL CHECK (organisation ~ '^(hub|agency):.+$'),
	roles               text        NOT NULL CHECK (roles <> ''),  -- comma-separated guardian.Role names
	password_hash       text        NOT NULL DEFAULT '',
	totp_secret         bytea,                -- encrypted under the master key; NULL after a reset
	totp_last_step      bigint      NOT NULL DEFAULT 0,
	recovery_hashes     text        NOT NULL DEFAULT '',  -- comma-separated hashes of unused recovery codes
	vetting_expires_at  timestamptz,
	training_expires_at timestamptz,
	disabled            boolean     NOT NULL DEFAULT false,
	failed_signins      integer     NOT NULL DEFAULT 0 CHECK (failed_signins >= 0),
	locked_until        timestamptz,
	language            text        NOT NULL DEFAULT '',
	time_zone           text        NOT NULL DEFAULT '',
	created_at          timestamptz NOT NULL,
	updated_at          timestamptz NOT NULL
);

CREATE INDEX users_organisation ON users (organisation, id);

CREATE TABLE sessions (
	hash         text        PRIMARY KEY CHECK (hash ~ '^[0-9a-f]{64}$'),
	user_id      bigint      NOT NULL REFERENCES users (id),
	created_at   timestamptz NOT NULL,
	last_seen_at timestamptz NOT NULL,
	locked       boolean     NOT NULL DEFAULT false,
	client_addr  text        NOT NULL DEFAULT ''
);

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_created_at ON sessions (created_at);

-- guardian.APIToken: partners' machine clients, scoped to an organisation
-- and one role. (api_tokens, from version 2, keeps the auditor and admin
-- tokens of guardian.Token.)
CREATE TABLE client_tokens (
	id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name         text        NOT NULL UNIQUE CHECK (name <> ''),
	token_hash   text        NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
	organisation text        NOT NULL CHECK (organisation ~ '^(hub|agency):.+$'),
	role         text        NOT NULL CHECK (role <> ''),
	created_at   timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL,
	revoked_at   timestamptz,
	last_used_at timestamptz
);

-- One row per person, referral and UTC day (guardian.ConsultationDay): the
-- primary key makes "once a day" hold under concurrent requests.
CREATE TABLE consultations (
	user_id     bigint NOT NULL REFERENCES users (id),
	referral_id bigint NOT NULL REFERENCES referrals (id),
	day         text   NOT NULL CHECK (day ~ '^\d{4}-\d{2}-\d{2}$'),  -- 2006-01-02, UTC
	event_id    bigint NOT NULL,  -- the audit event it appended
	PRIMARY KEY (user_id, referral_id, day)
);

CREATE TABLE legal_authorities (
	id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	referral_id bigint      NOT NULL REFERENCES referrals (id),
	file_ids    text        NOT NULL CHECK (file_ids <> ''),  -- comma-separated file ids
	reference   text        NOT NULL CHECK (reference <> ''),
	user_id     bigint      NOT NULL REFERENCES users (id),
	recorded_at timestamptz NOT NULL
);

CREATE INDEX legal_authorities_referral_id ON legal_authorities (referral_id, id);
