package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strconv"
	"strings"

	"github.com/guardian-network/guardian"
)

// SchemaError says why a database's schema was refused. It wraps
// [guardian.ErrSchemaOutdated] or [guardian.ErrSchemaTooNew], and carries the
// versions for messages such as "schema version 3, this guardian needs 5".
type SchemaError struct {
	Current int // the version recorded in the database
	Latest  int // the version of this binary's last migration
	Err     error
}

func (e *SchemaError) Error() string {
	if e.Current > e.Latest {
		return fmt.Sprintf("schema version %d, this guardian knows up to %d: %v", e.Current, e.Latest, e.Err)
	}
	return fmt.Sprintf("schema version %d, this guardian needs %d: %v", e.Current, e.Latest, e.Err)
}

func (e *SchemaError) Unwrap() error { return e.Err }

// migration is one NNNN_description.sql file.
type migration struct {
	version int
	name    string
	sql     string
	// noForeignKeys says the migration runs with foreign keys off: its
	// first line is noForeignKeysMarker.
	noForeignKeys bool
}

// noForeignKeysMarker, as the first line of a migration, has it run on a
// connection whose foreign key enforcement is off (see
// [Dialect.SetForeignKeys]), and checked by [Dialect.CheckForeignKeys] before
// it commits. SQLite needs this to rebuild a table that others refer to
// (https://sqlite.org/lang_altertable.html#otheralter); it cannot be done
// inside the migration, since SQLite ignores PRAGMA foreign_keys in a
// transaction.
const noForeignKeysMarker = "-- guardian:foreign-keys-off"

// parseMigrations reads the .sql files at the root of fsys. Their numbers
// must run 1, 2, 3, ... without gaps, so that a missing or doubled file is
// caught at start-up rather than skipped.
func parseMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	ms := make([]migration, 0, len(names))
	for _, name := range names { // Glob sorts, and the numbers are zero-padded
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v != len(ms)+1 {
			return nil, fmt.Errorf("migration %s: want a name starting %04d_", name, len(ms)+1)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read migration: %w", err)
		}
		first, _, _ := strings.Cut(string(b), "\n")
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(path.Base(name), ".sql"), sql: string(b),
			noForeignKeys: strings.TrimSpace(first) == noForeignKeysMarker})
	}
	if len(ms) == 0 {
		return nil, errors.New("no migrations")
	}
	return ms, nil
}

// LatestVersion returns the schema version this binary's migrations lead to.
func (s *Store) LatestVersion() int { return len(s.migrations) }

// SchemaVersion returns the version recorded in the database and the one
// this binary's migrations lead to.
func (s *Store) SchemaVersion(ctx context.Context) (current, latest int, err error) {
	current, err = s.currentVersion(ctx, s.readDB)
	return current, s.LatestVersion(), err
}

// querier is what currentVersion needs of a *sql.DB, *sql.Conn or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) currentVersion(ctx context.Context, q querier) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", s.d.FormatError(err))
	}
	return v, nil
}

// checkSchema compares the database's schema with the migrations and
// migrates it if it is new, or older and migrate is set.
//
// Every transaction here starts with the dialect's migration lock and reads
// the version again under it, so of several processes opening one new
// database together, one creates the schema and the others then find it.
func (s *Store) checkSchema(ctx context.Context, migrate bool) error {
	var current int
	// Creating the bookkeeping table first makes "no table" and "no
	// migration yet" the same case: version 0, a new database.
	err := s.schemaTx(ctx, false, func(tx *sql.Tx) (err error) {
		if _, err := tx.ExecContext(ctx, s.d.SchemaMigrationsTable()); err != nil {
			return fmt.Errorf("create schema_migrations: %w", s.d.FormatError(err))
		}
		current, err = s.currentVersion(ctx, tx)
		return err
	})
	if err != nil {
		return err
	}
	if current == 0 {
		// A new database gets every migration in one transaction, so that
		// a process opening it at the same moment finds either nothing
		// (and waits for the lock) or the whole schema, never a partial
		// one that it would refuse as outdated.
		noForeignKeys := false
		for _, m := range s.migrations {
			noForeignKeys = noForeignKeys || m.noForeignKeys
		}
		err := s.schemaTx(ctx, noForeignKeys, func(tx *sql.Tx) error {
			v, err := s.currentVersion(ctx, tx)
			if err != nil || v != 0 {
				current = v
				return err
			}
			for _, m := range s.migrations {
				if err := s.applyMigration(ctx, tx, m); err != nil {
					return err
				}
			}
			current = len(s.migrations)
			return nil
		})
		if err != nil {
			return err
		}
	}
	switch latest := s.LatestVersion(); {
	case current > latest:
		return &SchemaError{Current: current, Latest: latest, Err: guardian.ErrSchemaTooNew}
	case current == latest:
		return nil
	case current > 0 && !migrate:
		return &SchemaError{Current: current, Latest: latest, Err: guardian.ErrSchemaOutdated}
	}
	// Each migration in its own transaction, so that a failure leaves the
	// database at the last version that succeeded.
	for _, m := range s.migrations[current:] {
		err := s.schemaTx(ctx, m.noForeignKeys, func(tx *sql.Tx) error {
			if v, err := s.currentVersion(ctx, tx); err != nil || v >= m.version {
				return err // nil if another process applied it meanwhile
			}
			return s.applyMigration(ctx, tx, m)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// applyMigration runs one migration in tx and records it.
func (s *Store) applyMigration(ctx context.Context, tx *sql.Tx, m migration) error {
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, s.d.FormatError(err))
	}
	_, err := tx.ExecContext(ctx, s.d.Rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
		m.version, m.name, s.d.TimeValue(s.clock()))
	if err != nil {
		return fmt.Errorf("migration %s: record: %w", m.name, s.d.FormatError(err))
	}
	s.logger.InfoContext(ctx, "applied migration", slog.Int("version", m.version), slog.String("name", m.name))
	return nil
}

// schemaTx runs fn in a transaction on the migration connection that holds
// the dialect's migration lock. With noForeignKeys, the connection's foreign
// keys are off for the transaction, and checked before it commits.
func (s *Store) schemaTx(ctx context.Context, noForeignKeys bool, fn func(tx *sql.Tx) error) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", s.d.FormatError(err))
	}
	defer conn.Close()
	if noForeignKeys {
		if err := s.d.SetForeignKeys(ctx, conn, false); err != nil {
			return fmt.Errorf("turn foreign keys off: %w", s.d.FormatError(err))
		}
		defer func() {
			// A connection left without foreign keys must not go back
			// to the pool: if they cannot be turned on again, it is
			// discarded.
			if ferr := s.d.SetForeignKeys(context.WithoutCancel(ctx), conn, true); ferr != nil {
				conn.Raw(func(any) error { return driver.ErrBadConn })
				err = errors.Join(err, fmt.Errorf("turn foreign keys on: %w", s.d.FormatError(ferr)))
			}
		}()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", s.d.FormatError(err))
	}
	defer tx.Rollback()
	if err := s.d.LockMigrations(ctx, tx); err != nil {
		return fmt.Errorf("lock migrations: %w", s.d.FormatError(err))
	}
	if err := fn(tx); err != nil {
		return err
	}
	if noForeignKeys {
		if err := s.d.CheckForeignKeys(ctx, tx); err != nil {
			return fmt.Errorf("check foreign keys: %w", s.d.FormatError(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", s.d.FormatError(err))
	}
	return nil
}
