package storetest

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
)

var (
	detailsXML  = []byte(`<fileDetails><reportId>1</reportId><fileId>x</fileId><originalFileName>a.jpg</originalFileName></fileDetails>`)
	detailsJSON = json.RawMessage(`{"originalFileName": "a.jpg"}`)
)

func testAddFile(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	r := e.report(rep.ID)
	e.clock.Advance(time.Minute)

	// The clock stands still between uploads: the order must come from
	// the store, not from the upload times.
	var files []*guardian.File
	for i := range 4 {
		f := newFile(r.ID)
		ev := reporterEvent(rep.ID, "file.upload")
		if err := e.s.AddFile(e.ctx, rep.ID, f, ev); err != nil {
			t.Fatalf("AddFile %d: %v", i, err)
		}
		if !f.UploadedAt.Equal(e.now()) {
			t.Errorf("UploadedAt %v, want %v", f.UploadedAt, e.now())
		}
		if ev.ReportID != r.ID || ev.FileID != f.ID || ev.ObjectKind != "file" || ev.ObjectID != f.ID {
			t.Errorf("audit event %+v does not name file %s of report %d", ev, f.ID, r.ID)
		}
		e.wantStored(ev)
		files = append(files, f)
	}
	got := e.find(r.ID)
	if diff := cmp.Diff(files, got.Files); diff != "" {
		t.Errorf("files in upload order (-added +found):\n%s", diff)
	}
	if !got.ModifiedAt.Equal(e.now()) || got.OpenedAt.Equal(got.ModifiedAt) {
		t.Errorf("ModifiedAt %v, want %v: AddFile touches the report", got.ModifiedAt, e.now())
	}
}

func testAddFileRefused(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	finished, retracted := e.report(rep.ID), e.report(rep.ID)
	for _, c := range []struct {
		r  *guardian.Report
		fn func(ctx context.Context, reporterID, reportID int64, ev *guardian.AuditEvent) (*guardian.Report, error)
	}{{finished, e.s.FinishReport}, {retracted, e.s.RetractReport}} {
		if _, err := c.fn(e.ctx, rep.ID, c.r.ID, reporterEvent(rep.ID, "report.close")); err != nil {
			t.Fatal(err)
		}
	}
	n := e.eventCount()
	for _, c := range []struct {
		reportID int64
		code     string
	}{
		{finished.ID, guardian.EFINISHED},
		{retracted.ID, guardian.ERETRACTED},
		{retracted.ID + 1000, guardian.EREPORTNOTFOUND},
	} {
		err := e.s.AddFile(e.ctx, rep.ID, newFile(c.reportID), reporterEvent(rep.ID, "file.upload"))
		e.refused(err, c.code, n)
	}
	for _, r := range []*guardian.Report{finished, retracted} {
		if got := e.find(r.ID); len(got.Files) != 0 {
			t.Errorf("report %d (%s) has %d files", r.ID, got.State, len(got.Files))
		}
	}
}

func testDuplicateFile(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	r, other := e.report(rep.ID), e.report(rep.ID)
	f := e.file(rep.ID, r.ID)
	e.clock.Advance(time.Minute)
	n := e.eventCount()
	dup := newFile(other.ID)
	dup.ID = f.ID
	err := e.s.AddFile(e.ctx, rep.ID, dup, reporterEvent(rep.ID, "file.upload"))
	e.refused(err, guardian.ECONFLICT, n)
	// The failed upload must not have touched the report either.
	if got := e.find(other.ID); len(got.Files) != 0 || !got.ModifiedAt.Equal(other.ModifiedAt) {
		t.Errorf("refused upload changed report: %d files, modified %v", len(got.Files), got.ModifiedAt)
	}
}

func testSetFileDetails(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	r := e.report(rep.ID)
	f := e.file(rep.ID, r.ID)
	e.clock.Advance(time.Minute)
	ev := reporterEvent(rep.ID, "file.details")
	got, err := e.s.SetFileDetails(e.ctx, rep.ID, r.ID, f.ID, detailsXML, detailsJSON, ev)
	if err != nil {
		t.Fatal(err)
	}
	now := e.now()
	want := *f
	want.DetailsXML, want.Details, want.DetailsAt = detailsXML, detailsJSON, &now
	if diff := cmp.Diff(&want, got, cmpJSON); diff != "" {
		t.Errorf("SetFileDetails (-want +got):\n%s", diff)
	}
	found := e.find(r.ID)
	if diff := cmp.Diff([]*guardian.File{got}, found.Files, cmpJSON); diff != "" {
		t.Errorf("files after SetFileDetails (-returned +found):\n%s", diff)
	}
	if !found.ModifiedAt.Equal(now) {
		t.Errorf("ModifiedAt %v, want %v: SetFileDetails touches the report", found.ModifiedAt, now)
	}
	if ev.FileID != f.ID || ev.ReportID != r.ID {
		t.Errorf("audit event %+v does not name file %s", ev, f.ID)
	}
	e.wantStored(ev)
	if got.ViewedByReporter != nil {
		t.Errorf("details that do not say whether the file was viewed: ViewedByReporter %v, want nil", *got.ViewedByReporter)
	}

	// fileViewedByEsp is kept beside the sealed details, for the order of
	// the triage queue at finish.
	for _, viewed := range []bool{true, false} {
		g := e.file(rep.ID, r.ID)
		js := json.RawMessage(`{"fileViewedByEsp": ` + strconv.FormatBool(viewed) + `}`)
		if _, err := e.s.SetFileDetails(e.ctx, rep.ID, r.ID, g.ID, detailsXML, js, reporterEvent(rep.ID, "file.details")); err != nil {
			t.Fatal(err)
		}
		var stored *guardian.File
		for _, x := range e.find(r.ID).Files {
			if x.ID == g.ID {
				stored = x
			}
		}
		if stored == nil || stored.ViewedByReporter == nil || *stored.ViewedByReporter != viewed {
			t.Errorf("details with fileViewedByEsp %v: the stored file has ViewedByReporter %v", viewed, stored.ViewedByReporter)
		}
	}
}

func testFileDetailsSameAgain(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	r := e.report(rep.ID)
	f := e.file(rep.ID, r.ID)
	first, err := e.s.SetFileDetails(e.ctx, rep.ID, r.ID, f.ID, detailsXML, detailsJSON, reporterEvent(rep.ID, "file.details"))
	if err != nil {
		t.Fatal(err)
	}
	before := e.find(r.ID)
	n := e.eventCount()
	e.clock.Advance(time.Minute)

	again, err := e.s.SetFileDetails(e.ctx, rep.ID, r.ID, f.ID, detailsXML, detailsJSON, reporterEvent(rep.ID, "file.details"))
	if err != nil {
		t.Fatalf("same details again: %v", err)
	}
	if diff := cmp.Diff(first, again, cmpJSON); diff != "" {
		t.Errorf("file after the same details again (-first +again):\n%s", diff)
	}
	if diff := cmp.Diff(before, e.find(r.ID)); diff != "" {
		t.Errorf("the same details again changed the report (-before +after):\n%s", diff)
	}
	if got := e.eventCount(); got != n {
		t.Errorf("the same details again stored %d audit events", got-n)
	}
}

func testFileDetailsDifferent(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	r := e.report(rep.ID)
	f := e.file(rep.ID, r.ID)
	if _, err := e.s.SetFileDetails(e.ctx, rep.ID, r.ID, f.ID, detailsXML, detailsJSON, reporterEvent(rep.ID, "file.details")); err != nil {
		t.Fatal(err)
	}
	n := e.eventCount()
	before := e.find(r.ID).ModifiedAt
	e.clock.Advance(time.Minute)
	other := append([]byte(nil), detailsXML...)
	other[len(other)-2] = 'X'
	_, err := e.s.SetFileDetails(e.ctx, rep.ID, r.ID, f.ID, other, detailsJSON, reporterEvent(rep.ID, "file.details"))
	e.refused(err, guardian.ECONFLICT, n)
	got := e.find(r.ID)
	if string(got.Files[0].DetailsXML) != string(detailsXML) {
		t.Errorf("details after a conflict: %s", got.Files[0].DetailsXML)
	}
	// A refused change is no change: it must not postpone the expiry.
	if !got.ModifiedAt.Equal(before) {
		t.Errorf("a refused change moved modified_at from %v to %v", before, got.ModifiedAt)
	}
}

func testFileDetailsFileNotFound(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	r, other := e.report(rep.ID), e.report(rep.ID)
	e.file(rep.ID, r.ID)
	elsewhere := e.file(rep.ID, other.ID)
	n := e.eventCount()
	before := e.find(r.ID).ModifiedAt
	e.clock.Advance(time.Minute)
	for _, id := range []string{elsewhere.ID, randomHex(16), "not-a-file-id"} {
		_, err := e.s.SetFileDetails(e.ctx, rep.ID, r.ID, id, detailsXML, detailsJSON, reporterEvent(rep.ID, "file.details"))
		e.refused(err, guardian.EFILENOTFOUND, n)
	}
	if got := e.find(r.ID).ModifiedAt; !got.Equal(before) {
		t.Errorf("a refused change moved modified_at from %v to %v", before, got)
	}
	if got := e.find(other.ID).Files[0]; got.DetailsXML != nil {
		t.Error("details were stored on a file of another report")
	}
}

func testFileDetailsRefused(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	r := e.report(rep.ID)
	f := e.file(rep.ID, r.ID)
	if _, err := e.s.FinishReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.finish")); err != nil {
		t.Fatal(err)
	}
	n := e.eventCount()
	_, err := e.s.SetFileDetails(e.ctx, rep.ID, r.ID, f.ID, detailsXML, detailsJSON, reporterEvent(rep.ID, "file.details"))
	e.refused(err, guardian.EFINISHED, n)
}

func testUnreferencedBlobs(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	open, finished, expiring := e.report(rep.ID), e.report(rep.ID), e.report(rep.ID)
	a, b := e.file(rep.ID, open.ID), e.file(rep.ID, finished.ID)
	c := e.file(rep.ID, expiring.ID)
	if _, err := e.s.FinishReport(e.ctx, rep.ID, finished.ID, reporterEvent(rep.ID, "report.finish")); err != nil {
		t.Fatal(err)
	}
	keys := []string{"blobs/crashed", a.BlobKey, c.BlobKey, b.BlobKey, "blobs/crashed", "blobs/other"}
	got, err := e.s.FindUnreferencedBlobs(e.ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"blobs/crashed", "blobs/other"}, got); diff != "" {
		t.Errorf("FindUnreferencedBlobs (-want +got):\n%s", diff)
	}

	// Keep the open and finished reports alive while the third expires.
	e.clock.Advance(guardian.OpenReportLifetime - time.Minute)
	e.file(rep.ID, open.ID)
	e.clock.Advance(30 * time.Minute)
	if expired, err := e.s.ExpireReports(e.ctx, 10); err != nil || len(expired) != 1 || expired[0].ID != expiring.ID {
		t.Fatalf("ExpireReports = %v, %v; want report %d", expired, err, expiring.ID)
	}
	got, err = e.s.FindUnreferencedBlobs(e.ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"blobs/crashed", c.BlobKey, "blobs/other"}, got); diff != "" {
		t.Errorf("FindUnreferencedBlobs after expiry (-want +got):\n%s", diff)
	}

	// More keys than one query takes.
	many := make([]string, 1200)
	for i := range many {
		many[i] = "blobs/unknown-" + randomHex(8)
	}
	many[1100] = a.BlobKey
	got, err = e.s.FindUnreferencedBlobs(e.ctx, many)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(many)-1 {
		t.Errorf("FindUnreferencedBlobs of %d keys, one referenced: %d unreferenced", len(many), len(got))
	}
	if got, err := e.s.FindUnreferencedBlobs(e.ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("FindUnreferencedBlobs(nil) = %v, %v", got, err)
	}
}
