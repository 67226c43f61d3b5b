package storetest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/sqlstore"
)

// Run runs the behaviour suite on the backend, and the tests that need its
// database: append-only audit, schema versions, reopening.
func Run(t *testing.T, b Backend) {
	t.Run("Store", func(t *testing.T) { RunStoreTests(t, b.Opener()) })
	for _, tt := range []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"Audit/AppendOnly", testAuditAppendOnly},
		{"AuditLog", RunAuditLogTests},
		{"Schema/New", testSchemaNew},
		{"Schema/Outdated", testSchemaOutdated},
		{"Schema/TooNew", testSchemaTooNew},
		{"Schema/FailedMigration", testFailedMigration},
		{"Schema/OpenTogether", testOpenTogether},
		{"RoutingQueue", testRoutingQueue},
		{"RoutingQueue/Plan", testRoutingQueuePlan},
		{"RoutingQueue/Replanned", testRoutingQueueReplanned},
		{"Referrals/HubQueuePlan", testHubQueuePlan},
		{"Encryption/AtRest", testEncryptionAtRest},
		{"Encryption/Tamper", testEncryptionTamper},
		{"Encryption/NoSealer", testEncryptionNoSealer},
		{"Encryption/WrongKey", testEncryptionWrongKey},
		{"Encryption/SealExisting", testSealExisting},
		{"Encryption/MigrationForeignKeys", testMigrationForeignKeys},
		{"Reopen", testReopen},
		{"SharedDatabase", testSharedDatabase},
		{"OpenReportsTwoStores", testOpenReportsTwoStores},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, b)
		})
	}
}

// testAuditAppendOnly: the database itself refuses to change or remove an
// audit event, whoever connects.
func testAuditAppendOnly(t *testing.T, b Backend) {
	s, dsn := MustOpen(t, b, sqlstore.Options{})
	ev := systemEvent("config.reload")
	ev.Outcome = guardian.OutcomeSuccess
	if err := s.AppendAuditEvent(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	db := b.rawDB(t, dsn)
	statements := []string{
		`UPDATE audit_events SET action = 'forged'`,
		`UPDATE audit_events SET outcome = 'failure' WHERE id = 1`,
		`DELETE FROM audit_events`,
		`DELETE FROM audit_events WHERE id = 1`,
	}
	if b.DriverName == "pgx" {
		statements = append(statements, `TRUNCATE audit_events`)
	}
	for _, q := range statements {
		if _, err := db.ExecContext(t.Context(), q); err == nil {
			t.Errorf("%s: succeeded", q)
		}
	}
	mustExec(t, db, `INSERT INTO audit_events (time, actor_kind, actor_id, actor_name, actor_organisation,
		category, action, object_kind, object_id, outcome, reason, justification, request_id, client_addr)
		SELECT time, actor_kind, actor_id, actor_name, actor_organisation, category, 'appended', object_kind,
		object_id, outcome, reason, justification, request_id, client_addr FROM audit_events`)
	got, err := s.FindAuditEvents(t.Context(), guardian.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Action != "appended" {
		t.Fatalf("after appending one: %d events", len(got))
	}
	if diff := cmp.Diff(ev, got[0]); diff != "" {
		t.Errorf("audit event changed (-appended +now):\n%s", diff)
	}
}

func wantVersion(t *testing.T, s *sqlstore.Store, current, latest int) {
	t.Helper()
	c, l, err := s.SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c != current || l != latest {
		t.Errorf("SchemaVersion = %d, %d; want %d, %d", c, l, current, latest)
	}
}

// withMigration returns the backend's migrations and one more, numbered
// next, as a newer guardian would carry them, and the version it leads to.
func withMigration(t *testing.T, b Backend, sql string) (fs.FS, int) {
	t.Helper()
	files := fstest.MapFS{}
	names, err := fs.Glob(b.Migrations, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		data, err := fs.ReadFile(b.Migrations, n)
		if err != nil {
			t.Fatal(err)
		}
		files[n] = &fstest.MapFile{Data: data}
	}
	v := len(names) + 1
	files[fmt.Sprintf("%04d_example.sql", v)] = &fstest.MapFile{Data: []byte(sql)}
	return files, v
}

func testSchemaNew(t *testing.T, b Backend) {
	s, _ := MustOpen(t, b, sqlstore.Options{})
	latest := s.LatestVersion()
	if latest < 1 {
		t.Fatalf("LatestVersion = %d", latest)
	}
	wantVersion(t, s, latest, latest)
}

func testSchemaOutdated(t *testing.T, b Backend) {
	dsn := b.NewDSN(t)
	old := MustOpenDSN(t, b, dsn, sqlstore.Options{})
	r := &guardian.Reporter{Name: "example-service", PasswordHash: "x"}
	if err := old.CreateReporter(t.Context(), r, systemEvent("reporter.create")); err != nil {
		t.Fatal(err)
	}
	latest := old.LatestVersion()
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	newer, v := withMigration(t, b, `CREATE TABLE example (id integer PRIMARY KEY)`)
	_, err := b.Open(t.Context(), dsn, sqlstore.Options{Migrations: newer})
	var se *sqlstore.SchemaError
	if !errors.Is(err, guardian.ErrSchemaOutdated) || !errors.As(err, &se) || se.Current != latest || se.Latest != v {
		t.Fatalf("open an older schema: %v; want ErrSchemaOutdated, versions %d and %d", err, latest, v)
	}

	s := MustOpenDSN(t, b, dsn, sqlstore.Options{Migrations: newer, Migrate: true})
	wantVersion(t, s, v, v)
	got, err := s.FindReporterByName(t.Context(), "example-service")
	if err != nil || got.ID != r.ID {
		t.Errorf("reporter after migrating: %v, %v", got, err)
	}
	// Opening the migrated database again needs no Migrate.
	MustOpenDSN(t, b, dsn, sqlstore.Options{Migrations: newer})
}

func testSchemaTooNew(t *testing.T, b Backend) {
	dsn := b.NewDSN(t)
	newer, v := withMigration(t, b, `CREATE TABLE example (id integer PRIMARY KEY)`)
	s := MustOpenDSN(t, b, dsn, sqlstore.Options{Migrations: newer})
	wantVersion(t, s, v, v)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, migrate := range []bool{false, true} {
		_, err := b.Open(t.Context(), dsn, sqlstore.Options{Migrate: migrate})
		var se *sqlstore.SchemaError
		if !errors.Is(err, guardian.ErrSchemaTooNew) || !errors.As(err, &se) || se.Current != v || se.Latest != v-1 {
			t.Errorf("open a newer schema (migrate %t): %v; want ErrSchemaTooNew", migrate, err)
		}
	}
}

// testFailedMigration: a migration that fails leaves the schema as it was.
func testFailedMigration(t *testing.T, b Backend) {
	dsn := b.NewDSN(t)
	s := MustOpenDSN(t, b, dsn, sqlstore.Options{})
	latest := s.LatestVersion()
	s.Close()

	bad, _ := withMigration(t, b, `CREATE TABLE example (id integer PRIMARY KEY); INSERT INTO no_such_table VALUES (1)`)
	if _, err := b.Open(t.Context(), dsn, sqlstore.Options{Migrations: bad, Migrate: true}); err == nil {
		t.Fatal("a failing migration succeeded")
	}
	s = MustOpenDSN(t, b, dsn, sqlstore.Options{})
	wantVersion(t, s, latest, latest)
	// The table of the failed migration was rolled back with it.
	db := b.rawDB(t, dsn)
	if _, err := db.ExecContext(t.Context(), `SELECT id FROM example`); err == nil {
		t.Error("the failed migration's table exists")
	}
}

// testOpenTogether: processes that start together on a new database all
// open it, one of them creating the schema.
func testOpenTogether(t *testing.T, b Backend) {
	const n = 4
	dsn := b.NewDSN(t)
	var wg sync.WaitGroup
	errs := make([]error, n)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for i := range n {
		wg.Go(func() {
			s, err := b.Open(ctx, dsn, sqlstore.Options{MaxConns: 2})
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d: %v", i, err)
		}
	}
	s := MustOpenDSN(t, b, dsn, sqlstore.Options{})
	wantVersion(t, s, s.LatestVersion(), s.LatestVersion())
}

// testReopen: everything a store wrote is there after closing and opening
// it again.
func testReopen(t *testing.T, b Backend) {
	dsn := b.NewDSN(t)
	clock := NewClock(start)
	s := MustOpenDSN(t, b, dsn, sqlstore.Options{Now: clock.Now})
	e := &env{t: t, ctx: t.Context(), s: s, clock: clock}
	rep := e.reporter("example-service")
	finished, open := e.report(rep.ID), e.report(rep.ID)
	f := e.file(rep.ID, finished.ID)
	if _, err := s.SetFileDetails(e.ctx, rep.ID, finished.ID, f.ID, detailsXML, detailsJSON, reporterEvent(rep.ID, "file.details")); err != nil {
		t.Fatal(err)
	}
	e.file(rep.ID, open.ID)
	if _, err := s.FinishReport(e.ctx, rep.ID, finished.ID, reporterEvent(rep.ID, "report.finish")); err != nil {
		t.Fatal(err)
	}
	before := []*guardian.Report{e.find(finished.ID), e.find(open.ID)}
	events := e.events(guardian.AuditFilter{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	e.s = MustOpenDSN(t, b, dsn, sqlstore.Options{Now: clock.Now})
	if diff := cmp.Diff(before, []*guardian.Report{e.find(finished.ID), e.find(open.ID)}); diff != "" {
		t.Errorf("reports after reopening (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(events, e.events(guardian.AuditFilter{})); diff != "" {
		t.Errorf("audit events after reopening (-before +after):\n%s", diff)
	}
	got, err := e.s.FindReporterByName(e.ctx, rep.Name)
	if diff := cmp.Diff(rep, got); diff != "" || err != nil {
		t.Errorf("reporter after reopening: %v (-before +after):\n%s", err, diff)
	}
	// And it carries on where it stopped: ids keep increasing.
	if next := e.report(rep.ID); next.ID <= open.ID {
		t.Errorf("report id %d after reopening, want more than %d", next.ID, open.ID)
	}
}

// testSharedDatabase: two stores on one database, as two hub processes,
// keep the lifecycle rules between them.
func testSharedDatabase(t *testing.T, b Backend) {
	clock := NewClock(start)
	a, dsn := MustOpen(t, b, sqlstore.Options{Now: clock.Now})
	other := MustOpenDSN(t, b, dsn, sqlstore.Options{Now: clock.Now})
	addFileWhileFinishing(t, &env{t: t, ctx: t.Context(), s: a, clock: clock}, []guardian.Store{a, other})
}

// testOpenReportsTwoStores: two stores on one database, as two hub
// processes. A report that one store opened and the other closed may still
// look open to the first (FindOpenReport answers from memory), but no
// change goes through: the first store's upload and file details are
// refused as the report's state says, and from then on it reads the
// report as it is.
func testOpenReportsTwoStores(t *testing.T, b Backend) {
	ctx := t.Context()
	s, dsn := MustOpen(t, b, sqlstore.Options{})
	other := MustOpenDSN(t, b, dsn, sqlstore.Options{})
	rep := &guardian.Reporter{Name: "example-service", PasswordHash: "$argon2id$v=19$synthetic"}
	if err := s.CreateReporter(ctx, rep, systemEvent("reporter.create")); err != nil {
		t.Fatal(err)
	}
	open := func() (*guardian.Report, *guardian.File) {
		t.Helper()
		r := newReport(rep.ID)
		if err := s.CreateReport(ctx, r, reporterEvent(rep.ID, "report.submit")); err != nil {
			t.Fatal(err)
		}
		f := newFile(r.ID)
		if err := s.AddFile(ctx, rep.ID, f, reporterEvent(rep.ID, "file.upload")); err != nil {
			t.Fatal(err)
		}
		return r, f
	}
	wantState := func(r *guardian.Report, state guardian.ReportState) {
		t.Helper()
		got, err := s.FindOpenReport(ctx, rep.ID, r.ID)
		if err != nil || got.State != state {
			t.Fatalf("FindOpenReport after the refusal: %v, %+v; want state %s", err, got, state)
		}
	}

	finished, _ := open()
	if _, err := other.FinishReport(ctx, rep.ID, finished.ID, reporterEvent(rep.ID, "report.finish")); err != nil {
		t.Fatal(err)
	}
	err := s.AddFile(ctx, rep.ID, newFile(finished.ID), reporterEvent(rep.ID, "file.upload"))
	wantCode(t, err, guardian.EFINISHED)
	wantState(finished, guardian.ReportFinished)

	retracted, f := open()
	if _, err := other.RetractReport(ctx, rep.ID, retracted.ID, reporterEvent(rep.ID, "report.retract")); err != nil {
		t.Fatal(err)
	}
	_, err = s.SetFileDetails(ctx, rep.ID, retracted.ID, f.ID, detailsXML, detailsJSON, reporterEvent(rep.ID, "file.details"))
	wantCode(t, err, guardian.ERETRACTED)
	wantState(retracted, guardian.ReportRetracted)
	if got, err := other.FindReportByID(ctx, retracted.ID); err != nil || got.Files[0].DetailsAt != nil {
		t.Errorf("the retracted report's file has details: %v", err)
	}
}
