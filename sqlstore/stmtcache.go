package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"sync"
)

// Parsing SQL is a large part of what a write transaction costs on the
// pure-Go SQLite: a profile of the hub at 200 reports a second showed a
// quarter of its processor time in sqlite3_prepare, half of it for the
// store's own statements, which are the same few dozen strings over and
// over. stmtCache keeps them prepared on the write database and lets each
// transaction use them (sql.Tx.StmtContext reuses a statement already
// prepared on the transaction's connection).
//
// A statement is prepared outside any transaction, by a goroutine of the
// cache: on SQLite the write database has one connection, which the
// transaction that first meets a query is holding, so preparing there and
// then would wait for itself. Until it is ready the query runs unprepared,
// as before.
type stmtCache struct {
	db *sql.DB

	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool
	failed  map[string]bool // did not prepare: run unprepared for good
	wake    chan struct{}
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

// maxCachedStmts bounds the cache: queries built with a variable number of
// placeholders (lists of ids, optional filters) could otherwise grow it
// without end.
const maxCachedStmts = 512

// maxCachedParams is the most placeholders a cached statement has.
const maxCachedParams = 32

func newStmtCache(db *sql.DB) *stmtCache {
	c := &stmtCache{db: db, stmts: make(map[string]*sql.Stmt), pending: make(map[string]bool), failed: make(map[string]bool),
		wake: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	go c.prepareLoop()
	return c
}

// get returns the prepared statement of query, or nil (and asks for it to
// be prepared) if there is none yet.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[query]; ok {
		return st
	}
	if strings.Count(query, "?") > maxCachedParams {
		// A list of ids or a batch of rows: its text changes with its
		// length, and kept it would crowd out the statements that recur.
		return nil
	}
	if !c.pending[query] && !c.failed[query] && len(c.stmts)+len(c.pending)+len(c.failed) < maxCachedStmts {
		c.pending[query] = true
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

func (c *stmtCache) prepareLoop() {
	defer close(c.stopped)
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
		}
		c.mu.Lock()
		var queries []string
		for q := range c.pending {
			queries = append(queries, q)
		}
		c.mu.Unlock()
		for _, q := range queries {
			st, err := c.db.PrepareContext(context.Background(), q)
			c.mu.Lock()
			delete(c.pending, q)
			if err == nil {
				c.stmts[q] = st
			} else {
				c.failed[q] = true
			}
			c.mu.Unlock()
		}
	}
}

// close stops the preparing and closes the statements; again, it does
// nothing.
func (c *stmtCache) close() {
	c.once.Do(func() { close(c.done) })
	<-c.stopped
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
}
