package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/guardian-network/guardian"
)

// FinishHook runs inside the transaction that finishes a report, after the
// report is marked finished; r is the report with its files, without
// documents. An error rolls the finish back. It is how work that a
// finished report makes necessary (the triage job) is enqueued in the same
// transaction: a crash then neither drops nor doubles it.
type FinishHook func(ctx context.Context, tx *sql.Tx, r *guardian.Report) error

// errNoFinishHook refuses a finish on a store opened without
// [Options.OnFinish]: the report would be finished and never triaged.
var errNoFinishHook = errors.New("store opened without a finish hook: a finished report would never be triaged")

// finished runs the finish hook in tx. closeReport calls it for a report it
// has just moved to finished.
func (s *Store) finished(tx *tx, r *guardian.Report) error {
	if s.onFinish == nil {
		return errNoFinishHook
	}
	if err := s.onFinish(tx.ctx, tx.tx, r); err != nil {
		return fmt.Errorf("finish hook: %w", err)
	}
	return nil
}

// DB returns the database that write transactions run on. Package jobs
// gives it to River, whose jobs live in the same database. On SQLite it is
// the single write connection, which River shares with the store's writer.
func (s *Store) DB() *sql.DB { return s.db }

// ReferralHook runs inside the transaction that changes a referral in a way
// that work follows from (see [guardian.ReferralChange]): delivery,
// escalation, a new priority, a decline, a message. It is how the
// notification, escalation and re-routing jobs are enqueued with the change:
// a crash neither loses nor doubles them. An error rolls the change back.
type ReferralHook func(ctx context.Context, tx *sql.Tx, ch guardian.ReferralChange) error

// errNoReferralHook refuses a change that needs [Options.OnReferral] on a
// store opened without it: the agency would never be notified, nor the
// referral escalated.
var errNoReferralHook = errors.New("store opened without a referral hook: a delivered referral would never be notified or escalated")
