package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"testing"
)

// cached returns the queries the write connection keeps prepared.
func cached(t *testing.T, db *sql.DB) map[string]bool {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	out := map[string]bool{}
	if err := conn.Raw(func(c any) error {
		cc := c.(*cachingConn)
		for q := range cc.stmts {
			out[q] = true
		}
		if len(cc.stmts) != cc.lru.Len() {
			t.Errorf("%d statements by query, %d in the recency list", len(cc.stmts), cc.lru.Len())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStmtCache: a connection keeps the statements it runs prepared and
// runs them again with new arguments, inside and outside transactions;
// the same query run while its rows are open gets a statement of its own;
// a cached statement sees a schema change and survives an error; a kept
// script runs whole; transaction control is not kept; and the cache is
// bounded.
func TestStmtCache(t *testing.T) {
	ctx := context.Background()
	db, readDB, err := connect(ctx, filepath.Join(t.TempDir(), "c.db"), 1, true)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	defer readDB.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)`); err != nil {
		t.Fatal(err)
	}

	const insert = `INSERT INTO t (v) VALUES (?)`
	for i := range 50 {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, insert, "v"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if !cached(t, db)[insert] {
		t.Fatal("the insert is not kept prepared")
	}

	// An error (a duplicate) leaves the statement usable.
	if _, err := db.ExecContext(ctx, insert, "v1"); err == nil {
		t.Fatal("a duplicate was inserted")
	}
	if _, err := db.ExecContext(ctx, insert, "v50"); err != nil {
		t.Fatalf("the insert after a failed one: %v", err)
	}

	// The same query inside a loop over its own rows.
	const sel = `SELECT id, v FROM t WHERE id <= ? ORDER BY id`
	// (The write database has one connection: nest on it as a Conn.)
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	outer, err := conn.QueryContext(ctx, sel, 3)
	if err != nil {
		t.Fatal(err)
	}
	n, inner := 0, 0
	for outer.Next() {
		var id int64
		var v string
		if err := outer.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		n++
		var m int
		if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM (`+sel+`)`, id).Scan(&m); err != nil {
			t.Fatal(err)
		}
		in, err := conn.QueryContext(ctx, sel, id)
		if err != nil {
			t.Fatal(err)
		}
		for in.Next() {
			inner++
		}
		if err := in.Err(); err != nil {
			t.Fatal(err)
		}
		in.Close()
		if m != int(id) {
			t.Errorf("count up to %d: %d", id, m)
		}
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	conn.Close()
	if n != 3 || inner != 1+2+3 {
		t.Errorf("outer rows %d, inner rows %d; want 3 and 6", n, inner)
	}

	// A schema change reaches a statement prepared before it.
	const all = `SELECT * FROM t WHERE id = ?`
	cols := func() int {
		rows, err := db.QueryContext(ctx, all, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		c, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		return len(c)
	}
	if c := cols(); c != 2 {
		t.Fatalf("%d columns", c)
	}
	if _, err := db.ExecContext(ctx, `ALTER TABLE t ADD COLUMN w TEXT`); err != nil {
		t.Fatal(err)
	}
	if c := cols(); c != 3 {
		t.Errorf("%d columns after a column was added, want 3", c)
	}

	// Transaction control is not kept.
	if _, err := db.ExecContext(ctx, `CREATE TABLE u (x); CREATE TABLE w (y)`); err != nil {
		t.Fatal(err)
	}
	for q := range cached(t, db) {
		if !cacheable(q) {
			t.Errorf("kept: %q", q)
		}
	}
	for _, q := range []string{`BEGIN IMMEDIATE`, `SAVEPOINT s1`, `RELEASE s1`, `PRAGMA foreign_keys`} {
		if cacheable(q) {
			t.Errorf("cacheable(%q)", q)
		}
	}
	// A statement with a ';' in a comment, as River writes them, is kept.
	const commented = "-- name: Touch :exec\n-- one; two\nUPDATE t SET v = v WHERE id = ?"
	if _, err := db.ExecContext(ctx, commented, 1); err != nil {
		t.Fatal(err)
	}
	if !cached(t, db)[commented] {
		t.Error("a statement with a ';' in a comment is not kept")
	}
	// A script kept runs every statement each time.
	const script = `INSERT INTO u (x) VALUES (1); INSERT INTO w (y) VALUES (2)`
	for range 2 {
		if _, err := db.ExecContext(ctx, script); err != nil {
			t.Fatal(err)
		}
	}
	var nu, nw int
	if err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM u), (SELECT count(*) FROM w)`).Scan(&nu, &nw); err != nil || nu != 2 || nw != 2 {
		t.Errorf("after running a script twice: %d and %d rows, %v; want 2 and 2", nu, nw, err)
	}

	// Bounded, the least recently used going first.
	for i := range 2 * maxCachedStmts {
		if _, err := db.ExecContext(ctx, `SELECT `+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	got := cached(t, db)
	if len(got) != maxCachedStmts {
		t.Errorf("%d statements kept, want %d", len(got), maxCachedStmts)
	}
	if !got[`SELECT `+strconv.Itoa(2*maxCachedStmts-1)] || got[`SELECT 0`] {
		t.Error("the cache did not keep the most recent statements")
	}
}
