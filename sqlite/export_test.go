package sqlite

import (
	"context"

	"github.com/guardian-network/guardian/sqlstore"
)

// OpenTxPerCall opens the store without group commit: one transaction, and
// one fsync, per call. The benchmarks compare it with Open.
func OpenTxPerCall(ctx context.Context, path string, opts sqlstore.Options) (*sqlstore.Store, error) {
	return open(ctx, path, opts, false)
}
