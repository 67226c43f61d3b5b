package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/guardian-network/guardian"
)

// DB returns the database that write transactions run on. Package jobs
// gives it to River, whose jobs live in the same database. On SQLite it is
// the single write connection, which River shares with the store's writer.
func (s *Store) DB() *sql.DB { return s.db }

// ReferralHook runs inside the transaction that changes a referral in a way
// that work follows from (see [guardian.ReferralChange]): delivery,
// escalation, a new priority, a decline, a message. It is how the
// notification and escalation jobs are enqueued with the change:
// a crash neither loses nor doubles them. An error rolls the change back.
type ReferralHook func(ctx context.Context, tx *sql.Tx, ch guardian.ReferralChange) error

// errNoReferralHook refuses a change that needs [Options.OnReferral] on a
// store opened without it: the agency would never be notified, nor the
// referral escalated.
var errNoReferralHook = errors.New("store opened without a referral hook: a delivered referral would never be notified or escalated")
