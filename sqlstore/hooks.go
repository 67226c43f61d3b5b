package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
)

// FinishHook runs inside the transaction that finishes a report, after the
// report is marked finished. An error rolls the finish back. It is how work
// that a finished report makes necessary (the triage job) is enqueued in the
// same transaction: a crash then neither drops nor doubles it.
type FinishHook func(ctx context.Context, tx *sql.Tx, reportID int64) error

// OnFinish adds fn to the hooks that run in the transaction finishing a
// report. Register hooks before serving: a report finished earlier does
// not run a hook added later.
func (s *Store) OnFinish(fn FinishHook) {
	s.hooksMu.Lock()
	defer s.hooksMu.Unlock()
	// A new slice each time, so that finished can range over the one it
	// loaded while hooks are added.
	fns := append(s.finishHooks[:len(s.finishHooks):len(s.finishHooks)], fn)
	s.finishHooks = fns
}

// finished runs the finish hooks in tx. closeReport calls it for a report
// it has just moved to finished.
func (s *Store) finished(tx *tx, reportID int64) error {
	for _, fn := range s.currentFinishHooks() {
		if err := fn(tx.ctx, tx.tx, reportID); err != nil {
			return fmt.Errorf("finish hook: %w", err)
		}
	}
	return nil
}

// currentFinishHooks returns the hooks registered so far.
func (s *Store) currentFinishHooks() []FinishHook {
	s.hooksMu.Lock()
	defer s.hooksMu.Unlock()
	return s.finishHooks
}

// DB returns the database that write transactions run on. Package jobs
// gives it to River, whose jobs live in the same database. On SQLite it is
// the single write connection, which River shares with the store's writer.
func (s *Store) DB() *sql.DB { return s.db }

// ClearFinishHooks removes the store's finish hooks (when the pipeline that
// added them stops).
func (s *Store) ClearFinishHooks() {
	s.hooksMu.Lock()
	defer s.hooksMu.Unlock()
	s.finishHooks = nil
}
