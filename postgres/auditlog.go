package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/guardian-network/guardian/sqlstore"
)

var _ sqlstore.AuditDialect = dialect{}

// AuditWatermark implements [sqlstore.AuditDialect] with the barrier of
// migration 0002: every statement that inserts audit events first takes a
// shared advisory lock for the rest of its transaction, before the id
// sequence is drawn from; audit_watermark() takes the same lock
// exclusively, which waits for every such transaction to end, reads the
// largest id, and lets go at once. An id up to it belongs to a transaction
// that has ended, and any transaction that starts inserting later draws a
// larger id.
//
// The integrating transaction runs at READ COMMITTED, so its next statement
// sees every one of those transactions that committed.
func (dialect) AuditWatermark(ctx context.Context, tx *sql.Tx) (int64, error) {
	var w int64
	err := tx.QueryRowContext(ctx, `SELECT audit_watermark()`).Scan(&w)
	return w, err
}

// BeginAuditIntegration implements [sqlstore.AuditDialect]. At REPEATABLE
// READ or SERIALIZABLE (a database's default_transaction_isolation may say
// so) the transaction's snapshot would be taken before the watermark, and
// events committed just before it would be passed over for good.
func (dialect) BeginAuditIntegration(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `SET TRANSACTION ISOLATION LEVEL READ COMMITTED`)
	return err
}

// BulkInsert implements [sqlstore.AuditDialect] with one INSERT of
// unnest()ed arrays, whatever the number of rows: one parameter per column
// rather than per value, parsed and planned once.
func (dialect) BulkInsert(ctx context.Context, tx *sql.Tx, table string, columns []string, values ...any) error {
	params := make([]string, len(values))
	for i, v := range values {
		switch v.(type) {
		case []int64:
			params[i] = fmt.Sprintf("$%d::bigint[]", i+1)
		case [][]byte:
			params[i] = fmt.Sprintf("$%d::bytea[]", i+1)
		default:
			return fmt.Errorf("bulk insert: column of %T", v)
		}
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO "+table+" ("+strings.Join(columns, ", ")+") SELECT * FROM unnest("+strings.Join(params, ", ")+")", values...)
	return err
}
