// Package sqlite opens the Guardian store on an SQLite database file, through
// the pure-Go driver modernc.org/sqlite (no cgo, so the binary builds and
// cross-compiles anywhere).
//
// [Open] is all most callers need: it configures the connections for
// durability, checks or migrates the schema from the migrations embedded in
// this package, and returns a [sqlstore.Store]. SQLite suits a single hub
// process; several processes share PostgreSQL instead (package postgres).
//
// # Connections
//
// SQLite allows one writer at a time. Rather than let connections queue on
// the file lock (and fail with SQLITE_BUSY when the wait runs out), the store
// writes through a single connection that its own goroutine owns, and reads
// through a separate pool of query-only connections, which WAL mode lets run
// beside the writer. The writer commits the transactions of concurrent
// callers together (group commit), so that one fsync acknowledges many: each
// caller's work runs in a SAVEPOINT of the shared transaction, so a failure
// undoes only that caller's part, and nobody is answered before the commit
// is durable: the writer syncs the WAL itself after each commit (the write
// connection runs synchronous=NORMAL, so that the job queue's own statements
// on it do not each wait for a sync; group.go). A checkpointer beside the
// writer, on a connection of its own, copies the WAL into the database file,
// so that the writer does not stop for it inside a commit; the writer only
// completes a checkpoint between batches when the WAL has grown long, so
// that it starts over. Every connection keeps the statements it runs
// prepared, by their text (stmtcache.go): the driver would otherwise parse
// each one, the job queue's as well as the store's, at every call; a LIMIT
// or OFFSET parameter is written +? so that a new value does not make
// SQLite prepare the statement again (limits.go).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

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

// defaultReadConns is the size of the read pool when Options.MaxConns is 0.
const defaultReadConns = 4

// busyTimeout is how long a connection waits for a lock that another holds.
// Within one process the single writer means this is only met while a
// checkpoint or another process (a backup, the sqlite3 shell) holds the
// file; waiting beats failing the request.
const busyTimeout = 10 * time.Second

// Open opens (creating if need be) the database file at path and returns
// the store. A new database is migrated; see [sqlstore.Options] for an older
// or newer one.
func Open(ctx context.Context, path string, opts sqlstore.Options) (*sqlstore.Store, error) {
	return open(ctx, path, opts, true)
}

// open is Open, with group commit optional so that a benchmark can show
// what it gains.
func open(ctx context.Context, path string, opts sqlstore.Options, groupCommit bool) (*sqlstore.Store, error) {
	db, readDB, err := connect(ctx, path, opts.MaxConns, groupCommit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	cfg := sqlstore.Config{
		Dialect:    dialect{},
		DB:         db,
		ReadDB:     readDB,
		Migrations: Migrations(),
		Options:    opts,
	}
	if groupCommit {
		cfg.NewWriter = func() sqlstore.Writer { return newGroupWriter(db, path) }
	}
	s, err := sqlstore.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return s, nil
}

// connect opens the write connection and the read pool of readConns
// connections (0 for the default) on the file at path. With groupCommit,
// the write connection leaves syncing the WAL to the group writer.
func connect(ctx context.Context, path string, readConns int, groupCommit bool) (db, readDB *sql.DB, err error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.Contains(path, "?") {
		return nil, nil, fmt.Errorf("%q is not a database file path", path)
	}
	synchronous := "FULL"
	if groupCommit {
		synchronous = "NORMAL"
	}
	params := connParams()
	writeParams := url.Values{
		// WAL lets readers work beside the writer on a snapshot, and a
		// commit append to the log instead of rewriting pages. The mode
		// is stored in the file; setting it on the writer is enough.
		"_journal_mode": {"WAL"},
		// FULL syncs the WAL at every commit: a successful return means the
		// change survives a power cut, as the Store contract promises. WAL's
		// usual NORMAL would lose the last commits. With group commit the
		// group writer syncs the WAL itself after each of its commits
		// (NORMAL): River shares the connection, and each of its own
		// statements (fetching jobs, completing them) is a transaction, so
		// FULL held the one connection, which every write waits for,
		// through a sync per statement: a third of the writer's time at
		// 160 reports/s. Those commits are now made durable by the next
		// group commit's sync, a few milliseconds later at most, and in
		// order, since the WAL is a log: a crash can lose a job's fetch or
		// completion, which River then runs again, never a caller's write.
		"_synchronous": {synchronous},
		// BEGIN IMMEDIATE takes the write lock at the start of a
		// transaction, so a transaction that read first cannot fail to
		// upgrade its lock halfway (SQLITE_BUSY) when another writer came
		// first.
		"_txlock": {"immediate"},
	}
	for k, v := range params {
		writeParams[k] = v
	}
	if groupCommit {
		// The group writer's checkpointer moves the WAL into the database
		// from a connection of its own (see checkpointEvery), so that the
		// one writer does not stop to checkpoint inside a commit.
		// After a burst, the WAL file is cut back to 64 MiB when it
		// starts over, rather than kept at its largest.
		writeParams["_pragma"] = append(slices.Clone(params["_pragma"]), "wal_autocheckpoint = 0", "journal_size_limit = 67108864")
	}
	// query_only: the read pool cannot write, even by mistake.
	params.Set("_query_only", "1")

	if err := createPrivate(path); err != nil {
		return nil, nil, err
	}
	db = openDB(path + "?" + writeParams.Encode())
	// One connection: the only writer. It is opened first, so that WAL
	// mode is set before any reader connects.
	db.SetMaxOpenConns(1)
	if err := pingBusy(ctx, db); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	readDB = openDB(path + "?" + params.Encode())
	if readConns <= 0 {
		readConns = defaultReadConns
	}
	readDB.SetMaxOpenConns(readConns)
	readDB.SetMaxIdleConns(readConns)
	return db, readDB, nil
}

// connParams are the settings of every connection to the file: the
// writer's, the read pool's and the group writer's checkpointer's.
func connParams() url.Values {
	return url.Values{
		// A lock held by a backup or shell: wait rather than fail.
		"_busy_timeout": {fmt.Sprint(busyTimeout.Milliseconds())},
		// The schema's REFERENCES are checked only when this is on, and
		// SQLite's default is off, per connection.
		"_foreign_keys": {"1"},
		// Temporary files in memory. The group writer runs each caller's
		// work in a savepoint, whose statement journal (the pages as they
		// were, to roll back to) otherwise spills to a file past 64 KiB:
		// a write system call per page changed, 5% of the hub's processor
		// time at 140 reports/s. The journal lives for one commit, so its
		// size is bounded by the batch.
		"_pragma": {"temp_store = memory"},
	}
}

// pingBusy opens the write connection, retrying while the database is
// locked. Switching a new file to WAL mode needs a lock that SQLite does not
// wait for with the busy timeout, so hubs (or tests) that open one new
// database at the same moment could otherwise fail with SQLITE_BUSY.
func pingBusy(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		err := db.PingContext(ctx)
		var e *sqlite.Error
		if err == nil || !errors.As(err, &e) || e.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// createPrivate creates an empty database file at path, readable and
// writable by its owner only, unless the file exists. SQLite would create it
// with mode 0644 (less the umask); the -wal and -shm files it makes beside
// the database take the database file's mode, so they are private too.
// (An empty file is a new database to SQLite.) The mode of an existing file
// is left alone: the hub refuses to start on one others may read.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return f.Close()
}

// dialect is SQLite's [sqlstore.Dialect].
type dialect struct{}

func (dialect) Rebind(query string) string { return query }

// The single writer holds the database's only write lock for the whole
// transaction: no row needs locking.
func (dialect) LockRow() string        { return "" }
func (dialect) LockSkipLocked() string { return "" }

// Times are INTEGER microseconds since the Unix epoch (see the schema).
func (dialect) TimeValue(t time.Time) any { return t.UnixMicro() }

// Replanned implements sqlstore.Dialect: SQLite's planner does not change
// its mind with a table's size (the store runs no ANALYZE).
func (dialect) Replanned(args []any) []any { return args }

func (dialect) SchemaMigrationsTable() string {
	return `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`
}

// LockMigrations does nothing: schema transactions run on the write
// connection, whose BEGIN IMMEDIATE excludes every other writer.
func (dialect) LockMigrations(context.Context, *sql.Tx) error { return nil }

func (dialect) OneStatementWrites() bool { return false }

func (dialect) ReportIDs(context.Context, *sql.DB, int) ([]int64, string, error) { return nil, "", nil }

// SetForeignKeys sets PRAGMA foreign_keys, which SQLite ignores inside a
// transaction: a migration that rebuilds a table others refer to needs it
// off (https://sqlite.org/lang_altertable.html#otheralter), since dropping
// the old table would otherwise delete or refuse its children.
func (dialect) SetForeignKeys(ctx context.Context, conn *sql.Conn, on bool) error {
	v := "OFF"
	if on {
		v = "ON"
	}
	_, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = "+v)
	return err
}

// Scrub runs VACUUM, which rebuilds the database file from its live rows
// (the free pages of dropped tables and rewritten rows go), and then
// truncates the WAL, whose frames hold copies of pages as they were.
func (dialect) Scrub(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, "VACUUM"); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	var busy, log, checkpointed int
	if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &log, &checkpointed); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if busy != 0 {
		return errors.New("checkpoint: a reader kept the WAL from being truncated")
	}
	return nil
}

// CheckForeignKeys runs PRAGMA foreign_key_check, which lists the rows that
// break a foreign key, and fails if there is one.
func (dialect) CheckForeignKeys(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return err
		}
		return fmt.Errorf("row %d of %s refers to a missing row of %s", rowid.Int64, table, parent)
	}
	return rows.Err()
}

// FormatError translates SQLite's errors; it is the only place that knows
// SQLite's result codes.
func (dialect) FormatError(err error) error {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("%w: %w", guardian.Errorf(guardian.ECONFLICT, "Already exists."), err)
	}
	switch e.Code() & 0xff { // the primary code of an extended one
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return fmt.Errorf("%w: %w", guardian.Errorf(guardian.EUNAVAILABLE, "The database is busy; try again later."), err)
	}
	return err
}
