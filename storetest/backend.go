package storetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/postgres"
	"github.com/guardian-network/guardian/sqlite"
	"github.com/guardian-network/guardian/sqlstore"
)

// PostgresEnv names the environment variable that holds the URL of a
// PostgreSQL database for tests, such as
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const PostgresEnv = "GUARDIAN_TEST_POSTGRES"

// Backend is a store implementation as the suite drives it.
type Backend struct {
	Name string
	// NewDSN returns the address of a new, empty database that is removed
	// when tb ends, or skips tb if the database is not available.
	NewDSN func(tb testing.TB) string
	// Open opens the store at dsn.
	Open func(ctx context.Context, dsn string, opts sqlstore.Options) (*sqlstore.Store, error)
	// Migrations are the store's embedded migrations.
	Migrations fs.FS
	// DriverName opens dsn with database/sql, going around the store.
	DriverName string
}

// SQLite is the SQLite store, on a file in a temporary directory.
var SQLite = Backend{
	Name: "sqlite",
	NewDSN: func(tb testing.TB) string {
		return filepath.Join(tb.TempDir(), "guardian.db")
	},
	Open:       sqlite.Open,
	Migrations: sqlite.Migrations(),
	DriverName: "sqlite",
}

// Postgres is the PostgreSQL store at $GUARDIAN_TEST_POSTGRES, each
// database a schema of its own.
var Postgres = Backend{
	Name:       "postgres",
	NewDSN:     PostgresDSN,
	Open:       postgres.Open,
	Migrations: postgres.Migrations(),
	DriverName: "pgx",
}

// MustOpen opens a store of the backend on a new database and closes it
// when tb ends. It returns the store and its DSN, with which another
// process (or a later MustOpenDSN) can open the same database.
func MustOpen(tb testing.TB, b Backend, opts sqlstore.Options) (*sqlstore.Store, string) {
	tb.Helper()
	dsn := b.NewDSN(tb)
	return MustOpenDSN(tb, b, dsn, opts), dsn
}

// MustOpenDSN opens a store of the backend at dsn, new or not, and closes
// it when tb ends. Unless opts says otherwise it logs nothing, seals
// documents with [Sealer] and, in a test, keeps a small pool, since many
// tests run at once on a few cores. A benchmark runs alone and gets the
// store's production pool, so that it measures the store as a hub runs it.
func MustOpenDSN(tb testing.TB, b Backend, dsn string, opts sqlstore.Options) *sqlstore.Store {
	tb.Helper()
	if _, bench := tb.(*testing.B); opts.MaxConns == 0 && !bench {
		opts.MaxConns = 4
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.OnReferral == nil {
		opts.OnReferral = nopReferralHook
	}
	if opts.Sealer == nil {
		opts.Sealer = Sealer
	}
	s, err := b.Open(context.Background(), dsn, opts)
	if err != nil {
		tb.Fatalf("open %s store: %v", b.Name, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close %s store: %v", b.Name, err)
		}
	})
	return s
}

// MustOpenSQLite opens an SQLite store on a new file in tb's temporary
// directory, reading the time from now.
func MustOpenSQLite(tb testing.TB, now guardian.Clock) *sqlstore.Store {
	tb.Helper()
	s, _ := MustOpen(tb, SQLite, sqlstore.Options{Now: now})
	return s
}

// MustOpenSQLiteFile opens an SQLite store on the file at path, creating
// it if need be, reading the time from now. Opening the same path again
// reopens the same database.
func MustOpenSQLiteFile(tb testing.TB, path string, now guardian.Clock) *sqlstore.Store {
	tb.Helper()
	return MustOpenDSN(tb, SQLite, path, sqlstore.Options{Now: now})
}

// MustOpenPostgres opens a PostgreSQL store in a new schema, reading the
// time from now, or skips tb if GUARDIAN_TEST_POSTGRES is unset. Use
// [MustOpen] with [Postgres] for its DSN as well.
func MustOpenPostgres(tb testing.TB, now guardian.Clock) *sqlstore.Store {
	tb.Helper()
	s, _ := MustOpen(tb, Postgres, sqlstore.Options{Now: now})
	return s
}

// Opener returns the [Opener] that RunStoreTests needs, on the backend. Its
// stores seal documents with crypto's sealer, as a hub's do, and record
// what their referral hook is given (see [changeLog]).
func (b Backend) Opener() Opener {
	return func(t *testing.T, now guardian.Clock) guardian.Store {
		l := &changeLog{b: b}
		s, dsn := MustOpen(t, b, sqlstore.Options{Now: now, Sealer: suiteSealer, OnReferral: l.hook})
		l.open(t, dsn)
		changeLogs.Store(s, l)
		t.Cleanup(func() { changeLogs.Delete(s) })
		return s
	}
}

// nopReferralHook is the referral hook of stores opened for other
// packages' tests, which check the store's other work; package jobs'
// tests check the real one.
func nopReferralHook(context.Context, *sql.Tx, guardian.ReferralChange) error { return nil }

// changeLogs maps the stores that Opener opened to their change logs.
var changeLogs sync.Map

// changeLog records the changes a store's referral hook is given in a
// table of the store's own database, written in the transaction that made
// the change: a change that rolls back leaves no record, as a job enqueued
// with it would leave none, and only committed changes are read back.
type changeLog struct {
	b   Backend
	dsn string
	db  *sql.DB // outside the store, to read the records

	mu   sync.Mutex
	fail error // the hook's error, while set
}

const changeLogTable = "storetest_referral_changes"

// open creates the log's table in the database at dsn.
func (l *changeLog) open(tb testing.TB, dsn string) {
	tb.Helper()
	l.dsn = dsn
	create := `CREATE TABLE ` + changeLogTable + ` (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, change text NOT NULL)`
	if l.b.DriverName == "sqlite" {
		// A second connection to the file, which waits for the store's
		// writer rather than fail at once.
		dsn = "file:" + dsn + "?_pragma=busy_timeout(10000)"
		create = `CREATE TABLE ` + changeLogTable + ` (seq INTEGER PRIMARY KEY AUTOINCREMENT, change TEXT NOT NULL) STRICT`
	}
	l.db = l.b.rawDB(tb, dsn)
	mustExec(tb, l.db, create)
}

// hook is the store's referral hook.
func (l *changeLog) hook(ctx context.Context, tx *sql.Tx, ch guardian.ReferralChange) error {
	l.mu.Lock()
	fail := l.fail
	l.mu.Unlock()
	if fail != nil {
		return fail
	}
	b, err := json.Marshal(ch)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, l.b.rebind(`INSERT INTO `+changeLogTable+` (change) VALUES (?)`), string(b))
	return err
}

// failWith makes the hook fail with err until it is called with nil.
func (l *changeLog) failWith(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fail = err
}

// committed returns the changes of committed transactions, in order.
func (l *changeLog) committed(tb testing.TB) []guardian.ReferralChange {
	tb.Helper()
	rows, err := l.db.QueryContext(context.Background(), `SELECT change FROM `+changeLogTable+` ORDER BY seq`)
	if err != nil {
		tb.Fatalf("read referral changes: %v", err)
	}
	defer rows.Close()
	var out []guardian.ReferralChange
	for rows.Next() {
		var s string
		var ch guardian.ReferralChange
		if err := rows.Scan(&s); err != nil {
			tb.Fatal(err)
		}
		if err := json.Unmarshal([]byte(s), &ch); err != nil {
			tb.Fatal(err)
		}
		out = append(out, ch)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// PostgresDSN creates a schema with a random name in the database at
// $GUARDIAN_TEST_POSTGRES, drops it when tb ends, and returns a URL whose
// search_path selects it; it skips tb if the variable is unset. Stores and
// connections opened with the URL must be closed before tb's cleanups run
// (register their Close with tb.Cleanup after calling PostgresDSN).
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		if os.Getenv("GUARDIAN_TEST_REQUIRE_ALL") != "" {
			tb.Fatalf("%s is not set (GUARDIAN_TEST_REQUIRE_ALL forbids skipping)", PostgresEnv)
		}
		tb.Skipf("%s is not set", PostgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("%s: %v", PostgresEnv, err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	schema := "guardian_test_" + randomHex(8)
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	// Registered before the store's Close (cleanups run last first), so
	// the schema is dropped after the store has let go of it.
	tb.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			tb.Error(err)
			return
		}
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema: %v", err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// rawDB opens dsn without the store, for tests that must go around it.
func (b Backend) rawDB(tb testing.TB, dsn string) *sql.DB {
	tb.Helper()
	db, err := sql.Open(b.DriverName, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// mustExec runs a statement on db, failing tb on error.
func mustExec(tb testing.TB, db *sql.DB, query string, args ...any) {
	tb.Helper()
	if _, err := db.ExecContext(context.Background(), query, args...); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
}
