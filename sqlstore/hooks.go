package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// FinishHook runs inside the transaction that finishes a report, after the
// report is marked finished. An error rolls the finish back. It is how work
// that a finished report makes necessary (the triage job) is enqueued in the
// same transaction: a crash then neither drops nor doubles it.
type FinishHook func(ctx context.Context, tx *sql.Tx, reportID int64) error

// hooks are the store's finish hooks. They live outside [Store] so that
// adding them needs no change to its construction.
var hooks sync.Map // *Store → *[]FinishHook

var hooksMu sync.Mutex

// OnFinish adds fn to the hooks that run in the transaction finishing a
// report. Register hooks before serving: a report finished earlier does
// not run a hook added later.
func (s *Store) OnFinish(fn FinishHook) {
	hooksMu.Lock()
	defer hooksMu.Unlock()
	var fns []FinishHook
	if v, ok := hooks.Load(s); ok {
		fns = *v.(*[]FinishHook)
	}
	fns = append(fns[:len(fns):len(fns)], fn)
	hooks.Store(s, &fns)
}

// finished runs the finish hooks in tx. closeReport calls it for a report
// it has just moved to finished.
func (s *Store) finished(tx *tx, reportID int64) error {
	v, ok := hooks.Load(s)
	if !ok {
		return nil
	}
	for _, fn := range *v.(*[]FinishHook) {
		if err := fn(tx.ctx, tx.tx, reportID); err != nil {
			return fmt.Errorf("finish hook: %w", err)
		}
	}
	return nil
}

// DB returns the database that write transactions run on. Package jobs
// gives it to River, whose jobs live in the same database. On SQLite it is
// the single write connection, which River shares with the store's writer.
func (s *Store) DB() *sql.DB { return s.db }

// ClearFinishHooks removes the store's finish hooks (when the pipeline that
// added them stops).
func (s *Store) ClearFinishHooks() { hooks.Delete(s) }
