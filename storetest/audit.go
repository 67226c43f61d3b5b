package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
)

func testAppendAuditEvent(t *testing.T, e *env) {
	full := &guardian.AuditEvent{
		Actor:         guardian.Actor{Kind: guardian.ActorUser, ID: "17", Name: "analyst", Organisation: "Synthetic Hub"},
		Category:      guardian.CategoryDisclosure,
		Action:        "report.open",
		ObjectKind:    "report",
		ObjectID:      "42",
		ReportID:      42,
		FileID:        randomHex(16),
		Outcome:       guardian.OutcomeFailure,
		Reason:        "5001",
		Justification: "synthetic case 1",
		Recipients:    []string{"agency-a", "agency-b"},
		RequestID:     "req-1",
		ClientAddr:    "2001:db8::1",
	}
	if err := e.s.AppendAuditEvent(e.ctx, full); err != nil {
		t.Fatal(err)
	}
	if full.ID == 0 || !full.Time.Equal(e.now()) {
		t.Errorf("AppendAuditEvent set ID %d, Time %v; want an id and the store's time %v", full.ID, full.Time, e.now())
	}
	e.wantStored(full)

	// A time given is kept (to the stored precision).
	at := start.Add(-time.Hour)
	minimal := &guardian.AuditEvent{
		Time:     at,
		Actor:    guardian.Actor{Kind: guardian.ActorReporter},
		Category: guardian.CategoryAuthentication,
		Action:   "reporter.login",
		Outcome:  guardian.OutcomeFailure,
	}
	if err := e.s.AppendAuditEvent(e.ctx, minimal); err != nil {
		t.Fatal(err)
	}
	if minimal.ID <= full.ID || !minimal.Time.Equal(at.Truncate(time.Microsecond)) {
		t.Errorf("second event: ID %d after %d, Time %v, want %v", minimal.ID, full.ID, minimal.Time, at)
	}
	e.wantStored(minimal)
}

func testInvalidAuditEvent(t *testing.T, e *env) {
	valid := func() *guardian.AuditEvent {
		return &guardian.AuditEvent{
			Actor: guardian.Actor{Kind: guardian.ActorSystem}, Category: guardian.CategoryPrivileged,
			Action: "config.reload", Outcome: guardian.OutcomeSuccess,
		}
	}
	for name, change := range map[string]func(ev *guardian.AuditEvent){
		"no actor":    func(ev *guardian.AuditEvent) { ev.Actor.Kind = "" },
		"no category": func(ev *guardian.AuditEvent) { ev.Category = "" },
		"no action":   func(ev *guardian.AuditEvent) { ev.Action = "" },
		"no outcome":  func(ev *guardian.AuditEvent) { ev.Outcome = "" },
		"bad outcome": func(ev *guardian.AuditEvent) { ev.Outcome = "maybe" },
	} {
		ev := valid()
		change(ev)
		if err := e.s.AppendAuditEvent(e.ctx, ev); err == nil {
			t.Errorf("%s: AppendAuditEvent succeeded", name)
		}
	}
	if err := e.s.AppendAuditEvent(e.ctx, valid()); err != nil {
		t.Fatal(err)
	}
	if n := e.eventCount(); n != 1 {
		t.Errorf("%d events stored, want only the valid one", n)
	}
}

func testFindAuditEvents(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	a, b := e.report(rep.ID), e.report(rep.ID)
	e.file(rep.ID, a.ID)
	e.file(rep.ID, b.ID)
	e.file(rep.ID, a.ID)
	all := e.events(guardian.AuditFilter{})
	if len(all) != 6 {
		t.Fatalf("%d events, want 6", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID <= all[i-1].ID {
			t.Fatalf("events out of order: %d after %d", all[i].ID, all[i-1].ID)
		}
	}
	ids := func(evs []*guardian.AuditEvent) []int64 {
		var ids []int64
		for _, ev := range evs {
			ids = append(ids, ev.ID)
		}
		return ids
	}
	for _, c := range []struct {
		name   string
		filter guardian.AuditFilter
		want   []*guardian.AuditEvent
	}{
		{"report", guardian.AuditFilter{ReportID: a.ID}, []*guardian.AuditEvent{all[1], all[3], all[5]}},
		{"action", guardian.AuditFilter{Action: "file.upload"}, all[3:]},
		{"both", guardian.AuditFilter{ReportID: b.ID, Action: "file.upload"}, all[4:5]},
		{"after", guardian.AuditFilter{AfterID: all[3].ID}, all[4:]},
		{"limit", guardian.AuditFilter{AfterID: all[0].ID, Limit: 2}, all[1:3]},
		{"none", guardian.AuditFilter{Action: "nothing"}, nil},
	} {
		got, err := e.s.FindAuditEvents(e.ctx, c.filter)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(ids(c.want), ids(got)); diff != "" {
			t.Errorf("%s: event ids (-want +got):\n%s", c.name, diff)
		}
	}
}

// testMissingEvent: a change without its audit event is refused, and
// nothing changes.
func testMissingEvent(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	r := e.report(rep.ID)
	n := e.eventCount()
	if err := e.s.AddFile(e.ctx, rep.ID, newFile(r.ID), nil); err == nil {
		t.Error("AddFile without an audit event succeeded")
	}
	if _, err := e.s.FinishReport(e.ctx, rep.ID, r.ID, nil); err == nil {
		t.Error("FinishReport without an audit event succeeded")
	}
	if err := e.s.CreateReport(e.ctx, newReport(rep.ID), nil); err == nil {
		t.Error("CreateReport without an audit event succeeded")
	}
	if _, err := e.s.FindReportByID(e.ctx, r.ID+1); guardian.ErrorCode(err) != guardian.EREPORTNOTFOUND {
		t.Errorf("a report created without its audit event exists: %v", err)
	}
	if got := e.find(r.ID); got.State != guardian.ReportOpen || len(got.Files) != 0 {
		t.Errorf("unaudited changes took effect: state %s, %d files", got.State, len(got.Files))
	}
	if got := e.eventCount(); got != n {
		t.Errorf("%d events stored", got-n)
	}
}
