-- Guardian schema, version 2: the audit log's Merkle tree, and API tokens.
--
-- Audit events keep their cheap append (migration 1). An integrator later
-- gives the committed ones dense leaf indexes in id order, stores the
-- tree's hashes and signs a checkpoint, all in one transaction that ends by
-- moving audit_log_state forward. See package auditlog.

-- The single row says how far the log has got, and which key signs it.
-- Every integrator locks it first (FOR UPDATE), so that integrators in
-- several hub processes take turns and extend one tree.
CREATE TABLE audit_log_state (
	id            smallint PRIMARY KEY CHECK (id = 1),
	tree_size     bigint   NOT NULL CHECK (tree_size >= 0),
	last_event_id bigint   NOT NULL CHECK (last_event_id >= 0),  -- the event of leaf tree_size - 1
	verifier_key  text                                           -- the checkpoints' note verifier key; NULL until the first integration
);

INSERT INTO audit_log_state (id, tree_size, last_event_id) VALUES (1, 0, 0);

-- The log only grows, and its key never changes once recorded.
CREATE FUNCTION audit_log_state_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP <> 'UPDATE' OR NEW.id <> OLD.id OR NEW.tree_size < OLD.tree_size
		OR NEW.last_event_id < OLD.last_event_id
		OR (OLD.verifier_key IS NOT NULL AND NEW.verifier_key IS DISTINCT FROM OLD.verifier_key) THEN
		RAISE EXCEPTION 'audit_log_state only moves forward: % refused', TG_OP;
	END IF;
	RETURN NEW;
END;
$$;

CREATE TRIGGER audit_log_state_forward BEFORE UPDATE OR DELETE ON audit_log_state
	FOR EACH ROW EXECUTE FUNCTION audit_log_state_forward();

CREATE TRIGGER audit_log_state_no_truncate BEFORE TRUNCATE ON audit_log_state
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_state_forward();

-- Which event is which leaf. event_id is deliberately not a foreign key:
-- checking one locks the referenced row (FOR KEY SHARE), which writes to
-- every event row integrated and made integration half again as slow. It
-- would add nothing: the integrator reads each event in the transaction
-- that adds its leaf, audit_events refuses deletes, and verification
-- checks every leaf's event.
CREATE TABLE audit_leaves (
	leaf_index bigint PRIMARY KEY CHECK (leaf_index >= 0),
	event_id   bigint NOT NULL UNIQUE
);

-- The Merkle tree's stored hashes: every complete subtree's, at the index
-- golang.org/x/mod/sumdb/tlog.StoredHashIndex gives it.
CREATE TABLE audit_hashes (
	hash_index bigint PRIMARY KEY CHECK (hash_index >= 0),
	hash       bytea  NOT NULL CHECK (length(hash) = 32)
);

-- Every signed checkpoint, as served: a C2SP tlog-checkpoint signed note.
CREATE TABLE audit_checkpoints (
	tree_size  bigint      PRIMARY KEY CHECK (tree_size > 0),
	root_hash  bytea       NOT NULL CHECK (length(root_hash) = 32),
	note       bytea       NOT NULL,
	created_at timestamptz NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END;
$$;

CREATE TRIGGER audit_leaves_no_change BEFORE UPDATE OR DELETE ON audit_leaves
	FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_leaves_no_truncate BEFORE TRUNCATE ON audit_leaves
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_hashes_no_change BEFORE UPDATE OR DELETE ON audit_hashes
	FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_hashes_no_truncate BEFORE TRUNCATE ON audit_hashes
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_checkpoints_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints
	FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The barrier that lets the integrator pass over no event.
--
-- audit_events.id comes from a sequence, which a transaction draws from
-- long before it commits: a transaction holding id 7 may commit after one
-- holding id 9. An integrator that took events up to the largest visible
-- id, 9, would pass over 7 for good.
--
-- So every statement that inserts audit events first takes a shared
-- advisory lock, held to the end of its transaction. The trigger is
-- statement-level because a BEFORE STATEMENT trigger fires before the
-- statement computes its rows, and so before the id default draws from
-- the sequence; a row-level trigger would fire after. audit_watermark()
-- takes the same lock exclusively, which waits until every transaction
-- holding an id has ended, reads the largest id, and unlocks at once:
-- every id up to it is then committed or rolled back for good, and a
-- transaction that inserts later draws a larger id. Shared locks do not
-- wait for each other, so writers only ever wait for the moment the
-- integrator holds the lock.
--
-- The lock's key is the pair ('GAUD', the table's oid): one per
-- audit_events table, so hubs in different schemas do not wait for each
-- other, and in the two-integer key space, apart from the migration lock.
CREATE FUNCTION audit_events_barrier() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_advisory_xact_lock_shared(1195463972, TG_RELID::integer);
	RETURN NULL;
END;
$$;

CREATE TRIGGER audit_events_barrier BEFORE INSERT ON audit_events
	FOR EACH STATEMENT EXECUTE FUNCTION audit_events_barrier();

-- audit_watermark returns the largest audit event id at which no
-- transaction is in flight (see above). The lock is session-level, the only
-- kind that can be let go before the transaction ends, so the function
-- releases it on every path, errors and cancellation included. Being
-- VOLATILE, its SELECT takes a new snapshot after the lock is granted.
CREATE FUNCTION audit_watermark() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	k integer := 'audit_events'::regclass::oid::integer;
	w bigint;
BEGIN
	BEGIN
		PERFORM pg_advisory_lock(1195463972, k);
		SELECT COALESCE(max(id), 0) INTO w FROM audit_events;
	EXCEPTION WHEN OTHERS OR query_canceled THEN
		PERFORM pg_advisory_unlock(1195463972, k);
		RAISE;
	END;
	PERFORM pg_advisory_unlock(1195463972, k);
	RETURN w;
END;
$$;

-- Bearer tokens of machine clients and auditors. Only a SHA-256 of the
-- secret is kept.
CREATE TABLE api_tokens (
	id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name       text        NOT NULL UNIQUE CHECK (name <> ''),
	role       text        NOT NULL CHECK (role <> ''),
	token_hash text        NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
	created_at timestamptz NOT NULL,
	disabled   boolean     NOT NULL DEFAULT false
);
