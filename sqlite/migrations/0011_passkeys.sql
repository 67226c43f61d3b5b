-- Guardian schema, version 11: people's passkeys, WebAuthn credentials used
-- as a second factor at sign-in (guardian.PasskeyStore).
--
-- Only public keys are kept: the private key never leaves the
-- authenticator. A passkey's row is deleted when its person removes it; the
-- audit event of the removal names the user and the passkey's id.

CREATE TABLE passkeys (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id          INTEGER NOT NULL REFERENCES users (id),
	name             TEXT    NOT NULL CHECK (name <> ''),
	credential_id    BLOB    NOT NULL UNIQUE CHECK (length(credential_id) BETWEEN 1 AND 1023),
	public_key       BLOB    NOT NULL CHECK (length(public_key) > 0),  -- COSE key
	aaguid           BLOB    CHECK (length(aaguid) = 16),               -- NULL when none was given
	sign_count       INTEGER NOT NULL DEFAULT 0 CHECK (sign_count BETWEEN 0 AND 4294967295),
	transports       TEXT    NOT NULL DEFAULT '',                       -- comma-separated
	backup_eligible  INTEGER NOT NULL DEFAULT 0 CHECK (backup_eligible IN (0, 1)),
	backup_state     INTEGER NOT NULL DEFAULT 0 CHECK (backup_state IN (0, 1)),
	attestation_type TEXT    NOT NULL DEFAULT '',
	created_at       INTEGER NOT NULL,
	last_used_at     INTEGER,
	-- A credential that is backed up must be one that may be (WebAuthn
	-- §6.1.3): the ceremony refuses the other combination too.
	CHECK (backup_eligible = 1 OR backup_state = 0)
) STRICT;

-- A person's passkeys are read at every sign-in, in the order added.
CREATE INDEX passkeys_user_id ON passkeys (user_id, id);
