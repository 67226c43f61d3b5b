package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
)

// groupTest is a group writer on a database with one table, t(x).
type groupTest struct {
	w  *groupWriter
	db *sql.DB
}

func newGroupTest(t *testing.T) *groupTest {
	t.Helper()
	path := filepath.Join(t.TempDir(), "g.db")
	db, err := sql.Open("sqlite", path+"?_txlock=immediate&_journal_mode=WAL&_synchronous=NORMAL")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (x INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	g := &groupTest{w: newGroupWriter(db, path), db: db}
	t.Cleanup(func() {
		g.w.Close()
		db.Close()
	})
	return g
}

// hold occupies the writer until release is called, so that the writes
// queued meanwhile make one batch.
func (g *groupTest) hold(t *testing.T) (release func()) {
	held, releasec := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- g.w.Write(t.Context(), func(context.Context, *sql.Tx) error {
			close(held)
			<-releasec
			return nil
		})
	}()
	<-held
	return func() {
		close(releasec)
		if err := <-done; err != nil {
			t.Errorf("holding write: %v", err)
		}
	}
}

// waitQueued waits until n writes are queued.
func (g *groupTest) waitQueued(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(g.w.queue) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", len(g.w.queue), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func (g *groupTest) rows(t *testing.T) []int {
	t.Helper()
	rows, err := g.db.Query(`SELECT x FROM t ORDER BY x`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var xs []int
	for rows.Next() {
		var x int
		if err := rows.Scan(&x); err != nil {
			t.Fatal(err)
		}
		xs = append(xs, x)
	}
	return xs
}

func insert(x int) func(ctx context.Context, tx *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO t (x) VALUES (?)`, x)
		return err
	}
}

// TestGroupCommitFailureIsolated: in one batch, a caller whose work fails
// after writing loses only its own writes; the others commit, together.
func TestGroupCommitFailureIsolated(t *testing.T) {
	g := newGroupTest(t)
	release := g.hold(t)
	const n = 10
	errFail := errors.New("refused")
	var (
		wg   sync.WaitGroup
		errs [n]error
		txs  [n]*sql.Tx
	)
	for i := range n {
		wg.Go(func() {
			errs[i] = g.w.Write(t.Context(), func(ctx context.Context, tx *sql.Tx) error {
				txs[i] = tx
				if err := insert(i)(ctx, tx); err != nil {
					return err
				}
				if i%2 == 1 {
					return errFail
				}
				return nil
			})
		})
	}
	g.waitQueued(t, n)
	release()
	wg.Wait()
	for i, err := range errs {
		if i%2 == 1 && !errors.Is(err, errFail) || i%2 == 0 && err != nil {
			t.Errorf("write %d: %v", i, err)
		}
		if txs[i] != txs[0] {
			t.Errorf("write %d ran in another transaction: no batch", i)
		}
	}
	if got, want := fmt.Sprint(g.rows(t)), "[0 2 4 6 8]"; got != want {
		t.Errorf("rows %s, want %s", got, want)
	}
}

// TestGroupCommitPanic: a panic in one caller's work reaches that caller,
// not the writer, and the batch goes on.
func TestGroupCommitPanic(t *testing.T) {
	g := newGroupTest(t)
	release := g.hold(t)
	var wg sync.WaitGroup
	var recovered any
	var okErr error
	wg.Go(func() {
		defer func() { recovered = recover() }()
		g.w.Write(t.Context(), func(ctx context.Context, tx *sql.Tx) error {
			insert(1)(ctx, tx)
			panic("synthetic bug")
		})
	})
	g.waitQueued(t, 1)
	wg.Go(func() { okErr = g.w.Write(t.Context(), insert(2)) })
	g.waitQueued(t, 2)
	release()
	wg.Wait()
	if recovered != "synthetic bug" || okErr != nil {
		t.Errorf("recovered %v, other write %v", recovered, okErr)
	}
	if got, want := fmt.Sprint(g.rows(t)), "[2]"; got != want {
		t.Errorf("rows %s, want %s", got, want)
	}
}

// TestGroupCommitBrokenTx: when a caller's failure breaks the transaction
// itself, what ran before it in the batch fails too (it cannot commit), and
// what had not run yet is committed in a transaction of its own.
func TestGroupCommitBrokenTx(t *testing.T) {
	g := newGroupTest(t)
	release := g.hold(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	fns := []func(ctx context.Context, tx *sql.Tx) error{
		insert(1),
		func(ctx context.Context, tx *sql.Tx) error {
			// What an I/O error does: SQLite rolls the transaction back.
			if _, err := tx.ExecContext(ctx, `ROLLBACK`); err != nil {
				return err
			}
			return errors.New("disk full")
		},
		insert(3),
	}
	for i, fn := range fns {
		wg.Go(func() { errs[i] = g.w.Write(t.Context(), fn) })
		g.waitQueued(t, i+1) // keep the order
	}
	release()
	wg.Wait()
	if errs[0] == nil || errs[1] == nil || errs[2] != nil {
		t.Errorf("errors %v; want the first two to fail, the third to commit", errs)
	}
	if got, want := fmt.Sprint(g.rows(t)), "[3]"; got != want {
		t.Errorf("rows %s, want %s", got, want)
	}
	// The writer carries on.
	if err := g.w.Write(t.Context(), insert(4)); err != nil {
		t.Fatal(err)
	}
}

// TestGroupCommitCancelWhileQueued: a caller that gives up while queued
// returns at once, and its work is never done.
func TestGroupCommitCancelWhileQueued(t *testing.T) {
	g := newGroupTest(t)
	release := g.hold(t)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error)
	go func() { errc <- g.w.Write(ctx, insert(1)) }()
	g.waitQueued(t, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled write: %v", err)
	}
	release()
	if err := g.w.Write(t.Context(), insert(2)); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(g.rows(t)), "[2]"; got != want {
		t.Errorf("rows %s, want %s", got, want)
	}
}

// TestGroupCommitClose: Close commits what is queued; later writes are
// refused as unavailable.
func TestGroupCommitClose(t *testing.T) {
	g := newGroupTest(t)
	release := g.hold(t)
	errc := make(chan error)
	go func() { errc <- g.w.Write(t.Context(), insert(1)) }()
	g.waitQueued(t, 1)
	closed := make(chan struct{})
	go func() {
		g.w.Close()
		close(closed)
	}()
	release()
	<-closed
	if err := <-errc; err != nil {
		t.Errorf("write queued before Close: %v", err)
	}
	err := g.w.Write(t.Context(), insert(2))
	if guardian.ErrorCode(err) != guardian.EUNAVAILABLE {
		t.Errorf("write after Close: %v", err)
	}
	if got, want := fmt.Sprint(g.rows(t)), "[1]"; got != want {
		t.Errorf("rows %s, want %s", got, want)
	}
}

// TestGroupCommitSyncsWAL: each group commit syncs the WAL before it
// answers its callers, holding the connection meanwhile, so that River,
// which shares it, sees nothing of the batch before it is durable; a
// failed sync fails the batch's callers.
func TestGroupCommitSyncsWAL(t *testing.T) {
	g := newGroupTest(t)
	var synced []string
	var inSync, answered atomic.Bool
	g.w.syncWAL = func(path string) error {
		inSync.Store(true)
		defer inSync.Store(false)
		if answered.Load() {
			t.Error("a caller was answered before the WAL was synced")
		}
		// The connection is still the writer's: another user waits.
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		var n int
		if err := g.db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err == nil {
			t.Errorf("the connection was free during the sync (read %d rows)", n)
		}
		synced = append(synced, path)
		return syncFile(path)
	}
	if err := g.w.Write(t.Context(), insert(1)); err != nil {
		t.Fatal(err)
	}
	answered.Store(true)
	if len(synced) != 1 || !strings.HasSuffix(synced[0], "g.db-wal") {
		t.Errorf("synced %q, want the WAL once", synced)
	}

	g.w.syncWAL = func(string) error { return errors.New("disk on fire") }
	err := g.w.Write(t.Context(), insert(2))
	var e *guardian.Error
	if !errors.As(err, &e) || e.Code != guardian.EUNAVAILABLE {
		t.Errorf("write whose sync failed: %v, want EUNAVAILABLE", err)
	}
	if err := syncFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("syncing a missing file succeeded")
	}
}
