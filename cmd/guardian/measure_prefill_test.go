//go:build measure

package main

// The prefill of the end-to-end measurements (issue 12): a store grown to
// -measure-prefill reports before the rate steps, so that the steps show
// how CPU, size and latency per report grow with the reports stored. A
// million reports cannot be routed on a small machine in reasonable time,
// so a short real seed makes one of every kind of row the code writes, and
// the rows of its reports are then copied in SQL, batch by batch.
//
// The copies are reports whose evidence was destroyed: their wrapped data
// key is NULL, so that nothing the hub does at start-up or at run time
// tries to open their documents, which are sealed bound to the template's
// id and could not be opened under the copy's. They take the ids below
// the seed's (reserveIDs moves the sequences on before the seed), as old
// reports would: the newest reports are the live ones, and the master key
// check at open, which opens the newest report that still has a key, finds
// one at once rather than scanning a million copies. Every other column keeps
// the template's bytes, or a value of the same length where a key must be
// unique (file ids, blob keys), so that the database's size per report is
// the real one less the wrapped key. The copies have no evidence blobs:
// evidence per report is measured on the reports that have keys.

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian/auditlog"
	"github.com/guardian-network/guardian/hub"
	"github.com/guardian-network/guardian/sqlstore"
)

// copyBatch is about how many reports one batch of INSERT … SELECT
// statements copies, so that a transaction (and SQLite's WAL, or
// PostgreSQL's) stays bounded whatever -measure-prefill is.
const copyBatch = 100_000

// prefiller copies the seed's reports, with every row that hangs off them,
// until the store holds the reports asked for.
type prefiller struct {
	db       *sql.DB
	postgres bool
	base     reserved
	r0, f0   int64 // the highest report and referral ids of the seed
	reports  string
	refs     string
}

// reserved is where the seed's ids start: the copies take those below.
type reserved struct{ reports, referrals int64 }

// reserveIDs moves the report and referral sequences of an empty store on,
// leaving room below for the copies of a prefill to n reports. The seed
// makes about one referral per report; the room is checked before the copy.
func reserveIDs(ctx context.Context, t *testing.T, st *sqlstore.Store, postgres bool, n int64) reserved {
	r := reserved{reports: 2 * n, referrals: 4 * n}
	for table, base := range map[string]int64{"reports": r.reports, "referrals": r.referrals} {
		var err error
		if postgres {
			_, err = st.DB().ExecContext(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', 'id'), %d)`, table, base))
		} else {
			// AUTOINCREMENT numbers from sqlite_sequence, which has no
			// row for a table that never had one.
			_, err = st.DB().ExecContext(ctx, fmt.Sprintf(`INSERT INTO sqlite_sequence (name, seq) SELECT '%s', %d
				WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = '%s')`, table, base, table))
			if err == nil {
				_, err = st.DB().ExecContext(ctx, `UPDATE sqlite_sequence SET seq = ? WHERE name = ?`, base, table)
			}
		}
		if err != nil {
			t.Fatalf("reserve ids of %s: %v", table, err)
		}
	}
	return r
}

// copyTable describes how one table's rows are copied: the columns whose
// value a copy changes (an empty expression leaves the column out, for
// the database to number), and which template rows are copied.
type copyTable struct {
	name     string
	set      map[string]string
	where    string
	order    string
	override bool // explicit values for a GENERATED ALWAYS identity (PostgreSQL)
}

// prefill grows the store to n reports and integrates the copied audit
// events. The hub must be stopped.
func prefill(ctx context.Context, t *testing.T, st *sqlstore.Store, postgres bool, data string, base reserved, n int64) {
	p := &prefiller{db: st.DB(), postgres: postgres, base: base}
	if err := p.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM reports`).Scan(&p.r0); err != nil {
		t.Fatal(err)
	}
	if err := p.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM referrals`).Scan(&p.f0); err != nil {
		t.Fatal(err)
	}
	// Open reports are left out: a report without its key must not be
	// open (a CHECK says so), and the seed's few open reports are those
	// the simulator was still sending when it stopped.
	p.reports = fmt.Sprintf(`SELECT id FROM reports WHERE id > %d AND id <= %d AND state <> 'open'`, base.reports, p.r0)
	p.refs = fmt.Sprintf(`SELECT id FROM referrals WHERE id > %d AND id <= %d AND report_id IN (%s)`, base.referrals, p.f0, p.reports)
	var templates, have int64
	if err := p.db.QueryRowContext(ctx, `SELECT count(*) FROM (`+p.reports+`) x`).Scan(&templates); err != nil {
		t.Fatal(err)
	}
	if err := p.db.QueryRowContext(ctx, `SELECT count(*) FROM reports`).Scan(&have); err != nil {
		t.Fatal(err)
	}
	if templates == 0 {
		t.Fatal("prefill: the seed left no finished report to copy")
	}
	// What a copy lacks of its template's bytes.
	var keyBytes float64
	_ = p.db.QueryRowContext(ctx, `SELECT COALESCE(avg(length(wrapped_key)), 0) FROM reports WHERE id IN (`+p.reports+`)`).Scan(&keyBytes)
	t.Logf("prefill: a copy has no wrapped data key, %.0f bytes shorter than its template", keyBytes)
	t.Logf("prefill: %d reports stored, %d of them templates (ids %d to %d, referrals %d to %d); copying to %d",
		have, templates, base.reports+1, p.r0, base.referrals+1, p.f0, n)
	rounds := (n - have + templates - 1) / templates
	if rounds*(p.r0-base.reports) > base.reports || rounds*(p.f0-base.referrals) > base.referrals {
		t.Fatalf("prefill: %d copies of the seed's ids do not fit below them: more referrals per report, or more ids unused, than reserveIDs allows for", rounds)
	}

	tables := p.tables()
	perBatch := max(1, copyBatch/templates)
	began := time.Now()
	for k := int64(1); have < n; k += perBatch {
		hi := k + min(perBatch, (n-have+templates-1)/templates) - 1
		b0 := time.Now()
		for _, tb := range tables {
			if err := p.copy(ctx, tb, k, hi); err != nil {
				t.Fatalf("prefill %s, copies %d to %d: %v", tb.name, k, hi, err)
			}
		}
		have += (hi - k + 1) * templates
		t.Logf("prefill: copies %d to %d in %s; %d reports", k, hi, time.Since(b0).Round(time.Millisecond), have)
	}
	copied := time.Since(began)

	// The hub integrates every event not yet in the log before it serves,
	// within the 60 s that StartHub waits: millions of copied events are
	// integrated here instead, with the hub's own key.
	a0 := time.Now()
	signer, _, err := hub.LoadAuditKey(data, "")
	if err != nil {
		t.Fatal(err)
	}
	events, err := auditlog.New(st, signer, signer.Name(), stderrLogger(io.Discard)).Integrate(ctx)
	if err != nil {
		t.Fatalf("prefill: integrate the copied audit events: %v", err)
	}
	integrated := time.Since(a0)

	a0 = time.Now()
	if postgres {
		_, err = p.db.ExecContext(ctx, `VACUUM ANALYZE`)
	} else {
		// The WAL back into the database, so that the data directory's
		// size is the database's.
		if _, err = p.db.ExecContext(ctx, `ANALYZE`); err == nil {
			_, err = p.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("prefill: copied in %s (%.0f µs/report), audit log integrated %d events in %s, analyzed in %s",
		copied.Round(time.Millisecond), float64(copied.Microseconds())/float64(max(1, have-templates)),
		events, integrated.Round(time.Millisecond), time.Since(a0).Round(time.Millisecond))
}

// tables lists what is copied, parents before children. Left alone: the
// tables of people, tokens, networks, hash lists and settings, which do
// not grow with reports; and River's jobs, which River prunes.
func (p *prefiller) tables() []copyTable {
	rid, fid := p.reportID("t.report_id"), p.referralID("t.referral_id")
	inReports := `t.report_id IN (` + p.reports + `)`
	inRefs := `t.referral_id IN (` + p.refs + `)`
	return []copyTable{
		{name: "reports", override: true, where: `t.id IN (` + p.reports + `)`, order: "t.id",
			set: map[string]string{"id": p.reportID("t.id"), "wrapped_key": "NULL"}},
		{name: "files", where: inReports,
			set: map[string]string{"id": p.fileID("t.id"), "report_id": rid,
				// evidence keys are %08x-%016x-%016x: the blob's id part
				// made unique, as the file's.
				"blob_key": `substr(t.blob_key, 1, 26) || ` + p.hex8("k") + ` || substr(t.blob_key, 35)`}},
		{name: "report_assessments", where: inReports, set: map[string]string{"report_id": rid}},
		{name: "analyst_queue", where: inReports, set: map[string]string{"report_id": rid}},
		{name: "routing_overrides", where: inReports, order: "t.id", set: map[string]string{"id": "", "report_id": rid}},
		{name: "report_hash_matches", where: inReports, set: map[string]string{"report_id": rid, "file_id": p.fileID("t.file_id")}},
		{name: "referrals", override: true, where: `t.id IN (` + p.refs + `)`, order: "t.id",
			set: map[string]string{"id": p.referralID("t.id"), "report_id": rid}},
		{name: "notifications", where: inRefs, order: "t.id", set: map[string]string{"id": "", "referral_id": fid}},
		{name: "referral_messages", where: inRefs, order: "t.id", set: map[string]string{"id": "", "referral_id": fid}},
		{name: "consultations", where: inRefs, set: map[string]string{"referral_id": fid}},
		{name: "legal_authorities", where: inRefs, order: "t.id", set: map[string]string{"id": "", "referral_id": fid}},
		// The events that concern the seed's reports, renamed to the
		// copy's report, file and referral.
		{name: "audit_events", where: inReports, order: "t.id", set: map[string]string{
			"id": "", "report_id": rid, "file_id": `CASE WHEN t.file_id IS NULL OR t.file_id = '' THEN t.file_id ELSE ` + p.fileID("t.file_id") + ` END`,
			"object_id": fmt.Sprintf(`CASE
				WHEN t.object_id = CAST(t.report_id AS TEXT) THEN CAST(%s AS TEXT)
				WHEN t.file_id IS NOT NULL AND t.object_id = t.file_id THEN %s
				WHEN t.object_kind = 'referral' AND t.object_id <> '' THEN CAST(%s AS TEXT)
				ELSE t.object_id END`, rid, p.fileID("t.object_id"), p.referralID("CAST(t.object_id AS BIGINT)"))}},
	}
}

// reportID is copy k's id of the seed's report whose id col holds: the
// seed's ids moved down below them, each copy a span of the seed's.
func (p *prefiller) reportID(col string) string {
	return fmt.Sprintf(`(%s - %d + (k - 1) * %d)`, col, p.base.reports, p.r0-p.base.reports)
}

// referralID is reportID for referrals.
func (p *prefiller) referralID(col string) string {
	return fmt.Sprintf(`(%s - %d + (k - 1) * %d)`, col, p.base.referrals, p.f0-p.base.referrals)
}

// hex8 is the expression of k as 8 hex digits.
func (p *prefiller) hex8(k string) string {
	if p.postgres {
		return `lpad(to_hex(` + k + `), 8, '0')`
	}
	return `printf('%08x', ` + k + `)`
}

// fileID is copy k's id of the file whose id col holds: 32 hex digits
// still, the first 8 of them k. The seed's ids are random, so a copy's id
// cannot meet another's.
func (p *prefiller) fileID(col string) string {
	return p.hex8("k") + ` || substr(` + col + `, 9)`
}

// columns lists the table's columns that an INSERT may name (not the
// generated ones).
func (p *prefiller) columns(ctx context.Context, table string) ([]string, error) {
	q := `SELECT name FROM pragma_table_xinfo(?) WHERE hidden = 0 ORDER BY cid`
	if p.postgres {
		q = `SELECT column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position`
	}
	rows, err := p.db.QueryContext(ctx, q, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	if len(cols) == 0 && rows.Err() == nil {
		return nil, fmt.Errorf("no table %s", table)
	}
	return cols, rows.Err()
}

// copy inserts copies lo to hi of the table's template rows in one
// statement.
func (p *prefiller) copy(ctx context.Context, tb copyTable, lo, hi int64) error {
	cols, err := p.columns(ctx, tb.name)
	if err != nil {
		return err
	}
	var names, exprs []string
	for _, c := range cols {
		e, ok := tb.set[c]
		if ok && e == "" {
			continue
		}
		if !ok {
			e = "t." + c
		}
		names = append(names, c)
		exprs = append(exprs, e)
	}
	order := "seq.k"
	if tb.order != "" {
		order += ", " + tb.order
	}
	var q string
	if p.postgres {
		over := ""
		if tb.override {
			over = " OVERRIDING SYSTEM VALUE"
		}
		q = fmt.Sprintf(`INSERT INTO %s (%s)%s SELECT %s FROM %s t CROSS JOIN generate_series(%d::bigint, %d::bigint) AS seq(k) WHERE %s ORDER BY %s`,
			tb.name, strings.Join(names, ", "), over, strings.Join(exprs, ", "), tb.name, lo, hi, tb.where, order)
	} else {
		q = fmt.Sprintf(`WITH RECURSIVE seq(k) AS (SELECT %d UNION ALL SELECT k + 1 FROM seq WHERE k < %d)
			INSERT INTO %s (%s) SELECT %s FROM %s t, seq WHERE %s ORDER BY %s`,
			lo, hi, tb.name, strings.Join(names, ", "), strings.Join(exprs, ", "), tb.name, tb.where, order)
	}
	_, err = p.db.ExecContext(ctx, q)
	return err
}

// storeSizes reports the size of the store: the data directory's bytes
// and its evidence's, and on PostgreSQL the schema's tables with their
// indexes and TOAST.
func storeSizes(ctx context.Context, st *sqlstore.Store, postgres bool, data string) (total, evidence, schema int64) {
	total, evidence = dirBytes(data)
	if postgres {
		_ = st.DB().QueryRowContext(ctx, `SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND c.relkind = 'r'`).Scan(&schema)
	}
	return total, evidence, schema
}

// perReport logs the store's size per report: the database's (the data
// directory less its evidence on SQLite; the schema on PostgreSQL) per
// report stored, and the evidence per report that still has its key,
// since the prefill's copies have none.
func perReport(ctx context.Context, t *testing.T, st *sqlstore.Store, postgres bool, data, when string) {
	reports := count(st, "reports")
	var keyed int64
	_ = st.DB().QueryRowContext(ctx, `SELECT count(*) FROM reports WHERE wrapped_key IS NOT NULL`).Scan(&keyed)
	total, ev, schema := storeSizes(ctx, st, postgres, data)
	per := func(b, n int64) string {
		if n <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f B", float64(b)/float64(n))
	}
	if postgres {
		// The data directory holds the evidence and the keys only.
		t.Logf("[%s] per report: reports %d (%d with keys); schema %.1f MB = %s/report; data dir %.1f MB; evidence %s per report with keys",
			when, reports, keyed, float64(schema)/1e6, per(schema, reports), float64(total)/1e6, per(ev, keyed))
		return
	}
	t.Logf("[%s] per report: reports %d (%d with keys); data dir %.1f MB = %s/report, of which database %s/report; evidence %s per report with keys",
		when, reports, keyed, float64(total)/1e6, per(total, reports), per(total-ev, reports), per(ev, keyed))
}
