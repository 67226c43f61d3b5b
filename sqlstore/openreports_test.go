package sqlstore

import (
	"testing"
	"time"

	"github.com/guardian-network/guardian"
)

// TestOpenReportsBounded: however many reports are opened and never
// finished, openReports holds at most maxOpenReports, and still answers
// for the last one opened.
func TestOpenReportsBounded(t *testing.T) {
	var o openReports
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for id := int64(1); id <= maxOpenReports+100; id++ {
		o.put(&guardian.Report{ID: id, ReporterID: 7, State: guardian.ReportOpen, OpenedAt: now, ModifiedAt: now, WrappedKey: []byte("key")})
	}
	if n := o.len(); n != maxOpenReports {
		t.Errorf("%d reports held, want %d", n, maxOpenReports)
	}
	if _, ok := o.get(7, maxOpenReports+100, now); !ok {
		t.Error("the last report opened is not held")
	}
}

// TestOpenReportsAnswers: only the owner's open reports, not past their
// expiry by the time asked, are answered; a touch postpones the expiry and
// never moves it back; closed reports are not held.
func TestOpenReportsAnswers(t *testing.T) {
	var o openReports
	opened := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	o.put(&guardian.Report{ID: 1, ReporterID: 7, State: guardian.ReportOpen, OpenedAt: opened, ModifiedAt: opened, WrappedKey: []byte("key")})
	o.put(&guardian.Report{ID: 2, ReporterID: 7, State: guardian.ReportFinished, OpenedAt: opened, ModifiedAt: opened, WrappedKey: []byte("key")})
	if _, ok := o.get(8, 1, opened); ok {
		t.Error("another reporter's report answered")
	}
	if _, ok := o.get(7, 2, opened); ok {
		t.Error("a finished report is held")
	}
	r, ok := o.get(7, 1, opened)
	if !ok || string(r.WrappedKey) != "key" || r.State != guardian.ReportOpen {
		t.Fatalf("get = %+v, %v", r, ok)
	}
	r.WrappedKey[0] = 'X' // the caller's copy
	if r, _ := o.get(7, 1, opened); string(r.WrappedKey) != "key" {
		t.Error("a caller changed the key held")
	}

	late := opened.Add(guardian.OpenReportLifetime + time.Minute)
	if _, ok := o.get(7, 1, late); ok {
		t.Error("a report past its expiry answered")
	}
	touched := late.Add(-30 * time.Minute)
	o.touch(1, touched)
	o.touch(1, opened) // older: ignored
	if r, ok := o.get(7, 1, late); !ok || !r.ModifiedAt.Equal(touched) {
		t.Errorf("after a touch: %+v, %v; want held, modified %v", r, ok, touched)
	}
	o.drop(1)
	if _, ok := o.get(7, 1, late); ok {
		t.Error("a dropped report answered")
	}
}
