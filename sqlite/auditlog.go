package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/guardian-network/guardian/sqlstore"
)

var _ sqlstore.AuditDialect = dialect{}

// AuditWatermark implements [sqlstore.AuditDialect]. The integrating
// transaction runs on the single write connection, so no other transaction
// holds an uncommitted event: every id up to the largest is settled.
// Events that an earlier caller's work added in the same group commit are
// in the same transaction, and commit or roll back with the integration.
func (dialect) AuditWatermark(ctx context.Context, tx *sql.Tx) (int64, error) {
	var w int64
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM audit_events`).Scan(&w)
	return w, err
}

// BeginAuditIntegration implements [sqlstore.AuditDialect]: an SQLite
// write transaction sees its own writes and excludes all others.
func (dialect) BeginAuditIntegration(context.Context, *sql.Tx) error { return nil }

// insertChunk is how many rows one INSERT of BulkInsert carries: far below
// SQLite's limit of 32766 parameters, and large enough that the statement
// overhead no longer shows.
const insertChunk = 500

// BulkInsert implements [sqlstore.AuditDialect] with multi-row INSERTs of
// insertChunk rows, one statement prepared once for all full chunks.
func (dialect) BulkInsert(ctx context.Context, tx *sql.Tx, table string, columns []string, values ...any) error {
	n, value, err := columnValues(values)
	if err != nil {
		return err
	}
	stmtFor := func(rows int) string {
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES ")
		tuple := "(?" + strings.Repeat(", ?", len(columns)-1) + ")"
		for i := range rows {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tuple)
		}
		return b.String()
	}
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, min(n, insertChunk)*len(columns))
	for start := 0; start < n; start += insertChunk {
		end := min(start+insertChunk, n)
		args = args[:0]
		for i := start; i < end; i++ {
			for c := range columns {
				args = append(args, value(c, i))
			}
		}
		if end-start < insertChunk {
			_, err = tx.ExecContext(ctx, stmtFor(end-start), args...)
		} else {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, stmtFor(insertChunk)); err != nil {
					return err
				}
			}
			_, err = full.ExecContext(ctx, args...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// columnValues checks BulkInsert's column slices and returns their length
// and an accessor.
func columnValues(values []any) (int, func(c, i int) any, error) {
	n := -1
	for _, v := range values {
		var l int
		switch v := v.(type) {
		case []int64:
			l = len(v)
		case [][]byte:
			l = len(v)
		default:
			return 0, nil, fmt.Errorf("bulk insert: column of %T", v)
		}
		if n >= 0 && l != n {
			return 0, nil, errors.New("bulk insert: columns of different lengths")
		}
		n = l
	}
	return n, func(c, i int) any {
		switch v := values[c].(type) {
		case []int64:
			return v[i]
		default:
			return v.([][]byte)[i]
		}
	}, nil
}
