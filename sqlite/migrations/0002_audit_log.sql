-- Guardian schema, version 2: the audit log's Merkle tree, and API tokens.
--
-- Audit events keep their cheap append (migration 1). An integrator later
-- gives the committed ones dense leaf indexes in id order, stores the
-- tree's hashes and signs a checkpoint, all in one transaction that ends by
-- moving audit_log_state forward. See package auditlog.

-- The single row says how far the log has got, and which key signs it.
-- Integrators serialise on it (on SQLite the single writer already does).
CREATE TABLE audit_log_state (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	tree_size     INTEGER NOT NULL CHECK (tree_size >= 0),
	last_event_id INTEGER NOT NULL CHECK (last_event_id >= 0),  -- the event of leaf tree_size - 1
	verifier_key  TEXT                                          -- the checkpoints' note verifier key; NULL until the first integration
) STRICT;

INSERT INTO audit_log_state (id, tree_size, last_event_id) VALUES (1, 0, 0);

-- The log only grows, and its key never changes once recorded.
CREATE TRIGGER audit_log_state_forward BEFORE UPDATE ON audit_log_state
WHEN NEW.id <> OLD.id OR NEW.tree_size < OLD.tree_size OR NEW.last_event_id < OLD.last_event_id
	OR (OLD.verifier_key IS NOT NULL AND NEW.verifier_key IS NOT OLD.verifier_key)
BEGIN
	SELECT RAISE(ABORT, 'audit_log_state only moves forward');
END;

CREATE TRIGGER audit_log_state_no_delete BEFORE DELETE ON audit_log_state
BEGIN
	SELECT RAISE(ABORT, 'audit_log_state only moves forward');
END;

-- Which event is which leaf. leaf_index is the rowid. event_id is not a
-- foreign key, as on PostgreSQL (see there): the integrator reads each
-- event in the transaction that adds its leaf, audit_events refuses
-- deletes, and verification checks every leaf's event.
CREATE TABLE audit_leaves (
	leaf_index INTEGER PRIMARY KEY CHECK (leaf_index >= 0),
	event_id   INTEGER NOT NULL UNIQUE
) STRICT;

-- The Merkle tree's stored hashes: every complete subtree's, at the index
-- golang.org/x/mod/sumdb/tlog.StoredHashIndex gives it.
CREATE TABLE audit_hashes (
	hash_index INTEGER PRIMARY KEY CHECK (hash_index >= 0),
	hash       BLOB    NOT NULL CHECK (length(hash) = 32)
) STRICT;

-- Every signed checkpoint, as served: a C2SP tlog-checkpoint signed note.
CREATE TABLE audit_checkpoints (
	tree_size  INTEGER PRIMARY KEY CHECK (tree_size > 0),
	root_hash  BLOB    NOT NULL CHECK (length(root_hash) = 32),
	note       BLOB    NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;

CREATE TRIGGER audit_leaves_no_update BEFORE UPDATE ON audit_leaves
BEGIN
	SELECT RAISE(ABORT, 'audit_leaves is append-only');
END;

CREATE TRIGGER audit_leaves_no_delete BEFORE DELETE ON audit_leaves
BEGIN
	SELECT RAISE(ABORT, 'audit_leaves is append-only');
END;

CREATE TRIGGER audit_hashes_no_update BEFORE UPDATE ON audit_hashes
BEGIN
	SELECT RAISE(ABORT, 'audit_hashes is append-only');
END;

CREATE TRIGGER audit_hashes_no_delete BEFORE DELETE ON audit_hashes
BEGIN
	SELECT RAISE(ABORT, 'audit_hashes is append-only');
END;

CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
	SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;

CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
	SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;

-- Bearer tokens of machine clients and auditors. Only a SHA-256 of the
-- secret is kept.
CREATE TABLE api_tokens (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	name       TEXT    NOT NULL UNIQUE CHECK (name <> ''),
	role       TEXT    NOT NULL CHECK (role <> ''),
	token_hash TEXT    NOT NULL UNIQUE CHECK (length(token_hash) = 64 AND token_hash NOT GLOB '*[^0-9a-f]*'),
	created_at INTEGER NOT NULL,
	disabled   INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
) STRICT;
