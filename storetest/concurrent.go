package storetest

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
)

// testAddFileWhileFinishing: uploads race a finish of the same report. Each
// upload either succeeds and is among the finished report's files, or fails
// with EFINISHED; nothing in between.
func testAddFileWhileFinishing(t *testing.T, e *env) {
	addFileWhileFinishing(t, e, []guardian.Store{e.s})
}

// addFileWhileFinishing runs the race with the requests spread over stores
// that share one database, as the hub processes behind a load balancer do.
func addFileWhileFinishing(t *testing.T, e *env, stores []guardian.Store) {
	const uploads = 40
	rep := e.reporter("example-service")
	r := e.report(rep.ID)

	var (
		wg       sync.WaitGroup
		done     atomic.Int32
		files    [uploads]*guardian.File
		errs     [uploads]error
		finished *guardian.Report
		finErr   error
	)
	begin, someDone := make(chan struct{}), make(chan struct{})
	for i := range uploads {
		wg.Go(func() {
			<-begin
			files[i] = newFile(r.ID)
			errs[i] = stores[i%len(stores)].AddFile(e.ctx, rep.ID, files[i], reporterEvent(rep.ID, "file.upload"))
			if done.Add(1) == uploads/4 {
				close(someDone)
			}
		})
	}
	wg.Go(func() {
		<-someDone // finish once some uploads are through, while others run
		finished, finErr = stores[len(stores)-1].FinishReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.finish"))
	})
	close(begin)
	wg.Wait()
	if finErr != nil {
		t.Fatalf("FinishReport: %v", finErr)
	}

	inReport := make(map[string]bool)
	for _, f := range finished.Files {
		inReport[f.ID] = true
	}
	var ok, refused int
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
			if !inReport[files[i].ID] {
				t.Errorf("upload %s succeeded but is not in the finished report", files[i].ID)
			}
		case isCode(err, guardian.EFINISHED):
			refused++
			if inReport[files[i].ID] {
				t.Errorf("upload %s failed but is in the finished report", files[i].ID)
			}
		default:
			t.Errorf("upload %d: %v, want success or EFINISHED", i, err)
		}
	}
	if len(finished.Files) != ok {
		t.Errorf("finished report has %d files, %d uploads succeeded", len(finished.Files), ok)
	}
	if got := e.find(r.ID); len(got.Files) != ok {
		t.Errorf("stored report has %d files, %d uploads succeeded", len(got.Files), ok)
	}
	if n := len(e.events(guardian.AuditFilter{Action: "file.upload"})); n != ok {
		t.Errorf("%d upload events, %d uploads succeeded", n, ok)
	}
	t.Logf("%d uploads before the finish, %d refused after it", ok, refused)
}

// testDetailsWhileFinishing: file details race a finish of their report.
// Each either succeeds, and the finished report has them, or fails with
// EFINISHED and the finished report has none: details never land after the
// finish has read the files.
func testDetailsWhileFinishing(t *testing.T, e *env) {
	const files = 20
	rep := e.reporter("example-service")
	r := e.report(rep.ID)
	var fs [files]*guardian.File
	for i := range fs {
		fs[i] = e.file(rep.ID, r.ID)
	}

	var (
		wg       sync.WaitGroup
		done     atomic.Int32
		errs     [files]error
		finished *guardian.Report
		finErr   error
	)
	begin, someDone := make(chan struct{}), make(chan struct{})
	for i, f := range fs {
		wg.Go(func() {
			<-begin
			_, errs[i] = e.s.SetFileDetails(e.ctx, rep.ID, r.ID, f.ID, detailsXML, detailsJSON, reporterEvent(rep.ID, "file.details"))
			if done.Add(1) == files/4 {
				close(someDone)
			}
		})
	}
	wg.Go(func() {
		<-someDone
		finished, finErr = e.s.FinishReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.finish"))
	})
	close(begin)
	wg.Wait()
	if finErr != nil {
		t.Fatalf("FinishReport: %v", finErr)
	}
	var ok int
	for i, err := range errs {
		// FinishReport returns the files without their details, but
		// says which have them.
		described := finished.Files[i].DetailsAt != nil
		switch {
		case err == nil:
			ok++
			if !described {
				t.Errorf("details of file %d succeeded but the finished report does not have them", i)
			}
		case isCode(err, guardian.EFINISHED):
			if described {
				t.Errorf("details of file %d failed but the finished report has them", i)
			}
		default:
			t.Errorf("details of file %d: %v, want success or EFINISHED", i, err)
		}
	}
	stored := withoutDocuments(e.find(r.ID)) // FinishReport leaves them out
	if diff := cmp.Diff(finished, stored); diff != "" {
		t.Errorf("stored report differs from the finished one (-finished +stored):\n%s", diff)
	}
	if n := len(e.events(guardian.AuditFilter{Action: "file.details"})); n != ok {
		t.Errorf("%d details events, %d details succeeded", n, ok)
	}
	t.Logf("%d details before the finish, %d refused after it", ok, files-ok)
}

// testFinishAndRetract: of a finish and a retract racing on one report,
// exactly one wins and the other is told which.
func testFinishAndRetract(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	for range 5 {
		r := e.report(rep.ID)
		var wg sync.WaitGroup
		var finErr, retErr error
		wg.Go(func() {
			_, finErr = e.s.FinishReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.finish"))
		})
		wg.Go(func() {
			_, retErr = e.s.RetractReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.retract"))
		})
		wg.Wait()
		state := e.find(r.ID).State
		switch {
		case finErr == nil && isCode(retErr, guardian.EFINISHED) && state == guardian.ReportFinished:
		case retErr == nil && isCode(finErr, guardian.ERETRACTED) && state == guardian.ReportRetracted:
		default:
			t.Errorf("finish: %v; retract: %v; state %s", finErr, retErr, state)
		}
	}
}

// testConcurrentReports: many reporters' requests at once all succeed,
// each report keeping its own files.
func testConcurrentReports(t *testing.T, e *env) {
	const workers, perWorker = 8, 5
	rep := e.reporter("example-service")
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range perWorker {
				r := newReport(rep.ID)
				if err := e.s.CreateReport(e.ctx, r, reporterEvent(rep.ID, "report.submit")); err != nil {
					t.Error(err)
					return
				}
				f := newFile(r.ID)
				if err := e.s.AddFile(e.ctx, rep.ID, f, reporterEvent(rep.ID, "file.upload")); err != nil {
					t.Error(err)
					return
				}
				got, err := e.s.FinishReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.finish"))
				if err != nil {
					t.Error(err)
					return
				}
				if len(got.Files) != 1 || got.Files[0].ID != f.ID {
					t.Errorf("report %d finished with files %v, want only %s", r.ID, got.Files, f.ID)
				}
			}
		})
	}
	wg.Wait()
	if n := e.eventCount(); n != 1+3*workers*perWorker {
		t.Errorf("%d audit events, want %d", n, 1+3*workers*perWorker)
	}
}
