package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
)

// access returns the store as a guardian.AccessStore, failing the test if
// it is not.
func (e *env) access() guardian.AccessStore {
	e.t.Helper()
	as, ok := e.s.(guardian.AccessStore)
	if !ok {
		e.t.Fatalf("%T is not a guardian.AccessStore", e.s)
	}
	return as
}

// heldReferral submits a finished report with two files and routes it to
// the agency as a referral held for an analyst's confirmation: a referral
// that exists, and that nothing delivers (so no referral hook is needed).
func (e *env) heldReferral(agency string) (*guardian.Referral, *guardian.Report) {
	e.t.Helper()
	rep := e.reporter("example-service-" + randomHex(3))
	r := e.report(rep.ID)
	e.file(rep.ID, r.ID)
	e.file(rep.ID, r.ID)
	if _, err := e.s.FinishReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.finish")); err != nil {
		e.t.Fatalf("FinishReport: %v", err)
	}
	rs, ok := e.s.(guardian.RoutingStore)
	if !ok {
		e.t.Fatalf("%T is not a RoutingStore", e.s)
	}
	held := &guardian.Referral{AgencyID: agency, Countries: []string{"PY"}, Channel: guardian.ChannelDirect, Reason: guardian.ReasonPartner,
		Priority: guardian.Priority2, Label: guardian.LabelReferral, HandlingCode: "synthetic",
		DataScope: guardian.ScopeFiles | guardian.ScopeFileContent, AcknowledgeWithin: 24 * time.Hour, RetentionDays: 90,
		HeldForConfirmation: true}
	err := rs.RouteReport(e.ctx, r.ID, guardian.Actor{Kind: guardian.ActorSystem}, "synthetic-network", e.now(), e.now(),
		func(*guardian.RoutingState) (*guardian.RoutingUpdate, error) {
			return &guardian.RoutingUpdate{Create: []*guardian.Referral{held}}, nil
		})
	if err != nil {
		e.t.Fatalf("RouteReport: %v", err)
	}
	if held.ID == 0 {
		e.t.Fatal("RouteReport set no referral id")
	}
	return held, e.find(r.ID)
}

// consultation is the event of a person opening a referral's content.
func consultation(u *guardian.User, why string) *guardian.AuditEvent {
	return &guardian.AuditEvent{Actor: u.Actor(), Category: guardian.CategoryConsultation, Action: "referral.open",
		Justification: guardian.Justification{CaseNumber: why}.String(), RequestID: "req-" + randomHex(4), ClientAddr: "203.0.113.9"}
}

func testRecordConsultation(t *testing.T, e *env) {
	as := e.access()
	ref, report := e.heldReferral("py-cyber")
	u := e.user("ana@example.org")

	other, _ := e.heldReferral("py-cyber")
	stranger := e.user("cai@example.org")
	today := guardian.ConsultationDay(e.now())
	hasConsultation(t, as, e, u.ID, ref.ID, today, false)
	n := e.eventCount()
	ev := consultation(u, "PY-2026-17")
	if ok, err := as.RecordConsultation(e.ctx, u.ID, ref.ID, ev); err != nil || !ok {
		t.Fatalf("RecordConsultation: %v, %v; want true", ok, err)
	}
	// Found for that person, referral and day only.
	hasConsultation(t, as, e, u.ID, ref.ID, today, true)
	yesterday := guardian.ConsultationDay(e.now().Add(-24 * time.Hour))
	tomorrow := guardian.ConsultationDay(e.now().Add(24 * time.Hour))
	hasConsultation(t, as, e, u.ID, ref.ID, yesterday, false)
	hasConsultation(t, as, e, u.ID, ref.ID, tomorrow, false)
	hasConsultation(t, as, e, u.ID, other.ID, today, false)
	hasConsultation(t, as, e, stranger.ID, ref.ID, today, false)
	hasConsultation(t, as, e, 1<<40, 1<<40, today, false)
	e.wantStored(ev)
	if ev.ObjectKind != "referral" || ev.ObjectID != fmt.Sprint(ref.ID) || ev.ReportID != report.ID || ev.Justification != "case PY-2026-17" {
		t.Errorf("consultation event %+v", ev)
	}
	// Again the same UTC day, up to its last minute: recorded already.
	// (The clock starts at 03:04:05 UTC.)
	for _, d := range []time.Duration{time.Hour, 19*time.Hour + 55*time.Minute} {
		e.clock.Advance(d)
		if ok, err := as.RecordConsultation(e.ctx, u.ID, ref.ID, consultation(u, "PY-2026-17")); err != nil || ok {
			t.Errorf("RecordConsultation again at %v: %v, %v; want false", e.now(), ok, err)
		}
	}
	if got := e.eventCount(); got != n+1 {
		t.Errorf("%d consultation events in one day, want 1", got-n)
	}
	// The next day, once more.
	e.clock.Advance(2 * time.Minute)
	hasConsultation(t, as, e, u.ID, ref.ID, tomorrow, false)
	if ok, err := as.RecordConsultation(e.ctx, u.ID, ref.ID, consultation(u, "PY-2026-17")); err != nil || !ok {
		t.Errorf("RecordConsultation the next day (%v): %v, %v; want true", e.now(), ok, err)
	}
	hasConsultation(t, as, e, u.ID, ref.ID, tomorrow, true)
	hasConsultation(t, as, e, u.ID, ref.ID, today, true)

	// A person must say why; a refusal leaves no row behind.
	bea := e.user("bea@example.org")
	n = e.eventCount()
	_, err := as.RecordConsultation(e.ctx, bea.ID, ref.ID, consultation(bea, ""))
	e.refused(err, guardian.EINVALID, n)
	_, err = as.RecordConsultation(e.ctx, bea.ID, 1<<40, consultation(bea, "x"))
	e.refused(err, guardian.ENOTFOUND, n)
	_, err = as.RecordConsultation(e.ctx, 1<<40, ref.ID, consultation(bea, "x"))
	e.refused(err, guardian.ENOTFOUND, n)
	hasConsultation(t, as, e, bea.ID, ref.ID, tomorrow, false)
	if ok, err := as.RecordConsultation(e.ctx, bea.ID, ref.ID, consultation(bea, "PY-2026-18")); err != nil || !ok {
		t.Errorf("RecordConsultation after a refusal: %v, %v; want true", ok, err)
	}
	hasConsultation(t, as, e, bea.ID, ref.ID, tomorrow, true)
}

// hasConsultation fails t unless HasConsultation answers want.
func hasConsultation(t *testing.T, as guardian.AccessStore, e *env, userID, referralID int64, day string, want bool) {
	t.Helper()
	if got, err := as.HasConsultation(e.ctx, userID, referralID, day); err != nil || got != want {
		t.Errorf("HasConsultation(user %d, referral %d, %s): %v, %v; want %v", userID, referralID, day, got, err, want)
	}
}

// testConsultationRace: requests of one person opening a referral at once
// append one consultation event.
func testConsultationRace(t *testing.T, e *env) {
	as := e.access()
	ref, _ := e.heldReferral("py-cyber")
	u := e.user("ana@example.org")
	n := e.eventCount()
	recorded := make([]bool, 8)
	errs := concurrently(len(recorded), func(i int) error {
		var err error
		recorded[i], err = as.RecordConsultation(e.ctx, u.ID, ref.ID, consultation(u, "PY-2026-17"))
		return err
	})
	count := 0
	for i, err := range errs {
		if err != nil {
			t.Errorf("RecordConsultation %d: %v", i, err)
		}
		if recorded[i] {
			count++
		}
	}
	if count != 1 {
		t.Errorf("%d concurrent calls reported recording, want 1", count)
	}
	evs := e.newEvents(n)
	if len(evs) != 1 || evs[0].Action != "referral.open" {
		t.Errorf("events after concurrent consultations: %v", summarise(evs))
	}
}

func testLegalAuthority(t *testing.T, e *env) {
	as := e.access()
	ref, report := e.heldReferral("py-cyber")
	other, _ := e.heldReferral("ar-cyber")
	u := e.user("ana@example.org", guardian.RoleAgencySupervisor)
	f1, f2 := report.Files[0].ID, report.Files[1].ID

	n := e.eventCount()
	first := &guardian.LegalAuthority{ReferralID: ref.ID, FileIDs: []string{f1}, Reference: "  Orden 2026-0042 ", UserID: u.ID}
	ev := &guardian.AuditEvent{Actor: u.Actor(), Category: guardian.CategoryPermission, Action: "file.legal-authority"}
	if err := as.RecordLegalAuthority(e.ctx, first, ev); err != nil {
		t.Fatal(err)
	}
	if first.ID == 0 || !first.RecordedAt.Equal(e.now()) || first.Reference != "Orden 2026-0042" {
		t.Errorf("RecordLegalAuthority set %+v", first)
	}
	e.wantStored(ev)
	e.wantEvents(n, eventSummary{"file.legal-authority", string(guardian.CategoryPermission), "referral:" + fmt.Sprint(ref.ID), guardian.OutcomeSuccess, ""})
	if ev.Justification != "Orden 2026-0042" || ev.ReportID != report.ID {
		t.Errorf("legal authority event %+v", ev)
	}

	e.clock.Advance(time.Hour)
	second := &guardian.LegalAuthority{ReferralID: ref.ID, FileIDs: []string{f2, f1}, Reference: "Warrant W-7", UserID: u.ID}
	if err := as.RecordLegalAuthority(e.ctx, second, &guardian.AuditEvent{Actor: u.Actor(), Action: "file.legal-authority"}); err != nil {
		t.Fatal(err)
	}
	got, err := as.FindLegalAuthorities(e.ctx, ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*guardian.LegalAuthority{first, second}, got); diff != "" {
		t.Errorf("FindLegalAuthorities (-recorded +found):\n%s", diff)
	}
	if len(got) == 2 && (!got[0].Covers(f1) || got[0].Covers(f2) || !got[1].Covers(f2)) {
		t.Errorf("Covers: %+v", got)
	}
	if none, err := as.FindLegalAuthorities(e.ctx, other.ID); err != nil || len(none) != 0 {
		t.Errorf("FindLegalAuthorities of another referral: %v, %v", none, err)
	}

	n = e.eventCount()
	ev2 := func() *guardian.AuditEvent {
		return &guardian.AuditEvent{Actor: u.Actor(), Category: guardian.CategoryPermission, Action: "file.legal-authority"}
	}
	otherFile := e.find(other.ReportID).Files[0].ID
	for name, tt := range map[string]struct {
		la   guardian.LegalAuthority
		code string
	}{
		"NoReference":      {guardian.LegalAuthority{ReferralID: ref.ID, FileIDs: []string{f1}, Reference: " ", UserID: u.ID}, guardian.EINVALID},
		"NoFiles":          {guardian.LegalAuthority{ReferralID: ref.ID, Reference: "W-8", UserID: u.ID}, guardian.EINVALID},
		"OtherReportsFile": {guardian.LegalAuthority{ReferralID: ref.ID, FileIDs: []string{otherFile}, Reference: "W-8", UserID: u.ID}, guardian.EINVALID},
		"FileTwice":        {guardian.LegalAuthority{ReferralID: ref.ID, FileIDs: []string{f1, f1}, Reference: "W-8", UserID: u.ID}, guardian.EINVALID},
		"TwoLines":         {guardian.LegalAuthority{ReferralID: ref.ID, FileIDs: []string{f1}, Reference: "W-8\nW-9", UserID: u.ID}, guardian.EINVALID},
		"UnknownReferral":  {guardian.LegalAuthority{ReferralID: 1 << 40, FileIDs: []string{f1}, Reference: "W-8", UserID: u.ID}, guardian.ENOTFOUND},
		"UnknownUser":      {guardian.LegalAuthority{ReferralID: ref.ID, FileIDs: []string{f1}, Reference: "W-8", UserID: 1 << 40}, guardian.ENOTFOUND},
	} {
		t.Run(name, func(t *testing.T) {
			la := tt.la
			if err := as.RecordLegalAuthority(e.ctx, &la, ev2()); !isCode(err, tt.code) {
				t.Errorf("RecordLegalAuthority: %v, want %s", err, tt.code)
			}
		})
	}
	if err := as.RecordLegalAuthority(e.ctx, &guardian.LegalAuthority{ReferralID: ref.ID, FileIDs: []string{f1}, Reference: "W-8", UserID: u.ID}, nil); err == nil {
		t.Error("a legal authority was recorded without its audit event")
	}
	if got := e.eventCount(); got != n {
		t.Errorf("refused legal authorities stored %d events", got-n)
	}
	if got, _ := as.FindLegalAuthorities(e.ctx, ref.ID); len(got) != 2 {
		t.Errorf("%d legal authorities after refusals, want 2", len(got))
	}
}
