package storetest

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/sqlstore"
)

// nopFinishHook is the finish hook of the stores the behaviour suite opens:
// the suite checks the store, not the pipeline, whose real hook package
// jobs' tests check. testFinishHook checks that the hook runs, and what a
// store does without one.
func nopFinishHook(context.Context, *sql.Tx, *guardian.Report) error { return nil }

// testFinishHook: the finish hook given at open runs in the transaction that
// finishes the report, seeing it finished; its error rolls the finish back;
// and a store opened without one refuses to finish rather than finish a
// report that would never be triaged.
func testFinishHook(t *testing.T, b Backend) {
	ctx := t.Context()
	dsn := b.NewDSN(t)
	open := func(hook sqlstore.FinishHook) *sqlstore.Store {
		t.Helper()
		s, err := b.Open(ctx, dsn, sqlstore.Options{OnFinish: hook, MaxConns: 2, Sealer: suiteSealer})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	finish := func(s *sqlstore.Store, rep *guardian.Report) error {
		_, err := s.FinishReport(ctx, rep.ReporterID, rep.ID, reporterEvent(rep.ReporterID, "report.finish"))
		return err
	}
	wantOpen := func(s *sqlstore.Store, rep *guardian.Report) {
		t.Helper()
		got, err := s.FindReportByID(ctx, rep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != guardian.ReportOpen {
			t.Errorf("report %d is %s after a refused finish", rep.ID, got.State)
		}
		evs, err := s.FindAuditEvents(ctx, guardian.AuditFilter{Action: "report.finish"})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 0 {
			t.Errorf("a refused finish stored %d report.finish events", len(evs))
		}
	}

	s := open(nil)
	e := &env{t: t, ctx: ctx, s: s, clock: NewClock(start)}
	rep := e.report(e.reporter("synthetic-hook").ID)
	if err := finish(s, rep); err == nil || !strings.Contains(err.Error(), "finish hook") {
		t.Errorf("finish on a store without a finish hook: %v", err)
	}
	wantOpen(s, rep)
	s.Close()

	failing := errors.New("synthetic enqueue failure")
	s = open(func(context.Context, *sql.Tx, *guardian.Report) error { return failing })
	if err := finish(s, rep); !errors.Is(err, failing) {
		t.Errorf("finish with a failing hook: %v", err)
	}
	wantOpen(s, rep)
	s.Close()

	// The hook is given the report as finished, with the provisional
	// priority stored at submit (which orders its triage) and its files.
	var seen []string
	var given *guardian.Report
	s = open(func(ctx context.Context, tx *sql.Tx, r *guardian.Report) error {
		given = r
		id := r.ID
		var state string
		q := `SELECT state FROM reports WHERE id = ` + "$1"
		if b.DriverName == "sqlite" {
			q = `SELECT state FROM reports WHERE id = ?`
		}
		if err := tx.QueryRowContext(ctx, q, id).Scan(&state); err != nil {
			return err
		}
		seen = append(seen, state)
		return nil
	})
	defer s.Close()
	if err := finish(s, rep); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != string(guardian.ReportFinished) {
		t.Errorf("the hook saw the report as %v, want [finished] once", seen)
	}
	if given.ID != rep.ID || given.State != guardian.ReportFinished || given.ProvisionalPriority != "" {
		t.Errorf("the hook was given report %d, %s, provisional priority %q; want %d, finished, none",
			given.ID, given.State, given.ProvisionalPriority, rep.ID)
	}

	e.s = s
	urgent := newReport(rep.ReporterID)
	urgent.ProvisionalPriority = guardian.Priority1
	if err := s.CreateReport(ctx, urgent, reporterEvent(urgent.ReporterID, "report.submit")); err != nil {
		t.Fatal(err)
	}
	f := e.file(urgent.ReporterID, urgent.ID)
	if got, err := s.FindReporterReport(ctx, urgent.ReporterID, urgent.ID); err != nil || got.ProvisionalPriority != guardian.Priority1 {
		t.Fatalf("FindReporterReport: provisional priority %q, %v; want 1", got.ProvisionalPriority, err)
	}
	if err := finish(s, urgent); err != nil {
		t.Fatal(err)
	}
	if given.ID != urgent.ID || given.ProvisionalPriority != guardian.Priority1 || len(given.Files) != 1 || given.Files[0].ID != f.ID {
		t.Errorf("the hook was given report %d with provisional priority %q and %d files; want %d, 1 and file %s",
			given.ID, given.ProvisionalPriority, len(given.Files), urgent.ID, f.ID)
	}
}
