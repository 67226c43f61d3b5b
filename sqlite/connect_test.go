package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

// TestWALStartsOver: the checkpointer asks the writer to complete a
// checkpoint once the WAL is long; the writer then completes one after its
// next batch, and the batch after starts the WAL over. Without the
// writer's step nothing does under a steady stream of commits (the
// committing connection's own checkpoint is off, and a checkpoint beside
// the writer seldom catches the log's end): the WAL grew by a gigabyte in
// three minutes at 200 reports/s. The WAL header's checkpoint sequence
// number counts the restarts.
func TestWALStartsOver(t *testing.T) {
	const pages = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 128) INSERT INTO t SELECT randomblob(4096) FROM n`
	open := func(t *testing.T, ckptEvery time.Duration, restart int) (*groupWriter, func(string), func() uint32) {
		path := filepath.Join(t.TempDir(), "w.db")
		db, readDB, err := connect(t.Context(), path, 1, true)
		if err != nil {
			t.Fatal(err)
		}
		w := newGroupWriterEvery(db, path, ckptEvery, restart)
		t.Cleanup(func() { w.Close(); readDB.Close(); db.Close() })
		write := func(q string) {
			t.Helper()
			if err := w.Write(t.Context(), func(ctx context.Context, tx *sql.Tx) error { _, err := tx.ExecContext(ctx, q); return err }); err != nil {
				t.Fatal(err)
			}
		}
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
		write(`CREATE TABLE t (x BLOB)`)
		write(pages)
		return w, write, seq
	}

	t.Run("the checkpointer asks", func(t *testing.T) {
		w, _, _ := open(t, 10*time.Millisecond, 64)
		deadline := time.Now().Add(5 * time.Second)
		for !w.restartDue.Load() {
			if time.Now().After(deadline) {
				t.Fatal("130 pages in the WAL, and the checkpointer never asked the writer to complete a checkpoint")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	t.Run("a short WAL is left alone", func(t *testing.T) {
		w, _, _ := open(t, 10*time.Millisecond, 1<<20)
		time.Sleep(200 * time.Millisecond)
		if w.restartDue.Load() {
			t.Error("the checkpointer asked for a checkpoint of a WAL shorter than its limit")
		}
	})
	for _, asked := range []bool{true, false} {
		t.Run(fmt.Sprintf("the writer, asked %v", asked), func(t *testing.T) {
			w, write, seq := open(t, time.Hour, 64) // no checkpointer
			w.restartDue.Store(asked)
			before := seq()
			write(`INSERT INTO t VALUES (x'01')`) // the writer checkpoints after it, if asked
			write(`INSERT INTO t VALUES (x'02')`) // and this batch starts the WAL over
			if restarted := seq() != before; restarted != asked {
				t.Errorf("asked %v: the WAL started over: %v", asked, restarted)
			}
			if w.restartDue.Load() {
				t.Error("the writer's checkpoint did not complete")
			}
		})
	}
}
