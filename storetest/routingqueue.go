package storetest

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/sqlstore"
)

// testRoutingQueue: a finish queues the report in its own transaction, in
// the place its expected priority gives it; claims take due reports in
// order and hold them for their lease; a failure is retried after its
// delay or given up; a claim given back is due at once; a stale claim
// changes nothing; the routing takes the report out in its transaction.
// The suite's other tests share stores, and so the queue, with each
// other: this one has a store of its own.
func testRoutingQueue(t *testing.T, b Backend) {
	clock := NewClock(start)
	s, _ := MustOpen(t, b, sqlstore.Options{Now: clock.Now})
	e := &env{t: t, ctx: t.Context(), s: s, clock: clock}
	ctx := e.ctx
	rep := e.reporter("synthetic-queue")
	due := func() bool {
		t.Helper()
		d, err := s.RoutingDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	claim := func(n int) []guardian.RoutingClaim {
		t.Helper()
		c, err := s.ClaimRouting(ctx, n, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	finish := func(r *guardian.Report) {
		t.Helper()
		if _, err := s.FinishReport(ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.finish")); err != nil {
			t.Fatal(err)
		}
	}
	// submitViewed finishes a report with a file for each of viewed: true
	// and false say what the file's details say of fileViewedByEsp, nil
	// that it has no details.
	submitViewed := func(p guardian.Priority, viewed ...*bool) int64 {
		t.Helper()
		r := newReport(rep.ID)
		r.ProvisionalPriority = p
		if err := s.CreateReport(ctx, r, reporterEvent(rep.ID, "report.submit")); err != nil {
			t.Fatal(err)
		}
		for _, v := range viewed {
			f := e.file(rep.ID, r.ID)
			if v == nil {
				continue
			}
			details := fmt.Appendf(nil, `{"fileViewedByEsp":%t}`, *v)
			if _, err := s.SetFileDetails(ctx, rep.ID, r.ID, f.ID, detailsXML, details, reporterEvent(rep.ID, "file.details")); err != nil {
				t.Fatal(err)
			}
		}
		finish(r)
		return r.ID
	}
	submit := func(p guardian.Priority, file bool) int64 {
		t.Helper()
		if file {
			return submitViewed(p, nil) // no details: not viewed, so priority E
		}
		return submitViewed(p)
	}

	// An open report is not queued; a refused finish queues nothing.
	open := e.report(rep.ID)
	bad := reporterEvent(rep.ID, "report.finish")
	bad.Category = ""
	if _, err := s.FinishReport(ctx, rep.ID, open.ID, bad); err == nil {
		t.Fatal("a finish with an invalid audit event succeeded")
	}
	if due() {
		t.Fatal("a report is due before any finish")
	}
	if c := claim(5); len(c) != 0 {
		t.Fatalf("claimed %v from an empty queue", c)
	}

	// Finished in this order; claimed most urgent first, then in turn.
	inTurn := submit("", false)
	soon := submit(guardian.Priority2, false)
	urgentDoc := submit(guardian.Priority1, false)
	unviewed := submit(guardian.Priority3, true)
	inTurn2 := submit(guardian.Priority3, false)
	if !due() {
		t.Fatal("nothing due after five finishes")
	}
	want := []int64{urgentDoc, unviewed, soon, inTurn}
	got := claim(4)
	var ids []int64
	for _, c := range got {
		ids = append(ids, c.ReportID)
		if c.Attempt != 1 {
			t.Errorf("report %d: attempt %d, want 1", c.ReportID, c.Attempt)
		}
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("claimed %v, want %v", ids, want)
	}
	byID := map[int64]guardian.RoutingClaim{}
	for _, c := range got {
		byID[c.ReportID] = c
	}

	// Claimed reports are held for their lease.
	if c := claim(5); len(c) != 1 || c[0].ReportID != inTurn2 {
		t.Fatalf("second claim %v, want only report %d", c, inTurn2)
	}
	if due() {
		t.Error("due while every queued report is claimed")
	}

	// A failure comes back after its delay; a stale claim changes nothing.
	if err := s.RoutingFailed(ctx, byID[soon], "synthetic failure", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	stale := byID[soon]
	stale.Attempt = 7
	if err := s.RoutingFailed(ctx, stale, "stale", 0); err != nil {
		t.Fatal(err)
	}
	if due() {
		t.Error("a failed report is due before its retry")
	}
	clock.Advance(11 * time.Second)
	if c := claim(5); len(c) != 1 || c[0].ReportID != soon || c[0].Attempt != 2 {
		t.Fatalf("claim after the retry delay: %v, want report %d at attempt 2", c, soon)
	}

	// A claim given back is due at once, its attempt not counted.
	if err := s.ReleaseRouting(ctx, byID[urgentDoc]); err != nil {
		t.Fatal(err)
	}
	if c := claim(5); len(c) != 1 || c[0].ReportID != urgentDoc || c[0].Attempt != 1 {
		t.Fatalf("claim after a release: %v, want report %d at attempt 1", c, urgentDoc)
	}

	// Given up: out of the queue for good.
	if err := s.RoutingFailed(ctx, guardian.RoutingClaim{ReportID: unviewed, Attempt: 1}, "synthetic: gave up", 0); err != nil {
		t.Fatal(err)
	}

	// The routing takes a report out in its transaction, claimed or not.
	rs := s
	for _, id := range []int64{urgentDoc, inTurn} {
		err := rs.RouteReport(ctx, id, guardian.Actor{Kind: guardian.ActorSystem}, "synthetic-network", e.now(), e.now(),
			func(*guardian.RoutingState) (*guardian.RoutingUpdate, error) { return &guardian.RoutingUpdate{}, nil })
		if err != nil {
			t.Fatal(err)
		}
	}
	// After the lease, only what is still queued comes back: soon (its
	// second attempt's lease) and inTurn2.
	clock.Advance(2 * time.Minute)
	got = claim(10)
	ids = ids[:0]
	for _, c := range got {
		ids = append(ids, c.ReportID)
	}
	if want := []int64{soon, inTurn2}; !slices.Equal(ids, want) {
		t.Fatalf("claimed %v after the leases, want %v", ids, want)
	}

	// QueueRouting (the adoption of River's old triage jobs) queues a
	// finished report that is not queued, and nothing else.
	if err := s.QueueRouting(ctx, open.ID, guardian.RoutingFirst); err != nil {
		t.Fatal(err)
	}
	if err := s.QueueRouting(ctx, soon, guardian.RoutingFirst); err != nil { // claimed: still queued
		t.Fatal(err)
	}
	if err := s.QueueRouting(ctx, urgentDoc, guardian.RoutingSoon); err != nil {
		t.Fatal(err)
	}
	if c := claim(10); len(c) != 1 || c[0].ReportID != urgentDoc {
		t.Fatalf("claim after QueueRouting: %v, want report %d only", c, urgentDoc)
	}

	// The finish's order follows the files' details: one viewed file puts
	// a report in its priority's place, files none of which were viewed
	// (false, or no details) put it first. Everything above is claimed.
	yes, no := true, false
	viewedP3 := submitViewed(guardian.Priority3, &no, &yes)
	notViewed := submitViewed(guardian.Priority3, &no, nil)
	viewedP2 := submitViewed(guardian.Priority2, &yes)
	viewedP1 := submitViewed(guardian.Priority1, &yes)
	got = claim(10)
	ids = ids[:0]
	for _, c := range got {
		ids = append(ids, c.ReportID)
	}
	if want := []int64{notViewed, viewedP1, viewedP2, viewedP3}; !slices.Equal(ids, want) {
		t.Fatalf("claimed %v by the files' details, want %v", ids, want)
	}
	// Each finish stored the order its own statement gave: the SQL reading
	// of Report.RoutingOrder agrees with the rule.
	if n := s.RoutingOrderFixes(); n != 0 {
		t.Errorf("%d finishes needed the rule's order stored over their statement's", n)
	}
}

// testRoutingQueuePlan: the routing queue's poll (RoutingDue, 50 a second
// on an idle hub) reads the queue's index, not the table, on a store of
// many routed reports whose statistics were never gathered (PostgreSQL
// with autovacuum off, as CI's, or before its first analyze). A sequential
// scan there would pass over every routed report on every poll.
func testRoutingQueuePlan(t *testing.T, b Backend) {
	s, dsn := MustOpen(t, b, sqlstore.Options{})
	e := &env{t: t, ctx: t.Context(), s: s, clock: NewClock(start)}
	rep := e.reporter("synthetic-plan")
	r := e.report(rep.ID)
	if _, err := s.FinishReport(e.ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.finish")); err != nil {
		t.Fatal(err)
	}
	// 20,000 copies of the report, routed (out of the queue), as a hub's
	// store is after a few minutes of traffic.
	db := b.rawDB(t, dsn)
	mustExec(t, db, fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
		INSERT INTO reports (reporter_id, state, opened_at, modified_at, finished_at, xml, document, sealed, wrapped_key, file_count)
		SELECT reporter_id, state, opened_at, modified_at, finished_at, xml, document, sealed, wrapped_key, file_count
		FROM reports, n WHERE reports.id = %d`, r.ID))

	query, args := s.RoutingDueStatement()
	text := explain(t, b, db, query, args)
	if !strings.Contains(text, "reports_routing_queue") || strings.Contains(text, "Seq Scan on reports") {
		t.Errorf("the routing queue's poll does not read the queue's index:\n%s\n%s", query, text)
	}
	due, err := s.RoutingDue(e.ctx)
	if err != nil || !due {
		t.Errorf("RoutingDue = %v, %v; want true: the finished report is queued", due, err)
	}
}

// testRoutingQueueReplanned: the statements whose best plan depends on the
// tables' size (the routing queue's claim and poll, the referral lists and
// counts) are planned at each run. PostgreSQL keeps a generic plan of a
// named prepared statement after five runs; one made while the store was
// empty can read a whole table and then stay as the table grows: the
// claim's did, a hash join over every report, and at 200 reports/s the
// routing fell behind (docs/performance.md, "ninth"). On one connection,
// as a hub's pool reuses its own, each is run more than five times on an
// empty store, and the server must hold no generic plan of any.
func testRoutingQueueReplanned(t *testing.T, b Backend) {
	s, _ := MustOpen(t, b, sqlstore.Options{MaxConns: 1})
	ctx := t.Context()
	since := start.Add(-time.Hour)
	for range 8 {
		if _, err := s.ClaimRouting(ctx, 8, time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RoutingDue(ctx); err != nil {
			t.Fatal(err)
		}
		hub := guardian.ReferralQuery{All: true, States: []guardian.ReferralState{guardian.ReferralNew}, UpdatedSince: since,
			Order: guardian.OrderUpdated, Limit: 100}
		agency := guardian.ReferralQuery{AgencyID: "de-bka-cac", VisibleStates: []guardian.ReferralState{guardian.ReferralDelivered},
			UpdatedSince: since, Order: guardian.OrderUpdated}
		for _, q := range []guardian.ReferralQuery{hub, agency} {
			if _, _, err := s.ListReferrals(ctx, q); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CountReferrals(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	if b.DriverName == "sqlite" {
		return // no plan cache to look at; the calls above must work
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT statement FROM pg_prepared_statements WHERE generic_plans > 0`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		if err := rows.Scan(&st); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(st, "route_order") || strings.Contains(st, "FROM referrals") {
			t.Errorf("the server keeps a generic plan of a statement planned on an empty store:\n%s", st)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// explain returns the plan the database makes for query with args now.
func explain(t *testing.T, b Backend, db *sql.DB, query string, args []any) string {
	t.Helper()
	prefix := "EXPLAIN "
	if b.DriverName == "sqlite" {
		prefix = "EXPLAIN QUERY PLAN "
	}
	rows, err := db.QueryContext(t.Context(), prefix+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		// PostgreSQL's plan is one text column; SQLite's detail is the
		// last of its four.
		vals := make([]any, len(cols))
		var line string
		for i := range vals {
			vals[i] = new(any)
		}
		vals[len(vals)-1] = &line
		if err := rows.Scan(vals...); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}

// testHubQueuePlan: the hub's list of the referrals it holds for an
// analyst's confirmation (state new, by last change, across agencies)
// reads the index of new referrals (schema version 18), not the table, on
// a store of many referrals whose statistics were never gathered. It read
// the whole table, 31 ms a listing at 90 thousand referrals.
func testHubQueuePlan(t *testing.T, b Backend) {
	s, dsn := MustOpen(t, b, sqlstore.Options{})
	e := &env{t: t, ctx: t.Context(), s: s, clock: NewClock(start)}
	held, _ := e.heldReferral("de-bka")
	// 20,000 copies of it, delivered, each to an agency of its own.
	db := b.rawDB(t, dsn)
	mustExec(t, db, fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
		INSERT INTO referrals (report_id, agency_id, network, countries, channel, reason, priority, label,
			handling_code, data_scope, acknowledge_within_us, retention_days, deadline, held, state,
			received_at, triaged_at, routed_at, delivered_at, updated_at)
		SELECT report_id, 'copy-' || i, network, countries, channel, reason, priority, label,
			handling_code, data_scope, acknowledge_within_us, retention_days, deadline, false, 'delivered',
			received_at, triaged_at, routed_at, updated_at, updated_at
		FROM referrals, n WHERE referrals.id = %d`, held.ID))

	q := guardian.ReferralQuery{All: true, States: []guardian.ReferralState{guardian.ReferralNew}, UpdatedSince: e.now().Add(-time.Minute),
		Order: guardian.OrderUpdated}
	queries, args, err := s.ListReferralsStatements(q)
	if err != nil || len(queries) != 1 {
		t.Fatalf("ListReferralsStatements = %d statements, %v", len(queries), err)
	}
	if b.DriverName != "sqlite" { // SQLite's plan does not know the state (see migration 18)
		text := explain(t, b, db, queries[0], args[0])
		if !strings.Contains(text, "referrals_new") || strings.Contains(text, "Seq Scan on referrals") {
			t.Errorf("the hub's list of new referrals does not read their index:\n%s\n%s", queries[0], text)
		}
	}
	got, _, err := s.ListReferrals(e.ctx, q)
	if err != nil || len(got) != 1 || got[0].ID != held.ID {
		t.Errorf("ListReferrals = %d referrals, %v; want the held one, %d", len(got), err, held.ID)
	}
}
