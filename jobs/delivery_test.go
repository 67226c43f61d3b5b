package jobs_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/geo"
	"github.com/guardian-network/guardian/jobs"
	"github.com/guardian-network/guardian/notify"
	"github.com/guardian-network/guardian/notify/notifytest"
	"github.com/guardian-network/guardian/routing"
	"github.com/guardian-network/guardian/sqlstore"
	"github.com/guardian-network/guardian/storetest"
)

// TestReferralJobs: each referral change makes the jobs the policy says,
// scheduled when it says.
func TestReferralJobs(t *testing.T) {
	delivered := time.Date(2026, 3, 1, 12, 7, 30, 0, time.UTC)
	escalated := delivered.Add(5 * time.Hour)
	ref := func(p guardian.Priority, state guardian.ReferralState, level int, liaison string) *guardian.Referral {
		return &guardian.Referral{ID: 42, ReportID: 7, AgencyID: "py", Priority: p, State: state, Escalation: level,
			LiaisonAgencyID: liaison, Deadline: delivered.Add(4 * time.Hour), AcknowledgeWithin: 4 * time.Hour,
			DeliveredAt: &delivered, EscalatedAt: &escalated, UpdatedAt: escalated}
	}
	type job struct {
		args river.JobArgs
		at   time.Time // zero: at once
	}
	item := []notify.Item{{ReferralID: 42, Priority: "1", Deadline: delivered.Add(4 * time.Hour)}}
	item2 := []notify.Item{{ReferralID: 42, Priority: "2", Deadline: delivered.Add(4 * time.Hour)}}
	for _, tc := range []struct {
		name string
		ch   guardian.ReferralChange
		want []job
	}{
		{"DeliveredPriority1", guardian.ReferralChange{Event: guardian.EventDelivered, Referral: ref("1", guardian.ReferralDelivered, 0, "")}, []job{
			{jobs.FanoutArgs{EventID: fmt.Sprintf("referral-42-delivered-%d", delivered.Unix()), Event: guardian.EventDelivered,
				Reason: notify.ReasonNewReferral, AgencyID: "py", Items: item, At: delivered}, time.Time{}},
		}},
		{"DeliveredPriorityE", guardian.ReferralChange{Event: guardian.EventDelivered, Referral: ref("E", guardian.ReferralDelivered, 0, "")}, []job{
			{jobs.FanoutArgs{EventID: fmt.Sprintf("referral-42-delivered-%d", delivered.Unix()), Event: guardian.EventDelivered,
				Reason: notify.ReasonNewReferral, AgencyID: "py", Items: []notify.Item{{ReferralID: 42, Priority: "E", Deadline: delivered.Add(4 * time.Hour)}}, At: delivered}, time.Time{}},
		}},
		// Priorities 2 and 3: the sweep of the window's digests, later.
		{"DeliveredPriority2", guardian.ReferralChange{Event: guardian.EventDelivered, Referral: ref("2", guardian.ReferralDelivered, 0, "")}, nil},
		{"DeliveredPriority3", guardian.ReferralChange{Event: guardian.EventDelivered, Referral: ref("3", guardian.ReferralDelivered, 0, "")}, nil},
		{"EscalatedToLiaison", guardian.ReferralChange{Event: guardian.EventEscalated, Referral: ref("1", guardian.ReferralDelivered, 1, "lo")}, []job{
			{jobs.FanoutArgs{EventID: "referral-42-escalated-1", Event: guardian.EventEscalated, Reason: notify.ReasonEscalated, Level: 1,
				AgencyID: "lo", Items: item, At: escalated}, time.Time{}},
		}},
		{"EscalatedWithoutLiaison", guardian.ReferralChange{Event: guardian.EventEscalated, Referral: ref("1", guardian.ReferralOpened, 1, "")}, []job{
			{jobs.FanoutArgs{EventID: "referral-42-escalated-1", Event: guardian.EventEscalated, Reason: notify.ReasonEscalated, Level: 1,
				AgencyID: "", Items: item, At: escalated}, time.Time{}},
		}},
		{"EscalatedToHub", guardian.ReferralChange{Event: guardian.EventEscalated, Referral: ref("1", guardian.ReferralDelivered, 2, "lo")}, []job{
			{jobs.FanoutArgs{EventID: "referral-42-escalated-2", Event: guardian.EventEscalated, Reason: notify.ReasonEscalated, Level: 2,
				AgencyID: "", Items: item, At: escalated}, time.Time{}},
		}},
		// The store moves the next escalation with the deadline.
		{"Reprioritised", guardian.ReferralChange{Event: guardian.EventReprioritised, Referral: ref("2", guardian.ReferralOpened, 0, "")}, nil},
		{"ReprioritisedAfterLevel1", guardian.ReferralChange{Event: guardian.EventReprioritised, Referral: ref("2", guardian.ReferralDelivered, 1, "lo")}, nil},
		{"ReprioritisedAcknowledged", guardian.ReferralChange{Event: guardian.EventReprioritised, Referral: ref("2", guardian.ReferralAcknowledged, 0, "")}, nil},
		{"ReprioritisedPending", guardian.ReferralChange{Event: guardian.EventReprioritised, Referral: ref("2", guardian.ReferralNew, 0, "")}, nil},
		// The store queues a declined referral's report for routing.
		{"Declined", guardian.ReferralChange{Event: guardian.EventDeclined, Referral: ref("2", guardian.ReferralRerouted, 0, "")}, nil},
		{"MessageFromHub", guardian.ReferralChange{Event: guardian.EventMessage, Referral: ref("2", guardian.ReferralOpened, 0, ""),
			Message: &guardian.Message{ID: 9, ReferralID: 42, ThreadAgencyID: "lo", From: guardian.HubOrganisation("hub"), Body: "never sent", CreatedAt: escalated}}, []job{
			{jobs.FanoutArgs{EventID: "message-9", Event: guardian.EventMessage, Reason: notify.ReasonNewMessage, AgencyID: "lo", Items: item2, At: escalated}, time.Time{}},
		}},
		{"MessageFromAgency", guardian.ReferralChange{Event: guardian.EventMessage, Referral: ref("2", guardian.ReferralOpened, 0, ""),
			Message: &guardian.Message{ID: 9, ReferralID: 42, ThreadAgencyID: "py", From: guardian.AgencyOrganisation("py"), Body: "b"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params, err := jobs.ReferralJobs(tc.ch)
			if err != nil {
				t.Fatal(err)
			}
			var got []job
			for _, p := range params {
				j := job{args: p.Args}
				if p.InsertOpts != nil {
					j.at = p.InsertOpts.ScheduledAt
				}
				got = append(got, j)
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tc.want) {
				t.Errorf("jobs\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	for _, bad := range []guardian.ReferralChange{
		{Event: guardian.EventDelivered},
		{Event: "unknown", Referral: ref("1", guardian.ReferralDelivered, 0, "")},
		{Event: guardian.EventMessage, Referral: ref("1", guardian.ReferralDelivered, 0, "")},
	} {
		if _, err := jobs.ReferralJobs(bad); err == nil {
			t.Errorf("ReferralJobs(%+v) accepted", bad)
		}
	}
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// testNetwork is a small network whose agencies acknowledge within ack:
// partners in PY (e-mail and webhook at hookURL), AR (e-mail only) and DE
// (a webhook without a secret), a liaison office covering PY and AR, a
// fallback and a domestic agency.
func testNetwork(tb testing.TB, ack time.Duration, hookURL string) *guardian.Network {
	tb.Helper()
	agency := func(id string, kind guardian.AgencyKind, country, email, hook string) *guardian.Agency {
		return &guardian.Agency{ID: id, Name: id, Kind: kind, Country: country, Languages: []string{"en"},
			Duty: guardian.DutyContacts{Email: []string{email}, Webhook: hook}}
	}
	deadlines := map[string]time.Duration{"E": ack, "1": ack, "2": ack, "3": ack}
	agreement := func(id string, ch guardian.Channel, d guardian.Dispatch, countries ...string) *guardian.Agreement {
		return &guardian.Agreement{Agency: id, Channel: ch, Countries: countries, DataScope: guardian.ScopeFiles,
			HandlingCode: "H0", AcknowledgeWithin: deadlines, RetentionDays: 30, Dispatch: d}
	}
	n, err := guardian.NewNetwork(guardian.Hub{ID: "test-hub", Name: "Test hub", Country: "US",
		HandlingCodes: []guardian.HandlingCode{{Code: "H0", Description: "Evidence."}}},
		[]*guardian.Agency{
			agency("py", guardian.AgencyPartner, "PY", "duty@py.example.org", hookURL),
			agency("ar", guardian.AgencyPartner, "AR", "duty@ar.example.org", ""),
			agency("de", guardian.AgencyPartner, "DE", "duty@de.example.org", "https://de.example.org/hooks"),
			agency("lo", guardian.AgencyLiaison, "AR", "liaison@lo.example.org", ""),
			agency("intl", guardian.AgencyFallback, "FR", "desk@intl.example.org", ""),
			agency("us", guardian.AgencyDomestic, "US", "duty@us.example.org", ""),
		},
		[]*guardian.Agreement{
			agreement("py", guardian.ChannelDirect, guardian.DispatchAutomatic, "PY"),
			agreement("ar", guardian.ChannelDirect, guardian.DispatchAutomatic, "AR"),
			agreement("de", guardian.ChannelDirect, guardian.DispatchAutomatic, "DE"),
			agreement("lo", guardian.ChannelLiaison, guardian.DispatchConfirm, "PY", "AR", "BO"),
			agreement("intl", guardian.ChannelDirect, guardian.DispatchConfirm),
			agreement("us", guardian.ChannelDirect, guardian.DispatchAutomatic, "US"),
		})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// deliveryFixture is a store with the hub's hooks, the test network, an
// SMTP server, a webhook receiver and the agency py's webhook secret.
type deliveryFixture struct {
	backend  storetest.Backend
	store    *sqlstore.Store
	clock    *fakeClock // nil: the real clock
	net      *guardian.Network
	router   *routing.Service
	smtp     *notifytest.SMTP
	hooks    *notifytest.Receiver
	secret   notify.WebhookSecret
	key      *crypto.MasterKey
	reporter *guardian.Reporter
	cfg      jobs.DeliveryConfig
}

func mustDeliveryFixture(tb testing.TB, b storetest.Backend, clock *fakeClock, ack time.Duration) *deliveryFixture {
	tb.Helper()
	ctx := context.Background()
	f := &deliveryFixture{backend: b, clock: clock, secret: notify.GenerateWebhookSecret()}
	f.smtp = notifytest.MustSMTP(tb, notifytest.SMTPOptions{STARTTLS: true})
	f.hooks = notifytest.MustReceiver(tb, f.secret.String())
	f.net = testNetwork(tb, ack, f.hooks.URL)
	var err error
	if f.key, err = crypto.GenerateMasterKey(); err != nil {
		tb.Fatal(err)
	}
	enq, err := jobs.NewEnqueuer(driverFor(b, nil))
	if err != nil {
		tb.Fatal(err)
	}
	opts := sqlstore.Options{OnReferral: enq.OnReferral}
	if clock != nil {
		opts.Now = clock.Now
	}
	f.store, _ = storetest.MustOpen(tb, b, opts)
	if err := jobs.Migrate(ctx, driverFor(b, f.store.DB()), nil); err != nil {
		tb.Fatal(err)
	}
	f.router = &routing.Service{Store: f.store, Network: func() *guardian.Network { return f.net }, Geo: geo.Embedded()}
	f.reporter = &guardian.Reporter{Name: "svc", PasswordHash: "x"}
	sys := guardian.Actor{Kind: guardian.ActorSystem, Name: "test"}
	if err := f.store.CreateReporter(ctx, f.reporter, &guardian.AuditEvent{Actor: sys, Category: guardian.CategoryPermission, Action: "reporter.create"}); err != nil {
		tb.Fatal(err)
	}
	sealed := notify.SealWebhookSecret(f.key, "py", f.secret)
	if err := f.store.SetWebhookSecret(ctx, "py", sealed, &guardian.AuditEvent{Actor: sys, Category: guardian.CategoryPermission, Action: "webhook.secret"}); err != nil {
		tb.Fatal(err)
	}
	// The hub's people: two supervisors (one disabled) and an analyst.
	hub := guardian.HubOrganisation("test-hub")
	for _, u := range []*guardian.User{
		{Name: "sup1", Email: "sup1@hub.example.org", Organisation: hub, Roles: []guardian.Role{guardian.RoleHubSupervisor}},
		{Name: "sup2", Email: "sup2@hub.example.org", Organisation: hub, Roles: []guardian.Role{guardian.RoleHubSupervisor}, Disabled: true},
		{Name: "ana", Email: "ana@hub.example.org", Organisation: hub, Roles: []guardian.Role{guardian.RoleHubAnalyst}},
		{Name: "sup3", Organisation: hub, Roles: []guardian.Role{guardian.RoleHubAnalyst, guardian.RoleHubSupervisor}, Email: "sup3@hub.example.org"},
		{Name: "inv", Email: "inv@py.example.org", Organisation: guardian.AgencyOrganisation("py"), Roles: []guardian.Role{guardian.RoleAgencySupervisor}},
	} {
		u.PasswordHash = "x"
		if err := f.store.CreateUser(ctx, u, &guardian.AuditEvent{Actor: sys, Category: guardian.CategoryPermission, Action: "user.create"}); err != nil {
			tb.Fatal(err)
		}
	}
	mailer, err := notify.NewMailer(notify.MailerConfig{Addr: f.smtp.Addr, From: "guardian@hub.example.org", RequireTLS: true,
		TLSConfig: f.smtp.ClientTLS, Timeout: 5 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	links, err := notify.ParseLinks("https://hub.example.org")
	if err != nil {
		tb.Fatal(err)
	}
	f.cfg = jobs.DeliveryConfig{
		Deliveries: f.store, Secrets: f.store, Users: f.store,
		Network:   func() *guardian.Network { return f.net },
		Mailer:    mailer,
		Webhooks:  notify.NewWebhookClient(notify.WebhookConfig{TLSConfig: f.hooks.ClientTLS, Timeout: 5 * time.Second}),
		Links:     links,
		MasterKey: f.key,
	}
	if clock != nil {
		f.cfg.Clock = clock.Now
	}
	return f
}

// route creates, finishes and routes a report in country at once, and
// returns its one referral.
func (f *deliveryFixture) route(tb testing.TB, doc *guardian.ReportDocument) *guardian.Referral {
	tb.Helper()
	ctx := context.Background()
	id := f.finish(tb, doc)
	if err := f.router.RouteReport(ctx, id, guardian.Actor{Kind: guardian.ActorSystem, Name: "triage"}, ""); err != nil {
		tb.Fatal(err)
	}
	refs, err := f.store.FindReferrals(ctx, id)
	if err != nil {
		tb.Fatal(err)
	}
	if len(refs) != 1 {
		tb.Fatalf("report %d has %d referrals, want 1", id, len(refs))
	}
	return refs[0]
}

func (f *deliveryFixture) finish(tb testing.TB, doc *guardian.ReportDocument) int64 {
	tb.Helper()
	ctx := context.Background()
	js, err := json.Marshal(doc)
	if err != nil {
		tb.Fatal(err)
	}
	r := &guardian.Report{ReporterID: f.reporter.ID, XML: []byte("<report/>"), Document: js, WrappedKey: []byte("k")}
	if err := f.store.CreateReport(ctx, r, reporterEvent(f.reporter.ID, "report.submit")); err != nil {
		tb.Fatal(err)
	}
	if _, err := f.store.FinishReport(ctx, f.reporter.ID, r.ID, reporterEvent(f.reporter.ID, "report.finish")); err != nil {
		tb.Fatal(err)
	}
	return r.ID
}

// urgentDoc is a report in country that the service asked to escalate:
// provisional priority 1.
func urgentDoc(tb testing.TB, country string) *guardian.ReportDocument {
	doc := docIn(tb, country)
	doc.IncidentSummary.EscalateToHighPriority = "Imminent danger to a child."
	return doc
}

// jobArgs returns the args of the River jobs of kind, in insertion order.
func jobArgs[T any](tb testing.TB, f *deliveryFixture, kind string) []T {
	tb.Helper()
	s := f.store
	col := "args"
	if f.backend.Name == "sqlite" {
		col = "json(args)" // riversqlite keeps args as JSONB
	}
	// kind is one of the job kinds, a constant: no placeholder, whose
	// syntax differs between the databases.
	rows, err := s.DB().QueryContext(context.Background(), `SELECT `+col+` FROM river_job WHERE kind = '`+kind+`' ORDER BY id`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			tb.Fatal(err)
		}
		var a T
		if err := json.Unmarshal(b, &a); err != nil {
			tb.Fatalf("%s args %s: %v", kind, b, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func mustFind(tb testing.TB, s *sqlstore.Store, id int64) *guardian.Referral {
	tb.Helper()
	r, err := s.FindReferral(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func agencyEvent(agency, action string) *guardian.AuditEvent {
	return &guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorUser, ID: "99", Organisation: "agency:" + agency},
		Category: guardian.CategoryAlteration, Action: action}
}

// escalationStart and escalationAck are the escalation tests' clock at the
// start and acknowledge-within.
var escalationStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const escalationAck = 4 * time.Hour

// escalationRig is a delivery fixture on a fake clock at escalationStart,
// its agencies' acknowledge-within escalationAck, and a delivery worker on it.
func escalationRig(t *testing.T, b storetest.Backend) (*deliveryFixture, *jobs.TestDelivery, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: escalationStart}
	f := mustDeliveryFixture(t, b, clock, escalationAck)
	d, err := jobs.NewTestDelivery(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f, d, clock
}

// TestEscalationSteps drives the escalation worker's logic with a fake
// clock: not before the deadline, then to the liaison office, then one
// deadline-length later to the hub's supervisors, never twice, and never
// once acknowledged.
func TestEscalationSteps(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f, d, clock := escalationRig(t, b)
		t0, ack := escalationStart, escalationAck
		py := f.route(t, urgentDoc(t, "PY"))
		de := f.route(t, urgentDoc(t, "DE"))
		ar := f.route(t, urgentDoc(t, "AR"))
		for _, r := range []*guardian.Referral{py, de, ar} {
			if r.State != guardian.ReferralDelivered || !r.Deadline.Equal(t0.Add(ack)) {
				t.Fatalf("referral %+v: want delivered with deadline %v", r, t0.Add(ack))
			}
		}
		// Delivering stored each one's first escalation at its deadline,
		// and scheduled no job for it.
		wantDue(t, f, t0.Add(ack-time.Second))
		wantDue(t, f, t0.Add(ack), py.ID, 1, de.ID, 1, ar.ID, 1)
		if got := jobArgs[jobs.EscalateArgs](t, f, "escalate"); len(got) != 0 {
			t.Errorf("escalate jobs %+v", got)
		}
		if _, err := f.store.AcknowledgeReferral(ctx, ar.ID, agencyEvent("ar", "referral.acknowledge")); err != nil {
			t.Fatal(err)
		}
		wantDue(t, f, t0.Add(ack), py.ID, 1, de.ID, 1)

		step := func(r *guardian.Referral, level int, at time.Time, want string) {
			t.Helper()
			clock.Set(at)
			got, until, err := d.Escalate(ctx, jobs.EscalateArgs{ReferralID: r.ID, Level: level})
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("referral %d level %d at %v: %s, want %s", r.ID, level, at.Sub(t0), got, want)
			}
			if want == "waiting" {
				if due, _ := guardian.EscalationAt(mustFind(t, f.store, r.ID), level); !until.Equal(due) {
					t.Errorf("waits until %v, want %v", until, due)
				}
			}
		}
		step(py, 1, t0.Add(time.Hour), "waiting")
		step(py, 2, t0.Add(time.Hour), "stopped") // level 1 first
		step(py, 1, t0.Add(ack+time.Second), "escalated")
		step(py, 1, t0.Add(ack+2*time.Second), "stopped")
		if r := mustFind(t, f.store, py.ID); r.Escalation != 1 || r.LiaisonAgencyID != "lo" || r.EscalatedAt == nil {
			t.Errorf("after level 1: escalation %d, liaison %q", r.Escalation, r.LiaisonAgencyID)
		}
		step(py, 2, t0.Add(ack+time.Hour), "waiting")
		step(py, 2, t0.Add(2*ack+time.Second), "escalated")
		step(py, 2, t0.Add(2*ack+time.Minute), "stopped")
		if r := mustFind(t, f.store, py.ID); r.Escalation != 2 || r.LiaisonAgencyID != "lo" {
			t.Errorf("after level 2: escalation %d, liaison %q", r.Escalation, r.LiaisonAgencyID)
		}
		// Without a liaison office, level 1 goes to the supervisors.
		step(de, 1, t0.Add(ack+time.Second), "escalated")
		if r := mustFind(t, f.store, de.ID); r.Escalation != 1 || r.LiaisonAgencyID != "" {
			t.Errorf("de after level 1: escalation %d, liaison %q", r.Escalation, r.LiaisonAgencyID)
		}
		// Acknowledged: the chain stops.
		step(ar, 1, t0.Add(ack+time.Second), "stopped")
		step(ar, 2, t0.Add(2*ack+time.Second), "stopped")
		if r := mustFind(t, f.store, ar.ID); r.Escalation != 0 {
			t.Errorf("acknowledged referral escalated to %d", r.Escalation)
		}
		// An unknown referral stops.
		step(&guardian.Referral{ID: 999999}, 1, t0.Add(ack+time.Second), "stopped")

		// Each escalation enqueued its notification and its next level.
		var fanouts []string
		for _, a := range jobArgs[jobs.FanoutArgs](t, f, "fanout") {
			if a.Reason == notify.ReasonEscalated {
				fanouts = append(fanouts, fmt.Sprintf("%d:%d:%s", a.Items[0].ReferralID, a.Level, a.AgencyID))
			}
		}
		want := []string{fmt.Sprintf("%d:1:lo", py.ID), fmt.Sprintf("%d:2:", py.ID), fmt.Sprintf("%d:1:", de.ID)}
		if !slices.Equal(fanouts, want) {
			t.Errorf("escalation notifications %v, want %v", fanouts, want)
		}
		// What is left: de's level 2, one acknowledge-within after its
		// deadline.
		wantDue(t, f, t0.Add(2*ack-time.Second))
		wantDue(t, f, t0.Add(2*ack+time.Hour), de.ID, 2)
		// The audit log names the recipients.
		evs, err := f.store.FindAuditEvents(ctx, guardian.AuditFilter{Action: "referral.escalate"})
		if err != nil {
			t.Fatal(err)
		}
		var recipients []string
		for _, ev := range evs {
			recipients = append(recipients, strings.Join(ev.Recipients, ","))
		}
		if len(evs) != 3 || recipients[0] != "lo" {
			t.Errorf("referral.escalate events to %v", recipients)
		}
	})
}

// wantDue checks the escalation steps the store finds due at now: pairs
// of referral id and level.
func wantDue(tb testing.TB, f *deliveryFixture, now time.Time, want ...int64) {
	tb.Helper()
	due, err := f.store.DueEscalations(context.Background(), now, 100)
	if err != nil {
		tb.Fatal(err)
	}
	var got []int64
	for _, d := range due {
		got = append(got, d.ReferralID, int64(d.Level))
	}
	if !slices.Equal(got, want) {
		tb.Errorf("due at %v: %v, want %v (referral, level)", now.Format(time.TimeOnly), got, want)
	}
}

// TestEscalationSweep: the pipeline's sweep takes the steps due by the
// clock, each once, at its level's time; a step that no longer stands (the
// row's time wrong) is stored again from the row and not found again; a
// change of priority moves the next step with the deadline.
func TestEscalationSweep(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		f, d, clock := escalationRig(t, b)
		t0, ack := escalationStart, escalationAck
		py := f.route(t, urgentDoc(t, "PY"))
		de := f.route(t, urgentDoc(t, "DE"))
		sweep := func(at time.Time, want int) {
			t.Helper()
			clock.Set(at)
			n, err := d.SweepEscalations(ctx)
			if err != nil || n != want {
				t.Fatalf("sweep at %v: found %d, %v; want %d", at.Sub(t0), n, err, want)
			}
		}
		level := func(r *guardian.Referral, want int) {
			t.Helper()
			if got := mustFind(t, f.store, r.ID).Escalation; got != want {
				t.Errorf("referral %d at level %d, want %d", r.ID, got, want)
			}
		}
		sweep(t0.Add(ack-time.Second), 0)
		sweep(t0.Add(ack+time.Second), 2)
		level(py, 1)
		level(de, 1)
		sweep(t0.Add(ack+2*time.Second), 0) // each step once

		// A row whose time is wrong (here: level 1's again) is found,
		// not escalated before its time, and stored right.
		if _, err := f.store.DB().ExecContext(ctx, `UPDATE referrals SET escalate_at = deadline WHERE id = `+strconv.FormatInt(py.ID, 10)); err != nil {
			t.Fatal(err)
		}
		sweep(t0.Add(ack+time.Hour), 1)
		level(py, 1)
		sweep(t0.Add(ack+time.Hour+time.Second), 0)
		wantDue(t, f, t0.Add(2*ack), py.ID, 2, de.ID, 2)

		// A priority change moves the deadline, and the next step with it:
		// de's level 2 is now one new acknowledge-within after its new
		// deadline.
		if _, err := f.store.ChangeReportPriority(ctx, de.ReportID, guardian.Priority2, func(string) (time.Duration, bool) { return 8 * time.Hour, true },
			&guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorUser, ID: "1", Organisation: "hub:test-hub"}, Category: guardian.CategoryAlteration, Action: "report.priority"}); err != nil {
			t.Fatal(err)
		}
		wantDue(t, f, t0.Add(2*ack), py.ID, 2)
		wantDue(t, f, t0.Add(16*time.Hour), py.ID, 2, de.ID, 2)

		sweep(t0.Add(2*ack+time.Second), 1)
		level(py, 2)
		level(de, 1)
		sweep(t0.Add(16*time.Hour+time.Second), 1)
		level(de, 2)
		wantDue(t, f, t0.Add(100*time.Hour))

		// Each level was notified once.
		var fanouts []string
		for _, a := range jobArgs[jobs.FanoutArgs](t, f, "fanout") {
			if a.Reason == notify.ReasonEscalated {
				fanouts = append(fanouts, fmt.Sprintf("%d:%d", a.Items[0].ReferralID, a.Level))
			}
		}
		want := []string{fmt.Sprintf("%d:1", py.ID), fmt.Sprintf("%d:1", de.ID), fmt.Sprintf("%d:2", py.ID), fmt.Sprintf("%d:2", de.ID)}
		if !slices.Equal(fanouts, want) {
			t.Errorf("escalation notifications %v, want %v", fanouts, want)
		}
	})
}

// TestNotifyAttempts: a notification is sent to each target of its
// recipient, recorded when sent, retried on failure, and recorded as
// failed after its last attempt, or at once when no retry can help.
func TestNotifyAttempts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		f := mustDeliveryFixture(t, b, clock, time.Hour)
		d, err := jobs.NewTestDelivery(f.cfg)
		if err != nil {
			t.Fatal(err)
		}
		py := f.route(t, urgentDoc(t, "PY"))
		de := f.route(t, urgentDoc(t, "DE"))
		fanouts := jobArgs[jobs.FanoutArgs](t, f, "fanout")
		if len(fanouts) != 2 || fanouts[0].AgencyID != "py" || fanouts[0].Reason != notify.ReasonNewReferral || fanouts[0].Items[0].ReferralID != py.ID {
			t.Fatalf("fanout jobs %+v", fanouts)
		}

		// The targets: py's duty address and webhook; the supervisors.
		pyJobs, err := d.Fanout(ctx, fanouts[0])
		if err != nil {
			t.Fatal(err)
		}
		var targets []string
		for _, j := range pyJobs {
			targets = append(targets, string(j.Channel)+":"+j.Target)
		}
		if want := []string{"email:duty@py.example.org", "webhook:" + f.hooks.URL}; !slices.Equal(targets, want) {
			t.Errorf("py targets %v, want %v", targets, want)
		}
		sup, err := d.Fanout(ctx, jobs.FanoutArgs{EventID: "x", AgencyID: ""})
		if err != nil {
			t.Fatal(err)
		}
		targets = nil
		for _, j := range sup {
			targets = append(targets, j.Target)
		}
		if want := []string{"sup1@hub.example.org", "sup3@hub.example.org"}; !slices.Equal(targets, want) {
			t.Errorf("supervisor targets %v, want %v (enabled supervisors only)", targets, want)
		}

		// Sent: e-mail and webhook.
		for _, j := range pyJobs {
			if got, err := d.Attempt(ctx, j, 1, jobs.NotifyAttempts); got != "sent" || err != nil {
				t.Errorf("%s: %s, %v", j.Channel, got, err)
			}
		}
		mails := f.smtp.Mails()
		if len(mails) != 1 || mails[0].To[0] != "duty@py.example.org" || !mails[0].TLS {
			t.Fatalf("mails %+v", mails)
		}
		if body := mails[0].Data; !strings.Contains(body, fmt.Sprintf("Referral:  %d", py.ID)) || !strings.Contains(body, fmt.Sprintf("https://hub.example.org/referrals/%d", py.ID)) {
			t.Errorf("mail:\n%s", body)
		}
		hooks := f.hooks.Hooks()
		if len(hooks) != 1 || !hooks[0].Verified || hooks[0].Header.Get("webhook-id") != fanouts[0].EventID {
			t.Fatalf("webhooks %+v", hooks)
		}
		ns, err := f.store.FindNotifications(ctx, py.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) != 2 || !ns[0].Sent || !ns[1].Sent || ns[0].Channel != guardian.ChannelEmail || ns[1].Channel != guardian.ChannelWebhook || ns[0].Attempts != 1 {
			t.Errorf("notifications %+v", ns)
		}

		// de has a webhook and no secret: recorded failed at the first
		// attempt, with the way out in the error.
		deJobs, err := d.Fanout(ctx, fanouts[1])
		if err != nil {
			t.Fatal(err)
		}
		hook := deJobs[len(deJobs)-1]
		if hook.Channel != guardian.ChannelWebhook {
			t.Fatalf("de targets %+v", deJobs)
		}
		if got, err := d.Attempt(ctx, hook, 1, jobs.NotifyAttempts); got != "failed" || err == nil {
			t.Errorf("webhook without secret: %s, %v", got, err)
		}
		ns, _ = f.store.FindNotifications(ctx, de.ID)
		if len(ns) != 1 || ns[0].Sent || !strings.Contains(ns[0].Error, "guardian webhook secret de") {
			t.Errorf("notifications of de %+v", ns)
		}

		// A relay that refuses: retried, then recorded failed.
		reject := notifytest.MustSMTP(t, notifytest.SMTPOptions{Reject: true})
		cfg := f.cfg
		cfg.Mailer, err = notify.NewMailer(notify.MailerConfig{Addr: reject.Addr, From: "guardian@hub.example.org", Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		dr, err := jobs.NewTestDelivery(cfg)
		if err != nil {
			t.Fatal(err)
		}
		mail := deJobs[0]
		if got, err := dr.Attempt(ctx, mail, 1, 3); got != "retry" || err == nil {
			t.Errorf("attempt 1 of 3: %s, %v", got, err)
		}
		if ns, _ := f.store.FindNotifications(ctx, de.ID); len(ns) != 1 {
			t.Errorf("a retried attempt was recorded: %+v", ns)
		}
		if got, err := dr.Attempt(ctx, mail, 3, 3); got != "failed" || err == nil {
			t.Errorf("attempt 3 of 3: %s, %v", got, err)
		}
		ns, _ = f.store.FindNotifications(ctx, de.ID)
		if len(ns) != 2 || ns[1].Sent || ns[1].Attempts != 3 || !strings.Contains(ns[1].Error, "550") {
			t.Errorf("notifications of de %+v", ns)
		}
		evs, err := f.store.FindAuditEvents(ctx, guardian.AuditFilter{Action: "notification.failed"})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[0].Outcome != guardian.OutcomeFailure || !slices.Equal(evs[0].Recipients, []string{"de"}) {
			t.Errorf("notification.failed events %+v", evs)
		}
		// Nothing of the report reached anyone.
		for _, m := range f.smtp.Mails() {
			if strings.Contains(m.Data, "Imminent") || strings.Contains(m.Data, "PY") {
				t.Errorf("mail carries report content:\n%s", m.Data)
			}
		}
	})
}

// TestDigest: an agency's priority 2 and 3 referrals of one window make one
// digest job, inserted by the sweep a minute after the window ends, and the
// digest lists those delivered in the window and not yet acknowledged.
func TestDigest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		window := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		clock := &fakeClock{t: window.Add(time.Minute)}
		f := mustDeliveryFixture(t, b, clock, 3*24*time.Hour)
		d, err := jobs.NewTestDelivery(f.cfg)
		if err != nil {
			t.Fatal(err)
		}
		// The pipeline sweeps once as it starts: a store with nothing
		// delivered has nothing to sweep, and the first sweep after its
		// first delivery starts at that delivery's window.
		if n, err := d.SweepDigests(ctx, driverFor(b, f.store.DB())); n != 0 || err != nil {
			t.Fatalf("first digest sweep: %d windows, %v", n, err)
		}
		first := f.route(t, docIn(t, "PY"))
		if first.Priority == "1" || first.Priority == "E" {
			t.Fatalf("a plain report has priority %s; the test needs 2 or 3", first.Priority)
		}
		clock.Set(window.Add(5 * time.Minute))
		acked := f.route(t, docIn(t, "PY"))
		clock.Set(window.Add(14 * time.Minute))
		opened := f.route(t, docIn(t, "PY"))
		f.route(t, docIn(t, "AR"))
		clock.Set(window.Add(16 * time.Minute))
		f.route(t, docIn(t, "PY")) // the next window
		if _, err := f.store.AcknowledgeReferral(ctx, acked.ID, agencyEvent("py", "referral.acknowledge")); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.MarkReferralOpened(ctx, opened.ID, &guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorUser, ID: "99"},
			Category: guardian.CategoryConsultation, Action: "referral.open", Justification: "case 1"}); err != nil {
			t.Fatal(err)
		}
		// One digest job per agency and window, however many deliveries,
		// once the window has ended and a minute's grace passed.
		digests := func() []string {
			var out []string
			for _, a := range jobArgs[jobs.DigestArgs](t, f, "digest") {
				out = append(out, a.AgencyID+"@"+a.Window.UTC().Format("15:04"))
			}
			return out
		}
		sweep := func(at time.Time, want int) {
			t.Helper()
			clock.Set(at)
			n, err := d.SweepDigests(ctx, driverFor(b, f.store.DB()))
			if err != nil || n != want {
				t.Fatalf("digest sweep at %s: %d windows, %v; want %d", at.Format("15:04:05"), n, err, want)
			}
		}
		if got := digests(); len(got) != 0 {
			t.Errorf("digest jobs %v before any sweep", got)
		}
		sweep(window.Add(16*time.Minute-time.Second), 0)
		sweep(window.Add(16*time.Minute), 1)
		if want := []string{"ar@12:00", "py@12:00"}; !slices.Equal(digests(), want) {
			t.Errorf("digest jobs %v, want %v", digests(), want)
		}
		sweep(window.Add(30*time.Minute), 0)
		sweep(window.Add(31*time.Minute), 1)
		sweep(window.Add(46*time.Minute), 1) // an empty window: swept, no job
		if want := []string{"ar@12:00", "py@12:00", "py@12:15"}; !slices.Equal(digests(), want) {
			t.Errorf("digest jobs %v, want %v", digests(), want)
		}
		// Swept again (a crash before the window was recorded swept):
		// River's uniqueness inserts nothing twice.
		if err := f.store.MarkDigestsSwept(ctx, window); err != nil {
			t.Fatal(err)
		}
		if swept, err := f.store.DigestsSwept(ctx); err != nil || !swept.Equal(window.Add(45*time.Minute)) {
			t.Errorf("swept until %v (%v), want it kept at 12:45 after an earlier mark", swept, err)
		}
		if n := len(jobArgs[jobs.FanoutArgs](t, f, "fanout")); n != 0 {
			t.Errorf("%d immediate notifications for priority 2 and 3", n)
		}

		clock.Set(window.Add(16 * time.Minute))
		fan, more, err := d.Digest(ctx, jobs.DigestArgs{AgencyID: "py", Window: window})
		if err != nil {
			t.Fatal(err)
		}
		if fan == nil {
			t.Fatal("no digest")
		}
		var ids []int64
		for _, it := range fan.Items {
			ids = append(ids, it.ReferralID)
		}
		if want := []int64{first.ID, opened.ID}; !slices.Equal(ids, want) || more != 0 {
			t.Errorf("digest lists %v (+%d), want %v", ids, more, want)
		}
		if fan.AgencyID != "py" || fan.Reason != notify.ReasonDigest || fan.EventID != fmt.Sprintf("digest-py-%d", window.Unix()) {
			t.Errorf("digest %+v", fan)
		}
		// Sent as one e-mail and one webhook.
		targets, err := d.Fanout(ctx, *fan)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range targets {
			if got, err := d.Attempt(ctx, j, 1, jobs.NotifyAttempts); got != "sent" || err != nil {
				t.Fatalf("%s: %s, %v", j.Channel, got, err)
			}
		}
		mails := f.smtp.Mails()
		if len(mails) != 1 || !strings.Contains(mails[0].Data, "2 new referrals") {
			t.Errorf("digest mails %+v", mails)
		}
		if hooks := f.hooks.Hooks(); len(hooks) != 1 || !hooks[0].Verified || !strings.Contains(string(hooks[0].Body), `"type":"referral.digest"`) {
			t.Errorf("digest webhooks %+v", hooks)
		}
		if ns, _ := f.store.FindNotifications(ctx, 0); len(ns) != 2 || !ns[0].Sent {
			t.Errorf("digest notifications %+v", ns)
		}
		// A window with nothing left to say sends nothing.
		if fan, _, err := d.Digest(ctx, jobs.DigestArgs{AgencyID: "py", Window: window.Add(-time.Hour)}); fan != nil || err != nil {
			t.Errorf("empty window: %+v, %v", fan, err)
		}
	})
}

// TestDigestFirstSweepLate: a hub whose first digest sweep comes after its
// first delivery's window has ended (it failed, or the machine was slow)
// still sweeps that window.
func TestDigestFirstSweepLate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		window := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		clock := &fakeClock{t: window.Add(time.Minute)}
		f := mustDeliveryFixture(t, b, clock, 3*24*time.Hour)
		d, err := jobs.NewTestDelivery(f.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if r := f.route(t, docIn(t, "PY")); r.Priority.Urgent() {
			t.Fatalf("a plain report has priority %s; the test needs 2 or 3", r.Priority)
		}
		clock.Set(window.Add(40 * time.Minute))
		if n, err := d.SweepDigests(ctx, driverFor(b, f.store.DB())); n != 2 || err != nil {
			t.Fatalf("first digest sweep: %d windows, %v; want 12:00 and 12:15", n, err)
		}
		if got := jobArgs[jobs.DigestArgs](t, f, "digest"); len(got) != 1 || !got[0].Window.Equal(window) {
			t.Errorf("digest jobs %+v, want one of the 12:00 window", got)
		}
	})
}

// startPipeline runs a pipeline on f until the test ends, polling every
// 20 ms and sweeping every sweep (0: the pipeline's default).
func (f *deliveryFixture) startPipeline(t *testing.T, sweep time.Duration) {
	t.Helper()
	p, err := jobs.NewPipeline(jobs.PipelineConfig{Driver: driverFor(f.backend, f.store.DB()), Queue: f.store, Router: f.router,
		PollInterval: 20 * time.Millisecond, EscalationInterval: sweep, Delivery: &f.cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.Stop(ctx)
	})
}

// TestPipelineSweepsDigests: a running pipeline inserts a window's digests
// once the window has ended and its grace passed, by its clock, and its
// digest job runs: the agency gets one e-mail for the window.
func TestPipelineSweepsDigests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		window := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		clock := &fakeClock{t: window.Add(time.Minute)}
		f := mustDeliveryFixture(t, b, clock, 3*24*time.Hour)
		f.startPipeline(t, 20*time.Millisecond)
		report := f.finish(t, docIn(t, "PY"))
		var r *guardian.Referral
		for end := time.Now().Add(15 * time.Second); r == nil && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if refs, err := f.store.FindReferrals(ctx, report); err == nil && len(refs) == 1 {
				r = refs[0]
			}
		}
		if r == nil || r.Priority.Urgent() {
			t.Fatalf("referral %+v: want one of priority 2 or 3", r)
		}
		digests := func() int { return len(jobArgs[jobs.DigestArgs](t, f, "digest")) }
		clock.Set(window.Add(16*time.Minute - time.Second))
		time.Sleep(200 * time.Millisecond) // ten sweeps
		if n := digests(); n != 0 {
			t.Fatalf("%d digest jobs before the window's grace passed", n)
		}
		clock.Set(window.Add(16 * time.Minute))
		for end := time.Now().Add(15 * time.Second); digests() != 1; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				// What the sweep saw, to tell a sweep that did not run
				// from one that found nothing.
				swept, serr := f.store.DigestsSwept(ctx)
				agencies, aerr := f.store.DigestAgencies(ctx, window, window.Add(jobs.DigestWindow))
				t.Fatalf("the window's digest job: timed out; swept until %s (%v), the window's agencies %v (%v)", swept, serr, agencies, aerr)
			}
		}
		mails := f.smtp.WaitMails(t, 1, 15*time.Second)
		if len(mails) != 1 || !strings.Contains(mails[0].Data, "1 new referral") {
			t.Errorf("digest mails %+v", mails)
		}
		time.Sleep(200 * time.Millisecond)
		if n := digests(); n != 1 {
			t.Errorf("%d digest jobs after more sweeps, want 1", n)
		}
	})
}

// TestDeliveryEndToEnd runs a referral's whole chain through River: a
// priority 1 report is delivered, its agency's duty officer gets an e-mail
// and its webhook a signed post; the deadline passes and it escalates to
// the liaison office, then to the hub's supervisors. A second referral,
// acknowledged in time, escalates nowhere.
func TestDeliveryEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for deadlines")
	}
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		// The pipeline sweeps the due escalations every second:
		// deadlines of 3 seconds put each level within about 4 seconds
		// of the last.
		const ack = 3 * time.Second
		f := mustDeliveryFixture(t, b, nil, ack)
		f.startPipeline(t, 0)

		pyReport := f.finish(t, urgentDoc(t, "PY"))
		arReport := f.finish(t, urgentDoc(t, "AR"))
		waitDelivered := func(report int64) *guardian.Referral {
			t.Helper()
			for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
				if refs, err := f.store.FindReferrals(ctx, report); err == nil && len(refs) == 1 && refs[0].State == guardian.ReferralDelivered {
					return refs[0]
				}
			}
			t.Fatalf("report %d not delivered", report)
			return nil
		}
		py, ar := waitDelivered(pyReport), waitDelivered(arReport)
		if _, err := f.store.AcknowledgeReferral(ctx, ar.ID, agencyEvent("ar", "referral.acknowledge")); err != nil {
			t.Fatal(err)
		}

		// Delivered: an e-mail to each duty address and py's webhook.
		f.smtp.WaitMails(t, 2, 15*time.Second)
		hooks := f.hooks.WaitHooks(t, 1, 15*time.Second)
		if !hooks[0].Verified || !strings.Contains(string(hooks[0].Body), fmt.Sprintf(`"referralId":%d`, py.ID)) {
			t.Errorf("webhook %s verified %v", hooks[0].Body, hooks[0].Verified)
		}
		if err := f.secret.Verify(hooks[0].Header, hooks[0].Body, time.Now(), time.Minute); err != nil {
			t.Errorf("webhook does not verify: %v", err)
		}

		// The deadline passes: the liaison office, then the supervisors.
		waitLevel := func(level int) *guardian.Referral {
			t.Helper()
			for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
				if r := mustFind(t, f.store, py.ID); r.Escalation >= level {
					return r
				}
			}
			t.Fatalf("referral %d did not reach level %d", py.ID, level)
			return nil
		}
		r := waitLevel(1)
		if r.LiaisonAgencyID != "lo" {
			t.Errorf("escalated to %q, want lo", r.LiaisonAgencyID)
		}
		r = waitLevel(2)
		if r.EscalatedAt == nil || r.EscalatedAt.Before(py.Deadline.Add(ack)) {
			t.Errorf("level 2 at %v, before %v", r.EscalatedAt, py.Deadline.Add(ack))
		}
		// 2 duty e-mails, the liaison office's, and the two enabled
		// supervisors'.
		mails := f.smtp.WaitMails(t, 5, 15*time.Second)
		var to []string
		for _, m := range mails {
			to = append(to, m.To[0])
		}
		slices.Sort(to)
		if want := []string{"duty@ar.example.org", "duty@py.example.org", "liaison@lo.example.org", "sup1@hub.example.org", "sup3@hub.example.org"}; !slices.Equal(to, want) {
			t.Errorf("mails to %v, want %v", to, want)
		}
		// Each is recorded on its referral.
		waitNotifications := func(id int64, n int) []*guardian.Notification {
			t.Helper()
			for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				ns, err := f.store.FindNotifications(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if len(ns) >= n || time.Now().After(end) {
					return ns
				}
			}
		}
		var got []string
		for _, n := range waitNotifications(py.ID, 5) {
			got = append(got, fmt.Sprintf("%s:%s:%s:%v", n.Event, n.Channel, n.Target, n.Sent))
		}
		slices.Sort(got)
		want := []string{
			"delivered:email:duty@py.example.org:true", "delivered:webhook:" + f.hooks.URL + ":true",
			"escalated:email:liaison@lo.example.org:true", "escalated:email:sup1@hub.example.org:true", "escalated:email:sup3@hub.example.org:true",
		}
		if !slices.Equal(got, want) {
			t.Errorf("notifications\n got %v\nwant %v", got, want)
		}
		// The acknowledged referral stayed with its agency.
		if r := mustFind(t, f.store, ar.ID); r.Escalation != 0 {
			t.Errorf("acknowledged referral escalated to %d", r.Escalation)
		}
		if ns := waitNotifications(ar.ID, 1); len(ns) != 1 {
			t.Errorf("acknowledged referral: notifications %+v", ns)
		}
	})
}

// TestReferralJobsInTx: the jobs of a delivery commit with it, or not at
// all.
func TestReferralJobsInTx(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		enq, err := jobs.NewEnqueuer(driverFor(b, nil))
		if err != nil {
			t.Fatal(err)
		}
		failing := errors.New("fail after enqueue")
		fail := true
		hook := func(ctx context.Context, tx *sql.Tx, ch guardian.ReferralChange) error {
			if err := enq.OnReferral(ctx, tx, ch); err != nil {
				return err
			}
			if fail {
				return failing
			}
			return nil
		}
		s, _ := storetest.MustOpen(t, b, sqlstore.Options{OnReferral: hook})
		if err := jobs.Migrate(ctx, driverFor(b, s.DB()), nil); err != nil {
			t.Fatal(err)
		}
		f := &fixture{store: s, backend: b, reporter: &guardian.Reporter{Name: "svc", PasswordHash: "x"}}
		if err := s.CreateReporter(ctx, f.reporter, &guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorSystem}, Category: guardian.CategoryPermission, Action: "reporter.create"}); err != nil {
			t.Fatal(err)
		}
		id := f.submit(t, docIn(t, "DE"))
		n := MustLoadDemo(t)
		router := &routing.Service{Store: s, Network: func() *guardian.Network { return n }, Geo: geo.Embedded()}
		count := func() int {
			var c int
			if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job`).Scan(&c); err != nil {
				t.Fatal(err)
			}
			return c
		}
		if err := router.RouteReport(ctx, id, guardian.Actor{Kind: guardian.ActorSystem}, ""); !errors.Is(err, failing) {
			t.Fatalf("route: %v", err)
		}
		if refs, _ := s.FindReferrals(ctx, id); len(refs) != 0 || count() != 0 {
			t.Fatalf("a rolled-back delivery left %d referrals and %d jobs", len(refs), count())
		}
		fail = false
		if err := router.RouteReport(ctx, id, guardian.Actor{Kind: guardian.ActorSystem}, ""); err != nil {
			t.Fatal(err)
		}
		// A priority 3 referral: no job (its digest is swept, its
		// escalation on its row).
		if refs, _ := s.FindReferrals(ctx, id); len(refs) != 1 || refs[0].State != guardian.ReferralDelivered || count() != 0 {
			t.Fatalf("after delivery: %+v and %d jobs, want a delivered referral and no job", refs, count())
		}
	})
}

// TestReferralChangesEnqueue: the store's other changes reach the hook and
// make their jobs: a message from the hub notifies its thread's agency
// without its body, a new priority moves the escalation, a decline routes
// the report again.
func TestReferralChangesEnqueue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		clock := &fakeClock{t: t0}
		f := mustDeliveryFixture(t, b, clock, 4*time.Hour)
		d, err := jobs.NewTestDelivery(f.cfg)
		if err != nil {
			t.Fatal(err)
		}
		r := f.route(t, docIn(t, "PY"))
		hubUser := guardian.Actor{Kind: guardian.ActorUser, ID: "1", Organisation: "hub:test-hub"}

		// A message from the hub, and one from the agency.
		for _, m := range []*guardian.Message{
			{ReferralID: r.ID, ThreadAgencyID: "py", From: guardian.HubOrganisation("test-hub"), Author: "user:1", Kind: guardian.MessageReply, Body: "The suspect's secret details."},
			{ReferralID: r.ID, ThreadAgencyID: "py", From: guardian.AgencyOrganisation("py"), Author: "user:2", Kind: guardian.MessageRequestInfo, Body: "More please."},
		} {
			if err := f.store.AddMessage(ctx, m, &guardian.AuditEvent{Actor: hubUser, Category: guardian.CategoryAlteration, Action: "message.add"}); err != nil {
				t.Fatal(err)
			}
		}
		var messages []jobs.FanoutArgs
		for _, a := range jobArgs[jobs.FanoutArgs](t, f, "fanout") {
			if a.Reason == notify.ReasonNewMessage {
				messages = append(messages, a)
			}
		}
		if len(messages) != 1 || messages[0].AgencyID != "py" || messages[0].Items[0].ReferralID != r.ID {
			t.Fatalf("message notifications %+v, want one to py", messages)
		}
		targets, err := d.Fanout(ctx, messages[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range targets {
			if got, err := d.Attempt(ctx, j, 1, jobs.NotifyAttempts); got != "sent" || err != nil {
				t.Fatalf("%s: %s, %v", j.Channel, got, err)
			}
		}
		mails, hooks := f.smtp.Mails(), f.hooks.Hooks()
		if len(mails) != 1 || !strings.Contains(mails[0].Data, "New message on referral") || strings.Contains(mails[0].Data, "secret details") {
			t.Errorf("message mail:\n%+v", mails)
		}
		if len(hooks) != 1 || !strings.Contains(string(hooks[0].Body), `"type":"referral.message"`) || strings.Contains(string(hooks[0].Body), "secret details") {
			t.Errorf("message webhook %+v", hooks)
		}

		// A new priority: the escalation is due at the new deadline.
		clock.Set(t0.Add(time.Hour))
		ack := func(string) (time.Duration, bool) { return 30 * time.Minute, true }
		changed, err := f.store.ChangeReportPriority(ctx, r.ReportID, "1", ack, &guardian.AuditEvent{Actor: hubUser, Category: guardian.CategoryAlteration, Action: "report.priority"})
		if err != nil {
			t.Fatal(err)
		}
		if len(changed) != 1 || !changed[0].Deadline.Equal(t0.Add(30*time.Minute)) {
			t.Fatalf("changed %+v", changed)
		}
		wantDue(t, f, t0.Add(30*time.Minute), r.ID, 1)
		// The new deadline has passed: the sweep escalates it now.
		if n, err := d.SweepEscalations(ctx); n != 1 || err != nil {
			t.Errorf("after the new deadline: sweep found %d, %v", n, err)
		}
		if got := mustFind(t, f.store, r.ID).Escalation; got != 1 {
			t.Errorf("after the new deadline: level %d, want 1", got)
		}

		// A decline: the report is queued to be triaged again.
		if due, err := f.store.RoutingDue(ctx); err != nil || due {
			t.Fatalf("a report is due for routing before the decline (%v)", err)
		}
		if _, err := f.store.DeclineReferral(ctx, r.ID, &guardian.Decline{SuggestedCountry: "BR", Reason: "Not ours."}, agencyEvent("py", "referral.decline")); err != nil {
			t.Fatal(err)
		}
		claims, err := f.store.ClaimRouting(ctx, 10, time.Minute)
		if err != nil || len(claims) != 1 || claims[0].ReportID != r.ReportID {
			t.Errorf("claims after the decline %+v (%v), want report %d", claims, err, r.ReportID)
		}
		// Declined, it escalates no further.
		wantDue(t, f, t0.Add(24*time.Hour))
		clock.Set(t0.Add(24 * time.Hour))
		if got, _, err := d.Escalate(ctx, jobs.EscalateArgs{ReferralID: r.ID, Level: 2}); got != "stopped" || err != nil {
			t.Errorf("declined referral: %s, %v", got, err)
		}
	})
}
