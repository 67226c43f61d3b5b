package jobs_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/geo"
	"github.com/guardian-network/guardian/jobs"
	"github.com/guardian-network/guardian/network"
	"github.com/guardian-network/guardian/notify"
	"github.com/guardian-network/guardian/routing"
	"github.com/guardian-network/guardian/sqlstore"
	"github.com/guardian-network/guardian/storetest"
)

// backends are the stores the pipeline runs on; PostgreSQL skips without
// $GUARDIAN_TEST_POSTGRES.
var backends = []storetest.Backend{storetest.SQLite, storetest.Postgres}

// driverFor returns River's driver on db, the store's database, or nil for
// an insert-only client.
func driverFor(b storetest.Backend, db *sql.DB) riverdriver.Driver[*sql.Tx] {
	if b.Name == "sqlite" {
		return riversqlite.New(db)
	}
	return riverdatabasesql.New(db)
}

// MustLoadDemo loads the demo network.
func MustLoadDemo(tb testing.TB) *guardian.Network {
	tb.Helper()
	n, err := network.Load("../examples/network-demo.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

type fixture struct {
	store    *sqlstore.Store
	dsn      string
	backend  storetest.Backend
	pipeline *jobs.Pipeline
	reporter *guardian.Reporter
	routed   chan int64
}

// mustPipeline creates River's tables in the store's database and a
// pipeline on it, with cfg applied to its configuration; it does not
// start it.
func mustPipeline(tb testing.TB, b storetest.Backend, s *sqlstore.Store, cfg ...func(*jobs.PipelineConfig)) (*jobs.Pipeline, chan int64) {
	tb.Helper()
	ctx := context.Background()
	if err := jobs.Migrate(ctx, driverFor(b, s.DB()), nil); err != nil {
		tb.Fatal(err)
	}
	n := MustLoadDemo(tb)
	routed := make(chan int64, 1024)
	key, err := crypto.GenerateMasterKey()
	if err != nil {
		tb.Fatal(err)
	}
	links, err := notify.ParseLinks("https://hub.example.org")
	if err != nil {
		tb.Fatal(err)
	}
	pc := jobs.PipelineConfig{
		Driver: driverFor(b, s.DB()),
		Queue:  s,
		Router: &routing.Service{Store: s, Network: func() *guardian.Network { return n }, Geo: geo.Embedded(),
			Routed: func(id int64) {
				select {
				case routed <- id:
				default:
				}
			}},
		PollInterval: 10 * time.Millisecond,
		// The demo network's duty addresses and webhooks are not real:
		// without a relay or secrets, their notifications are recorded as
		// failed at once, and nothing leaves the machine.
		Delivery: &jobs.DeliveryConfig{Deliveries: s, Secrets: s, Users: s, Network: func() *guardian.Network { return n },
			Links: links, MasterKey: key},
	}
	for _, c := range cfg {
		c(&pc)
	}
	p, err := jobs.NewPipeline(pc)
	if err != nil {
		tb.Fatal(err)
	}
	return p, routed
}

// mustFixture opens a store with the referral hook as "guardian serve"
// gives it, and a pipeline on it, not started.
func mustFixture(tb testing.TB, b storetest.Backend) *fixture {
	tb.Helper()
	enq, err := jobs.NewEnqueuer(driverFor(b, nil))
	if err != nil {
		tb.Fatal(err)
	}
	s, dsn := storetest.MustOpen(tb, b, sqlstore.Options{OnReferral: enq.OnReferral})
	p, routed := mustPipeline(tb, b, s)
	rep := &guardian.Reporter{Name: "svc", PasswordHash: "x"}
	if err := s.CreateReporter(context.Background(), rep, &guardian.AuditEvent{
		Actor: guardian.Actor{Kind: guardian.ActorSystem}, Category: guardian.CategoryPermission, Action: "reporter.create"}); err != nil {
		tb.Fatal(err)
	}
	return &fixture{store: s, dsn: dsn, backend: b, pipeline: p, reporter: rep, routed: routed}
}

func (f *fixture) start(tb testing.TB) {
	tb.Helper()
	if err := f.pipeline.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f.pipeline.Stop(ctx)
	})
}

func reporterEvent(id int64, action string) *guardian.AuditEvent {
	return &guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorReporter, ID: "1"},
		Category: guardian.CategoryCollection, Action: action}
}

var incident = time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)

// docIn returns a report whose reported user was seen at an address in
// each country, with a verified estimated location there: a confident
// location. No country gives a report without any location.
func docIn(tb testing.TB, countries ...string) *guardian.ReportDocument {
	doc := &guardian.ReportDocument{
		IncidentSummary: guardian.IncidentSummary{
			IncidentType:     "Child Pornography (possession, manufacture, and distribution)",
			IncidentDateTime: guardian.DateTime{Lexical: incident.Format(time.RFC3339), Time: incident, Zoned: true},
		},
	}
	yes := true
	for _, c := range countries {
		at := &guardian.DateTime{Lexical: incident.Format(time.RFC3339), Time: incident, Zoned: true}
		doc.PersonOrUserReported = append(doc.PersonOrUserReported, guardian.PersonOrUserReported{
			IPCaptureEvent:    []guardian.IPCaptureEvent{{IPAddress: mustAddrIn(tb, c), EventName: "Upload", DateTime: at}},
			EstimatedLocation: &guardian.EstimatedLocation{Verified: &yes, Timestamp: at, CountryCode: c},
		})
	}
	return doc
}

// submit creates and finishes a report of doc.
func (f *fixture) submit(tb testing.TB, doc *guardian.ReportDocument) int64 {
	tb.Helper()
	return f.submitProvisional(tb, doc, "")
}

// submitProvisional is submit with the provisional priority the intake
// would have stored.
func (f *fixture) submitProvisional(tb testing.TB, doc *guardian.ReportDocument, p guardian.Priority) int64 {
	tb.Helper()
	ctx := context.Background()
	js, err := json.Marshal(doc)
	if err != nil {
		tb.Fatal(err)
	}
	r := &guardian.Report{ReporterID: f.reporter.ID, XML: []byte("<report/>"), Document: js, WrappedKey: []byte("k"),
		ProvisionalPriority: p}
	if err := f.store.CreateReport(ctx, r, reporterEvent(f.reporter.ID, "report.submit")); err != nil {
		tb.Fatal(err)
	}
	if _, err := f.store.FinishReport(ctx, f.reporter.ID, r.ID, reporterEvent(f.reporter.ID, "report.finish")); err != nil {
		tb.Fatal(err)
	}
	return r.ID
}

// waitRouted waits until the report has an assessment stored.
func (f *fixture) waitRouted(tb testing.TB, id int64) []*guardian.Referral {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := f.store.FindReportAssessment(context.Background(), id); err == nil {
			refs, err := f.store.FindReferrals(context.Background(), id)
			if err != nil {
				tb.Fatal(err)
			}
			return refs
		}
		time.Sleep(5 * time.Millisecond)
	}
	tb.Fatalf("report %d not routed in time", id)
	return nil
}

func agencies(refs []*guardian.Referral) []string {
	var out []string
	for _, r := range refs {
		if r.State != guardian.ReferralWithdrawn {
			out = append(out, r.AgencyID)
		}
	}
	slices.Sort(out)
	return out
}

func forEachBackend(t *testing.T, fn func(t *testing.T, b storetest.Backend)) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) { fn(t, b) })
	}
}

// TestPipeline runs finished reports through the real pipeline on the demo
// network: each ends with the right referrals or in the analysts' queue,
// and routing again never duplicates a referral.
func TestPipeline(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := mustFixture(t, b)
		f.start(t)
		ctx := context.Background()
		cases := []struct {
			name      string
			countries []string
			want      []string
			queued    bool
			held      bool
		}{
			{"partner", []string{"DE"}, []string{"de-bka-cac"}, false, false},
			{"liaison", []string{"BR"}, []string{"lo-buenos-aires"}, false, true},
			{"uncovered", []string{"JP"}, []string{"intl-cac-desk"}, false, true},
			{"no location", nil, []string{"us-federal-cac"}, true, false},
			{"several", []string{"DE", "JP"}, []string{"de-bka-cac", "intl-cac-desk"}, false, false},
		}
		ids := make([]int64, len(cases))
		for i, c := range cases {
			ids[i] = f.submit(t, docIn(t, c.countries...))
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				refs := f.waitRouted(t, ids[i])
				if got := agencies(refs); !slices.Equal(got, c.want) {
					t.Errorf("referrals to %v, want %v", got, c.want)
				}
				_, err := f.store.FindQueueEntry(ctx, ids[i])
				if queued := err == nil; queued != c.queued {
					t.Errorf("queued = %v (%v), want %v", queued, err, c.queued)
				}
				if len(refs) == 0 && err != nil {
					t.Error("neither a referral nor in the analysts' queue")
				}
				for _, r := range refs {
					held := c.held || r.AgencyID == "intl-cac-desk"
					// A referral leaves the hub when routed, unless held
					// for an analyst.
					state := guardian.ReferralDelivered
					if held {
						state = guardian.ReferralNew
					}
					if r.HeldForConfirmation != held || r.State != state || (r.DeliveredAt != nil) != !held || r.RoutedAt.IsZero() || r.ReceivedAt.IsZero() || !r.Deadline.After(r.RoutedAt) {
						t.Errorf("referral %+v", r)
					}
				}
				// Routing again, twice, changes nothing.
				for range 2 {
					if err := f.pipeline.Reroute(ctx, ids[i], guardian.Actor{Kind: guardian.ActorSystem}, ""); err != nil {
						t.Fatal(err)
					}
				}
				again, err := f.store.FindReferrals(ctx, ids[i])
				if err != nil {
					t.Fatal(err)
				}
				if len(again) != len(refs) || (len(refs) > 0 && again[0].ID != refs[0].ID) {
					t.Errorf("re-routing changed %v into %v", refs, again)
				}
			})
		}
		// The decisions are in the audit log.
		evs, err := f.store.FindAuditEvents(ctx, guardian.AuditFilter{ReportID: ids[0], Action: "referral.create"})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].Category != guardian.CategoryDisclosure || !slices.Equal(evs[0].Recipients, []string{"de-bka-cac"}) {
			t.Errorf("referral.create events %+v", evs)
		}
	})
}

// TestOverride: an analyst's withdrawal withdraws a pending referral (one
// held for confirmation: a delivered one cannot be taken back), and
// clearing it reinstates the same referral.
func TestOverride(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := mustFixture(t, b)
		ctx := context.Background()
		id := f.submit(t, docIn(t, "BR"))
		analyst := guardian.Actor{Kind: guardian.ActorUser, ID: "7"}
		if err := f.pipeline.Reroute(ctx, id, guardian.Actor{Kind: guardian.ActorSystem}, ""); err != nil {
			t.Fatal(err)
		}
		refs, _ := f.store.FindReferrals(ctx, id)
		for _, step := range []struct {
			action guardian.OverrideAction
			want   guardian.ReferralState
		}{{guardian.OverrideWithdraw, guardian.ReferralWithdrawn}, {guardian.OverrideClear, guardian.ReferralNew}} {
			err := f.store.AddRoutingOverride(ctx, &guardian.RoutingOverride{ReportID: id, AgencyID: "lo-buenos-aires", Action: step.action, Actor: "7"},
				&guardian.AuditEvent{Actor: analyst, Category: guardian.CategoryAlteration, Action: "routing.override", Justification: "analyst decision"})
			if err != nil {
				t.Fatal(err)
			}
			if err := f.pipeline.Reroute(ctx, id, analyst, "analyst decision"); err != nil {
				t.Fatal(err)
			}
			got, _ := f.store.FindReferrals(ctx, id)
			if len(got) != 1 || got[0].ID != refs[0].ID || got[0].State != step.want {
				t.Fatalf("after %s: %+v", step.action, got)
			}
		}
	})
}

// failOnce is a hash-list matcher that fails its first call for each
// report, so that the report's first routing attempt fails.
type failOnce struct {
	mu   sync.Mutex
	seen map[int64]bool
}

func (m *failOnce) MatchFiles(_ context.Context, files []*guardian.File) (*guardian.KnownContent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(files) > 0 && !m.seen[files[0].ReportID] {
		m.seen[files[0].ReportID] = true
		return nil, errors.New("synthetic hash list failure")
	}
	return &guardian.KnownContent{}, nil
}

// TestRoutingRetry: a routing attempt that fails is retried after its
// backoff (1 s after the first), and the report is routed.
func TestRoutingRetry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := mustFixture(t, b)
		p, routed := mustPipeline(t, b, f.store, func(c *jobs.PipelineConfig) { c.Router.Known = &failOnce{seen: map[int64]bool{}} })
		f.pipeline, f.routed = p, routed
		ctx := context.Background()
		js, _ := json.Marshal(docIn(t, "DE"))
		r := &guardian.Report{ReporterID: f.reporter.ID, XML: []byte("<report/>"), Document: js, WrappedKey: []byte("k")}
		if err := f.store.CreateReport(ctx, r, reporterEvent(f.reporter.ID, "report.submit")); err != nil {
			t.Fatal(err)
		}
		file := &guardian.File{ID: "0123456789abcdef0123456789abcdef", ReportID: r.ID, Name: "synthetic.bin", Size: 1,
			MD5: strings.Repeat("a", 32), SHA1: strings.Repeat("b", 40), SHA256: strings.Repeat("c", 64), BlobKey: "blobs/x", WrappedKey: []byte("k")}
		if err := f.store.AddFile(ctx, f.reporter.ID, file, reporterEvent(f.reporter.ID, "file.upload")); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.FinishReport(ctx, f.reporter.ID, r.ID, reporterEvent(f.reporter.ID, "report.finish")); err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		f.start(t)
		if refs := f.waitRouted(t, r.ID); len(refs) != 1 {
			t.Fatalf("%d referrals after the retry", len(refs))
		}
		if took := time.Since(began); took < 800*time.Millisecond {
			t.Errorf("routed after %v: the failed attempt was not held back by its backoff", took)
		}
		var attempts int
		var reason sql.NullString
		q := `SELECT route_attempts, route_error FROM reports WHERE id = ` + strconv.FormatInt(r.ID, 10)
		if err := f.store.DB().QueryRowContext(ctx, q).Scan(&attempts, &reason); err != nil {
			t.Fatal(err)
		}
		if attempts != 0 || reason.Valid {
			t.Errorf("after the routing: attempts %d, error %v; want the queue's columns cleared", attempts, reason)
		}
	})
}

// oldTriageArgs is the triage job of a guardian before schema version 15.
type oldTriageArgs struct {
	ReportID int64 `json:"report_id"`
}

func (oldTriageArgs) Kind() string { return "triage" }

// TestAdoptTriageJobs: River's triage jobs left by an older guardian move
// to the routing queue in their places, and are removed; the pipeline
// then routes their reports.
func TestAdoptTriageJobs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := mustFixture(t, b)
		ctx := context.Background()
		ids := []int64{f.submit(t, docIn(t, "DE")), f.submit(t, docIn(t, "BR")), f.submit(t, docIn(t, "JP"))}
		// As an older guardian left them: finished, not in the queue,
		// with River jobs of priorities 3, 1 and 2.
		if _, err := f.store.DB().ExecContext(ctx, `UPDATE reports SET route_order = NULL`); err != nil {
			t.Fatal(err)
		}
		client, err := river.NewClient(driverFor(b, f.store.DB()), &river.Config{})
		if err != nil {
			t.Fatal(err)
		}
		for i, prio := range []int{3, 1, 2} {
			if _, err := client.Insert(ctx, oldTriageArgs{ReportID: ids[i]}, &river.InsertOpts{Priority: prio, MaxAttempts: 25}); err != nil {
				t.Fatal(err)
			}
		}
		n, err := jobs.AdoptTriageJobs(ctx, driverFor(b, f.store.DB()), f.store)
		if err != nil || n != 3 {
			t.Fatalf("adopted %d, %v; want 3", n, err)
		}
		if n, err := jobs.AdoptTriageJobs(ctx, driverFor(b, f.store.DB()), f.store); err != nil || n != 0 {
			t.Fatalf("adopted %d again, %v; want 0", n, err)
		}
		var left int
		if err := f.store.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'triage'`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != 0 {
			t.Errorf("%d triage jobs left in River", left)
		}
		claims, err := f.store.ClaimRouting(ctx, 10, time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		var order []int64
		for _, c := range claims {
			order = append(order, c.ReportID)
		}
		if want := []int64{ids[1], ids[2], ids[0]}; !slices.Equal(order, want) {
			t.Errorf("claimed %v, want %v (River's priorities)", order, want)
		}
		time.Sleep(5 * time.Millisecond) // the claims' lease
		f.start(t)
		for _, id := range ids {
			f.waitRouted(t, id)
		}
	})
}

// TestUrgentFirst: a report whose document makes it urgent is triaged
// ahead of ordinary reports finished before it.
func TestUrgentFirst(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := mustFixture(t, b)
		var ordinary []int64
		for i := range 12 {
			ordinary = append(ordinary, f.submitProvisional(t, docIn(t, "DE"), []guardian.Priority{"", guardian.Priority3}[i%2]))
		}
		soon := f.submitProvisional(t, docIn(t, "JP"), guardian.Priority2)
		urgent := f.submitProvisional(t, docIn(t, "BR"), guardian.Priority1)

		// The reports' places in the routing queue.
		want := map[int64]int{urgent: 1, soon: 2}
		for _, id := range ordinary {
			want[id] = 3
		}
		rows, err := f.store.DB().QueryContext(context.Background(), `SELECT id, route_order FROM reports WHERE route_order IS NOT NULL`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			var order int
			if err := rows.Scan(&id, &order); err != nil {
				t.Fatal(err)
			}
			if order != want[id] {
				t.Errorf("report %d: routing order %d, want %d", id, order, want[id])
			}
			delete(want, id)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if len(want) != 0 {
			t.Errorf("reports not queued: %v", want)
		}

		// One worker takes the reports one at a time, most urgent
		// first: the urgent report is routed first, then the priority 2
		// one, however many were finished before them. (With several
		// workers the order within a claim depends on timing.)
		p, routed := mustPipeline(t, b, f.store, func(c *jobs.PipelineConfig) { c.Workers = 1 })
		f.pipeline, f.routed = p, routed
		f.start(t)
		var order []int64
		for len(order) < 14 {
			select {
			case id := <-f.routed:
				order = append(order, id)
			case <-time.After(15 * time.Second):
				t.Fatalf("routed %v, then nothing", order)
			}
		}
		if slices.Index(order, urgent) != 0 || slices.Index(order, soon) != 1 {
			t.Errorf("routed in the order %v; want the urgent report %d first, then the priority 2 report %d", order, urgent, soon)
		}
	})
}

// gatedQueue is the store's routing queue whose claims after the first
// wait for gate to close: a claim that takes long, as on a busy server.
type gatedQueue struct {
	guardian.RoutingQueue
	gate   chan struct{}
	claims atomic.Int32
}

func (q *gatedQueue) ClaimRouting(ctx context.Context, limit int, lease time.Duration) ([]guardian.RoutingClaim, error) {
	if q.claims.Add(1) > 1 {
		select {
		case <-q.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return q.RoutingQueue.ClaimRouting(ctx, limit, lease)
}

// TestClaimAhead: with reports waiting, the workers do not wait for a
// claim: the pipeline claims ahead of them, so while its next claim takes
// long they route what it claimed before, twice as many as there are
// workers. It used to claim for the free workers only, which then waited.
func TestClaimAhead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := mustFixture(t, b)
		var ids []int64
		for range 12 {
			ids = append(ids, f.submit(t, docIn(t, "DE")))
		}
		q := &gatedQueue{RoutingQueue: f.store, gate: make(chan struct{})}
		p, routed := mustPipeline(t, b, f.store, func(c *jobs.PipelineConfig) { c.Workers, c.Queue = 2, q })
		f.pipeline, f.routed = p, routed
		f.start(t)
		for i := range 4 {
			select {
			case <-f.routed:
			case <-time.After(15 * time.Second):
				t.Fatalf("routed %d reports while the second claim waited, want 4 (2 workers, claimed ahead)", i)
			}
		}
		select {
		case id := <-f.routed:
			t.Fatalf("report %d routed before the second claim: claimed more than twice the workers", id)
		case <-time.After(50 * time.Millisecond):
		}
		close(q.gate)
		for _, id := range ids {
			if refs := f.waitRouted(t, id); len(refs) != 1 {
				t.Errorf("report %d: %d referrals", id, len(refs))
			}
		}
	})
}

// TestStopReleasesClaims: reports claimed ahead that no worker started go
// back to the queue when the pipeline stops, due at once, not after their
// lease.
func TestStopReleasesClaims(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := mustFixture(t, b)
		var ids []int64
		for range 3 {
			ids = append(ids, f.submit(t, docIn(t, "DE")))
		}
		hold := make(chan struct{})
		p, routed := mustPipeline(t, b, f.store, func(c *jobs.PipelineConfig) {
			c.Workers = 1 // claims 2: one routed, one ahead
			next := c.Router.Routed
			c.Router.Routed = func(id int64) {
				next(id)
				<-hold
			}
		})
		f.pipeline, f.routed = p, routed
		f.start(t)
		select {
		case <-f.routed: // the first, its worker held
		case <-time.After(15 * time.Second):
			t.Fatal("nothing routed")
		}
		stopped := make(chan error, 1)
		go func() { stopped <- f.pipeline.Stop(context.Background()) }()
		// The claim ahead is given back while the worker is still held.
		var got []int64
		deadline := time.Now().Add(15 * time.Second)
		for len(got) < 2 && time.Now().Before(deadline) {
			claims, err := f.store.ClaimRouting(context.Background(), 10, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range claims {
				got = append(got, c.ReportID)
			}
			time.Sleep(5 * time.Millisecond)
		}
		close(hold)
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, ids[1:]) {
			t.Errorf("claimable after stop: %v, want %v (the claim ahead released, the third never claimed)", got, ids[1:])
		}
	})
}

// TestRestart: reports finished while the pipeline is stopped, and a
// pipeline stopped half-way, lose no job and double no referral.
func TestRestart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := mustFixture(t, b)
		var ids []int64
		for i := range 6 {
			ids = append(ids, f.submit(t, docIn(t, []string{"DE", "JP", "BR"}[i%3])))
		}
		f.start(t)
		f.waitRouted(t, ids[0])
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		f.pipeline.Stop(ctx)
		cancel()
		// A new pipeline, as after a restart, on the same store.
		p, _ := mustPipeline(t, b, f.store)
		f.pipeline = p
		f.start(t)
		for _, id := range ids {
			if refs := f.waitRouted(t, id); len(refs) != 1 {
				t.Errorf("report %d: %d referrals", id, len(refs))
			}
		}
	})
}

// mustAddrIn returns an IPv4 address from the first public range that the
// embedded database assigns to country (as in triage's tests).
func mustAddrIn(tb testing.TB, country string) string {
	tb.Helper()
	for r := range geo.Embedded().Ranges() {
		if r.Country != country || r.From.Is6() {
			continue
		}
		a := r.From.Next()
		if !r.To.Less(a) && geo.Classify(a) == geo.Public {
			return a.String()
		}
	}
	tb.Fatalf("no public range for %s", country)
	return ""
}

// countingHandler counts the log records whose message starts with prefix.
type countingHandler struct {
	prefix string
	mu     sync.Mutex
	n      int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, h.prefix) {
		h.mu.Lock()
		h.n++
		h.mu.Unlock()
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

// TestRoutingQueueFailingLogsOnce: a store that fails (here, closed under
// the running pipeline) is logged once, not at every poll.
func TestRoutingQueueFailingLogsOnce(t *testing.T) {
	f := mustFixture(t, storetest.SQLite)
	h := &countingHandler{prefix: "routing queue failing"}
	p, _ := mustPipeline(t, storetest.SQLite, f.store, func(c *jobs.PipelineConfig) {
		c.Logger = slog.New(h)
		c.Delivery = nil
	})
	f.pipeline = p
	f.start(t)
	f.store.Close()
	time.Sleep(400 * time.Millisecond) // 40 polls
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n != 1 {
		t.Errorf("a failing routing queue was logged %d times in 40 polls, want once", h.n)
	}
}

// TestDeliverySweepFailingLogsOnce: a store that fails every sweep of the
// escalations and digest windows is logged once, not at every sweep.
func TestDeliverySweepFailingLogsOnce(t *testing.T) {
	f := mustFixture(t, storetest.SQLite)
	h := &countingHandler{prefix: "delivery sweep failing"}
	p, _ := mustPipeline(t, storetest.SQLite, f.store, func(c *jobs.PipelineConfig) {
		c.Logger = slog.New(h)
		c.EscalationInterval = 10 * time.Millisecond
	})
	f.pipeline = p
	f.start(t)
	f.store.Close()
	time.Sleep(400 * time.Millisecond) // 40 sweeps
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n != 1 {
		t.Errorf("a failing delivery sweep was logged %d times in 40 sweeps, want once", h.n)
	}
}
