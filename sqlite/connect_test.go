package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
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
	// ... and its checkpointer checkpoints, not the committing connection.
	if err := gdb.QueryRowContext(t.Context(), "PRAGMA wal_autocheckpoint").Scan(&got); err != nil || got != "0" {
		t.Errorf("writer with group commit: PRAGMA wal_autocheckpoint = %s (%v), want 0", got, err)
	}
	if err := db.QueryRowContext(t.Context(), "PRAGMA wal_autocheckpoint").Scan(&got); err != nil || got != "1000" {
		t.Errorf("writer without group commit: PRAGMA wal_autocheckpoint = %s (%v), want SQLite's 1000", got, err)
	}
}

// TestCheckpointer: with the committing connection's automatic checkpoint
// off, the group writer's checkpointer moves committed pages from the WAL
// into the database file, beside the writer.
func TestCheckpointer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	db, readDB, err := connect(t.Context(), path, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	defer readDB.Close()
	w := newGroupWriter(db, path)
	defer w.Close()
	err = w.Write(t.Context(), func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE t (x BLOB)`); err != nil {
			return err
		}
		// 2 MiB, more than SQLite's automatic checkpoint would wait for.
		_, err := tx.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 512)
			INSERT INTO t SELECT randomblob(4096) FROM n`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() >= 2<<20 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the database file is %d bytes 10 s after 2 MiB were committed: nothing checkpointed", fi.Size())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWALStartsOver: under a steady stream of commits, with readers busy
// beside them, the WAL starts over from its beginning once it is long
// enough (the writer completes a checkpoint between batches), not only
// when the checkpointer happens to catch the log's end, which under this
// stream it does not. The WAL header's checkpoint sequence number counts
// the restarts.
func TestWALStartsOver(t *testing.T) {
	if testing.Short() {
		t.Skip("writes for 2 seconds")
	}
	for _, c := range []struct {
		name    string
		restart int
		want    func(n uint32) bool
	}{
		{"past 256 frames", 256, func(n uint32) bool { return n >= 4 }},
		{"never", 1 << 30, func(n uint32) bool { return n <= 1 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "w.db")
			db, readDB, err := connect(t.Context(), path, 2, true)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			defer readDB.Close()
			w := newGroupWriterEvery(db, path, 50*time.Millisecond, c.restart)
			defer w.Close()
			write := func(q string) {
				t.Helper()
				if err := w.Write(t.Context(), func(ctx context.Context, tx *sql.Tx) error { _, err := tx.ExecContext(ctx, q); return err }); err != nil {
					t.Fatal(err)
				}
			}
			write(`CREATE TABLE t (x BLOB)`)
			seq := func() uint32 {
				t.Helper()
				h := make([]byte, 16)
				f, err := os.Open(path + "-wal")
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if _, err := io.ReadFull(f, h); err != nil {
					t.Fatal(err)
				}
				return binary.BigEndian.Uint32(h[12:]) // checkpoint sequence number
			}
			before := seq()
			stop := make(chan struct{})
			readerDone := make(chan struct{})
			go func() {
				defer close(readerDone)
				for {
					select {
					case <-stop:
						return
					default:
					}
					var n int
					readDB.QueryRowContext(t.Context(), `SELECT count(*) FROM t`).Scan(&n)
				}
			}()
			// Four writers keep the queue from ever emptying.
			var wg sync.WaitGroup
			end := time.Now().Add(2 * time.Second)
			for range 4 {
				wg.Go(func() {
					for time.Now().Before(end) {
						write(`DELETE FROM t WHERE rowid IN (SELECT rowid FROM t LIMIT 16)`)
						write(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 16) INSERT INTO t SELECT randomblob(4096) FROM n`)
					}
				})
			}
			wg.Wait()
			close(stop)
			<-readerDone
			n := seq() - before
			t.Logf("the WAL started over %d times", n)
			if !c.want(n) {
				t.Errorf("the WAL started over %d times in 2 seconds", n)
			}
		})
	}
}
