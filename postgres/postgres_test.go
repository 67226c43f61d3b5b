package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
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
	rig := newRowRig(t)
	ctx, s, raw, rep := rig.ctx, rig.s, rig.raw, rig.rep
	r := rig.open()

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
	waiter := rig.waiter()
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
	// The holder changed nothing: the finish's one statement did it all.
	if n := s.ClosesRetried(); n != 0 {
		t.Errorf("%d closes went on to the transaction, want 0", n)
	}
}

// TestFinishSeesChangeItWaitedFor: an upload committed while the finish
// waits for the report's row (a reporter racing its own finish) is among
// the files the finish returns and orders the routing by. The finish's
// statement sees the files of its snapshot, taken before the upload
// committed, so it must give way to the transaction, which reads them
// after; a finish that waited for nothing is one statement.
func TestFinishSeesChangeItWaitedFor(t *testing.T) {
	rig := newRowRig(t)
	ctx, s, raw, rep, open := rig.ctx, rig.s, rig.raw, rig.rep, rig.open
	finish := func(r *guardian.Report) <-chan *guardian.Report {
		done := make(chan *guardian.Report, 1)
		go func() {
			got, err := s.FinishReport(ctx, rep.ID, r.ID, event(guardian.ActorReporter, fmt.Sprint(rep.ID), "report.finish"))
			if err != nil {
				t.Errorf("finish: %v", err)
			}
			done <- got
		}()
		return done
	}

	quiet := open()
	if got := <-finish(quiet); got == nil || len(got.Files) != 0 || s.ClosesRetried() != 0 {
		t.Fatalf("a finish that waited for nothing: %+v, %d closes retried, want 0", got, s.ClosesRetried())
	}

	r := open()
	upload, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer upload.Rollback()
	// An upload as AddFile's statement makes it: the report's row
	// counts the file, which is inserted at that position.
	const fileID = "0123456789abcdef0123456789abcdef"
	if _, err := upload.ExecContext(ctx, `UPDATE reports SET file_count = file_count + 1, modified_at = now() WHERE id = $1`, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := upload.ExecContext(ctx, `INSERT INTO files (position, id, report_id, name, size, md5, sha1, sha256, uploaded_at, blob_key, wrapped_key, sealed)
		VALUES (1, $1, $2, 'racing.jpg', 1, $3, $4, $5, now(), 'blobs/racing', 'wrapped', TRUE)`,
		fileID, r.ID, strings.Repeat("a", 32), strings.Repeat("b", 40), strings.Repeat("c", 64)); err != nil {
		t.Fatal(err)
	}
	done := finish(r)
	rig.waiter()
	if err := upload.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-done:
		if got == nil || len(got.Files) != 1 || got.Files[0].ID != fileID {
			t.Errorf("the finish returned %+v; want the file uploaded while it waited", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the finish did not end once the row was free")
	}
	if n := s.ClosesRetried(); n != 1 {
		t.Errorf("%d closes went on to the transaction, want 1", n)
	}
	var events int
	if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM audit_events WHERE report_id = $1 AND action = 'report.finish'`, r.ID).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if events != 1 {
		t.Errorf("%d report.finish events recorded, want 1", events)
	}
}

// TestRoutingSeesRoutingItWaitedFor: a routing run that waits for the
// report's row while another run holds it reads, once the other commits,
// the referrals it created: the first statement's view is older than the
// other run's commit, so the run must not trust what that statement saw of
// the report's referrals (Store.lockForRouting). A run that waited for
// nothing trusts it.
func TestRoutingSeesRoutingItWaitedFor(t *testing.T) {
	rig := newRowRig(t)
	ctx, s := rig.ctx, rig.s
	r := rig.open()
	if _, err := s.FinishReport(ctx, rig.rep.ID, r.ID, event(guardian.ActorReporter, fmt.Sprint(rig.rep.ID), "report.finish")); err != nil {
		t.Fatal(err)
	}
	actor := guardian.Actor{Kind: guardian.ActorSystem, Name: "routing"}
	update := func(agencies ...string) *guardian.RoutingUpdate {
		u := &guardian.RoutingUpdate{
			Assessment: &guardian.Assessment{RulesVersion: "synthetic-1"},
			Triage: &guardian.Triage{Score: 50, Label: guardian.LabelReferral, Priority: guardian.Priority2, ReviewPriority: guardian.Priority2,
				Reasons: []guardian.Reason{}, RulesVersion: "synthetic-1"},
		}
		for _, a := range agencies {
			u.Create = append(u.Create, &guardian.Referral{AgencyID: a, Countries: []string{"PY"}, Channel: guardian.ChannelDirect,
				Reason: guardian.ReasonPartner, Priority: guardian.Priority2, Label: guardian.LabelReferral, HandlingCode: "synthetic",
				DataScope: guardian.ScopeReporterContacts, AcknowledgeWithin: 24 * time.Hour, RetentionDays: 365})
		}
		return u
	}

	// The first run holds the row, inside its transaction, until let go.
	inside, letGo, first := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		first <- s.RouteReport(ctx, r.ID, actor, "synthetic-network", time.Now(), time.Now(),
			func(st *guardian.RoutingState) (*guardian.RoutingUpdate, error) {
				close(inside)
				<-letGo
				return update("py-partner"), nil
			})
	}()
	<-inside
	seen, second := make(chan int, 1), make(chan error, 1)
	go func() {
		second <- s.RouteReport(ctx, r.ID, actor, "synthetic-network", time.Now(), time.Now(),
			func(st *guardian.RoutingState) (*guardian.RoutingUpdate, error) {
				seen <- len(st.Referrals)
				return &guardian.RoutingUpdate{}, nil
			})
	}()
	rig.waiter()
	close(letGo)
	for _, done := range []chan error{first, second} {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("RouteReport: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a routing run did not end")
		}
	}
	if n := <-seen; n != 1 {
		t.Errorf("the run that waited saw %d referrals, want the 1 the other created", n)
	}
	if n := s.RoutingLocksRetried(); n != 1 {
		t.Errorf("%d routing runs locked the row again, want 1", n)
	}

	// A run that waits for nothing takes what its one statement saw.
	if err := s.RouteReport(ctx, r.ID, actor, "synthetic-network", time.Now(), time.Now(),
		func(st *guardian.RoutingState) (*guardian.RoutingUpdate, error) {
			if len(st.Referrals) != 1 {
				t.Errorf("a run that waited for nothing saw %d referrals, want 1", len(st.Referrals))
			}
			return &guardian.RoutingUpdate{}, nil
		}); err != nil {
		t.Fatal(err)
	}
	if n := s.RoutingLocksRetried(); n != 1 {
		t.Errorf("%d routing runs locked the row again, want still 1", n)
	}
}

// rowRig is a store, a raw connection to its database beside it and a
// reporter, for tests that hold a report's row while the store waits for it.
type rowRig struct {
	t   *testing.T
	ctx context.Context
	s   *sqlstore.Store
	raw *sql.DB
	rep *guardian.Reporter
}

func newRowRig(t *testing.T) *rowRig {
	skipUnlessConfigured(t)
	s, dsn := storetest.MustOpen(t, storetest.Postgres, sqlstore.Options{})
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	rig := &rowRig{t: t, ctx: context.Background(), s: s, raw: raw,
		rep: &guardian.Reporter{Name: "example-service", PasswordHash: "$argon2id$v=19$synthetic"}}
	if err := s.CreateReporter(rig.ctx, rig.rep, event(guardian.ActorSystem, "0", "reporter.create")); err != nil {
		t.Fatal(err)
	}
	return rig
}

// open opens a report of the rig's reporter.
func (rig *rowRig) open() *guardian.Report {
	rig.t.Helper()
	r := &guardian.Report{ReporterID: rig.rep.ID, XML: []byte(`<report/>`), Document: []byte(`{}`), WrappedKey: []byte("synthetic key")}
	if err := rig.s.CreateReport(rig.ctx, r, event(guardian.ActorReporter, fmt.Sprint(rig.rep.ID), "report.submit")); err != nil {
		rig.t.Fatal(err)
	}
	return r
}

// waiter waits until a backend waits for a row another transaction holds,
// and returns its pid.
func (rig *rowRig) waiter() int {
	rig.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var pid int
		err := rig.raw.QueryRowContext(rig.ctx, `SELECT pid FROM pg_locks WHERE NOT granted AND locktype = 'transactionid' LIMIT 1`).Scan(&pid)
		if err == nil {
			return pid
		} else if !errors.Is(err, sql.ErrNoRows) {
			rig.t.Fatal(err)
		}
		if time.Now().After(deadline) {
			rig.t.Fatal("nothing waited for the report's row")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func event(kind guardian.ActorKind, id, action string) *guardian.AuditEvent {
	return &guardian.AuditEvent{
		Actor:    guardian.Actor{Kind: kind, ID: id, Name: "synthetic"},
		Category: guardian.CategoryCollection,
		Action:   action,
	}
}
