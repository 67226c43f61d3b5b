// Package storetest is the behaviour suite that every [guardian.Store] must
// pass, and the helpers other packages' tests use to get a real store.
//
// A store package runs the suite from its own tests:
//
//	func TestStore(t *testing.T) { storetest.Run(t, storetest.SQLite) }
//
// [Run] runs [RunStoreTests], which sees only the guardian.Store interface,
// and then the tests that need the database itself: append-only triggers,
// schema versions, reopening, two stores on one database.
//
// Tests elsewhere get a fresh store with [MustOpenSQLite] or
// [MustOpenPostgres], a store and its DSN with [MustOpen], or only a DSN
// with [PostgresDSN] (for a hub process started by the test). The
// PostgreSQL ones run when GUARDIAN_TEST_POSTGRES holds a database URL and
// skip otherwise; each gets a schema of its own, dropped at cleanup, so
// that parallel and repeated runs never meet.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
)

// Clock is a [guardian.Clock] that tests move by hand.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that stands at t until moved.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time; pass the method value as a guardian.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Opener returns a store on a new, empty database that reads the time
// from now, and closes it when t ends.
type Opener func(t *testing.T, now guardian.Clock) guardian.Store

// start is where test clocks begin. Its nanoseconds check that the store
// keeps times to the precision it stores (microseconds) everywhere.
var start = time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)

// RunStoreTests runs the behaviour suite against the stores open returns.
// Every subtest gets a new database and runs in parallel with the others.
func RunStoreTests(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"Reporter/Create", testCreateReporter},
		{"Reporter/DuplicateName", testDuplicateReporter},
		{"Reporter/NotFound", testReporterNotFound},
		{"Report/Create", testCreateReport},
		{"Report/IDsIncrease", testReportIDsIncrease},
		{"Report/OtherReporter", testOtherReporter},
		{"Report/FindOpen", testFindOpenReport},
		{"Report/FinishFiles", testFinishFiles},
		{"Report/Invalid", testInvalidReport},
		{"File/Add", testAddFile},
		{"File/Refused", testAddFileRefused},
		{"File/DuplicateID", testDuplicateFile},
		{"FileDetails/Set", testSetFileDetails},
		{"FileDetails/SameAgain", testFileDetailsSameAgain},
		{"FileDetails/Different", testFileDetailsDifferent},
		{"FileDetails/FileNotFound", testFileDetailsFileNotFound},
		{"FileDetails/Refused", testFileDetailsRefused},
		{"Finish", func(t *testing.T, e *env) { testClose(t, e, guardian.ReportFinished) }},
		{"Finish/Refused", testFinishRefused},
		{"Retract", func(t *testing.T, e *env) { testClose(t, e, guardian.ReportRetracted) }},
		{"Retract/Refused", testRetractRefused},
		{"Expiry/CheckedByClock", testExpiryByClock},
		{"Expiry/ChangePostpones", testExpiryPostponed},
		{"Expiry/ExpireReports", testExpireReports},
		{"Expiry/Limit", testExpireLimit},
		{"Expiry/DocumentsDestroyed", testDocumentsDestroyed},
		{"UnreferencedBlobs", testUnreferencedBlobs},
		{"Audit/Append", testAppendAuditEvent},
		{"Audit/Invalid", testInvalidAuditEvent},
		{"Audit/Filter", testFindAuditEvents},
		{"Audit/MissingEvent", testMissingEvent},
		{"Token/Create", testCreateToken},
		{"Token/Refused", testTokenRefused},
		{"User/Create", testCreateUser},
		{"User/Refused", testUserRefused},
		{"User/Find", testFindUsers},
		{"User/Update", testUpdateUser},
		{"User/Password", testSetUserPassword},
		{"User/MFA", testSetUserMFA},
		{"User/Lockout", testLockout},
		{"User/LockoutRace", testLockoutRace},
		{"User/SignIn", testRecordSignIn},
		{"User/SignInRace", testSignInRace},
		{"User/RecoveryCode", testUseRecoveryCode},
		{"User/Unlock", testUnlockUser},
		{"Session/Lifecycle", testSessionLifecycle},
		{"Session/Refused", testSessionRefused},
		{"Session/DisableEnds", testDisableEndsSessions},
		{"Session/Delete", testDeleteSessions},
		{"APIToken/Create", testCreateAPIToken},
		{"APIToken/Revoke", testRevokeAPIToken},
		{"APIToken/Touch", testTouchAPIToken},
		{"Passkey/Add", testAddPasskey},
		{"Passkey/Refused", testAddPasskeyRefused},
		{"Passkey/AddRace", testAddPasskeyRace},
		{"Passkey/Use", testRecordPasskeyUse},
		{"Passkey/UseRace", testPasskeyUseRace},
		{"Passkey/Delete", testDeletePasskey},
		{"Settings/MarkDemo", testMarkDemo},
		{"Settings/MarkDemoRefused", testMarkDemoRefused},
		{"Settings/MarkDemoRefusedUsers", testMarkDemoRefusedUsers},
		{"Settings/MarkDemoNeedsEvent", testMarkDemoNeedsEvent},
		{"Access/Consultation", testRecordConsultation},
		{"Access/ConsultationRace", testConsultationRace},
		{"Access/LegalAuthority", testLegalAuthority},
		{"File/ImageHash", testFileImageHash},
		{"HashList/Import", testImportHashList},
		{"HashList/Remove", testRemoveHashList},
		{"HashList/Refused", testImportHashListRefused},
		{"HashList/Entries", testEachHashListEntry},
		{"HashList/Bundle", testHashBundle},
		{"Delivery/Route", testRouteDelivers},
		{"Delivery/Confirm", testConfirmReferral},
		{"Delivery/StateMachine", testReferralStateMachine},
		{"Delivery/Changes", testReferralChanges},
		{"Delivery/Escalate", testEscalateReferral},
		{"Delivery/DueEscalations", testDueEscalations},
		{"Delivery/DigestSweep", testDigestSweep},
		{"Delivery/Priority", testChangeReportPriority},
		{"Delivery/List", testListReferrals},
		{"Delivery/ListVisibility", testListVisibility},
		{"Delivery/ListFilters", testListFilters},
		{"Delivery/Messages", testMessages},
		{"Delivery/Notifications", testNotifications},
		{"Delivery/WebhookSecrets", testWebhookSecrets},
		{"Delivery/Migration", testDeliveryMigration},
		{"Delivery/EscalationMigration", testEscalationMigration},
		{"Concurrent/AddFileWhileFinishing", testAddFileWhileFinishing},
		{"Concurrent/DetailsWhileFinishing", testDetailsWhileFinishing},
		{"Concurrent/FinishAndRetract", testFinishAndRetract},
		{"Concurrent/Reports", testConcurrentReports},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(start)
			tt.fn(t, &env{t: t, ctx: t.Context(), s: open(t, clock.Now), clock: clock})
		})
	}
}

// env is one subtest's store and clock, with helpers that fail the test on
// unexpected errors.
type env struct {
	t     *testing.T
	ctx   context.Context
	s     guardian.Store
	clock *Clock
}

// now returns the clock's time as the store keeps it.
func (e *env) now() time.Time { return e.clock.Now().Truncate(time.Microsecond) }

func (e *env) reporter(name string) *guardian.Reporter {
	e.t.Helper()
	r := &guardian.Reporter{Name: name, PasswordHash: "$argon2id$v=19$synthetic"}
	if err := e.s.CreateReporter(e.ctx, r, systemEvent("reporter.create")); err != nil {
		e.t.Fatalf("CreateReporter(%q): %v", name, err)
	}
	return r
}

func (e *env) report(reporterID int64) *guardian.Report {
	e.t.Helper()
	r := newReport(reporterID)
	if err := e.s.CreateReport(e.ctx, r, reporterEvent(reporterID, "report.submit")); err != nil {
		e.t.Fatalf("CreateReport: %v", err)
	}
	return r
}

func (e *env) file(reporterID, reportID int64) *guardian.File {
	e.t.Helper()
	f := newFile(reportID)
	if err := e.s.AddFile(e.ctx, reporterID, f, reporterEvent(reporterID, "file.upload")); err != nil {
		e.t.Fatalf("AddFile: %v", err)
	}
	return f
}

func (e *env) find(id int64) *guardian.Report {
	e.t.Helper()
	r, err := e.s.FindReportByID(e.ctx, id)
	if err != nil {
		e.t.Fatalf("FindReportByID(%d): %v", id, err)
	}
	return r
}

func (e *env) events(filter guardian.AuditFilter) []*guardian.AuditEvent {
	e.t.Helper()
	filter.Limit = 1000
	evs, err := e.s.FindAuditEvents(e.ctx, filter)
	if err != nil {
		e.t.Fatalf("FindAuditEvents: %v", err)
	}
	return evs
}

// eventCount returns how many events the store holds.
func (e *env) eventCount() int {
	e.t.Helper()
	return len(e.events(guardian.AuditFilter{}))
}

// wantStored checks that ev, as the store completed it, is the last event
// the store holds, field for field.
func (e *env) wantStored(ev *guardian.AuditEvent) {
	e.t.Helper()
	evs := e.events(guardian.AuditFilter{})
	if len(evs) == 0 {
		e.t.Fatalf("no audit event stored, want %+v", ev)
	}
	if diff := cmp.Diff(ev, evs[len(evs)-1]); diff != "" {
		e.t.Errorf("stored audit event differs from the one returned (-returned +stored):\n%s", diff)
	}
}

// refused checks that err has the code, and that the failed operation
// stored no event: events must equal the count taken before it.
func (e *env) refused(err error, code string, events int) {
	e.t.Helper()
	if got := guardian.ErrorCode(err); got != code {
		e.t.Errorf("error %v: code %q, want %q", err, got, code)
	}
	if got := e.eventCount(); got != events {
		e.t.Errorf("a refused operation stored %d audit events", got-events)
	}
}

// withoutDocuments returns a copy of r without the documents of the report
// and of its files, as FinishReport, RetractReport and ExpireReports return
// a report (DetailsAt still says which files have details).
func withoutDocuments(r *guardian.Report) *guardian.Report {
	c := *r
	c.XML, c.Document = nil, nil
	if r.Files != nil {
		c.Files = make([]*guardian.File, len(r.Files))
		for i, f := range r.Files {
			g := *f
			g.DetailsXML, g.Details = nil, nil
			c.Files[i] = &g
		}
	}
	return &c
}

func newReport(reporterID int64) *guardian.Report {
	id := randomHex(4)
	return &guardian.Report{
		ReporterID: reporterID,
		XML:        []byte(`<report><incidentSummary><incidentType>Synthetic ` + id + `</incidentType></incidentSummary></report>`),
		Document:   []byte(`{"incidentSummary": {"incidentType": "Synthetic ` + id + `"}}`),
		WrappedKey: wrappedDataKey(reporterID),
	}
}

func newFile(reportID int64) *guardian.File {
	id := randomHex(16)
	return &guardian.File{
		ID:         id,
		ReportID:   reportID,
		Name:       "synthetic-" + id[:6] + ".jpg",
		Size:       1234,
		MD5:        strings.Repeat("a", 32),
		SHA1:       strings.Repeat("b", 40),
		SHA256:     strings.Repeat("c", 64),
		BlobKey:    "blobs/" + id,
		WrappedKey: []byte("wrapped-file-key-" + id),
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func reporterEvent(reporterID int64, action string) *guardian.AuditEvent {
	return &guardian.AuditEvent{
		Actor:      guardian.Actor{Kind: guardian.ActorReporter, ID: fmt.Sprint(reporterID), Name: "synthetic"},
		Category:   guardian.CategoryCollection,
		Action:     action,
		RequestID:  "req-" + randomHex(4),
		ClientAddr: "192.0.2.7",
	}
}

func systemEvent(action string) *guardian.AuditEvent {
	return &guardian.AuditEvent{
		Actor:    guardian.Actor{Kind: guardian.ActorSystem, Name: "cli"},
		Category: guardian.CategoryPrivileged,
		Action:   action,
	}
}

// wantCode fails the test unless err carries the code.
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := guardian.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

// isCode reports whether err is a *guardian.Error with the code.
func isCode(err error, code string) bool {
	var e *guardian.Error
	return errors.As(err, &e) && e.Code == code
}
