package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/sqlstore"
	"github.com/guardian-network/guardian/storetest"
)

// skipUnlessConfigured skips tb unless GUARDIAN_TEST_POSTGRES names a
// database, once rather than in every subtest.
func skipUnlessConfigured(tb testing.TB) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		if os.Getenv("GUARDIAN_TEST_REQUIRE_ALL") != "" {
			tb.Fatalf("%s is not set", storetest.PostgresEnv)
		}
		tb.Skipf("%s is not set", storetest.PostgresEnv)
	}
}

func TestStore(t *testing.T) {
	skipUnlessConfigured(t)
	storetest.Run(t, storetest.Postgres)
}

func BenchmarkStore(b *testing.B) {
	skipUnlessConfigured(b)
	storetest.RunBenchmarks(b, storetest.Postgres)
}

// BenchmarkList measures an agency's inbox with a million referrals stored
// for it (issue 10): the first page and one deep in the cursor.
func BenchmarkList(b *testing.B) {
	skipUnlessConfigured(b)
	storetest.RunListBenchmarks(b, storetest.Postgres, 1_000_000)
}

// TestRecordedChangeLocksRowFirst checks the order in which the one
// statement of a change and its audit event (sqlstore's recordedSQL) takes
// its locks: a finish that waits for its report's row, locked by another
// transaction, must not hold the audit barrier's advisory lock meanwhile.
// If it did, the audit integrator's exclusive request for that lock would
// queue behind it, and every writer behind the integrator, for as long as
// the row stayed locked.
func TestRecordedChangeLocksRowFirst(t *testing.T) {
	skipUnlessConfigured(t)
	ctx := context.Background()
	s, dsn := storetest.MustOpen(t, storetest.Postgres, sqlstore.Options{})
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })

	rep := &guardian.Reporter{Name: "lock-order", PasswordHash: "$argon2id$v=19$synthetic"}
	if err := s.CreateReporter(ctx, rep, event(guardian.ActorSystem, "0", "reporter.create")); err != nil {
		t.Fatal(err)
	}
	r := &guardian.Report{ReporterID: rep.ID, XML: []byte(`<report/>`), Document: []byte(`{}`), WrappedKey: []byte("synthetic key")}
	if err := s.CreateReport(ctx, r, event(guardian.ActorReporter, fmt.Sprint(rep.ID), "report.submit")); err != nil {
		t.Fatal(err)
	}

	holder, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback()
	if _, err := holder.ExecContext(ctx, `SELECT 1 FROM reports WHERE id = $1 FOR UPDATE`, r.ID); err != nil {
		t.Fatal(err)
	}

	finished := make(chan error, 1)
	go func() {
		_, err := s.FinishReport(ctx, rep.ID, r.ID, event(guardian.ActorReporter, fmt.Sprint(rep.ID), "report.finish"))
		finished <- err
	}()

	// Wait for the finish to wait for the row, then look at what its
	// backend holds.
	var waiter int
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := raw.QueryRowContext(ctx, `SELECT pid FROM pg_locks WHERE NOT granted AND locktype = 'transactionid' LIMIT 1`).Scan(&waiter)
		if err == nil {
			break
		} else if !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the finish never waited for the report's row")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var advisory int
	if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE pid = $1 AND locktype = 'advisory' AND granted`, waiter).Scan(&advisory); err != nil {
		t.Fatal(err)
	}
	if advisory != 0 {
		t.Errorf("the finish holds %d advisory lock(s) while it waits for the report's row: the audit barrier is taken before the row", advisory)
	}

	if err := holder.Rollback(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-finished:
		if err != nil {
			t.Fatalf("finish: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the finish did not end once the row was free")
	}
	var events int
	if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM audit_events WHERE report_id = $1 AND action = 'report.finish'`, r.ID).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if events != 1 {
		t.Errorf("%d report.finish events recorded, want 1", events)
	}
}

func event(kind guardian.ActorKind, id, action string) *guardian.AuditEvent {
	return &guardian.AuditEvent{
		Actor:    guardian.Actor{Kind: kind, ID: id, Name: "synthetic"},
		Category: guardian.CategoryCollection,
		Action:   action,
	}
}
