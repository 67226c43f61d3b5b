package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/sqlstore"
)

// The tests of encryption at rest look at the database around the store:
// the columns that hold documents, and on SQLite the bytes of its files.

// sensitive is a report whose documents hold distinctive synthetic strings,
// which must never appear in the database in the clear.
type sensitive struct {
	markers               []string
	xml, document         []byte
	detailsXML, detailsJS []byte
	assessment            *guardian.Assessment
	triage                *guardian.Triage
}

func newSensitive() *sensitive {
	suspect := "suspect-" + randomHex(6) + "@example.com"
	victim := "victim-" + randomHex(6) + "@example.net"
	phone := "+44 7700 9" + fmt.Sprint(time.Now().UnixNano()%100000)
	return &sensitive{
		markers:    []string{suspect, victim, phone},
		xml:        []byte(`<report><personOrUserReported><email>` + suspect + `</email></personOrUserReported></report>`),
		document:   []byte(`{"personOrUserReported": [{"email": ["` + suspect + `"]}]}`),
		detailsXML: []byte(`<fileDetails><reportId>1</reportId><fileId>x</fileId><originalFileName>` + victim + `.jpg</originalFileName></fileDetails>`),
		detailsJS:  []byte(`{"originalFileName": "` + victim + `.jpg"}`),
		assessment: &guardian.Assessment{
			Countries: []guardian.CountryScore{{Country: "GB", Score: 1, Weight: 0.5, Evidence: []guardian.Evidence{
				{Kind: guardian.EvidencePhone, Country: "GB", Value: phone, Source: "personOrUserReported[0]/phone", Weight: 0.5},
			}}},
			Confidence:   0.5,
			RulesVersion: "synthetic-1",
		},
		triage: &guardian.Triage{Score: 40, Label: "synthetic", Priority: guardian.Priority3, ReviewPriority: guardian.Priority3,
			Reasons: []guardian.Reason{}, RulesVersion: "synthetic-1"},
	}
}

// submit stores the report through s: created, one file described, one not,
// finished and triaged. It returns the report as FindReportByID should.
func (x *sensitive) submit(t *testing.T, e *env) *guardian.Report {
	t.Helper()
	rep := e.reporter("example-service-" + randomHex(3))
	r := &guardian.Report{ReporterID: rep.ID, XML: x.xml, Document: x.document, WrappedKey: wrappedDataKey(rep.ID)}
	if err := e.s.CreateReport(e.ctx, r, reporterEvent(rep.ID, "report.submit")); err != nil {
		t.Fatal(err)
	}
	f := e.file(rep.ID, r.ID)
	e.file(rep.ID, r.ID)
	if _, err := e.s.SetFileDetails(e.ctx, rep.ID, r.ID, f.ID, x.detailsXML, x.detailsJS, reporterEvent(rep.ID, "file.details")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.FinishReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.finish")); err != nil {
		t.Fatal(err)
	}
	rs, ok := e.s.(guardian.RoutingStore)
	if !ok {
		t.Fatalf("%T is not a RoutingStore", e.s)
	}
	err := rs.RouteReport(e.ctx, r.ID, guardian.Actor{Kind: guardian.ActorSystem}, "synthetic-network", e.now(), e.now(),
		func(*guardian.RoutingState) (*guardian.RoutingUpdate, error) {
			return &guardian.RoutingUpdate{Assessment: x.assessment, Triage: x.triage}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return e.find(r.ID)
}

// wantReadable checks that the store returns the documents in the clear.
func (x *sensitive) wantReadable(t *testing.T, s *sqlstore.Store, id int64) {
	t.Helper()
	r, err := s.FindReportByID(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.XML, x.xml) {
		t.Errorf("report %d XML = %q, want %q", id, r.XML, x.xml)
	}
	if !cmp.Equal(json.RawMessage(x.document), r.Document, cmpJSON) {
		t.Errorf("report %d document = %s, want %s", id, r.Document, x.document)
	}
	if len(r.Files) != 2 || !bytes.Equal(r.Files[0].DetailsXML, x.detailsXML) || !cmp.Equal(json.RawMessage(x.detailsJS), r.Files[0].Details, cmpJSON) ||
		r.Files[1].DetailsXML != nil || r.Files[1].Details != nil {
		t.Errorf("report %d files: %+v", id, r.Files)
	}
	a, err := s.FindReportAssessment(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*x.assessment, a.Assessment); diff != "" {
		t.Errorf("assessment of report %d (-stored +read):\n%s", id, diff)
	}
	if diff := cmp.Diff(*x.triage, a.Triage); diff != "" {
		t.Errorf("triage of report %d (-stored +read):\n%s", id, diff)
	}
}

// documentColumns are the columns that hold documents, with the table's
// sealed flag.
var documentColumns = []string{
	`SELECT xml, document, sealed FROM reports`,
	`SELECT details_xml, details, sealed FROM files`,
	`SELECT assessment, triage, sealed FROM report_assessments`,
}

// wantNoPlaintext checks that no document column of the database at dsn
// holds any of the markers, and that every row is sealed; on SQLite, that
// no byte of its files does either, after a checkpoint.
func wantNoPlaintext(t *testing.T, b Backend, dsn string, markers []string) {
	t.Helper()
	db := b.rawDB(t, dsn)
	rows := 0
	for _, q := range documentColumns {
		err := func() error {
			rs, err := db.QueryContext(t.Context(), q)
			if err != nil {
				return err
			}
			defer rs.Close()
			for rs.Next() {
				var a, c []byte
				var sealed bool
				if err := rs.Scan(&a, &c, &sealed); err != nil {
					return err
				}
				rows++
				if !sealed {
					t.Errorf("%s: a row is not sealed", q)
				}
				for _, m := range markers {
					if bytes.Contains(a, []byte(m)) || bytes.Contains(c, []byte(m)) {
						t.Errorf("%s: a row holds %q in the clear", q, m)
					}
				}
			}
			return rs.Err()
		}()
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if rows == 0 {
		t.Fatal("no document rows to look at")
	}
	if b.DriverName != "sqlite" {
		return
	}
	if _, err := db.ExecContext(t.Context(), `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(dsn + suffix)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		for _, m := range markers {
			if bytes.Contains(data, []byte(m)) {
				t.Errorf("the database file %s holds %q in the clear", dsn+suffix, m)
			}
		}
	}
}

// testEncryptionAtRest: documents written through the store are sealed in
// the database, and read back in the clear.
func testEncryptionAtRest(t *testing.T, b Backend) {
	clock := NewClock(start)
	s, dsn := MustOpen(t, b, sqlstore.Options{Now: clock.Now, Sealer: suiteSealer})
	e := &env{t: t, ctx: t.Context(), s: s, clock: clock}
	x := newSensitive()
	r := x.submit(t, e)
	x.wantReadable(t, s, r.ID)
	wantNoPlaintext(t, b, dsn, x.markers)
}

// rebind writes q's ? placeholders as the backend's driver wants them.
func (b Backend) rebind(q string) string {
	if b.DriverName != "pgx" {
		return q
	}
	var out strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			fmt.Fprintf(&out, "$%d", n)
			continue
		}
		out.WriteRune(c)
	}
	return out.String()
}

// testEncryptionTamper: a sealed document opens only in its own place.
// Moved to another report (with that report's key, which unwraps: both
// belong to one reporter), to another column or to another file, it fails
// to open, and the read fails rather than return it.
func testEncryptionTamper(t *testing.T, b Backend) {
	clock := NewClock(start)
	s, dsn := MustOpen(t, b, sqlstore.Options{Now: clock.Now, Sealer: suiteSealer})
	e := &env{t: t, ctx: t.Context(), s: s, clock: clock}
	db := b.rawDB(t, dsn)
	rep := e.reporter("example-service")
	report := func() (*guardian.Report, *guardian.File, *guardian.File) {
		r := e.report(rep.ID)
		f, g := e.file(rep.ID, r.ID), e.file(rep.ID, r.ID)
		if _, err := s.SetFileDetails(e.ctx, rep.ID, r.ID, f.ID, detailsXML, detailsJSON, reporterEvent(rep.ID, "file.details")); err != nil {
			t.Fatal(err)
		}
		return r, f, g
	}
	wantFails := func(what string, id int64) {
		t.Helper()
		if got, err := s.FindReportByID(e.ctx, id); err == nil {
			t.Errorf("%s: FindReportByID read %q", what, got.XML)
		}
	}

	a, _, _ := report()
	c, _, _ := report()
	mustExec(t, db, b.rebind(`UPDATE reports SET
		xml = (SELECT xml FROM reports WHERE id = ?),
		document = (SELECT document FROM reports WHERE id = ?),
		wrapped_key = (SELECT wrapped_key FROM reports WHERE id = ?)
		WHERE id = ?`), a.ID, a.ID, a.ID, c.ID)
	wantFails("documents and key of another report", c.ID)
	e.find(a.ID) // the original still opens

	mustExec(t, db, b.rebind(`UPDATE reports SET xml = document, document = xml WHERE id = ?`), a.ID)
	wantFails("documents swapped between columns", a.ID)

	d, f, g := report()
	mustExec(t, db, b.rebind(`UPDATE files SET
		details_xml = (SELECT details_xml FROM files WHERE id = ?),
		details = (SELECT details FROM files WHERE id = ?),
		details_at = (SELECT details_at FROM files WHERE id = ?)
		WHERE id = ?`), f.ID, f.ID, f.ID, g.ID)
	wantFails("details of another file", d.ID)

	h, _, _ := report()
	mustExec(t, db, b.rebind(`UPDATE reports SET document = ? WHERE id = ?`), []byte("\x01not a sealed document"), h.ID)
	wantFails("a corrupted document", h.ID)
}

// testEncryptionNoSealer: a store opened without a sealer refuses whatever
// writes or reads a document, and does the rest.
func testEncryptionNoSealer(t *testing.T, b Backend) {
	dsn := b.NewDSN(t)
	clock := NewClock(start)
	sealed := MustOpenDSN(t, b, dsn, sqlstore.Options{Now: clock.Now, Sealer: suiteSealer})
	e := &env{t: t, ctx: t.Context(), s: sealed, clock: clock}
	x := newSensitive()
	routed := x.submit(t, e)
	rep := e.reporter("example-other")
	r := e.report(rep.ID)

	bare, err := b.Open(t.Context(), dsn, sqlstore.Options{Now: clock.Now, MaxConns: 2,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	e.s = bare
	n := e.eventCount()
	wantNoSealer := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, sqlstore.ErrNoSealer) || !strings.Contains(err.Error(), "master key") {
			t.Errorf("%s without a sealer: %v, want ErrNoSealer", what, err)
		}
	}
	wantNoSealer("CreateReport", bare.CreateReport(e.ctx, newReport(rep.ID), reporterEvent(rep.ID, "report.submit")))
	_, err = bare.FindReportByID(e.ctx, r.ID)
	wantNoSealer("FindReportByID", err)
	_, err = bare.FindReportAssessment(e.ctx, routed.ID)
	wantNoSealer("FindReportAssessment", err)
	err = bare.RouteReport(e.ctx, routed.ID, guardian.Actor{Kind: guardian.ActorSystem}, "n", clock.Now(), clock.Now(),
		func(*guardian.RoutingState) (*guardian.RoutingUpdate, error) { return &guardian.RoutingUpdate{}, nil })
	wantNoSealer("RouteReport", err)
	f := e.file(rep.ID, r.ID) // no document
	_, err = bare.SetFileDetails(e.ctx, rep.ID, r.ID, f.ID, detailsXML, detailsJSON, reporterEvent(rep.ID, "file.details"))
	wantNoSealer("SetFileDetails", err)
	if got := e.eventCount(); got != n+1 {
		t.Errorf("%d events stored, want 1 (the upload)", got-n)
	}
	if _, err := bare.FindReporterReport(e.ctx, rep.ID, r.ID); err != nil {
		t.Errorf("FindReporterReport without a sealer: %v", err)
	}
	if fin, err := bare.FinishReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.finish")); err != nil || len(fin.Files) != 1 {
		t.Errorf("FinishReport without a sealer: %v, %v", fin, err)
	}
}

// testEncryptionWrongKey: a store opened with a sealer on another master key
// than its reports' is refused at once, saying so.
func testEncryptionWrongKey(t *testing.T, b Backend) {
	dsn := b.NewDSN(t)
	s, err := b.Open(t.Context(), dsn, sqlstore.Options{Sealer: suiteSealer, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: t.Context(), s: s, clock: NewClock(start)}
	e.report(e.reporter("example-service").ID)
	s.Close()

	other, _ := crypto.GenerateMasterKey()
	s, err = b.Open(t.Context(), dsn, sqlstore.Options{Sealer: crypto.NewDocumentSealer(other), Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		s.Close()
		t.Fatal("opened with another master key")
	}
	if !strings.Contains(err.Error(), "master key") {
		t.Errorf("the error does not name the master key: %v", err)
	}
	// The right key still opens it.
	MustOpenDSN(t, b, dsn, sqlstore.Options{Sealer: suiteSealer})
}

// testDocumentsDestroyed: once a report's key is destroyed (by expiry), its
// documents and its files' details are gone with it: the report reads
// without them, and without an error.
func testDocumentsDestroyed(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	r := e.report(rep.ID)
	f := e.file(rep.ID, r.ID)
	if _, err := e.s.SetFileDetails(e.ctx, rep.ID, r.ID, f.ID, detailsXML, detailsJSON, reporterEvent(rep.ID, "file.details")); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(guardian.OpenReportLifetime)
	if due, err := e.s.ExpireReports(e.ctx, 10); err != nil || len(due) != 1 {
		t.Fatalf("ExpireReports = %v, %v", due, err)
	}
	got := e.find(r.ID)
	if got.XML != nil || got.Document != nil {
		t.Errorf("expired report read with documents %q, %s", got.XML, got.Document)
	}
	if len(got.Files) != 1 || got.Files[0].DetailsXML != nil || got.Files[0].Details != nil || got.Files[0].DetailsAt == nil {
		t.Errorf("file of an expired report: %+v; want no details, DetailsAt kept", got.Files[0])
	}
}

// migrationsUpTo returns the backend's first n migrations, as an older
// guardian carries them.
func migrationsUpTo(t *testing.T, b Backend, n int) fs.FS {
	t.Helper()
	files := fstest.MapFS{}
	names, err := fs.Glob(b.Migrations, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names[:n] {
		data, err := fs.ReadFile(b.Migrations, name)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = &fstest.MapFile{Data: data}
	}
	return files
}

// timeValue is a time as the backend's time columns take it.
func (b Backend) timeValue(t time.Time) any {
	if b.DriverName == "sqlite" {
		return t.UnixMicro()
	}
	return t
}

// testSealExisting: documents that a guardian of schema version 4 stored in
// the clear are sealed when a newer one opens the store with the master
// key, after "migrate" without it; those of expired reports, whose key is
// gone, are erased. Reads return what was stored, and the database keeps
// nothing in the clear.
func testSealExisting(t *testing.T, b Backend) {
	ctx := t.Context()
	dsn := b.NewDSN(t)
	quiet := slog.New(slog.DiscardHandler)
	old, err := b.Open(ctx, dsn, sqlstore.Options{Migrations: migrationsUpTo(t, b, 4), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	rep := &guardian.Reporter{Name: "example-service", PasswordHash: "x"}
	if err := old.CreateReporter(ctx, rep, systemEvent("reporter.create")); err != nil {
		t.Fatal(err)
	}
	old.Close()

	// Rows as version 4 wrote them, in the clear.
	db := b.rawDB(t, dsn)
	now := b.timeValue(start)
	type stored struct {
		x        *sensitive
		id       int64
		wrapped  []byte
		state    string
		expired  any
		fileIDs  [2]string
		assessed bool
	}
	reports := []*stored{
		{x: newSensitive(), wrapped: wrappedDataKey(rep.ID), state: "finished", assessed: true},
		{x: newSensitive(), wrapped: wrappedDataKey(rep.ID), state: "open"},
		{x: newSensitive(), state: "expired", expired: now},
	}
	for _, r := range reports {
		err := db.QueryRowContext(ctx, b.rebind(`INSERT INTO reports (reporter_id, state, opened_at, modified_at, expired_at, xml, document, wrapped_key, file_count)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 2) RETURNING id`),
			rep.ID, r.state, now, now, r.expired, r.x.xml, string(r.x.document), r.wrapped).Scan(&r.id)
		if err != nil {
			t.Fatal(err)
		}
		for i := range r.fileIDs {
			r.fileIDs[i] = randomHex(16)
			var xml, details, at any
			if i == 0 {
				xml, details, at = r.x.detailsXML, string(r.x.detailsJS), now
			}
			mustExec(t, db, b.rebind(`INSERT INTO files (id, report_id, position, name, size, md5, sha1, sha256, uploaded_at, blob_key, wrapped_key,
				details_xml, details, details_at) VALUES (?, ?, ?, 'synthetic.jpg', 1, 'a', 'b', 'c', ?, ?, ?, ?, ?, ?)`),
				r.fileIDs[i], r.id, i+1, now, "blobs/"+r.fileIDs[i], []byte("wrapped-file-key"), xml, details, at)
		}
		if r.assessed {
			aj, _ := json.Marshal(r.x.assessment)
			tj, _ := json.Marshal(r.x.triage)
			mustExec(t, db, b.rebind(`INSERT INTO report_assessments (report_id, assessment, triage, rules_version, created_at, updated_at)
				VALUES (?, ?, ?, 'synthetic-1', ?, ?)`), r.id, string(aj), string(tj), now, now)
		}
	}
	if b.DriverName == "sqlite" {
		// Report ids are never handed out twice, even past the largest
		// one stored: the rebuilt table keeps the counter.
		mustExec(t, db, `UPDATE sqlite_sequence SET seq = 1000 WHERE name = 'reports'`)
	}

	// "guardian migrate" without the master key: the schema moves on, the
	// documents stay as they were, and the store says how many.
	s, err := b.Open(ctx, dsn, sqlstore.Options{Migrate: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountUnsealed(ctx); err != nil || n != 3+3+1 {
		t.Errorf("CountUnsealed = %d, %v; want 7 (3 reports, 3 described files, 1 assessment)", n, err)
	}
	s.Close()

	// The hub starts with the key.
	var logs bytes.Buffer
	s = MustOpenDSN(t, b, dsn, sqlstore.Options{Sealer: suiteSealer, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !strings.Contains(logs.String(), "encrypted report documents") {
		t.Errorf("no progress logged:\n%s", logs.String())
	}
	if n, err := s.CountUnsealed(ctx); err != nil || n != 0 {
		t.Errorf("CountUnsealed after sealing = %d, %v", n, err)
	}
	var markers []string
	for _, r := range reports {
		markers = append(markers, r.x.markers...)
	}
	wantNoPlaintext(t, b, dsn, markers)

	first := reports[0]
	first.x.wantReadable(t, s, first.id)
	if got, err := s.FindReportByID(ctx, reports[1].id); err != nil || !bytes.Equal(got.XML, reports[1].x.xml) {
		t.Errorf("open report after sealing: %v", err)
	}
	expired, err := s.FindReportByID(ctx, reports[2].id)
	if err != nil {
		t.Fatal(err)
	}
	if expired.XML != nil || expired.Document != nil || expired.Files[0].DetailsXML != nil {
		t.Errorf("expired report after sealing: %+v", expired)
	}
	var xml []byte
	if err := db.QueryRowContext(ctx, b.rebind(`SELECT xml FROM reports WHERE id = ?`), reports[2].id).Scan(&xml); err != nil || len(xml) != 0 {
		t.Errorf("an expired report's XML was kept: %q, %v", xml, err)
	}

	e := &env{t: t, ctx: ctx, s: s, clock: NewClock(start)}
	next := e.report(rep.ID)
	if b.DriverName == "sqlite" && next.ID != 1001 {
		t.Errorf("new report id %d after the migration, want 1001", next.ID)
	}
	if b.DriverName != "sqlite" && next.ID <= reports[2].id {
		t.Errorf("new report id %d after the migration, want more than %d", next.ID, reports[2].id)
	}
	e.find(next.ID)
}

// testMigrationForeignKeys: the SQLite rebuild of migration 5 runs with
// foreign keys off and checks them before it commits: a row that breaks
// one stops the migration, which leaves the schema as it was.
func testMigrationForeignKeys(t *testing.T, b Backend) {
	if b.DriverName != "sqlite" {
		t.Skip("PostgreSQL's ALTER TABLE needs no rebuild")
	}
	ctx := t.Context()
	dsn := b.NewDSN(t)
	old, err := b.Open(ctx, dsn, sqlstore.Options{Migrations: migrationsUpTo(t, b, 4), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	old.Close()
	db := b.rawDB(t, dsn)
	db.SetMaxOpenConns(1)
	mustExec(t, db, `PRAGMA foreign_keys = OFF`)
	mustExec(t, db, `INSERT INTO analyst_queue (report_id, reason, since) VALUES (999, 'orphan', 0)`)
	_, err = b.Open(ctx, dsn, sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "foreign key") {
		t.Fatalf("migrating a database with a broken foreign key: %v", err)
	}
	mustExec(t, db, `DELETE FROM analyst_queue`)
	s := MustOpenDSN(t, b, dsn, sqlstore.Options{Migrate: true})
	wantVersion(t, s, s.LatestVersion(), s.LatestVersion())
	// The connection's foreign keys are on again.
	e := &env{t: t, ctx: ctx, s: s, clock: NewClock(start)}
	r := newReport(e.reporter("example-service").ID + 1000)
	if err := s.CreateReport(ctx, r, reporterEvent(1, "report.submit")); err == nil {
		t.Error("a report of an unknown reporter was stored after the migration")
	}
}
