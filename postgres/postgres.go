// Package postgres opens the Guardian store on PostgreSQL, through pgx's
// database/sql driver (github.com/jackc/pgx/v5/stdlib), so that the queries
// of package sqlstore serve both databases.
//
// [Open] is all most callers need: it configures the connection pool,
// checks or migrates the schema from the migrations embedded in this package,
// and returns a [sqlstore.Store].
//
// The one-statement writes (the intake's, an agency's acknowledgement) of
// concurrent requests go to the server together, pipelined in one batch
// with one commit (see pipeline): on a busy hub, one round trip serves
// many requests. pgx prepares statements by name and the server keeps a
// generic plan of each after five runs; the few whose best plan depends on
// a table's size (a queue's claim, a list) run unnamed instead, planned at
// each run (see dialect.Replanned).
//
// Several hub processes may share one database. Lifecycle operations lock
// the report's row (each, one statement here, locks it first), so that a
// finish, an upload and a retract of the same report run one after another
// whichever process serves them; a finish that waited for a row another
// process changed gives way to a transaction, so that it answers with the
// files as they are then; likewise a routing run that waited for another's
// reads, after the lock, what the other wrote. A process remembers the reports it opened while
// they are open, and the writes that follow check them again, so a report
// closed by another process is refused as it should be. Report ids are drawn ahead from the
// reports' sequence in blocks per process, dropped after a second, so ids
// follow the order reports are opened in to within that second. Migrations
// hold an advisory lock, so that processes starting together do not race
// to create the schema.
//
// The schema lives in the first schema of the connection's search_path,
// which the URL can set (…?search_path=hub1): one database can hold several
// hubs, or test runs, side by side.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the migration files embedded in this package.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// Pool settings. A connection is busy only during one statement or
// transaction of a request, so a pool much smaller than the requests in
// flight serves them; more connections only make PostgreSQL switch between
// more backends. (With 16 concurrent clients on 2 cores, the intake benchmark
// ran as fast with 6 or 10 connections as with 16 or 32, and PostgreSQL used
// some 5% less CPU per flow with 10 than with 16 or 32.) Connections are
// recycled now and then so that a database failover or a rebalanced proxy is
// picked up without a restart.
const (
	defaultMaxConns = 10
	connMaxLifetime = 30 * time.Minute
	connMaxIdleTime = 5 * time.Minute
)

// Open connects to the database at url (postgres://user@host/db?...) and
// returns the store. A new database is migrated; see [sqlstore.Options] for
// an older or newer one.
func Open(ctx context.Context, url string, opts sqlstore.Options) (*sqlstore.Store, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	n := opts.MaxConns
	if n <= 0 {
		n = defaultMaxConns
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(connMaxLifetime)
	db.SetConnMaxIdleTime(connMaxIdleTime)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect to %s@%s/%s: %w", cfg.User, cfg.Host, cfg.Database, err)
	}
	s, err := sqlstore.New(ctx, sqlstore.Config{
		Dialect:            dialect{},
		DB:                 db,
		NewStatementWriter: func() sqlstore.StatementWriter { return newPipeline(db, pipelineLanes) },
		Migrations:         Migrations(),
		Options:            opts,
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return s, nil
}

// dialect is PostgreSQL's [sqlstore.Dialect].
type dialect struct{}

// Rebind numbers the placeholders: ? becomes $1, $2, ...
func (dialect) Rebind(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for {
		i := strings.IndexByte(query, '?')
		if i < 0 {
			b.WriteString(query)
			return b.String()
		}
		n++
		b.WriteString(query[:i])
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
		query = query[i+1:]
	}
}

func (dialect) LockRow() string        { return " FOR UPDATE" }
func (dialect) LockSkipLocked() string { return " FOR UPDATE SKIP LOCKED" }

func (dialect) TimeValue(t time.Time) any { return t }

// Replanned runs the statement unnamed (pgx's QueryExecModeCacheDescribe,
// which keeps only its description): the server plans an unnamed statement
// for its arguments at each run, where a named one, as pgx prepares by
// default, keeps a generic plan after five runs. At 200 reports/s the
// routing queue's claim kept the plan it got on an empty store, a hash
// join over every report: 24 ms and 8,000 buffers a claim at 65 thousand
// reports, and the routing fell behind (docs/performance.md, "ninth").
func (dialect) Replanned(args []any) []any {
	return append([]any{pgx.QueryExecModeCacheDescribe}, args...)
}

func (dialect) SchemaMigrationsTable() string {
	return `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL
	)`
}

// LockMigrations takes a transaction-scoped advisory lock, released by the
// commit or rollback, so that no failure path can leave it held on a
// pooled connection. Its key names the schema: hubs in different schemas
// of one database do not wait for each other.
func (dialect) LockMigrations(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx,
		`SELECT pg_advisory_xact_lock(hashtextextended('guardian migrate ' || COALESCE(current_schema(), ''), 0))`)
	return err
}

func (dialect) OneStatementWrites() bool { return true }

// ReportIDs draws from the sequence of reports' identity column, which
// hands out no value twice, drawn or not; the INSERT then overrides the
// identity's own draw.
func (dialect) ReportIDs(ctx context.Context, db *sql.DB, n int) ([]int64, string, error) {
	rows, err := db.QueryContext(ctx, `SELECT nextval(pg_get_serial_sequence('reports', 'id')) FROM generate_series(1, $1)`, n)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	ids := make([]int64, 0, n)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, "", err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	return ids, "OVERRIDING SYSTEM VALUE", nil
}

// SetForeignKeys does nothing: PostgreSQL's ALTER TABLE changes a table in
// place, and no migration needs foreign keys off.
func (dialect) SetForeignKeys(context.Context, *sql.Conn, bool) error { return nil }

// Scrub does nothing: the old row versions that held documents in the clear
// stay in the tables' files until VACUUM FULL rewrites them, which locks
// each table for its duration; docs/operations.md tells the operator when
// to run it.
func (dialect) Scrub(context.Context, *sql.DB) error { return nil }

// CheckForeignKeys does nothing: PostgreSQL checks foreign keys always.
func (dialect) CheckForeignKeys(context.Context, *sql.Tx) error { return nil }

// SQLSTATE codes that FormatError translates; see
// https://www.postgresql.org/docs/current/errcodes-appendix.html.
const (
	uniqueViolation      = "23505"
	serializationFailure = "40001"
	deadlockDetected     = "40P01"
	tooManyConnections   = "53300"
	adminShutdown        = "57P01"
	cannotConnectNow     = "57P03"
)

// FormatError translates PostgreSQL's errors; it is the only place that
// knows SQLSTATE codes.
func (dialect) FormatError(err error) error {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code {
	case uniqueViolation:
		return fmt.Errorf("%w: %w", guardian.Errorf(guardian.ECONFLICT, "Already exists."), err)
	case serializationFailure, deadlockDetected, tooManyConnections, adminShutdown, cannotConnectNow:
		return fmt.Errorf("%w: %w", guardian.Errorf(guardian.EUNAVAILABLE, "The database is busy; try again later."), err)
	}
	return err
}
