package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
)

// testExpiryByClock: an open report past its expiry time is gone for its
// reporter before ExpireReports has marked it, and only then.
func testExpiryByClock(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	r := e.report(rep.ID)
	f := e.file(rep.ID, r.ID)

	e.clock.Advance(guardian.OpenReportLifetime - time.Microsecond)
	if _, err := e.s.SetFileDetails(e.ctx, rep.ID, r.ID, f.ID, detailsXML, detailsJSON, reporterEvent(rep.ID, "file.details")); err != nil {
		t.Fatalf("a microsecond before expiry: %v", err)
	}
	// That change postponed expiry by OpenReportIdle; go past it.
	e.clock.Advance(guardian.OpenReportIdle)
	n := e.eventCount()
	err := e.s.AddFile(e.ctx, rep.ID, newFile(r.ID), reporterEvent(rep.ID, "file.upload"))
	wantExpired(t, err)
	_, err = e.s.SetFileDetails(e.ctx, rep.ID, r.ID, f.ID, detailsXML, detailsJSON, reporterEvent(rep.ID, "file.details"))
	wantExpired(t, err)
	_, err = e.s.FinishReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.finish"))
	wantExpired(t, err)
	_, err = e.s.RetractReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.retract"))
	wantExpired(t, err)
	if got := e.eventCount(); got != n {
		t.Errorf("changes to an expired report stored %d audit events", got-n)
	}
	if got := e.find(r.ID); got.State != guardian.ReportOpen || len(got.Files) != 1 {
		t.Errorf("report after refused changes: state %s, %d files", got.State, len(got.Files))
	}

	// Marked expired, it still answers EREPORTNOTFOUND, saying why.
	if _, err := e.s.ExpireReports(e.ctx, 10); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.FinishReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.finish"))
	wantExpired(t, err)
}

// testExpiryPostponed: expiry is the later of opened+24h and modified+1h.
func testExpiryPostponed(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	r := e.report(rep.ID)
	e.clock.Advance(23*time.Hour + 30*time.Minute)
	e.file(rep.ID, r.ID) // now expires at opened + 24h30m
	e.clock.Advance(40 * time.Minute)
	if due, err := e.s.ExpireReports(e.ctx, 10); err != nil || len(due) != 0 {
		t.Fatalf("ExpireReports at opened+24h10m = %v, %v; want none", due, err)
	}
	e.file(rep.ID, r.ID) // now expires at opened + 25h10m
	e.clock.Advance(time.Hour - time.Microsecond)
	if _, err := e.s.FindReporterReport(e.ctx, rep.ID, r.ID); err != nil {
		t.Fatal(err)
	}
	if due, err := e.s.ExpireReports(e.ctx, 10); err != nil || len(due) != 0 {
		t.Fatalf("ExpireReports a microsecond before expiry = %v, %v; want none", due, err)
	}
	e.clock.Advance(time.Microsecond)
	err := e.s.AddFile(e.ctx, rep.ID, newFile(r.ID), reporterEvent(rep.ID, "file.upload"))
	wantExpired(t, err)
	// FindReporterReport does not check the state.
	if _, err := e.s.FindReporterReport(e.ctx, rep.ID, r.ID); err != nil {
		t.Errorf("FindReporterReport of an expired report: %v", err)
	}
}

func testExpireReports(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	a, b := e.report(rep.ID), e.report(rep.ID)
	var files []*guardian.File
	for range 2 {
		files = append(files, e.file(rep.ID, a.ID))
	}
	finished := e.report(rep.ID)
	if _, err := e.s.FinishReport(e.ctx, rep.ID, finished.ID, reporterEvent(rep.ID, "report.finish")); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	fresh := e.report(rep.ID)
	e.clock.Advance(guardian.OpenReportLifetime - time.Minute) // due: all but fresh

	due, err := e.s.ExpireReports(e.ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	now := e.now()
	wantA, wantB := *a, *b
	wantA.Files, wantB.Files = files, []*guardian.File{}
	for _, r := range []*guardian.Report{&wantA, &wantB} {
		r.State, r.ExpiredAt, r.ModifiedAt, r.WrappedKey = guardian.ReportExpired, &now, now, nil
		// The documents went with the key.
		r.XML, r.Document = nil, nil
	}
	if diff := cmp.Diff([]*guardian.Report{&wantA, &wantB}, due, cmpJSON); diff != "" {
		t.Errorf("ExpireReports (-want +got):\n%s", diff)
	}
	for _, r := range due {
		if diff := cmp.Diff(r, e.find(r.ID)); diff != "" {
			t.Errorf("report %d after expiry (-returned +found):\n%s", r.ID, diff)
		}
		if r.WrappedKey != nil {
			t.Errorf("report %d keeps its data key", r.ID)
		}
	}
	for _, r := range []*guardian.Report{finished, fresh} {
		if got := e.find(r.ID); got.State == guardian.ReportExpired || got.WrappedKey == nil {
			t.Errorf("report %d (%s) was expired", r.ID, got.State)
		}
	}

	// One erasure event per report, by the system.
	evs := e.events(guardian.AuditFilter{Action: "report.expire"})
	if len(evs) != 2 {
		t.Fatalf("%d report.expire events, want 2", len(evs))
	}
	for i, r := range due {
		want := &guardian.AuditEvent{
			ID: evs[i].ID, Time: now, Actor: guardian.Actor{Kind: guardian.ActorSystem},
			Category: guardian.CategoryErasure, Action: "report.expire",
			ObjectKind: "report", ObjectID: fmt.Sprint(r.ID), ReportID: r.ID, Outcome: guardian.OutcomeSuccess,
		}
		if diff := cmp.Diff(want, evs[i]); diff != "" {
			t.Errorf("erasure event of report %d (-want +got):\n%s", r.ID, diff)
		}
	}

	again, err := e.s.ExpireReports(e.ctx, 10)
	if err != nil || again == nil || len(again) != 0 {
		t.Errorf("ExpireReports again = %#v, %v; want an empty slice", again, err)
	}
}

func testExpireLimit(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	for range 5 {
		e.report(rep.ID)
	}
	e.clock.Advance(guardian.OpenReportLifetime)
	var ids []int64
	for _, want := range []int{2, 2, 1, 0} {
		due, err := e.s.ExpireReports(e.ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(due) != want {
			t.Fatalf("ExpireReports(2) returned %d reports, want %d", len(due), want)
		}
		for _, r := range due {
			ids = append(ids, r.ID)
		}
	}
	if len(e.events(guardian.AuditFilter{Action: "report.expire"})) != 5 {
		t.Errorf("want 5 erasure events for reports %v", ids)
	}
}
