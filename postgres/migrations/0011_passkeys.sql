-- Guardian schema, version 11: people's passkeys, WebAuthn credentials used
-- as a second factor at sign-in (guardian.PasskeyStore).
--
-- Only public keys are kept: the private key never leaves the
-- authenticator. A passkey's row is deleted when its person removes it; the
-- audit event of the removal names the user and the passkey's id.
-- Transports are comma-separated text, as in the SQLite schema, so that the
-- store reads both alike.

CREATE TABLE passkeys (
	id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id          bigint      NOT NULL REFERENCES users (id),
	name             text        NOT NULL CHECK (name <> ''),
	credential_id    bytea       NOT NULL UNIQUE CHECK (length(credential_id) BETWEEN 1 AND 1023),
	public_key       bytea       NOT NULL CHECK (length(public_key) > 0),  -- COSE key
	aaguid           bytea       CHECK (length(aaguid) = 16),               -- NULL when none was given
	sign_count       bigint      NOT NULL DEFAULT 0 CHECK (sign_count BETWEEN 0 AND 4294967295),
	transports       text        NOT NULL DEFAULT '',                       -- comma-separated
	backup_eligible  boolean     NOT NULL DEFAULT false,
	backup_state     boolean     NOT NULL DEFAULT false,
	attestation_type text        NOT NULL DEFAULT '',
	created_at       timestamptz NOT NULL,
	last_used_at     timestamptz,
	-- A credential that is backed up must be one that may be (WebAuthn
	-- §6.1.3): the ceremony refuses the other combination too.
	CHECK (backup_eligible OR NOT backup_state)
);

-- A person's passkeys are read at every sign-in, in the order added.
CREATE INDEX passkeys_user_id ON passkeys (user_id, id);
