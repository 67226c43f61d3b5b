package sqlite

import (
	"context"
	"database/sql/driver"
	"path/filepath"
	"sync/atomic"
	"testing"

	msqlite "modernc.org/sqlite"
)

func TestUnplannedLimits(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT v FROM t WHERE id > ? ORDER BY id LIMIT ?`, `SELECT v FROM t WHERE id > ? ORDER BY id LIMIT +?`},
		{`SELECT v FROM t limit ? offset ?`, `SELECT v FROM t limit +? offset +?`},
		{"SELECT v FROM t LIMIT\n\t?5 OFFSET ?6", "SELECT v FROM t LIMIT\n\t+?5 OFFSET +?6"},
		{`SELECT v FROM t LIMIT 10`, `SELECT v FROM t LIMIT 10`},
		{`SELECT v FROM t LIMIT +?`, `SELECT v FROM t LIMIT +?`},
		{`SELECT v FROM t LIMIT (SELECT ?)`, `SELECT v FROM t LIMIT (SELECT ?)`},
		// Not the keyword: part of a name, or quoted.
		{`SELECT nolimit ? FROM t`, `SELECT nolimit ? FROM t`},
		{`SELECT limit_ ? FROM t`, `SELECT limit_ ? FROM t`},
		{`SELECT 'LIMIT ?', "limit ?", [limit ?], ? FROM t LIMIT ?`, `SELECT 'LIMIT ?', "limit ?", [limit ?], ? FROM t LIMIT +?`},
		{`SELECT 'it''s LIMIT ?' FROM t LIMIT ?`, `SELECT 'it''s LIMIT ?' FROM t LIMIT +?`},
		{"SELECT v -- LIMIT ?\nFROM t /* LIMIT ? */ LIMIT ?", "SELECT v -- LIMIT ?\nFROM t /* LIMIT ? */ LIMIT +?"},
		// Unterminated quotes and comments run to the end.
		{`SELECT 'LIMIT ?`, `SELECT 'LIMIT ?`},
		{`SELECT 1 /* LIMIT ?`, `SELECT 1 /* LIMIT ?`},
		{`SELECT 1 -- LIMIT ?`, `SELECT 1 -- LIMIT ?`},
		{`LIMIT`, `LIMIT`},
		{`LIMIT ?`, `LIMIT +?`},
	} {
		if got := unplannedLimits(c.in); got != c.want {
			t.Errorf("unplannedLimits(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestLimitNotReplanned: a kept statement whose LIMIT and OFFSET change from
// run to run is prepared once and returns what the limits say. SQLite asks
// the authorizer once about each SELECT it compiles, so its calls count the
// compilations. The same query prepared without the
// rewrite is compiled again at every run with a new limit, which shows the
// count can tell.
func TestLimitNotReplanned(t *testing.T) {
	ctx := context.Background()
	db, readDB, err := connect(ctx, filepath.Join(t.TempDir(), "l.db"), 1, true)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	defer readDB.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if _, err := db.ExecContext(ctx, `INSERT INTO t (v) VALUES (?)`, i); err != nil {
			t.Fatal(err)
		}
	}
	const query = `SELECT v FROM t WHERE v >= ? ORDER BY id LIMIT ? OFFSET ?`

	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var compiles atomic.Int64
	if err := conn.Raw(func(c any) error {
		return c.(*cachingConn).innerConn.(msqlite.AuthorizerRegisterer).RegisterAuthorizer(
			func(action msqlite.AuthorizerActionCode, _, _, _, _ string) msqlite.AuthorizerReturnCode {
				if action == msqlite.AuthSelect {
					compiles.Add(1)
				}
				return msqlite.AuthorizerOK
			})
	}); err != nil {
		t.Fatal(err)
	}

	// run runs the query 10 times with limits and offsets 1 to 10 and
	// checks the rows, returning the compilations it took.
	run := func(name string, query func(limit, offset int64) ([]int64, error)) int64 {
		before := compiles.Load()
		for limit := int64(1); limit <= 10; limit++ {
			got, err := query(limit, limit)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(got)) != limit || got[0] != 5+limit {
				t.Errorf("%s: limit %d offset %d from 5 gave %v", name, limit, limit, got)
			}
		}
		return compiles.Load() - before
	}

	kept := run("kept", func(limit, offset int64) ([]int64, error) {
		rows, err := conn.QueryContext(ctx, query, 5, limit, offset)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var got []int64
		for rows.Next() {
			var v int64
			if err := rows.Scan(&v); err != nil {
				return nil, err
			}
			got = append(got, v)
		}
		return got, rows.Err()
	})
	if kept > 1 {
		t.Errorf("the kept statement was compiled %d times for 10 runs with new limits, want once", kept)
	}

	// The control: the same text prepared once as it is, bypassing the
	// rewrite.
	var st driver.Stmt
	if err := conn.Raw(func(c any) (err error) {
		st, err = c.(*cachingConn).innerConn.PrepareContext(ctx, query)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	plain := run("plain", func(limit, offset int64) (got []int64, err error) {
		rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, []driver.NamedValue{
			{Ordinal: 1, Value: int64(5)}, {Ordinal: 2, Value: limit}, {Ordinal: 3, Value: offset}})
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		dest := make([]driver.Value, 1)
		for rows.Next(dest) == nil {
			got = append(got, dest[0].(int64))
		}
		return got, nil
	})
	if plain < 9 {
		t.Errorf("the statement without the rewrite was compiled %d times for 10 runs: the count does not tell", plain)
	}
}
