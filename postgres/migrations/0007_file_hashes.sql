-- Guardian schema, version 7: what is known about each file's content (its
-- PDQ hash, or why it has none), and the hash lists of known content.
--
-- image_status is '' for files uploaded before this version, which were
-- never examined; every new file gets one of the other four values.
ALTER TABLE files ADD COLUMN pdq text CHECK (pdq IS NULL OR pdq ~ '^[0-9a-f]{64}$');
ALTER TABLE files ADD COLUMN pdq_quality integer CHECK (pdq_quality IS NULL OR pdq_quality BETWEEN 0 AND 100);
ALTER TABLE files ADD COLUMN image_status text NOT NULL DEFAULT ''
	CHECK (image_status IN ('', 'hashed', 'not-image', 'undecodable', 'too-large'));

-- A hash list as imported: importing a newer version of a list replaces its
-- row and all its entries in one transaction.
CREATE TABLE hash_lists (
	id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name        text        NOT NULL UNIQUE CHECK (name <> ''),
	source      text        NOT NULL CHECK (source <> ''),
	categories  text        NOT NULL,  -- the category scheme the entries' categories belong to
	version     text        NOT NULL CHECK (version <> ''),
	format      text        NOT NULL CHECK (format IN ('csv', 'vics')),
	entry_count bigint      NOT NULL CHECK (entry_count >= 0),
	imported_at timestamptz NOT NULL
);

-- The hashes of a list, lower-case hex. A list may name one hash more than
-- once (under two categories, say); matching reports each.
CREATE TABLE hash_list_entries (
	list_id  bigint NOT NULL REFERENCES hash_lists (id) ON DELETE CASCADE,
	type     text   NOT NULL CHECK (type IN ('md5', 'sha1', 'sha256', 'pdq')),
	hash     text   NOT NULL CHECK (hash ~ '^[0-9a-f]+$'),
	category text   NOT NULL
);

CREATE INDEX hash_list_entries_hash ON hash_list_entries (type, hash);
CREATE INDEX hash_list_entries_list ON hash_list_entries (list_id);
