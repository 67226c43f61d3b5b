package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
)

// TestConnectSettings checks that the settings the comments in connect
// promise are in force on the connections.
func TestConnectSettings(t *testing.T) {
	db, readDB, err := connect(t.Context(), filepath.Join(t.TempDir(), "s.db"), 2, false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	defer readDB.Close()
	for _, c := range []struct {
		db     *sql.DB
		pragma string
		want   string
	}{
		{db, "journal_mode", "wal"},
		{db, "synchronous", "2"}, // FULL
		{db, "foreign_keys", "1"},
		{db, "busy_timeout", "10000"},
		{db, "query_only", "0"},
		{db, "temp_store", "2"}, // MEMORY
		{readDB, "journal_mode", "wal"},
		{readDB, "foreign_keys", "1"},
		{readDB, "busy_timeout", "10000"},
		{readDB, "query_only", "1"},
		{readDB, "temp_store", "2"},
	} {
		var got string
		if err := c.db.QueryRowContext(t.Context(), "PRAGMA "+c.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			name := "writer"
			if c.db == readDB {
				name = "reader"
			}
			t.Errorf("%s: PRAGMA %s = %s, want %s", name, c.pragma, got, c.want)
		}
	}
	if _, err := readDB.ExecContext(t.Context(), "CREATE TABLE x (y INTEGER)"); err == nil {
		t.Error("the read pool can write")
	}
	if got := db.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer pool of %d connections", got)
	}

	// With group commit the group writer syncs the WAL itself.
	gdb, greadDB, err := connect(t.Context(), filepath.Join(t.TempDir(), "g.db"), 2, true)
	if err != nil {
		t.Fatal(err)
	}
	defer gdb.Close()
	defer greadDB.Close()
	var got string
	if err := gdb.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&got); err != nil || got != "1" {
		t.Errorf("writer with group commit: PRAGMA synchronous = %s (%v), want 1 (NORMAL)", got, err)
	}
}
