package sqlite

import (
	"container/list"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"

	msqlite "modernc.org/sqlite"
)

// Parsing SQL is a large part of what a statement costs on modernc's
// pure-Go SQLite: it prepares every query it is given and finalizes it after
// one run. Profiles of the hub put a quarter of its processor time in
// sqlite3_prepare, for the same few dozen statements over and over: the
// store's, and the job queue's (River builds its statements per call, and
// every job is inserted, fetched and completed with them). Each connection
// here therefore keeps the statements it ran prepared, by their text, and
// runs them again with new arguments; that serves every caller of the
// connection, the store and River alike.

// maxCachedStmts bounds the statements one connection keeps: queries built
// with a variable number of placeholders (lists of ids, batches of rows)
// would otherwise grow it without end. The least recently used goes first.
const maxCachedStmts = 256

// maxCachedQuery is the longest query text kept; longer ones are batches,
// whose text changes with their length. River's longest statements are
// about 4 KiB.
const maxCachedQuery = 16 << 10

// openDB returns a database of modernc connections to dsn, each keeping
// its statements prepared.
func openDB(dsn string) *sql.DB {
	return sql.OpenDB(connector{dsn: dsn, drv: &msqlite.Driver{}})
}

// connector opens modernc connections to one DSN, each with its statement
// cache.
type connector struct {
	dsn string
	drv *msqlite.Driver
}

func (c connector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	inner, ok := conn.(innerConn)
	if !ok {
		conn.Close()
		return nil, errors.New("sqlite driver connection lacks the context methods")
	}
	return &cachingConn{innerConn: inner, stmts: make(map[string]*list.Element), lru: list.New()}, nil
}

func (c connector) Driver() driver.Driver { return c.drv }

// innerConn is what database/sql uses of a modernc connection.
type innerConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// innerStmt is what the cache uses of a modernc statement.
type innerStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// cachingConn is a connection that keeps its statements prepared.
// database/sql uses a connection from one goroutine at a time, so it needs
// no lock; but a query's rows may still be open when the same text runs
// again (a query inside a loop over another's rows), so a statement in use
// is marked busy and the second run prepares one of its own, as before.
type cachingConn struct {
	innerConn
	stmts map[string]*list.Element // of *cachedStmt, by query
	lru   *list.List               // most recently used at the front
}

type cachedStmt struct {
	query string
	st    innerStmt
	busy  bool // its rows are open
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.innerConn.ExecContext(ctx, unplannedLimits(query), args)
	}
	return cs.st.ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.innerConn.QueryContext(ctx, unplannedLimits(query), args)
	}
	rows, err := cs.st.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	cs.busy = true
	return &cachedRows{Rows: rows, stmt: cs}, nil
}

// PrepareContext serves database/sql's own Prepare, which bypasses the
// cache, with the limits rewritten as the cache does.
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.innerConn.PrepareContext(ctx, unplannedLimits(query))
}

// stmt returns the prepared statement of query, preparing it if need be,
// or nil when query is not to be cached or its statement is busy.
func (c *cachingConn) stmt(ctx context.Context, query string) (*cachedStmt, error) {
	if e, ok := c.stmts[query]; ok {
		cs := e.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		c.lru.MoveToFront(e)
		return cs, nil
	}
	if !cacheable(query) {
		return nil, nil
	}
	st, err := c.innerConn.PrepareContext(ctx, unplannedLimits(query))
	if err != nil {
		return nil, err
	}
	ist, ok := st.(innerStmt)
	if !ok {
		st.Close()
		return nil, nil
	}
	for c.lru.Len() >= maxCachedStmts {
		if !c.evict() {
			ist.Close()
			return nil, nil
		}
	}
	cs := &cachedStmt{query: query, st: ist}
	c.stmts[query] = c.lru.PushFront(cs)
	return cs, nil
}

// evict closes the least recently used statement that is not busy, and
// reports whether there was one.
func (c *cachingConn) evict() bool {
	for e := c.lru.Back(); e != nil; e = e.Prev() {
		cs := e.Value.(*cachedStmt)
		if cs.busy {
			continue
		}
		c.lru.Remove(e)
		delete(c.stmts, cs.query)
		cs.st.Close()
		return true
	}
	return false
}

// cacheable reports whether query is worth keeping prepared: not a batch,
// and not a transaction's control statement or a pragma, which are cheap
// and many (a savepoint's name changes with each). A script of several
// statements may be kept: modernc then keeps only its text and prepares
// each statement at every run, as it would anyway. (Looking for a ';'
// would not tell a script: River's statements carry comments with one.)
func cacheable(query string) bool {
	if len(query) > maxCachedQuery {
		return false
	}
	q := strings.TrimSpace(query)
	head, _, _ := strings.Cut(q, " ")
	switch strings.ToUpper(head) {
	case "BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA", "VACUUM", "ATTACH", "DETACH":
		return false
	}
	return true
}

// Close finalizes the cached statements and closes the connection.
func (c *cachingConn) Close() error {
	for e := c.lru.Front(); e != nil; e = e.Next() {
		e.Value.(*cachedStmt).st.Close()
	}
	c.stmts, c.lru = nil, list.New()
	return c.innerConn.Close()
}

// cachedRows are the rows of a cached statement, which is busy until they
// are closed.
type cachedRows struct {
	driver.Rows
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.stmt.busy = false
	return err
}
