package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// TestStmtCache: a query met inside a transaction is prepared once that
// transaction is over (the write database's one connection is free), and
// later transactions run it prepared; one that does not prepare runs
// unprepared for good; the cache is bounded.
func TestStmtCache(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // as the store's write database on SQLite
	defer db.Close()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	c := newStmtCache(db)
	defer c.close()

	const insert = `INSERT INTO t (v) VALUES (?)`
	run := func() *sql.Stmt {
		sqlTx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		tx := &tx{tx: sqlTx, ctx: ctx, d: nil, stmts: c}
		st := tx.stmt(insert)
		if st != nil {
			_, err = st.ExecContext(ctx, "x")
		} else {
			_, err = sqlTx.ExecContext(ctx, insert, "x")
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := sqlTx.Commit(); err != nil {
			t.Fatal(err)
		}
		return st
	}
	if run() != nil {
		t.Fatal("a query was prepared while its first transaction held the only connection")
	}
	deadline := time.Now().Add(5 * time.Second)
	for run() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the query was never prepared")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n < 2 {
		t.Fatalf("%d rows, %v", n, err)
	}

	// A query that does not prepare is tried once.
	c.get(`NOT SQL`)
	waitIdle(t, c)
	if c.get(`NOT SQL`) != nil || !c.failed[`NOT SQL`] || c.pending[`NOT SQL`] {
		t.Error("a query that does not prepare is cached or asked for again")
	}

	// Bounded.
	for i := range 2 * maxCachedStmts {
		c.get(`SELECT ` + strconv.Itoa(i))
	}
	waitIdle(t, c)
	c.mu.Lock()
	size := len(c.stmts) + len(c.pending) + len(c.failed)
	c.mu.Unlock()
	if size > maxCachedStmts {
		t.Errorf("%d statements kept, more than %d", size, maxCachedStmts)
	}
	c.close()
	c.close() // twice is fine
}

func waitIdle(t *testing.T, c *stmtCache) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		n := len(c.pending)
		c.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("statements still pending")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
