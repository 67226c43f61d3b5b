-- Guardian schema, version 7: what is known about each file's content (its
-- PDQ hash, or why it has none), and the hash lists of known content.
--
-- image_status is '' for files uploaded before this version, which were
-- never examined; every new file gets one of the other four values.
ALTER TABLE files ADD COLUMN pdq TEXT CHECK (pdq IS NULL OR (length(pdq) = 64 AND pdq NOT GLOB '*[^0-9a-f]*'));
ALTER TABLE files ADD COLUMN pdq_quality INTEGER CHECK (pdq_quality IS NULL OR pdq_quality BETWEEN 0 AND 100);
ALTER TABLE files ADD COLUMN image_status TEXT NOT NULL DEFAULT ''
	CHECK (image_status IN ('', 'hashed', 'not-image', 'undecodable', 'too-large'));

-- A hash list as imported: importing a newer version of a list replaces its
-- row and all its entries in one transaction.
CREATE TABLE hash_lists (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	name        TEXT    NOT NULL UNIQUE CHECK (name <> ''),
	source      TEXT    NOT NULL CHECK (source <> ''),
	categories  TEXT    NOT NULL,  -- the category scheme the entries' categories belong to
	version     TEXT    NOT NULL CHECK (version <> ''),
	format      TEXT    NOT NULL CHECK (format IN ('csv', 'vics')),
	entry_count INTEGER NOT NULL CHECK (entry_count >= 0),
	imported_at INTEGER NOT NULL
) STRICT;

-- The hashes of a list, lower-case hex. A list may name one hash more than
-- once (under two categories, say); matching reports each.
CREATE TABLE hash_list_entries (
	list_id  INTEGER NOT NULL REFERENCES hash_lists (id) ON DELETE CASCADE,
	type     TEXT    NOT NULL CHECK (type IN ('md5', 'sha1', 'sha256', 'pdq')),
	hash     TEXT    NOT NULL CHECK (hash <> '' AND hash NOT GLOB '*[^0-9a-f]*'),
	category TEXT    NOT NULL
) STRICT;

CREATE INDEX hash_list_entries_hash ON hash_list_entries (type, hash);
CREATE INDEX hash_list_entries_list ON hash_list_entries (list_id);
