package routing_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/geo"
	"github.com/guardian-network/guardian/hashlist"
	"github.com/guardian-network/guardian/network"
	"github.com/guardian-network/guardian/pdq"
	"github.com/guardian-network/guardian/routing"
	"github.com/guardian-network/guardian/sqlstore"
	"github.com/guardian-network/guardian/storetest"
)

// serviceFixture is a routing service on a real SQLite store with the
// demo network, and a reporter to submit reports.
type serviceFixture struct {
	t        *testing.T
	store    *sqlstore.Store
	mk       *crypto.MasterKey
	reporter *guardian.Reporter
	svc      *routing.Service
}

var incidentAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newServiceFixture(t *testing.T) *serviceFixture {
	mk, err := crypto.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	clock := storetest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	s, _ := storetest.MustOpen(t, storetest.SQLite, sqlstore.Options{Now: clock.Now, Sealer: crypto.NewDocumentSealer(mk),
		OnReferral: func(context.Context, *sql.Tx, guardian.ReferralChange) error { return nil }})
	n, err := network.Load("../examples/network-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rep := &guardian.Reporter{Name: "example-service", PasswordHash: "x"}
	if err := s.CreateReporter(t.Context(), rep, event("reporter.create", guardian.CategoryPermission)); err != nil {
		t.Fatal(err)
	}
	m, err := hashlist.NewMatcher(s, pdq.MatchDistance)
	if err != nil {
		t.Fatal(err)
	}
	svc := &routing.Service{Store: s, Network: func() *guardian.Network { return n }, Geo: geo.Embedded(), Now: clock.Now, Known: m}
	return &serviceFixture{t: t, store: s, mk: mk, reporter: rep, svc: svc}
}

func event(action string, c guardian.AuditCategory) *guardian.AuditEvent {
	return &guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorSystem, Name: "test"}, Category: c, Action: action}
}

// publicAddr is an address the embedded database places in country.
func publicAddr(t *testing.T, country string) string {
	for r := range geo.Embedded().Ranges() {
		if a := r.From.Next(); r.Country == country && !r.From.Is6() && !r.To.Less(a) && geo.Classify(a) == geo.Public {
			return a.String()
		}
	}
	t.Fatalf("no public range for %s", country)
	return ""
}

// report submits and finishes a report with one viewed file of the PDQ
// hash given, uploaded from a German address, and routes it.
func (f *serviceFixture) report(h pdq.Hash) (reportID int64, file *guardian.File) {
	t, ctx := f.t, f.t.Context()
	t.Helper()
	doc := &guardian.ReportDocument{IncidentSummary: guardian.IncidentSummary{
		IncidentType:     "Child Pornography (possession, manufacture, and distribution)",
		IncidentDateTime: guardian.DateTime{Lexical: incidentAt.Format(time.RFC3339), Time: incidentAt, Zoned: true},
	}}
	js, _ := json.Marshal(doc)
	dk, err := crypto.GenerateDataKey()
	if err != nil {
		t.Fatal(err)
	}
	rep := &guardian.Report{ReporterID: f.reporter.ID, XML: []byte("<report/>"), Document: js, WrappedKey: f.mk.WrapDataKey(dk, f.reporter.ID)}
	if err := f.store.CreateReport(ctx, rep, event("report.submit", guardian.CategoryCollection)); err != nil {
		t.Fatal(err)
	}
	var b [16 + 16 + 20 + 32]byte
	_, _ = rand.Read(b[:])
	q := 90
	file = &guardian.File{ID: hex.EncodeToString(b[:16]), ReportID: rep.ID, Name: "a.jpg", Size: 100,
		MD5: hex.EncodeToString(b[16:32]), SHA1: hex.EncodeToString(b[32:52]), SHA256: hex.EncodeToString(b[52:]),
		BlobKey: "blob-" + hex.EncodeToString(b[:16]), WrappedKey: []byte{1},
		ImageStatus: guardian.ImageHashed, PDQ: h.String(), PDQQuality: &q}
	if err := f.store.AddFile(ctx, f.reporter.ID, file, event("file.upload", guardian.CategoryCollection)); err != nil {
		t.Fatal(err)
	}
	viewed := true
	at := guardian.DateTime{Lexical: incidentAt.Format(time.RFC3339), Time: incidentAt, Zoned: true}
	d := guardian.FileDetails{ReportID: rep.ID, FileID: file.ID, FileViewedByESP: &viewed,
		IPCaptureEvent: &guardian.IPCaptureEvent{IPAddress: publicAddr(t, "DE"), EventName: "Upload", DateTime: &at}}
	dj, _ := json.Marshal(d)
	if _, err := f.store.SetFileDetails(ctx, f.reporter.ID, rep.ID, file.ID, []byte("<fileDetails/>"), dj, event("file.details", guardian.CategoryCollection)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.FinishReport(ctx, f.reporter.ID, rep.ID, event("report.finish", guardian.CategoryCollection)); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RouteReport(ctx, rep.ID, guardian.Actor{Kind: guardian.ActorSystem, Name: "routing"}, ""); err != nil {
		t.Fatal(err)
	}
	return rep.ID, file
}

func flip(h pdq.Hash, bits int) pdq.Hash {
	for k := range bits {
		h[k] ^= 1
	}
	return h
}

func reasons(t *testing.T, tr *guardian.Triage) map[string]string {
	m := map[string]string{}
	for _, r := range tr.Reasons {
		m[r.Rule] = r.Detail
	}
	return m
}

// TestServiceKnownContent routes reports against a hash list: the triage
// carries the matches and applies the known-content rules, and reports
// matching the same item are bundled.
func TestServiceKnownContent(t *testing.T) {
	f := newServiceFixture(t)
	ctx := t.Context()
	var item pdq.Hash
	_, _ = rand.Read(item[:])
	l := &guardian.HashList{Name: "memes", Source: "example", Version: "1", Format: "csv"}
	if err := f.store.ImportHashList(ctx, l, []guardian.HashListEntry{{Type: guardian.HashPDQ, Hash: item.String(), Category: "2"}}, false,
		event("hashlist.import", guardian.CategoryPrivileged)); err != nil {
		t.Fatal(err)
	}
	a, fa := f.report(flip(item, 3))
	b, _ := f.report(flip(item, 9))
	var other pdq.Hash
	_, _ = rand.Read(other[:])
	c, _ := f.report(other)

	ra, err := f.store.FindReportAssessment(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	want := []guardian.KnownMatch{{FileID: fa.ID, List: "memes", ListVersion: "1", Type: guardian.HashPDQ, Hash: item.String(), Category: "2", Distance: 3}}
	if k := ra.Triage.Known; k == nil || k.Lists != 1 || k.Files != 1 || fmt.Sprint(k.Matches) != fmt.Sprint(want) {
		t.Errorf("stored triage's known content: %+v; want matches %+v", k, want)
	}
	if r := reasons(t, &ra.Triage); r["known-content"] != "1 of 1 reported files in hash lists: memes category 2 at distance 3" ||
		ra.Triage.Label != guardian.LabelInformational {
		t.Errorf("report of known content: label %s, reasons %v", ra.Triage.Label, r)
	}
	rc, err := f.store.FindReportAssessment(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if r := reasons(t, &rc.Triage); r["new-content"] == "" || rc.Triage.Label != guardian.LabelReferral {
		t.Errorf("report of new content: label %s, reasons %v", rc.Triage.Label, r)
	}
	bundle, err := f.store.FindHashBundle(ctx, a, 10)
	if err != nil {
		t.Fatal(err)
	}
	if bundle.Reports != 1 || len(bundle.Members) != 1 || bundle.Members[0].ReportID != b {
		t.Errorf("bundle of report %d: %+v; want report %d", a, bundle, b)
	}

	// The list removed, routing again forgets the matches.
	if err := f.store.RemoveHashList(ctx, "memes", event("hashlist.remove", guardian.CategoryPrivileged)); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RouteReport(ctx, a, guardian.Actor{Kind: guardian.ActorSystem, Name: "routing"}, ""); err != nil {
		t.Fatal(err)
	}
	ra, err = f.store.FindReportAssessment(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if k := ra.Triage.Known; k == nil || k.Lists != 0 || len(k.Matches) != 0 || ra.Triage.Label != guardian.LabelReferral {
		t.Errorf("after the list's removal: label %s, known %+v", ra.Triage.Label, k)
	}
	if bundle, err := f.store.FindHashBundle(ctx, b, 10); err != nil || bundle.Reports != 0 {
		t.Errorf("bundle after re-routing: %+v, %v", bundle, err)
	}
}
