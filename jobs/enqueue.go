package jobs

import (
	"database/sql"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
)

// Enqueuer inserts the jobs of a referral change (notifications, digests,
// escalations: see [ReferralJobs]) in the transaction of the change. It is
// River's insert-only client: it needs no database of its own, only the
// transaction it is handed, so it exists before the store is opened and is
// given to it as sqlstore.Options.OnReferral ([Enqueuer.OnReferral]). The
// workers that run the jobs ([Pipeline]) start later, on the store's
// database.
type Enqueuer struct {
	client *river.Client[*sql.Tx]
}

// NewEnqueuer returns an Enqueuer for River's driver of the store's
// database kind, built without a database: riversqlite.New(nil) or
// riverdatabasesql.New(nil).
func NewEnqueuer(driver riverdriver.Driver[*sql.Tx]) (*Enqueuer, error) {
	client, err := river.NewClient(driver, &river.Config{})
	if err != nil {
		return nil, fmt.Errorf("river insert-only client: %w", err)
	}
	return &Enqueuer{client: client}, nil
}
