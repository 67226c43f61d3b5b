package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/sqlstore"
)

// listBenchAgency is the agency whose inbox the list benchmark reads.
const listBenchAgency = "py-partner"

// RunListBenchmarks measures an agency's inbox with n referrals stored for
// it (issue 10 asks for 1 million): the first page of 50, most urgent
// first, and a page deep in the cursor, through DeliveryStore.ListReferrals
// as the partner API calls it, with the production pool. Besides ns/op it
// reports the 95th percentile of the page's latency ("p95-ms").
//
// The rows are copied in SQL from one report and one referral made through
// the store, so that seeding a million takes seconds rather than the hour
// that a million routing runs would; the read path measured is the store's
// own.
func RunListBenchmarks(b *testing.B, bk Backend, n int) {
	ctx := b.Context()
	s, _ := MustOpen(b, bk, sqlstore.Options{Sealer: suiteSealer,
		OnReferral: func(context.Context, *sql.Tx, guardian.ReferralChange) error { return nil }})
	start := time.Now()
	if err := seedInbox(ctx, s, bk, listBenchAgency, n); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: seeded %d referrals in %s", bk.Name, n, time.Since(start).Round(time.Millisecond))

	q := guardian.ReferralQuery{
		AgencyID:      listBenchAgency,
		VisibleStates: []guardian.ReferralState{guardian.ReferralDelivered, guardian.ReferralOpened, guardian.ReferralAcknowledged, guardian.ReferralClosed, guardian.ReferralRerouted},
		Limit:         50,
	}
	// The cursor of a page halfway down the inbox: walk to it with large
	// pages once.
	deep := q
	deep.Limit = 500
	for seen := 0; seen < n/2; seen += deep.Limit {
		page, more, err := s.ListReferrals(ctx, deep)
		if err != nil {
			b.Fatal(err)
		}
		if !more || len(page) == 0 {
			break
		}
		c := page[len(page)-1].Cursor(guardian.OrderUrgent)
		deep.After = &c
	}
	deep.Limit = 50

	for _, bc := range []struct {
		name string
		q    guardian.ReferralQuery
	}{{"FirstPage", q}, {"DeepPage", deep}} {
		b.Run(bc.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t0 := time.Now()
				page, _, err := s.ListReferrals(ctx, bc.q)
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				if len(page) != 50 {
					b.Fatalf("page of %d referrals, want 50", len(page))
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

// seedInbox stores n delivered referrals for agencyID, each of its own
// report, with priorities and deadlines spread as an inbox's are.
func seedInbox(ctx context.Context, s *sqlstore.Store, bk Backend, agencyID string, n int) error {
	rep := &guardian.Reporter{Name: "bench-service", PasswordHash: "x"}
	if err := s.CreateReporter(ctx, rep, systemEvent("reporter.create")); err != nil {
		return err
	}
	r := newReport(rep.ID)
	if err := s.CreateReport(ctx, r, reporterEvent(rep.ID, "report.submit")); err != nil {
		return err
	}
	if _, err := s.FinishReport(ctx, rep.ID, r.ID, reporterEvent(rep.ID, "report.finish")); err != nil {
		return err
	}
	now := time.Now().UTC()
	err := s.RouteReport(ctx, r.ID, guardian.Actor{Kind: guardian.ActorSystem, Name: "bench"}, "bench-network", now, now,
		func(*guardian.RoutingState) (*guardian.RoutingUpdate, error) {
			return &guardian.RoutingUpdate{Create: []*guardian.Referral{{
				AgencyID: agencyID, Countries: []string{"PY"}, Channel: guardian.ChannelDirect, Reason: guardian.ReasonPartner,
				Priority: "2", Label: guardian.LabelReferral, HandlingCode: "LE-ONLY", DataScope: guardian.ScopeFiles,
				AcknowledgeWithin: 24 * time.Hour, RetentionDays: 365, Deadline: now.Add(24 * time.Hour),
			}}}, nil
		})
	if err != nil {
		return fmt.Errorf("route the template report: %w", err)
	}

	return CopyInbox(ctx, s, bk, r.ID, n-1)
}

// CopyInbox copies a routed report and its delivered referral n times,
// each copy a report of its own, with priorities cycling E, 1, 2, 3 and
// deadlines spread over about a day: for the benchmarks of an inbox of a
// million (the store's, and the web page's on a hub whose report came
// through the intake). The copies' sealed documents stay bound to the
// template's id, so they cannot be opened: the inbox never opens them.
func CopyInbox(ctx context.Context, s *sqlstore.Store, bk Backend, templateReportID int64, n int) error {
	// One statement per table, copying the template rows n times.
	var reports, referrals string
	switch bk.DriverName {
	case "sqlite":
		reports = `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $1)
			INSERT INTO reports (reporter_id, state, opened_at, modified_at, finished_at, xml, document, sealed, wrapped_key, file_count)
			SELECT reporter_id, state, opened_at, modified_at, finished_at, xml, document, sealed, wrapped_key, file_count
			FROM reports, seq WHERE reports.id = $2`
		referrals = `INSERT INTO referrals (report_id, agency_id, network, countries, channel, reason, priority, label,
				handling_code, data_scope, acknowledge_within_us, retention_days, deadline, held, state,
				received_at, triaged_at, routed_at, delivered_at, updated_at)
			SELECT r.id, t.agency_id, t.network, t.countries, t.channel, t.reason,
				CASE r.id % 4 WHEN 0 THEN 'E' WHEN 1 THEN '1' WHEN 2 THEN '2' ELSE '3' END, t.label,
				t.handling_code, t.data_scope, t.acknowledge_within_us, t.retention_days,
				t.deadline + (r.id * 7919 % 86400) * 1000000, t.held, t.state,
				t.received_at, t.triaged_at, t.routed_at, t.delivered_at, t.updated_at + r.id
			FROM reports r, referrals t WHERE t.report_id = $1 AND r.id > $2`
	default:
		reports = `INSERT INTO reports (reporter_id, state, opened_at, modified_at, finished_at, xml, document, sealed, wrapped_key, file_count)
			SELECT reporter_id, state, opened_at, modified_at, finished_at, xml, document, sealed, wrapped_key, file_count
			FROM reports, generate_series(1, $1) WHERE reports.id = $2`
		referrals = `INSERT INTO referrals (report_id, agency_id, network, countries, channel, reason, priority, label,
				handling_code, data_scope, acknowledge_within_us, retention_days, deadline, held, state,
				received_at, triaged_at, routed_at, delivered_at, updated_at)
			SELECT r.id, t.agency_id, t.network, t.countries, t.channel, t.reason,
				CASE r.id % 4 WHEN 0 THEN 'E' WHEN 1 THEN '1' WHEN 2 THEN '2' ELSE '3' END, t.label,
				t.handling_code, t.data_scope, t.acknowledge_within_us, t.retention_days,
				t.deadline + (r.id * 7919 % 86400) * interval '1 second', t.held, t.state,
				t.received_at, t.triaged_at, t.routed_at, t.delivered_at, t.updated_at + r.id * interval '1 microsecond'
			FROM reports r, referrals t WHERE t.report_id = $1 AND r.id > $2`
	}
	db := s.DB()
	// Only the copies made here get the template's referral, not reports
	// the store held already.
	var last int64
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM reports`).Scan(&last); err != nil {
		return fmt.Errorf("seed reports: %w", err)
	}
	if _, err := db.ExecContext(ctx, reports, n, templateReportID); err != nil {
		return fmt.Errorf("seed reports: %w", err)
	}
	if _, err := db.ExecContext(ctx, referrals, templateReportID, last); err != nil {
		return fmt.Errorf("seed referrals: %w", err)
	}
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}
