package storetest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
)

func testCreateReporter(t *testing.T, e *env) {
	r := &guardian.Reporter{Name: "example-service", PasswordHash: "$argon2id$v=19$synthetic", Disabled: true}
	ev := systemEvent("reporter.create")
	if err := e.s.CreateReporter(e.ctx, r, ev); err != nil {
		t.Fatal(err)
	}
	if r.ID == 0 || !r.CreatedAt.Equal(e.now()) {
		t.Errorf("CreateReporter set ID %d, CreatedAt %v; want an id and %v", r.ID, r.CreatedAt, e.now())
	}
	got, err := e.s.FindReporterByName(e.ctx, "example-service")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, got); diff != "" {
		t.Errorf("FindReporterByName (-created +found):\n%s", diff)
	}
	want := &guardian.AuditEvent{
		ID: ev.ID, Time: e.now(), Actor: guardian.Actor{Kind: guardian.ActorSystem, Name: "cli"},
		Category: guardian.CategoryPrivileged, Action: "reporter.create",
		ObjectKind: "reporter", ObjectID: fmt.Sprint(r.ID), Outcome: guardian.OutcomeSuccess,
	}
	if diff := cmp.Diff(want, ev); diff != "" || ev.ID == 0 {
		t.Errorf("audit event as completed by the store, id %d (-want +got):\n%s", ev.ID, diff)
	}
	e.wantStored(ev)
}

func testDuplicateReporter(t *testing.T, e *env) {
	e.reporter("example-service")
	n := e.eventCount()
	err := e.s.CreateReporter(e.ctx, &guardian.Reporter{Name: "example-service", PasswordHash: "x"}, systemEvent("reporter.create"))
	e.refused(err, guardian.ECONFLICT, n)
}

func testReporterNotFound(t *testing.T, e *env) {
	e.reporter("example-service")
	_, err := e.s.FindReporterByName(e.ctx, "Example-Service")
	wantCode(t, err, guardian.ENOTFOUND)
}

func testCreateReport(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	r := newReport(rep.ID)
	ev := reporterEvent(rep.ID, "report.submit")
	if err := e.s.CreateReport(e.ctx, r, ev); err != nil {
		t.Fatal(err)
	}
	if r.ID == 0 || r.State != guardian.ReportOpen || !r.OpenedAt.Equal(e.now()) || !r.ModifiedAt.Equal(e.now()) {
		t.Errorf("CreateReport set ID %d, state %s, opened %v, modified %v", r.ID, r.State, r.OpenedAt, r.ModifiedAt)
	}
	r.Files = []*guardian.File{}
	got := e.find(r.ID)
	// Document is compared as JSON: the store keeps its meaning, and the
	// XML byte for byte.
	if diff := cmp.Diff(r, got, cmpJSON); diff != "" {
		t.Errorf("FindReportByID (-created +found):\n%s", diff)
	}
	if got.Files == nil {
		t.Error("Files is nil, want an empty slice")
	}
	if ev.ReportID != r.ID || ev.ObjectKind != "report" || ev.ObjectID != fmt.Sprint(r.ID) || ev.Outcome != guardian.OutcomeSuccess {
		t.Errorf("audit event %+v does not name report %d", ev, r.ID)
	}
	e.wantStored(ev)

	// FindReporterReport leaves out the documents and files.
	mine, err := e.s.FindReporterReport(e.ctx, rep.ID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := *got
	want.XML, want.Document, want.Files = nil, nil, nil
	if diff := cmp.Diff(&want, mine); diff != "" {
		t.Errorf("FindReporterReport (-FindReportByID without documents and files +FindReporterReport):\n%s", diff)
	}
}

func testReportIDsIncrease(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	var last int64
	for range 5 {
		r := e.report(rep.ID)
		if r.ID <= last {
			t.Fatalf("report id %d after %d", r.ID, last)
		}
		last = r.ID
	}
}

func testOtherReporter(t *testing.T, e *env) {
	a, b := e.reporter("service-a"), e.reporter("service-b")
	r := e.report(a.ID)
	f := e.file(a.ID, r.ID)
	n := e.eventCount()

	_, err := e.s.FindReporterReport(e.ctx, b.ID, r.ID)
	wantCode(t, err, guardian.EREPORTNOTFOUND)
	_, err = e.s.FindReporterReport(e.ctx, a.ID, r.ID+1000)
	wantCode(t, err, guardian.EREPORTNOTFOUND)
	_, err = e.s.FindReportByID(e.ctx, r.ID+1000)
	wantCode(t, err, guardian.EREPORTNOTFOUND)

	// Every change to another reporter's report answers exactly as for a
	// missing report, and changes nothing.
	err = e.s.AddFile(e.ctx, b.ID, newFile(r.ID), reporterEvent(b.ID, "file.upload"))
	e.refused(err, guardian.EREPORTNOTFOUND, n)
	_, err = e.s.SetFileDetails(e.ctx, b.ID, r.ID, f.ID, []byte("<fileDetails/>"), json.RawMessage(`{}`), reporterEvent(b.ID, "file.details"))
	e.refused(err, guardian.EREPORTNOTFOUND, n)
	_, err = e.s.FinishReport(e.ctx, b.ID, r.ID, reporterEvent(b.ID, "report.finish"))
	e.refused(err, guardian.EREPORTNOTFOUND, n)
	_, err = e.s.RetractReport(e.ctx, b.ID, r.ID, reporterEvent(b.ID, "report.retract"))
	e.refused(err, guardian.EREPORTNOTFOUND, n)
	if got := e.find(r.ID); got.State != guardian.ReportOpen || len(got.Files) != 1 || got.Files[0].DetailsXML != nil {
		t.Errorf("another reporter changed the report: %+v", got)
	}
}

func testInvalidReport(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	n := e.eventCount()
	for name, change := range map[string]func(r *guardian.Report){
		"no XML":           func(r *guardian.Report) { r.XML = nil },
		"no key":           func(r *guardian.Report) { r.WrappedKey = nil },
		"document no JSON": func(r *guardian.Report) { r.Document = []byte("<report/>") },
		"no reporter":      func(r *guardian.Report) { r.ReporterID = 0 },
		"unknown reporter": func(r *guardian.Report) { r.ReporterID = rep.ID + 1000 },
	} {
		r := newReport(rep.ID)
		change(r)
		if err := e.s.CreateReport(e.ctx, r, reporterEvent(rep.ID, "report.submit")); err == nil {
			t.Errorf("%s: CreateReport succeeded", name)
		}
	}
	if got := e.eventCount(); got != n {
		t.Errorf("refused reports stored %d audit events", got-n)
	}
}

// testClose finishes or retracts a report: it comes back with its files
// in upload order, as stored but without documents (theirs or the files'
// details), and the change is recorded.
func testClose(t *testing.T, e *env, state guardian.ReportState) {
	rep := e.reporter("example-service")
	r := e.report(rep.ID)
	files := []*guardian.File{e.file(rep.ID, r.ID), e.file(rep.ID, r.ID), e.file(rep.ID, r.ID)}
	described, err := e.s.SetFileDetails(e.ctx, rep.ID, r.ID, files[1].ID, detailsXML, detailsJSON, reporterEvent(rep.ID, "file.details"))
	if err != nil {
		t.Fatal(err)
	}
	files[1] = described
	e.clock.Advance(time.Minute)
	now := e.now()
	want := *r
	want.State, want.ModifiedAt, want.Files = state, now, files
	want = *withoutDocuments(&want) // see guardian.Store.FinishReport
	closeFn, action := e.s.FinishReport, "report.finish"
	if want.FinishedAt = &now; state == guardian.ReportRetracted {
		closeFn, action = e.s.RetractReport, "report.retract"
		want.FinishedAt, want.RetractedAt = nil, &now
	}
	ev := reporterEvent(rep.ID, action)
	got, err := closeFn(e.ctx, rep.ID, r.ID, ev)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&want, got, cmpJSON); diff != "" {
		t.Errorf("%s (-want +got):\n%s", action, diff)
	}
	found := e.find(r.ID)
	if string(found.Files[1].DetailsXML) != string(detailsXML) {
		t.Errorf("FindReportByID after %s: file details %q", action, found.Files[1].DetailsXML)
	}
	if diff := cmp.Diff(got, withoutDocuments(found)); diff != "" {
		t.Errorf("FindReportByID after %s (-returned +found):\n%s", action, diff)
	}
	if ev.ReportID != r.ID || ev.ObjectID != fmt.Sprint(r.ID) || ev.Outcome != guardian.OutcomeSuccess {
		t.Errorf("audit event %+v does not record the change", ev)
	}
	e.wantStored(ev)
}

func testFinishRefused(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	r := e.report(rep.ID)
	if _, err := e.s.FinishReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.finish")); err != nil {
		t.Fatal(err)
	}
	n := e.eventCount()
	_, err := e.s.FinishReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.finish"))
	e.refused(err, guardian.EFINISHED, n)
	_, err = e.s.RetractReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.retract"))
	e.refused(err, guardian.EFINISHED, n)
	_, err = e.s.FinishReport(e.ctx, rep.ID, r.ID+1000, reporterEvent(rep.ID, "report.finish"))
	e.refused(err, guardian.EREPORTNOTFOUND, n)
	if got := e.find(r.ID); got.State != guardian.ReportFinished || got.RetractedAt != nil {
		t.Errorf("report after refused changes: %+v", got)
	}
}

func testRetractRefused(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	r := e.report(rep.ID)
	f := e.file(rep.ID, r.ID)
	if _, err := e.s.RetractReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.retract")); err != nil {
		t.Fatal(err)
	}
	n := e.eventCount()
	_, err := e.s.RetractReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.retract"))
	e.refused(err, guardian.ERETRACTED, n)
	_, err = e.s.FinishReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.finish"))
	e.refused(err, guardian.ERETRACTED, n)
	err = e.s.AddFile(e.ctx, rep.ID, newFile(r.ID), reporterEvent(rep.ID, "file.upload"))
	e.refused(err, guardian.ERETRACTED, n)
	_, err = e.s.SetFileDetails(e.ctx, rep.ID, r.ID, f.ID, []byte("<fileDetails/>"), json.RawMessage(`{}`), reporterEvent(rep.ID, "file.details"))
	e.refused(err, guardian.ERETRACTED, n)
	if got := e.find(r.ID); got.State != guardian.ReportRetracted || got.FinishedAt != nil || len(got.Files) != 1 {
		t.Errorf("report after refused changes: %+v", got)
	}
}

// wantExpired checks that err is the answer for an expired report:
// EREPORTNOTFOUND, with a message that says why.
func wantExpired(t *testing.T, err error) {
	t.Helper()
	wantCode(t, err, guardian.EREPORTNOTFOUND)
	if msg := guardian.ErrorMessage(err); !strings.Contains(msg, "expired") {
		t.Errorf("message %q does not say the report expired", msg)
	}
}

// cmpJSON compares json.RawMessage by meaning: PostgreSQL need not return
// a document with the bytes it was given.
var cmpJSON = cmp.Comparer(func(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return string(a) == string(b)
	}
	return cmp.Equal(x, y)
})

// testFindOpenReport: FindOpenReport answers as FindReporterReport does
// while the report is open and as it changes (the intake's requests read it
// before they write), and after the report is closed or past its expiry.
func testFindOpenReport(t *testing.T, e *env) {
	a, b := e.reporter("service-a"), e.reporter("service-b")
	same := func(reporterID, reportID int64) {
		t.Helper()
		want, wantErr := e.s.FindReporterReport(e.ctx, reporterID, reportID)
		got, err := e.s.FindOpenReport(e.ctx, reporterID, reportID)
		if guardian.ErrorCode(err) != guardian.ErrorCode(wantErr) || (err == nil) != (wantErr == nil) {
			t.Fatalf("FindOpenReport: error %v, FindReporterReport: %v", err, wantErr)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("FindOpenReport of report %d (-FindReporterReport +FindOpenReport):\n%s", reportID, diff)
		}
	}
	r := e.report(a.ID)
	same(a.ID, r.ID)
	same(b.ID, r.ID) // not b's
	same(a.ID, r.ID+1000)

	e.clock.Advance(time.Minute)
	f := e.file(a.ID, r.ID)
	same(a.ID, r.ID)
	e.clock.Advance(time.Minute)
	if _, err := e.s.SetFileDetails(e.ctx, a.ID, r.ID, f.ID, detailsXML, detailsJSON, reporterEvent(a.ID, "file.details")); err != nil {
		t.Fatal(err)
	}
	same(a.ID, r.ID)
	if _, err := e.s.FinishReport(e.ctx, a.ID, r.ID, reporterEvent(a.ID, "report.finish")); err != nil {
		t.Fatal(err)
	}
	same(a.ID, r.ID)

	// Past its expiry, and not yet marked expired: as stored, open.
	idle := e.report(a.ID)
	e.clock.Advance(guardian.OpenReportLifetime)
	same(a.ID, idle.ID)
	if got, err := e.s.FindOpenReport(e.ctx, a.ID, idle.ID); err != nil || e.clock.Now().Before(got.ExpiresAt()) {
		t.Errorf("FindOpenReport of a report past its expiry: %v, expires at %v", err, got)
	}
}

// testFinishFiles: the report FinishReport and RetractReport return has
// its files as FindFiles reads them, every column: plain, PDQ-hashed with
// the hashes of its rotations, with details that say the reporter viewed
// the file or not.
func testFinishFiles(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	for _, close := range []string{"finish", "retract"} {
		r := e.report(rep.ID)
		e.file(rep.ID, r.ID)
		q := 93
		hashed := newFile(r.ID)
		hashed.ImageStatus, hashed.PDQ, hashed.PDQQuality = guardian.ImageHashed, randomHex(32), &q
		hashed.PDQDihedral = []string{hashed.PDQ}
		for range 7 {
			hashed.PDQDihedral = append(hashed.PDQDihedral, randomHex(32))
		}
		if err := e.s.AddFile(e.ctx, rep.ID, hashed, reporterEvent(rep.ID, "file.upload")); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
		for _, viewed := range []bool{true, false} {
			f := e.file(rep.ID, r.ID)
			js := json.RawMessage(`{"fileViewedByEsp": ` + fmt.Sprint(viewed) + `}`)
			if _, err := e.s.SetFileDetails(e.ctx, rep.ID, r.ID, f.ID, detailsXML, js, reporterEvent(rep.ID, "file.details")); err != nil {
				t.Fatal(err)
			}
		}
		want := e.find(r.ID).Files
		for _, f := range want {
			f.DetailsXML, f.Details = nil, nil // closing reads no details
		}
		var closed *guardian.Report
		var err error
		if close == "finish" {
			closed, err = e.s.FinishReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.finish"))
		} else {
			closed, err = e.s.RetractReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.retract"))
		}
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, closed.Files); diff != "" || len(want) != 4 {
			t.Errorf("files of the report as %s returns it (-FindReportByID without details +%s), %d files:\n%s", close, close, len(want), diff)
		}
	}
	// And a report without files: none, not nil.
	r := e.report(rep.ID)
	closed, err := e.s.FinishReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.finish"))
	if err != nil || closed.Files == nil || len(closed.Files) != 0 {
		t.Errorf("finish of a report without files: %v, files %v", err, closed.Files)
	}
}
