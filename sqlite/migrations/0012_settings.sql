-- Guardian schema, version 12: the hub's settings (guardian.SettingsStore),
-- kept in its store so that they travel with its data.
--
-- One row per setting, by name. The first is "demo": a store that guardian
-- demo created empty, the only kind a hub in demo mode (password-only
-- sign-in, a DEMO banner on every page) will open. Its row is never
-- removed.

CREATE TABLE hub_settings (
	name   TEXT    PRIMARY KEY CHECK (name <> ''),
	value  TEXT    NOT NULL,
	set_at INTEGER NOT NULL
) STRICT;
