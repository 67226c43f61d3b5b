// Package sqlstore implements [guardian.Store] once, on database/sql, for the
// SQL databases Guardian supports. The queries are written a single time with
// ? placeholders; a small [Dialect] supplies what differs between databases
// (placeholder syntax, row locks, time columns, error translation, migration
// locking).
//
// Most callers never construct a [Store] here: they call sqlite.Open or
// postgres.Open, which configure the driver, embed their own migrations and
// return a *Store. Both pass the behaviour suite in package storetest.
//
// # Transactions
//
// Every method that changes state runs in one write transaction that also
// appends its audit event, through a [Writer]: [TxWriter] commits each call
// on its own, and package sqlite supplies one that batches concurrent calls
// into a single commit. The intake's writes (CreateReport, AddFile,
// SetFileDetails, FinishReport and RetractReport) and an agency's
// acknowledgement (AcknowledgeReferral) are the exception where
// the dialect has [Dialect.OneStatementWrites] (PostgreSQL): each is one
// statement holding the change and its event, run outside the Writer by a
// [StatementWriter] (PostgreSQL's sends those of concurrent requests as one
// batch, one round trip and one commit), since there BEGIN, every
// statement and COMMIT are a round trip to the server each (see
// recordedSQL); whatever that statement leaves unchanged goes to the
// transaction, which says why. Reads of several statements run in a
// read-only transaction so that a report and its files come from the same
// snapshot; a read of one statement runs without one (readOne), since a
// statement sees one snapshot by itself and BEGIN and COMMIT would cost a
// round trip each on PostgreSQL, and so does a closed report's, whose rows
// no longer change ([Store.FindReportByID]). What the intake reads of an
// open report before it writes (its owner, key and times) the store
// remembers for the reports it opened, while they are open (openReports):
// a write checks the report again in its own statement, so memory only
// spares a read. The time of a change is read from [Options.Now] once per
// transaction and kept to microseconds, the precision both databases
// store, so that a value set by the store compares equal to the one read
// back.
//
// # Encryption at rest
//
// Report documents (the <report> and <fileDetails> as received and parsed,
// and the assessment triage derives from them) are stored sealed under the
// report's data key by [Options.Sealer], and opened only in memory when read:
// see [Sealer]. What queries need (states, times, reporter, countries,
// priority) is in plain columns, so that no query decrypts.
//
// # Schema versions
//
// [New] checks the version recorded in the schema_migrations table against
// the store's embedded migrations: see [Options.Migrate] and [SchemaError].
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/guardian-network/guardian"
)

// Options configure a store opened by sqlite.Open or postgres.Open.
type Options struct {
	// Migrate applies pending migrations to a database whose schema is
	// older than this binary. Without it such a database is refused with
	// an error wrapping [guardian.ErrSchemaOutdated], so that an upgrade
	// of the schema is a deliberate step ("guardian migrate" or --migrate).
	// A new, empty database is always migrated.
	Migrate bool

	// Now is the store's clock: it stamps changes and decides expiry.
	// Nil means [guardian.SystemClock].
	Now guardian.Clock

	// Logger receives migration progress. Nil means [slog.Default].
	Logger *slog.Logger

	// MaxConns bounds the connection pool: for PostgreSQL all connections
	// (default 10), for SQLite the read connections beside its single
	// writer (default 4).
	MaxConns int

	// OnReferral runs in the transaction of every referral change that
	// work follows from (jobs.Enqueuer's OnReferral: notifications,
	// escalation). It is given at open, so that a store that can deliver a
	// referral cannot forget its notification: without it, a change that
	// needs it (RouteReport delivering a referral, ConfirmReferral,
	// EscalateReferral, ...) fails and changes nothing.
	OnReferral ReferralHook

	// Sealer seals report documents before they are written and opens
	// them when they are read (see [Sealer]). Without it the store refuses
	// every call that writes or reads a document with [ErrNoSealer], and
	// everything else works: commands that never touch documents (audit
	// verify, reporter add, migrate without the key) leave it nil. A store
	// opened with it first seals the documents that an older guardian
	// wrote in the clear, in batches, and checks that it opens the newest
	// sealed report (a wrong master key stops the open).
	Sealer Sealer

	// Migrations replaces the store's embedded migration files (named
	// NNNN_description.sql). Leave it nil: it exists so that tests can
	// play an older or newer guardian against the same database.
	Migrations fs.FS
}

// Config is what a database package hands to [New].
type Config struct {
	Dialect Dialect
	// DB runs migrations; it is also the read pool unless ReadDB is set.
	DB *sql.DB
	// ReadDB, if set, serves the read-only transactions.
	ReadDB *sql.DB
	// NewWriter returns what runs write transactions; nil means a
	// [TxWriter] on DB. It is called after migrations have run, so the
	// Writer may take DB's connections for itself.
	NewWriter func() Writer
	// NewStatementWriter returns what runs the one-statement writes of a
	// dialect with [Dialect.OneStatementWrites]; nil means each runs on
	// DB by itself. Like NewWriter it is called after migrations.
	NewStatementWriter func() StatementWriter
	// Migrations are the embedded NNNN_description.sql files, unless
	// Options.Migrations replaces them.
	Migrations fs.FS
	Options    Options
}

// Store implements [guardian.Store] on database/sql.
type Store struct {
	d          Dialect
	db         *sql.DB
	readDB     *sql.DB
	writer     Writer
	statements StatementWriter
	now        guardian.Clock
	logger     *slog.Logger
	migrations []migration
	onReferral ReferralHook
	sealer     Sealer
	reportIDs  idPool // drawn ahead where the dialect can (CreateReport)
	// openReports spares the intake's reads of an open report
	// (FindOpenReport, SetFileDetails).
	openReports openReports

	// orderFixes counts the finishes whose routing order needed a second
	// statement (see closeReport); RoutingOrderFixes reads it.
	orderFixes atomic.Int64
	// closesRetried counts the closes whose one statement changed nothing
	// (see closeReportStatement); ClosesRetried reads it.
	closesRetried atomic.Int64
	// routingLocksRetried counts the routing runs that found the report's
	// row changed while they waited for it (Store.lockForRouting).
	routingLocksRetried atomic.Int64
	// acknowledgesRetried counts the acknowledgements whose one statement
	// changed nothing (see AcknowledgeReferral).
	acknowledgesRetried atomic.Int64
}

// ClosesRetried returns how many finishes and retractions since the store
// was opened went on to a transaction because their one statement
// ([Dialect.OneStatementWrites]) changed nothing: the report was not open,
// or a change to it was committed while the statement waited for its row.
// It stays 0 on SQLite, and where reporters do not race their own finish.
func (s *Store) ClosesRetried() int64 { return s.closesRetried.Load() }

// RoutingOrderFixes returns how many finishes since the store was opened
// stored [guardian.Report.RoutingOrder] over their UPDATE's own reading of
// it, at the cost of a second statement. It stays 0 unless a reporter set
// a file's details while finishing its report: the storetest suite checks
// that the finish's SQL and the rule agree.
func (s *Store) RoutingOrderFixes() int64 { return s.orderFixes.Load() }

var _ guardian.Store = (*Store)(nil)

// New checks the schema of cfg.DB, migrates it where allowed and returns the
// store. On error it closes the databases in cfg.
func New(ctx context.Context, cfg Config) (_ *Store, err error) {
	s := &Store{
		d:          cfg.Dialect,
		db:         cfg.DB,
		readDB:     cfg.ReadDB,
		statements: soloStatements{db: cfg.DB},
		now:        cfg.Options.Now,
		logger:     cfg.Options.Logger,
		onReferral: cfg.Options.OnReferral,
		sealer:     cfg.Options.Sealer,
	}
	if s.readDB == nil {
		s.readDB = s.db
	}
	if s.now == nil {
		s.now = guardian.SystemClock
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	fsys := cfg.Migrations
	if cfg.Options.Migrations != nil {
		fsys = cfg.Options.Migrations
	}
	if s.migrations, err = parseMigrations(fsys); err != nil {
		return nil, err
	}
	if err := s.checkSchema(ctx, cfg.Options.Migrate); err != nil {
		return nil, err
	}

	// Documents written in the clear are sealed before anyone else
	// writes, one transaction per batch.
	s.writer = TxWriter{DB: s.db, Dialect: s.d}
	if s.sealer != nil {
		if err := s.sealExisting(ctx); err != nil {
			return nil, err
		}
		if err := s.checkSealer(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.NewWriter != nil {
		s.writer = cfg.NewWriter()
	}
	if cfg.NewStatementWriter != nil {
		s.statements = cfg.NewStatementWriter()
	}
	return s, nil
}

// Close stops the writer and closes the databases.
func (s *Store) Close() error {
	var errs []error
	if s.writer != nil {
		errs = append(errs, s.writer.Close())
	}
	if s.statements != nil {
		errs = append(errs, s.statements.Close())
	}
	if s.readDB != s.db {
		errs = append(errs, s.readDB.Close())
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

// Dialect supplies what differs between the SQL databases.
type Dialect interface {
	// Rebind rewrites a query written with ? placeholders into the
	// driver's syntax. Queries never contain ? other than placeholders.
	Rebind(query string) string
	// LockRow is appended to a SELECT of one row to lock it for the rest
	// of the transaction. (Lifecycle operations on a report need none:
	// each starts with an UPDATE of the report, which locks it.)
	// LockSkipLocked does the same for a batch, passing over rows another
	// transaction holds. Both are empty where a transaction already holds
	// the database's only write lock.
	LockRow() string
	LockSkipLocked() string
	// TimeValue converts a time into the value stored in a time column.
	// Times read back are scanned by [Store] from either a time.Time or
	// an int64 of microseconds since the Unix epoch.
	TimeValue(t time.Time) any
	// Replanned returns a statement's args with what makes the database
	// plan it afresh at each run, for those args and the tables as they
	// are then, where it would otherwise keep a plan made once for the
	// connection. PostgreSQL keeps a generic plan of a prepared statement
	// after five runs: made when the tables were empty (a new store, or
	// one without statistics), a plan that reads a whole table can look
	// cheapest and then stay while the table grows. It is for the
	// statements whose best plan depends on the tables' size (a queue's
	// claim, a list in an order with a limit); planning costs each run a
	// little. SQLite plans without statistics the same way at any size:
	// args unchanged.
	Replanned(args []any) []any
	// OneStatementWrites reports whether a write of several changes can be
	// one statement, a WITH clause holding INSERT, UPDATE and DELETE,
	// committed by itself outside the [Writer]. So it is on PostgreSQL,
	// where every statement is a round trip to the server and BEGIN and
	// COMMIT two more: the hot writes of the intake, and an agency's
	// acknowledgement, are then one statement each (see writeStatement).
	// Not on SQLite, whose WITH holds only SELECTs, and whose writer
	// commits callers in groups.
	OneStatementWrites() bool
	// ReportIDs draws n ids for reports to come, ahead of their INSERTs,
	// which then give them, with the words override after the INSERT's
	// column list (PostgreSQL: OVERRIDING SYSTEM VALUE). A report's
	// documents are sealed bound to its id: an id known before the INSERT
	// saves an UPDATE of the new row. It returns no ids where only the
	// INSERT can draw one (SQLite, whose single writer makes the second
	// statement cheap). A dialect that draws ids ahead has
	// OneStatementWrites: the INSERT is one statement with its audit event.
	ReportIDs(ctx context.Context, db *sql.DB, n int) (ids []int64, override string, err error)
	// FormatError translates a driver error into a [*guardian.Error] where
	// one applies (a unique violation is ECONFLICT; a busy database is
	// EUNAVAILABLE), keeping the driver error in the chain for the log.
	// Other errors are returned unchanged.
	FormatError(err error) error
	// SchemaMigrationsTable is the CREATE TABLE IF NOT EXISTS statement of
	// schema_migrations(version, name, applied_at).
	SchemaMigrationsTable() string
	// LockMigrations is called first in every transaction that reads or
	// changes the schema, and makes it the only one until it ends. It may
	// do nothing where a write transaction already excludes all others.
	LockMigrations(ctx context.Context, tx *sql.Tx) error
	// SetForeignKeys turns the enforcement of foreign keys on conn off or
	// back on, outside any transaction. The migration runner turns it off
	// around a migration whose first line is [noForeignKeysMarker] (one
	// that rebuilds tables others refer to, as SQLite's ALTER TABLE
	// requires), and CheckForeignKeys, called in that migration's
	// transaction before it commits, fails if a row breaks a foreign key.
	// Both may do nothing where ALTER TABLE needs no such care.
	SetForeignKeys(ctx context.Context, conn *sql.Conn, on bool) error
	CheckForeignKeys(ctx context.Context, tx *sql.Tx) error
	// Scrub rewrites the database's files so that no free page or log
	// keeps what was overwritten, once documents stored in the clear have
	// been sealed. It runs outside any transaction, with no other writer.
	// It may do nothing where the database's own files are out of the
	// store's reach (PostgreSQL: the operator runs VACUUM FULL).
	Scrub(ctx context.Context, db *sql.DB) error
}

// Writer runs write transactions.
type Writer interface {
	// Write runs fn in a write transaction and commits it. It returns fn's
	// error (having rolled back fn's changes) or the commit's; nil means
	// the changes are committed and durable. fn must use the ctx it is
	// given, which may differ from the caller's.
	Write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error
	// Close stops the writer; later calls to Write fail.
	Close() error
}

// StatementWriter runs the one-statement writes of a dialect with
// [Dialect.OneStatementWrites] (see [Store.writeStatement]).
type StatementWriter interface {
	// WriteStatement runs query, in the driver's placeholder syntax, and
	// scans the row it returns into dest; no row is sql.ErrNoRows. The
	// statement may be committed together with other callers' in one
	// transaction, but never fails because of theirs. nil means it is
	// committed and durable; an error from the database comes as the
	// driver returned it. key is the report the statement writes:
	// statements of one report may be run one after another, in the order
	// they came, so that two transactions never wait for each other's
	// rows of one report.
	WriteStatement(ctx context.Context, key int64, query string, args []any, dest ...any) error
	// Close stops the writer; later calls fail.
	Close() error
}

// soloStatements is the plain [StatementWriter]: each statement on db, a
// transaction by itself.
type soloStatements struct{ db *sql.DB }

func (w soloStatements) WriteStatement(ctx context.Context, _ int64, query string, args []any, dest ...any) error {
	return w.db.QueryRowContext(ctx, query, args...).Scan(dest...)
}

func (soloStatements) Close() error { return nil }

// TxWriter is the plain [Writer]: one database transaction per call.
type TxWriter struct {
	DB      *sql.DB
	Dialect Dialect // translates the errors of BEGIN and COMMIT
}

// Write implements [Writer].
func (w TxWriter) Write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", w.Dialect.FormatError(err))
	}
	defer tx.Rollback()
	if err := fn(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", w.Dialect.FormatError(err))
	}
	return nil
}

// Close implements [Writer]; the database belongs to the store.
func (TxWriter) Close() error { return nil }

// tx is a transaction as the queries see it: the dialect applied, the
// driver's errors translated, and the time of the transaction fixed.
type tx struct {
	// tx is the transaction; nil in a read of one statement (readOne).
	tx *sql.Tx
	// on is what the statements run on: tx, or readOne's read pool.
	on  queryer
	ctx context.Context
	d   Dialect
	now time.Time
}

// queryer runs statements: a transaction, or a pool outside any.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (tx *tx) exec(query string, args ...any) (sql.Result, error) {
	query = tx.d.Rebind(query)
	res, err := tx.on.ExecContext(tx.ctx, query, args...)
	return res, tx.d.FormatError(err)
}

func (tx *tx) query(query string, args ...any) (*sql.Rows, error) {
	query = tx.d.Rebind(query)
	rows, err := tx.on.QueryContext(tx.ctx, query, args...)
	return rows, tx.d.FormatError(err)
}

// queryRow runs a query that returns at most one row and scans it; no row
// is sql.ErrNoRows.
func (tx *tx) queryRow(query string, args []any, dest ...any) error {
	query = tx.d.Rebind(query)
	return tx.d.FormatError(tx.on.QueryRowContext(tx.ctx, query, args...).Scan(dest...))
}

// t converts a time into its column value.
func (tx *tx) t(t time.Time) any { return tx.d.TimeValue(t) }

// clock returns the store's time, as stored.
func (s *Store) clock() time.Time {
	return s.now().UTC().Truncate(time.Microsecond)
}

// update runs fn in a write transaction.
func (s *Store) update(ctx context.Context, fn func(tx *tx) error) error {
	return s.writer.Write(ctx, func(ctx context.Context, sqlTx *sql.Tx) error {
		return fn(&tx{tx: sqlTx, on: sqlTx, ctx: ctx, d: s.d, now: s.clock()})
	})
}

// writeStatement runs one statement that writes report key, through the
// [StatementWriter]: committed by itself or with other requests' in one
// transaction (on PostgreSQL, durable when it returns, with
// synchronous_commit on), and scans the row it returns into dest; no row
// is sql.ErrNoRows. Only for the dialects with
// [Dialect.OneStatementWrites].
func (s *Store) writeStatement(ctx context.Context, key int64, query string, args []any, dest ...any) error {
	err := s.statements.WriteStatement(ctx, key, s.d.Rebind(query), args, dest...)
	return s.d.FormatError(err)
}

// queryRow runs a read of one statement that returns at most one row, on
// the read pool and outside any transaction, and scans the row; no row is
// sql.ErrNoRows.
func (s *Store) queryRow(ctx context.Context, query string, args []any, dest ...any) error {
	err := s.readDB.QueryRowContext(ctx, s.d.Rebind(query), args...).Scan(dest...)
	return s.d.FormatError(err)
}

// readOne runs fn, a read of one statement, on the read pool outside any
// transaction: a statement sees one snapshot by itself, and on PostgreSQL
// a transaction's BEGIN and COMMIT would be two more round trips. A read
// of several statements, which must see one snapshot, goes to view.
func (s *Store) readOne(ctx context.Context, fn func(tx *tx) error) error {
	return fn(&tx{on: s.readDB, ctx: ctx, d: s.d, now: s.clock()})
}

// view runs fn in a read-only transaction, so that its queries see one
// snapshot of the database. A single statement needs none: see queryRow
// and readOne.
func (s *Store) view(ctx context.Context, fn func(tx *tx) error) error {
	sqlTx, err := s.readDB.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return fmt.Errorf("begin: %w", s.d.FormatError(err))
	}
	defer sqlTx.Rollback()
	if err := fn(&tx{tx: sqlTx, on: sqlTx, ctx: ctx, d: s.d, now: s.clock()}); err != nil {
		return err
	}
	return sqlTx.Commit()
}
