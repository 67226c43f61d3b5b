package storetest

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/sqlstore"
)

// The delivery tests: what happens to referrals once routing has made
// them (guardian.DeliveryStore, guardian.WebhookSecretStore), and the
// delivery RouteReport does itself.

// denv is a subtest's store as a delivery and routing store, with its
// referral hook's change log.
type denv struct {
	*env
	ds       guardian.DeliveryStore
	rs       guardian.RoutingStore
	ws       guardian.WebhookSecretStore
	log      *changeLog
	reporter int64
}

func deliveryEnv(t *testing.T, e *env) *denv {
	t.Helper()
	ds, ok1 := e.s.(guardian.DeliveryStore)
	rs, ok2 := e.s.(guardian.RoutingStore)
	ws, ok3 := e.s.(guardian.WebhookSecretStore)
	l, ok4 := changeLogs.Load(e.s)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		t.Fatalf("%T is not a delivery, routing and webhook secret store opened by Opener", e.s)
	}
	return &denv{env: e, ds: ds, rs: rs, ws: ws, log: l.(*changeLog), reporter: e.reporter("example-service").ID}
}

// refSpec describes a referral for route to create.
type refSpec struct {
	agency    string
	countries []string
	priority  guardian.Priority // "" is 2
	held      bool
	ack       time.Duration // 0 is a day
}

func (s refSpec) referral() *guardian.Referral {
	p, ack := s.priority, s.ack
	if p == "" {
		p = guardian.Priority2
	}
	if ack == 0 {
		ack = 24 * time.Hour
	}
	return &guardian.Referral{AgencyID: s.agency, Countries: s.countries, Channel: guardian.ChannelDirect, Reason: guardian.ReasonPartner,
		Priority: p, Label: guardian.LabelReferral, HandlingCode: "synthetic", DataScope: guardian.ScopeReporterContacts,
		AcknowledgeWithin: ack, RetentionDays: 365, HeldForConfirmation: s.held}
}

var routingActor = guardian.Actor{Kind: guardian.ActorSystem, Name: "routing"}

// finished creates and finishes a report.
func (d *denv) finished() int64 {
	d.t.Helper()
	r := d.report(d.reporter)
	if _, err := d.s.FinishReport(d.ctx, d.reporter, r.ID, reporterEvent(d.reporter, "report.finish")); err != nil {
		d.t.Fatalf("FinishReport: %v", err)
	}
	return r.ID
}

// routeUpdate returns the routing update that creates specs, with a triage
// of the first one's priority.
func routeUpdate(specs ...refSpec) *guardian.RoutingUpdate {
	p := guardian.Priority2
	if len(specs) > 0 && specs[0].priority != "" {
		p = specs[0].priority
	}
	u := &guardian.RoutingUpdate{
		Assessment: &guardian.Assessment{RulesVersion: "synthetic-1"},
		Triage: &guardian.Triage{Score: 50, Label: guardian.LabelReferral, Priority: p, ReviewPriority: p,
			Reasons: []guardian.Reason{}, RulesVersion: "synthetic-1"},
	}
	for _, s := range specs {
		u.Create = append(u.Create, s.referral())
	}
	return u
}

// routeReport routes report id with u.
func (d *denv) routeReport(id int64, u *guardian.RoutingUpdate) error {
	return d.rs.RouteReport(d.ctx, id, routingActor, "synthetic-network", d.now(), d.now(),
		func(*guardian.RoutingState) (*guardian.RoutingUpdate, error) { return u, nil })
}

// route routes a new report to specs and returns its referrals as stored,
// in the order of specs.
func (d *denv) route(specs ...refSpec) []*guardian.Referral {
	d.t.Helper()
	id := d.finished()
	if err := d.routeReport(id, routeUpdate(specs...)); err != nil {
		d.t.Fatalf("RouteReport: %v", err)
	}
	refs, err := d.rs.FindReferrals(d.ctx, id)
	if err != nil || len(refs) != len(specs) {
		d.t.Fatalf("FindReferrals = %d referrals, %v; want %d", len(refs), err, len(specs))
	}
	return refs
}

// one routes a new report to one agency.
func (d *denv) one(s refSpec) *guardian.Referral { return d.route(s)[0] }

func (d *denv) referral(id int64) *guardian.Referral {
	d.t.Helper()
	r, err := d.ds.FindReferral(d.ctx, id)
	if err != nil {
		d.t.Fatalf("FindReferral(%d): %v", id, err)
	}
	return r
}

// since returns the events appended after the first n.
func (d *denv) since(n int) []*guardian.AuditEvent {
	d.t.Helper()
	return d.events(guardian.AuditFilter{})[n:]
}

// changesSince returns the committed hook changes after the first n.
func (d *denv) changesSince(n int) []guardian.ReferralChange {
	d.t.Helper()
	return d.log.committed(d.t)[n:]
}

func agencyEvent(agency string) *guardian.AuditEvent {
	return &guardian.AuditEvent{
		Actor:         guardian.Actor{Kind: guardian.ActorUser, ID: "42", Name: "investigator", Organisation: "agency:" + agency},
		Justification: "case 2026-0042",
		RequestID:     "req-" + randomHex(4),
		ClientAddr:    "198.51.100.7",
	}
}

func hubEvent() *guardian.AuditEvent {
	return &guardian.AuditEvent{
		Actor:         guardian.Actor{Kind: guardian.ActorUser, ID: "7", Name: "analyst", Organisation: "hub:example-hub"},
		Justification: "confirmed after review",
		RequestID:     "req-" + randomHex(4),
	}
}

func jobEvent() *guardian.AuditEvent {
	return &guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorSystem, Name: "jobs"}}
}

// wantEvent describes an audit event a change must append.
type wantEvent struct {
	action     string
	category   guardian.AuditCategory
	recipients []string
	objectID   int64 // a referral id; 0: not checked
	reason     string
}

// wantEvents checks the events appended, in order.
func (d *denv) wantEvents(got []*guardian.AuditEvent, want ...wantEvent) {
	d.t.Helper()
	if len(got) != len(want) {
		var actions []string
		for _, ev := range got {
			actions = append(actions, ev.Action)
		}
		d.t.Fatalf("events %v, want %d: %+v", actions, len(want), want)
	}
	for i, w := range want {
		ev := got[i]
		if ev.Action != w.action || ev.Category != w.category || !slices.Equal(ev.Recipients, w.recipients) ||
			ev.Outcome != guardian.OutcomeSuccess || ev.Reason != w.reason {
			d.t.Errorf("event %d: %s %s recipients %v outcome %s reason %q; want %s %s %v success %q",
				i, ev.Action, ev.Category, ev.Recipients, ev.Outcome, ev.Reason, w.action, w.category, w.recipients, w.reason)
		}
		if w.objectID != 0 && (ev.ObjectKind != "referral" || ev.ObjectID != fmt.Sprint(w.objectID) || ev.ReportID == 0) {
			d.t.Errorf("event %d (%s) names %s %s of report %d, want referral %d", i, ev.Action, ev.ObjectKind, ev.ObjectID, ev.ReportID, w.objectID)
		}
	}
}

// wantChanges checks the hook changes committed, in order.
func (d *denv) wantChanges(got []guardian.ReferralChange, want ...guardian.ReferralChange) {
	d.t.Helper()
	if len(got) != len(want) {
		d.t.Fatalf("hook changes %+v, want %d", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Event != w.Event || g.Referral == nil || g.Referral.ID != w.Referral.ID || g.Referral.State != w.Referral.State {
			d.t.Errorf("hook change %d: %s of %+v; want %s of referral %d in state %s", i, g.Event, g.Referral, w.Event, w.Referral.ID, w.Referral.State)
		}
	}
}

// wantUnchanged checks that a refused change left the referral and the
// audit log as they were.
func (d *denv) wantUnchanged(before *guardian.Referral, events int) {
	d.t.Helper()
	if diff := cmp.Diff(before, d.referral(before.ID)); diff != "" {
		d.t.Errorf("a refused change changed referral %d (-before +after):\n%s", before.ID, diff)
	}
	if n := d.eventCount(); n != events {
		d.t.Errorf("a refused change appended %d events", n-events)
	}
}

// testRouteDelivers: routing delivers the referrals it creates or
// reinstates that are not held, in its transaction, with their events and
// hook changes; a failing hook rolls the whole run back; a store without a
// hook refuses to deliver and changes nothing, but still routes a held
// referral.
func testRouteDelivers(t *testing.T, e *env) {
	d := deliveryEnv(t, e)
	id := d.finished()
	n, c := d.eventCount(), len(d.log.committed(t))
	if err := d.routeReport(id, routeUpdate(refSpec{agency: "de-bka", countries: []string{"DE"}}, refSpec{agency: "py-pn", held: true})); err != nil {
		t.Fatal(err)
	}
	refs, err := d.rs.FindReferrals(d.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	sent, held := refs[0], refs[1]
	if sent.State != guardian.ReferralDelivered || sent.DeliveredAt == nil || !sent.DeliveredAt.Equal(d.now()) || !sent.UpdatedAt.Equal(d.now()) {
		t.Errorf("routed referral %+v, want delivered at %v", sent, d.now())
	}
	if held.State != guardian.ReferralNew || held.DeliveredAt != nil || !held.HeldForConfirmation {
		t.Errorf("held referral %+v, want new and undelivered", held)
	}
	d.wantEvents(d.since(n),
		wantEvent{"report.triage", guardian.CategoryCombination, nil, 0, "referral/2"},
		wantEvent{"referral.create", guardian.CategoryDisclosure, []string{"de-bka"}, sent.ID, "partner"},
		wantEvent{"referral.deliver", guardian.CategoryDisclosure, []string{"de-bka"}, sent.ID, ""},
		wantEvent{"referral.create", guardian.CategoryDisclosure, []string{"py-pn"}, held.ID, "partner"})
	chs := d.changesSince(c)
	d.wantChanges(chs, guardian.ReferralChange{Event: guardian.EventDelivered, Referral: sent})
	if diff := cmp.Diff(sent, chs[0].Referral); diff != "" {
		t.Errorf("the hook was given (-stored +given):\n%s", diff)
	}

	// Withdrawn, then reinstated undelayed: delivered again.
	d.clock.Advance(time.Hour)
	if err := d.routeReport(id, &guardian.RoutingUpdate{Withdraw: []string{"py-pn"}}); err != nil {
		t.Fatal(err)
	}
	d.clock.Advance(time.Hour)
	n, c = d.eventCount(), len(d.log.committed(t))
	if err := d.routeReport(id, &guardian.RoutingUpdate{Reinstate: []*guardian.Referral{refSpec{agency: "py-pn", countries: []string{"PY"}}.referral()}}); err != nil {
		t.Fatal(err)
	}
	back := d.referral(held.ID)
	if back.State != guardian.ReferralDelivered || back.DeliveredAt == nil || !back.DeliveredAt.Equal(d.now()) || back.WithdrawnAt != nil ||
		!back.Deadline.Equal(d.now().Add(24*time.Hour)) {
		t.Errorf("reinstated referral %+v, want delivered at %v", back, d.now())
	}
	d.wantEvents(d.since(n),
		wantEvent{"referral.reinstate", guardian.CategoryDisclosure, []string{"py-pn"}, held.ID, "partner"},
		wantEvent{"referral.deliver", guardian.CategoryDisclosure, []string{"py-pn"}, held.ID, ""})
	d.wantChanges(d.changesSince(c), guardian.ReferralChange{Event: guardian.EventDelivered, Referral: back})

	// A failing hook rolls the run back: no referral, no event.
	failing := errors.New("synthetic enqueue failure")
	other := d.finished()
	n, c = d.eventCount(), len(d.log.committed(t))
	d.log.failWith(failing)
	err = d.routeReport(other, routeUpdate(refSpec{agency: "py-pn", held: true}, refSpec{agency: "de-bka"}))
	d.log.failWith(nil)
	if !errors.Is(err, failing) {
		t.Errorf("RouteReport with a failing hook: %v", err)
	}
	if refs, _ := d.rs.FindReferrals(d.ctx, other); len(refs) != 0 || d.eventCount() != n || len(d.log.committed(t)) != c {
		t.Errorf("a failed run left %d referrals, %d events, %d changes", len(refs), d.eventCount()-n, len(d.log.committed(t))-c)
	}

	// A store without a hook refuses to deliver, and still routes a held
	// referral.
	bare, err := d.log.b.Open(d.ctx, d.log.dsn, sqlstore.Options{Now: d.clock.Now, Sealer: suiteSealer, MaxConns: 2,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	route := func(u *guardian.RoutingUpdate) error {
		return bare.RouteReport(d.ctx, other, routingActor, "n", d.now(), d.now(),
			func(*guardian.RoutingState) (*guardian.RoutingUpdate, error) { return u, nil })
	}
	if err := route(routeUpdate(refSpec{agency: "py-pn", held: true}, refSpec{agency: "de-bka"})); err == nil || !strings.Contains(err.Error(), "referral hook") {
		t.Errorf("RouteReport delivering without a hook: %v", err)
	}
	if refs, _ := d.rs.FindReferrals(d.ctx, other); len(refs) != 0 || d.eventCount() != n {
		t.Errorf("a refused run left %d referrals, %d events", len(refs), d.eventCount()-n)
	}
	if err := route(routeUpdate(refSpec{agency: "py-pn", held: true})); err != nil {
		t.Errorf("RouteReport of a held referral without a hook: %v", err)
	}
	if _, err := bare.ConfirmReferral(d.ctx, d.route(refSpec{agency: "x", held: true})[0].ID, hubEvent()); err == nil || !strings.Contains(err.Error(), "referral hook") {
		t.Errorf("ConfirmReferral without a hook: %v", err)
	}
}

// testConfirmReferral: a held referral is delivered when an analyst
// confirms it, once.
func testConfirmReferral(t *testing.T, e *env) {
	d := deliveryEnv(t, e)
	r := d.one(refSpec{agency: "py-pn", held: true})
	d.clock.Advance(time.Minute)

	// A failing hook leaves it held.
	n := d.eventCount()
	d.log.failWith(errors.New("synthetic enqueue failure"))
	_, err := d.ds.ConfirmReferral(d.ctx, r.ID, hubEvent())
	d.log.failWith(nil)
	if err == nil {
		t.Fatal("ConfirmReferral with a failing hook succeeded")
	}
	d.wantUnchanged(r, n)

	c := len(d.log.committed(t))
	got, err := d.ds.ConfirmReferral(d.ctx, r.ID, hubEvent())
	if err != nil {
		t.Fatal(err)
	}
	if got.State != guardian.ReferralDelivered || got.HeldForConfirmation || got.DeliveredAt == nil || !got.DeliveredAt.Equal(d.now()) ||
		!got.UpdatedAt.Equal(d.now()) || !got.Deadline.Equal(r.Deadline) {
		t.Errorf("confirmed referral %+v", got)
	}
	if diff := cmp.Diff(got, d.referral(r.ID)); diff != "" {
		t.Errorf("ConfirmReferral returned (-returned +stored):\n%s", diff)
	}
	evs := d.since(n)
	d.wantEvents(evs,
		wantEvent{"referral.confirm", guardian.CategoryDisclosure, []string{"py-pn"}, r.ID, ""},
		wantEvent{"referral.deliver", guardian.CategoryDisclosure, []string{"py-pn"}, r.ID, ""})
	if evs[1].Actor != evs[0].Actor || evs[1].Justification != evs[0].Justification {
		t.Errorf("referral.deliver by %+v (%q), want the confirming analyst", evs[1].Actor, evs[1].Justification)
	}
	d.wantChanges(d.changesSince(c), guardian.ReferralChange{Event: guardian.EventDelivered, Referral: got})

	n = d.eventCount()
	_, err = d.ds.ConfirmReferral(d.ctx, r.ID, hubEvent())
	wantCode(t, err, guardian.ECONFLICT)
	_, err = d.ds.ConfirmReferral(d.ctx, r.ID+1000, hubEvent())
	wantCode(t, err, guardian.ENOTFOUND)
	d.wantUnchanged(got, n)
	sent := d.one(refSpec{agency: "de-bka"})
	n = d.eventCount()
	_, err = d.ds.ConfirmReferral(d.ctx, sent.ID, hubEvent())
	wantCode(t, err, guardian.ECONFLICT)
	d.wantUnchanged(sent, n)
	_, err = d.ds.FindReferral(d.ctx, r.ID+1000)
	wantCode(t, err, guardian.ENOTFOUND)
}

// referralIn returns a referral brought into state through the store.
func (d *denv) referralIn(state guardian.ReferralState) *guardian.Referral {
	d.t.Helper()
	agency := "ag-" + randomHex(3)
	if state == guardian.ReferralNew || state == guardian.ReferralWithdrawn {
		r := d.one(refSpec{agency: agency, held: true})
		if state == guardian.ReferralWithdrawn {
			if err := d.routeReport(r.ReportID, &guardian.RoutingUpdate{Withdraw: []string{agency}}); err != nil {
				d.t.Fatal(err)
			}
		}
		return d.referral(r.ID)
	}
	r := d.one(refSpec{agency: agency})
	must := func(err error) {
		d.t.Helper()
		if err != nil {
			d.t.Fatal(err)
		}
	}
	switch state {
	case guardian.ReferralOpened, guardian.ReferralAcknowledged, guardian.ReferralClosed:
		_, err := d.ds.MarkReferralOpened(d.ctx, r.ID, agencyEvent(agency))
		must(err)
	case guardian.ReferralRerouted:
		_, err := d.ds.DeclineReferral(d.ctx, r.ID, &guardian.Decline{Reason: "Not ours."}, agencyEvent(agency))
		must(err)
	}
	if state == guardian.ReferralAcknowledged || state == guardian.ReferralClosed {
		_, err := d.ds.AcknowledgeReferral(d.ctx, r.ID, agencyEvent(agency))
		must(err)
	}
	if state == guardian.ReferralClosed {
		_, err := d.ds.RecordOutcome(d.ctx, r.ID, &guardian.Outcome{Status: guardian.CaseClosed, ClosureReason: guardian.ClosureNoCrime,
			Usefulness: guardian.Useful}, agencyEvent(agency))
		must(err)
	}
	got := d.referral(r.ID)
	if got.State != state {
		d.t.Fatalf("referral brought to %s is %s", state, got.State)
	}
	return got
}

// testReferralStateMachine: every change from every state: allowed ones
// move the referral, stamp its time and append their event; refused ones
// are ECONFLICT and change nothing.
func testReferralStateMachine(t *testing.T, e *env) {
	d := deliveryEnv(t, e)
	type result struct {
		state guardian.ReferralState // "" refused; the state it is in otherwise
		event string                 // "" none
	}
	ops := []struct {
		name     string
		category guardian.AuditCategory
		run      func(r *guardian.Referral) (bool, error)
		stamp    func(r *guardian.Referral) *time.Time
		from     map[guardian.ReferralState]result
	}{
		{"open", guardian.CategoryConsultation,
			func(r *guardian.Referral) (bool, error) {
				return d.ds.MarkReferralOpened(d.ctx, r.ID, agencyEvent(r.AgencyID))
			},
			func(r *guardian.Referral) *time.Time { return r.OpenedAt },
			map[guardian.ReferralState]result{
				guardian.ReferralDelivered:    {guardian.ReferralOpened, "referral.open"},
				guardian.ReferralOpened:       {guardian.ReferralOpened, ""},
				guardian.ReferralAcknowledged: {guardian.ReferralAcknowledged, ""},
				guardian.ReferralClosed:       {guardian.ReferralClosed, ""},
				guardian.ReferralRerouted:     {guardian.ReferralRerouted, ""},
			}},
		{"acknowledge", guardian.CategoryAlteration,
			func(r *guardian.Referral) (bool, error) {
				_, err := d.ds.AcknowledgeReferral(d.ctx, r.ID, agencyEvent(r.AgencyID))
				return err == nil, err
			},
			func(r *guardian.Referral) *time.Time { return r.AcknowledgedAt },
			map[guardian.ReferralState]result{
				guardian.ReferralDelivered: {guardian.ReferralAcknowledged, "referral.acknowledge"},
				guardian.ReferralOpened:    {guardian.ReferralAcknowledged, "referral.acknowledge"},
			}},
		// As the API acknowledges: its event names the referral's report,
		// which lets PostgreSQL do it in one statement. That statement
		// changes what the transaction does, returns the referral as
		// stored, and falls back to the transaction (counted) only where
		// it refuses.
		{"acknowledge-of-report", guardian.CategoryAlteration,
			func(r *guardian.Referral) (bool, error) {
				ev := agencyEvent(r.AgencyID)
				ev.ReportID = r.ReportID
				retried := acknowledgesRetried(d.s)
				got, err := d.ds.AcknowledgeReferral(d.ctx, r.ID, ev)
				if err != nil {
					return false, err
				}
				if n := acknowledgesRetried(d.s) - retried; n != 0 {
					return false, fmt.Errorf("acknowledging referral %d in state %s took the transaction %d time(s)", r.ID, r.State, n)
				}
				if diff := cmp.Diff(d.referral(r.ID), got); diff != "" {
					return false, fmt.Errorf("acknowledged referral as returned differs from the stored (-stored +returned):\n%s", diff)
				}
				return true, nil
			},
			func(r *guardian.Referral) *time.Time { return r.AcknowledgedAt },
			map[guardian.ReferralState]result{
				guardian.ReferralDelivered: {guardian.ReferralAcknowledged, "referral.acknowledge"},
				guardian.ReferralOpened:    {guardian.ReferralAcknowledged, "referral.acknowledge"},
			}},
		{"assign", guardian.CategoryAlteration,
			func(r *guardian.Referral) (bool, error) {
				_, err := d.ds.AssignReferral(d.ctx, r.ID, "42", agencyEvent(r.AgencyID))
				return err == nil, err
			},
			nil,
			map[guardian.ReferralState]result{
				guardian.ReferralNew:          {guardian.ReferralNew, "referral.assign"},
				guardian.ReferralDelivered:    {guardian.ReferralDelivered, "referral.assign"},
				guardian.ReferralOpened:       {guardian.ReferralOpened, "referral.assign"},
				guardian.ReferralAcknowledged: {guardian.ReferralAcknowledged, "referral.assign"},
			}},
		{"decline", guardian.CategoryAlteration,
			func(r *guardian.Referral) (bool, error) {
				_, err := d.ds.DeclineReferral(d.ctx, r.ID, &guardian.Decline{SuggestedCountry: "BO", Reason: "The suspect lives in Bolivia."}, agencyEvent(r.AgencyID))
				return err == nil, err
			},
			nil,
			map[guardian.ReferralState]result{
				guardian.ReferralDelivered:    {guardian.ReferralRerouted, "referral.decline"},
				guardian.ReferralOpened:       {guardian.ReferralRerouted, "referral.decline"},
				guardian.ReferralAcknowledged: {guardian.ReferralRerouted, "referral.decline"},
			}},
		{"outcome", guardian.CategoryAlteration,
			func(r *guardian.Referral) (bool, error) {
				_, err := d.ds.RecordOutcome(d.ctx, r.ID, &guardian.Outcome{Status: guardian.CaseOngoing, Usefulness: guardian.UsefulnessLimited}, agencyEvent(r.AgencyID))
				return err == nil, err
			},
			nil,
			map[guardian.ReferralState]result{
				guardian.ReferralAcknowledged: {guardian.ReferralAcknowledged, "referral.outcome"},
			}},
	}
	for _, op := range ops {
		for _, from := range allStates {
			t.Run(op.name+"/"+string(from), func(t *testing.T) {
				d := &denv{env: &env{t: t, ctx: d.ctx, s: d.s, clock: d.clock}, ds: d.ds, rs: d.rs, log: d.log, reporter: d.reporter}
				r := d.referralIn(from)
				d.clock.Advance(time.Minute)
				n := d.eventCount()
				want, allowed := op.from[from]
				changed, err := op.run(r)
				if !allowed {
					wantCode(t, err, guardian.ECONFLICT)
					d.wantUnchanged(r, n)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if want.event == "" {
					if changed {
						t.Error("reported a change")
					}
					d.wantUnchanged(r, n)
					return
				}
				got := d.referral(r.ID)
				if got.State != want.state || !got.UpdatedAt.Equal(d.now()) {
					t.Errorf("referral is %s, updated %v; want %s at %v", got.State, got.UpdatedAt, want.state, d.now())
				}
				if op.stamp != nil {
					if at := op.stamp(got); at == nil || !at.Equal(d.now()) {
						t.Errorf("%s stamped %v, want %v", op.name, at, d.now())
					}
				}
				evs := d.since(n)
				if len(evs) != 1 || evs[0].Action != want.event || evs[0].Category != op.category || evs[0].ObjectID != fmt.Sprint(r.ID) ||
					evs[0].ReportID != r.ReportID || evs[0].ObjectKind != "referral" {
					t.Errorf("events %+v, want one %s (%s) of referral %d", evs, want.event, op.category, r.ID)
				}
			})
		}
	}
}

// acknowledgesRetried reads the store's count of acknowledgements that
// its one statement did not change, if it keeps one.
func acknowledgesRetried(s guardian.Store) int64 {
	if c, ok := s.(interface{ AcknowledgesRetried() int64 }); ok {
		return c.AcknowledgesRetried()
	}
	return 0
}

var allStates = []guardian.ReferralState{guardian.ReferralNew, guardian.ReferralDelivered, guardian.ReferralOpened,
	guardian.ReferralAcknowledged, guardian.ReferralClosed, guardian.ReferralWithdrawn, guardian.ReferralRerouted}

// testReferralChanges: what each change records: the reasons, the
// assignee, the decline, the outcome as JSON, the hook's changes, and the
// rollback of a failing hook.
func testReferralChanges(t *testing.T, e *env) {
	d := deliveryEnv(t, e)
	r := d.one(refSpec{agency: "de-bka", countries: []string{"DE"}})

	n := d.eventCount()
	got, err := d.ds.AssignReferral(d.ctx, r.ID, "17", agencyEvent("de-bka"))
	if err != nil || got.Assignee != "17" {
		t.Fatalf("AssignReferral = %+v, %v", got, err)
	}
	if _, err := d.ds.AssignReferral(d.ctx, r.ID, "", agencyEvent("de-bka")); err != nil {
		t.Fatal(err)
	}
	d.wantEvents(d.since(n),
		wantEvent{"referral.assign", guardian.CategoryAlteration, nil, r.ID, "17"},
		wantEvent{"referral.assign", guardian.CategoryAlteration, nil, r.ID, ""})
	for _, bad := range []string{"x", "-1", "0", "017", "1 "} {
		_, err := d.ds.AssignReferral(d.ctx, r.ID, bad, agencyEvent("de-bka"))
		wantCode(t, err, guardian.EINVALID)
	}
	_, err = d.ds.AssignReferral(d.ctx, r.ID+1000, "17", agencyEvent("de-bka"))
	wantCode(t, err, guardian.ENOTFOUND)

	// Outcomes: refused before acknowledgement; an ongoing one keeps the
	// referral acknowledged, a final one closes it; both read back as
	// recorded.
	ongoing := &guardian.Outcome{Status: guardian.CaseOngoing, Usefulness: guardian.Useful, Note: "Search planned."}
	_, err = d.ds.RecordOutcome(d.ctx, r.ID, ongoing, agencyEvent("de-bka"))
	wantCode(t, err, guardian.ECONFLICT)
	if _, err := d.ds.AcknowledgeReferral(d.ctx, r.ID, agencyEvent("de-bka")); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []*guardian.Outcome{nil, {Status: "maybe", Usefulness: guardian.Useful}, {Status: guardian.CaseClosed, Usefulness: guardian.Useful}} {
		_, err := d.ds.RecordOutcome(d.ctx, r.ID, bad, agencyEvent("de-bka"))
		wantCode(t, err, guardian.EINVALID)
	}
	d.clock.Advance(time.Hour)
	n = d.eventCount()
	got, err = d.ds.RecordOutcome(d.ctx, r.ID, ongoing, agencyEvent("de-bka"))
	if err != nil {
		t.Fatal(err)
	}
	if got.State != guardian.ReferralAcknowledged || got.ClosedAt != nil || got.Outcome == nil || !got.Outcome.RecordedAt.Equal(d.now()) ||
		got.Outcome.RecordedBy != "user:42" || got.Outcome.Note != "Search planned." {
		t.Errorf("after an ongoing outcome: %+v, outcome %+v", got, got.Outcome)
	}
	yes, no := true, false
	final := &guardian.Outcome{Status: guardian.CaseArrest, VictimIdentified: &yes, MoreVictims: &no, Usefulness: guardian.UsefulnessStale}
	d.clock.Advance(time.Hour)
	got, err = d.ds.RecordOutcome(d.ctx, r.ID, final, agencyEvent("de-bka"))
	if err != nil {
		t.Fatal(err)
	}
	want := *final
	want.RecordedAt, want.RecordedBy = d.now(), "user:42"
	stored := d.referral(r.ID)
	if diff := cmp.Diff(&want, stored.Outcome); diff != "" {
		t.Errorf("outcome read back (-recorded +read):\n%s", diff)
	}
	if diff := cmp.Diff(got, stored); diff != "" {
		t.Errorf("RecordOutcome returned (-returned +stored):\n%s", diff)
	}
	if stored.State != guardian.ReferralClosed || stored.ClosedAt == nil || !stored.ClosedAt.Equal(d.now()) {
		t.Errorf("after a final outcome: %+v", stored)
	}
	d.wantEvents(d.since(n),
		wantEvent{"referral.outcome", guardian.CategoryAlteration, nil, r.ID, "ongoing"},
		wantEvent{"referral.outcome", guardian.CategoryAlteration, nil, r.ID, "arrest"})
	n = d.eventCount()
	_, err = d.ds.RecordOutcome(d.ctx, r.ID, ongoing, agencyEvent("de-bka"))
	wantCode(t, err, guardian.ECONFLICT)
	d.wantUnchanged(stored, n)

	// Decline: kept with the referral, handed to the hook; a failing hook
	// rolls it back; a bad decline is EINVALID.
	s := d.one(refSpec{agency: "ar-pfa", countries: []string{"AR"}})
	for _, bad := range []*guardian.Decline{nil, {Reason: " "}, {SuggestedCountry: "bol", Reason: "x"}} {
		_, err := d.ds.DeclineReferral(d.ctx, s.ID, bad, agencyEvent("ar-pfa"))
		wantCode(t, err, guardian.EINVALID)
	}
	n = d.eventCount()
	dec := &guardian.Decline{SuggestedCountry: "BO", Reason: "The account is Bolivian."}
	d.log.failWith(errors.New("synthetic enqueue failure"))
	if _, err := d.ds.DeclineReferral(d.ctx, s.ID, dec, agencyEvent("ar-pfa")); err == nil {
		t.Error("DeclineReferral with a failing hook succeeded")
	}
	d.log.failWith(nil)
	d.wantUnchanged(s, n)
	c := len(d.log.committed(t))
	got, err = d.ds.DeclineReferral(d.ctx, s.ID, dec, agencyEvent("ar-pfa"))
	if err != nil {
		t.Fatal(err)
	}
	stored = d.referral(s.ID)
	if stored.State != guardian.ReferralRerouted || stored.Decline == nil || *stored.Decline != *dec {
		t.Errorf("declined referral %+v, decline %+v", stored, stored.Decline)
	}
	if diff := cmp.Diff(got, stored); diff != "" {
		t.Errorf("DeclineReferral returned (-returned +stored):\n%s", diff)
	}
	d.wantEvents(d.since(n), wantEvent{"referral.decline", guardian.CategoryAlteration, nil, s.ID, "not our jurisdiction; suggested BO"})
	d.wantChanges(d.changesSince(c), guardian.ReferralChange{Event: guardian.EventDeclined, Referral: stored})
	// The report is queued for routing again, in its referral's place.
	var order sql.NullInt64
	q := `SELECT route_order FROM reports WHERE id = ` + strconv.FormatInt(stored.ReportID, 10)
	if err := d.s.(*sqlstore.Store).DB().QueryRowContext(d.ctx, q).Scan(&order); err != nil {
		t.Fatal(err)
	}
	if want := guardian.RoutingOrderOf(stored.Priority); !order.Valid || int(order.Int64) != want {
		t.Errorf("after the decline the report's routing order is %v, want %d", order, want)
	}

	// An event for another action is refused.
	ev := agencyEvent("ar-pfa")
	ev.Action = "referral.close"
	if _, err := d.ds.AcknowledgeReferral(d.ctx, d.one(refSpec{agency: "x"}).ID, ev); err == nil {
		t.Error("AcknowledgeReferral recorded a referral.close event")
	}
}

// testEscalateReferral: escalation is a compare-and-set on the state, the
// level and the deadline by the store's clock: repeated, early, late or
// concurrent calls escalate each level once.
func testEscalateReferral(t *testing.T, e *env) {
	d := deliveryEnv(t, e)
	r := d.one(refSpec{agency: "ar-pfa", countries: []string{"AR", "PY"}, ack: 4 * time.Hour})
	escalate := func(level int, liaison string) (*guardian.Referral, bool) {
		t.Helper()
		got, ok, err := d.ds.EscalateReferral(d.ctx, r.ID, level, liaison, jobEvent())
		if err != nil {
			t.Fatalf("EscalateReferral(%d): %v", level, err)
		}
		return got, ok
	}
	n, c := d.eventCount(), len(d.log.committed(t))
	d.clock.Advance(4*time.Hour - time.Microsecond)
	if _, ok := escalate(1, "py-liaison"); ok {
		t.Error("escalated before the deadline")
	}
	d.clock.Advance(time.Microsecond)
	if _, ok := escalate(2, ""); ok {
		t.Error("escalated to level 2 from level 0")
	}
	got, ok := escalate(1, "py-liaison")
	if !ok || got.Escalation != 1 || got.LiaisonAgencyID != "py-liaison" || got.EscalatedAt == nil || !got.EscalatedAt.Equal(d.now()) || !got.UpdatedAt.Equal(d.now()) {
		t.Fatalf("escalated: %v, %+v", ok, got)
	}
	if diff := cmp.Diff(got, d.referral(r.ID)); diff != "" {
		t.Errorf("EscalateReferral returned (-returned +stored):\n%s", diff)
	}
	if _, ok := escalate(1, "py-liaison"); ok {
		t.Error("escalated to level 1 twice")
	}
	d.clock.Advance(4*time.Hour - time.Microsecond)
	if _, ok := escalate(2, ""); ok {
		t.Error("escalated to level 2 before a deadline-length more")
	}
	d.clock.Advance(time.Microsecond)
	got, ok = escalate(2, "")
	if !ok || got.Escalation != 2 || got.LiaisonAgencyID != "py-liaison" {
		t.Fatalf("escalated to 2: %v, %+v", ok, got)
	}
	d.wantEvents(d.since(n),
		wantEvent{"referral.escalate", guardian.CategoryDisclosure, []string{"py-liaison"}, r.ID, "liaison"},
		wantEvent{"referral.escalate", guardian.CategoryDisclosure, []string{"hub:supervisors"}, r.ID, "hub"})
	chs := d.changesSince(c)
	d.wantChanges(chs, guardian.ReferralChange{Event: guardian.EventEscalated, Referral: r}, guardian.ReferralChange{Event: guardian.EventEscalated, Referral: r})
	if chs[0].Referral.Escalation != 1 || chs[1].Referral.Escalation != 2 {
		t.Errorf("the hook saw levels %d and %d", chs[0].Referral.Escalation, chs[1].Referral.Escalation)
	}

	// Acknowledged: nothing to escalate.
	a := d.one(refSpec{agency: "ar-pfa", ack: time.Hour})
	if _, err := d.ds.AcknowledgeReferral(d.ctx, a.ID, agencyEvent("ar-pfa")); err != nil {
		t.Fatal(err)
	}
	d.clock.Advance(2 * time.Hour)
	if _, ok, err := d.ds.EscalateReferral(d.ctx, a.ID, 1, "", jobEvent()); ok || err != nil {
		t.Errorf("escalated an acknowledged referral: %v, %v", ok, err)
	}
	// Held: never delivered, never escalated.
	h := d.one(refSpec{agency: "x", held: true, ack: time.Hour})
	d.clock.Advance(2 * time.Hour)
	if _, ok, err := d.ds.EscalateReferral(d.ctx, h.ID, 1, "", jobEvent()); ok || err != nil {
		t.Errorf("escalated a held referral: %v, %v", ok, err)
	}
	_, _, err := d.ds.EscalateReferral(d.ctx, r.ID, 3, "", jobEvent())
	wantCode(t, err, guardian.EINVALID)
	_, _, err = d.ds.EscalateReferral(d.ctx, r.ID+1000, 1, "", jobEvent())
	wantCode(t, err, guardian.ENOTFOUND)

	// Without a liaison office: level 1 all the same, recorded without a
	// recipient. A failing hook rolls it back.
	b := d.one(refSpec{agency: "bo-felcc", ack: time.Hour})
	d.clock.Advance(time.Hour)
	n = d.eventCount()
	d.log.failWith(errors.New("synthetic enqueue failure"))
	if _, _, err := d.ds.EscalateReferral(d.ctx, b.ID, 1, "", jobEvent()); err == nil {
		t.Error("EscalateReferral with a failing hook succeeded")
	}
	d.log.failWith(nil)
	d.wantUnchanged(b, n)

	// Concurrent escalation jobs: one escalates.
	c = len(d.log.committed(t))
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok, err := d.ds.EscalateReferral(d.ctx, b.ID, 1, "", jobEvent())
			if err != nil {
				t.Errorf("concurrent EscalateReferral: %v", err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d concurrent escalations succeeded, want 1", wins)
	}
	d.wantEvents(d.since(n), wantEvent{"referral.escalate", guardian.CategoryDisclosure, nil, b.ID, "liaison"})
	if chs := d.changesSince(c); len(chs) != 1 {
		t.Errorf("%d hook changes from concurrent escalations, want 1", len(chs))
	}
}

// testChangeReportPriority: a new priority moves the deadlines of the
// report's live referrals, is recorded in the triage, and is handed to the
// hook per referral changed.
func testChangeReportPriority(t *testing.T, e *env) {
	d := deliveryEnv(t, e)
	refs := d.route(
		refSpec{agency: "de-bka", priority: guardian.Priority1, ack: time.Hour},
		refSpec{agency: "py-pn", priority: guardian.Priority1, held: true, ack: time.Hour},
		refSpec{agency: "ar-pfa", priority: guardian.Priority1, ack: time.Hour},
		refSpec{agency: "bo-felcc", priority: guardian.Priority1, ack: time.Hour})
	report := refs[0].ReportID
	if _, err := d.ds.DeclineReferral(d.ctx, refs[2].ID, &guardian.Decline{Reason: "Not ours."}, agencyEvent("ar-pfa")); err != nil {
		t.Fatal(err)
	}
	d.clock.Advance(10 * time.Minute)
	ack := map[string]time.Duration{"de-bka": 72 * time.Hour, "py-pn": 48 * time.Hour}
	within := func(agency string) (time.Duration, bool) { d, ok := ack[agency]; return d, ok }
	n, c := d.eventCount(), len(d.log.committed(t))
	changed, err := d.ds.ChangeReportPriority(d.ctx, report, guardian.Priority3, within, hubEvent())
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 3 {
		t.Fatalf("changed %d referrals, want 3 (not the re-routed one)", len(changed))
	}
	for i, want := range []struct {
		id       int64
		deadline time.Time
	}{
		{refs[0].ID, refs[0].RoutedAt.Add(72 * time.Hour)},
		{refs[1].ID, refs[1].RoutedAt.Add(48 * time.Hour)},
		{refs[3].ID, refs[3].Deadline}, // an agency ackWithin does not know
	} {
		got := d.referral(want.id)
		if got.Priority != guardian.Priority3 || !got.Deadline.Equal(want.deadline) || !got.UpdatedAt.Equal(d.now()) {
			t.Errorf("referral %d: priority %s, deadline %v; want 3, %v", want.id, got.Priority, got.Deadline, want.deadline)
		}
		if diff := cmp.Diff(got, changed[i]); diff != "" {
			t.Errorf("returned referral %d (-stored +returned):\n%s", want.id, diff)
		}
	}
	if got := d.referral(refs[2].ID); got.Priority != guardian.Priority1 {
		t.Errorf("the re-routed referral changed priority to %s", got.Priority)
	}
	ra, err := d.rs.FindReportAssessment(d.ctx, report)
	if err != nil || ra.Triage.Priority != guardian.Priority3 || ra.Triage.ReviewPriority != guardian.Priority1 || ra.Triage.Score != 50 {
		t.Errorf("triage after the change: %+v, %v", ra, err)
	}
	evs := d.since(n)
	if len(evs) != 1 || evs[0].Action != "report.priority" || evs[0].Category != guardian.CategoryAlteration || evs[0].Reason != "1→3" ||
		evs[0].ObjectKind != "report" || evs[0].ObjectID != fmt.Sprint(report) {
		t.Errorf("events %+v, want one report.priority 1→3", evs)
	}
	chs := d.changesSince(c)
	d.wantChanges(chs, guardian.ReferralChange{Event: guardian.EventReprioritised, Referral: changed[0]},
		guardian.ReferralChange{Event: guardian.EventReprioritised, Referral: changed[1]},
		guardian.ReferralChange{Event: guardian.EventReprioritised, Referral: changed[2]})

	// The same again changes no referral and records the decision.
	n = d.eventCount()
	if again, err := d.ds.ChangeReportPriority(d.ctx, report, guardian.Priority3, within, hubEvent()); err != nil || len(again) != 0 {
		t.Errorf("the same priority again: %d changed, %v", len(again), err)
	}
	d.wantEvents(d.since(n), wantEvent{"report.priority", guardian.CategoryAlteration, nil, 0, "3→3"})

	// A failing hook rolls the change back, triage included.
	n = d.eventCount()
	d.log.failWith(errors.New("synthetic enqueue failure"))
	if _, err := d.ds.ChangeReportPriority(d.ctx, report, guardian.Priority2, within, hubEvent()); err == nil {
		t.Error("ChangeReportPriority with a failing hook succeeded")
	}
	d.log.failWith(nil)
	if ra, _ := d.rs.FindReportAssessment(d.ctx, report); ra.Triage.Priority != guardian.Priority3 || d.referral(refs[0].ID).Priority != guardian.Priority3 || d.eventCount() != n {
		t.Error("a failed change of priority was kept")
	}
	// Without ackWithin, every deadline stays.
	before := d.referral(refs[0].ID)
	if got, err := d.ds.ChangeReportPriority(d.ctx, report, guardian.Priority2, nil, hubEvent()); err != nil || len(got) != 3 ||
		got[0].Priority != guardian.Priority2 || !got[0].Deadline.Equal(before.Deadline) {
		t.Errorf("ChangeReportPriority without ackWithin: %+v, %v", got, err)
	}
	_, err = d.ds.ChangeReportPriority(d.ctx, report, "4", within, hubEvent())
	wantCode(t, err, guardian.EINVALID)
	_, err = d.ds.ChangeReportPriority(d.ctx, report+1000, guardian.Priority2, within, hubEvent())
	wantCode(t, err, guardian.ENOTFOUND)
}

// listAll pages through q with the page size and returns every referral,
// checking that only the last page says there are none more.
func (d *denv) listAll(q guardian.ReferralQuery, size int) []*guardian.Referral {
	d.t.Helper()
	q.Limit = size
	var out []*guardian.Referral
	for page := 0; ; page++ {
		if page > 1000 {
			d.t.Fatal("paging does not end")
		}
		rs, more, err := d.ds.ListReferrals(d.ctx, q)
		if err != nil {
			d.t.Fatalf("ListReferrals: %v", err)
		}
		if len(rs) > size || (more && len(rs) != size) {
			d.t.Fatalf("page of %d, more %v, with limit %d", len(rs), more, size)
		}
		out = append(out, rs...)
		if !more {
			return out
		}
		c := rs[len(rs)-1].Cursor(q.Order)
		q.After = &c
	}
}

func ids(rs []*guardian.Referral) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// sorted returns the ids of rs in the list order o, computed here.
func sorted(rs []*guardian.Referral, o guardian.ReferralOrder) []int64 {
	c := slices.Clone(rs)
	slices.SortFunc(c, func(a, b *guardian.Referral) int {
		if o == guardian.OrderUpdated {
			if x := a.UpdatedAt.Compare(b.UpdatedAt); x != 0 {
				return x
			}
		} else {
			if x := a.Priority.Rank() - b.Priority.Rank(); x != 0 {
				return x
			}
			if x := a.Deadline.Compare(b.Deadline); x != 0 {
				return x
			}
		}
		return int(a.ID - b.ID)
	})
	return ids(c)
}

// listFixture is a hub's worth of referrals for the list tests: an
// agency's inbox with ties in priority, deadline and update time, held
// ones, another agency's, and escalated ones of a third.
type listFixture struct {
	inbox   []*guardian.Referral // de-bka's, delivered or further
	held    []*guardian.Referral // de-bka's, held
	other   []*guardian.Referral // ar-pfa's, not escalated
	escPY   []*guardian.Referral // ar-pfa's, escalated, for AR and PY
	escHeld []*guardian.Referral // bo-felcc's held for PY
}

func (d *denv) listFixture() *listFixture {
	d.t.Helper()
	f := &listFixture{}
	priorities := []guardian.Priority{guardian.Priority3, guardian.Priority1, guardian.PriorityUnreviewed, guardian.Priority2}
	for i := range 23 {
		if i%5 == 4 {
			d.clock.Advance(time.Minute) // otherwise, equal deadlines
		}
		ack := time.Hour
		if i%3 == 0 {
			ack = 2 * time.Hour
		}
		p := priorities[i%len(priorities)]
		refs := d.route(refSpec{agency: "de-bka", countries: []string{"DE"}, priority: p, ack: ack},
			refSpec{agency: "ar-pfa", countries: []string{"AR"}, priority: p, ack: ack})
		f.inbox, f.other = append(f.inbox, refs[0]), append(f.other, refs[1])
	}
	for range 3 {
		f.held = append(f.held, d.one(refSpec{agency: "de-bka", countries: []string{"DE"}, held: true, priority: guardian.Priority1}))
	}
	for i := range 4 {
		f.escPY = append(f.escPY, d.one(refSpec{agency: "ar-pfa", countries: []string{"AR", "PY"}, priority: priorities[i], ack: time.Minute}))
	}
	f.escHeld = append(f.escHeld, d.one(refSpec{agency: "bo-felcc", countries: []string{"PY"}, held: true, ack: time.Minute}))
	d.clock.Advance(time.Hour)
	for _, r := range f.escPY {
		if _, ok, err := d.ds.EscalateReferral(d.ctx, r.ID, 1, "py-liaison", jobEvent()); err != nil || !ok {
			d.t.Fatalf("EscalateReferral: %v, %v", ok, err)
		}
	}
	// Changes at several times, some equal, for the updated order.
	for i, r := range f.inbox {
		if i%4 == 0 {
			d.clock.Advance(time.Second)
		}
		if i%2 == 0 {
			if _, err := d.ds.MarkReferralOpened(d.ctx, r.ID, agencyEvent("de-bka")); err != nil {
				d.t.Fatal(err)
			}
		}
	}
	refresh := func(rs []*guardian.Referral) {
		for i, r := range rs {
			rs[i] = d.referral(r.ID)
		}
	}
	refresh(f.inbox)
	refresh(f.other)
	refresh(f.escPY)
	return f
}

var deliveredStates = []guardian.ReferralState{guardian.ReferralDelivered, guardian.ReferralOpened, guardian.ReferralAcknowledged,
	guardian.ReferralClosed, guardian.ReferralRerouted}

// testListReferrals: the lists' orders and pages, across several pages
// with ties, for an agency, a liaison office and the hub.
func testListReferrals(t *testing.T, e *env) {
	d := deliveryEnv(t, e)
	f := d.listFixture()
	agency := guardian.ReferralQuery{AgencyID: "de-bka", VisibleStates: deliveredStates}
	liaison := guardian.ReferralQuery{AgencyID: "py-liaison", VisibleStates: deliveredStates, EscalatedCountries: []string{"BO", "PY"}}
	hub := guardian.ReferralQuery{All: true}
	var everything []*guardian.Referral
	for _, rs := range [][]*guardian.Referral{f.inbox, f.held, f.other, f.escPY, f.escHeld} {
		for _, r := range rs {
			everything = append(everything, d.referral(r.ID))
		}
	}
	for _, c := range []struct {
		name string
		q    guardian.ReferralQuery
		want []*guardian.Referral
	}{
		{"agency", agency, f.inbox},
		{"liaison", liaison, f.escPY},
		{"hub", hub, everything},
	} {
		for _, o := range []guardian.ReferralOrder{"", guardian.OrderUrgent, guardian.OrderUpdated} {
			for _, size := range []int{1, 4, 7, 50} {
				q := c.q
				q.Order = o
				got := ids(d.listAll(q, size))
				if want := sorted(c.want, o); !slices.Equal(got, want) {
					t.Errorf("%s, order %q, pages of %d:\n got %v\nwant %v", c.name, o, size, got, want)
				}
			}
		}
	}

	// The liaison office's own referrals and the escalated ones, merged
	// across pages.
	own := d.one(refSpec{agency: "py-liaison", countries: []string{"PY"}, priority: guardian.Priority1})
	want := sorted(append(slices.Clone(f.escPY), d.referral(own.ID)), guardian.OrderUrgent)
	if got := ids(d.listAll(liaison, 2)); !slices.Equal(got, want) {
		t.Errorf("liaison office with its own referral:\n got %v\nwant %v", got, want)
	}

	// The default page is 50, and at most 500.
	for range 2 {
		d.route(refSpec{agency: "a1"}, refSpec{agency: "a2"}, refSpec{agency: "a3"}, refSpec{agency: "a4"}, refSpec{agency: "a5"},
			refSpec{agency: "a6"}, refSpec{agency: "a7"}, refSpec{agency: "a8"}, refSpec{agency: "a9"})
	}
	rs, more, err := d.ds.ListReferrals(d.ctx, hub)
	if err != nil || len(rs) != 50 || !more {
		t.Errorf("default page: %d referrals, more %v, %v; want 50 and more", len(rs), more, err)
	}
	rs, more, err = d.ds.ListReferrals(d.ctx, guardian.ReferralQuery{All: true, Limit: 500})
	if err != nil || len(rs) != len(everything)+1+18 || more {
		t.Errorf("page of 500: %d referrals, more %v, %v; want %d", len(rs), more, err, len(everything)+19)
	}
	for _, bad := range []guardian.ReferralQuery{
		{All: true, Limit: 501},
		{All: true, Limit: -1},
		{},                               // selects nothing clearly
		{VisibleStates: deliveredStates}, // no agency
		{AgencyID: "de-bka"},             // no states
		{AgencyID: "de-bka", VisibleStates: []guardian.ReferralState{"lost"}},
		{All: true, States: []guardian.ReferralState{"lost"}},
		{All: true, Priorities: []guardian.Priority{"4"}},
		{All: true, Order: "random"},
		{All: true, MinEscalation: 3},
		{AgencyID: "x", VisibleStates: deliveredStates, EscalatedCountries: []string{"py"}},
		{AgencyID: "x", VisibleStates: deliveredStates, EscalatedCountries: []string{"%"}},
	} {
		_, _, err := d.ds.ListReferrals(d.ctx, bad)
		wantCode(t, err, guardian.EINVALID)
		_, err = d.ds.CountReferrals(d.ctx, bad)
		if bad.Limit == 0 {
			wantCode(t, err, guardian.EINVALID)
		}
	}
}

// testListVisibility: an agency never sees another's referrals nor held
// ones; a liaison office sees the escalated referrals of its countries,
// and no others; the hub sees everything.
func testListVisibility(t *testing.T, e *env) {
	d := deliveryEnv(t, e)
	f := d.listFixture()
	list := func(q guardian.ReferralQuery) []int64 {
		t.Helper()
		q.Limit = 500
		rs, _, err := d.ds.ListReferrals(d.ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return ids(rs)
	}
	contains := func(got []int64, rs []*guardian.Referral) bool {
		for _, r := range rs {
			if slices.Contains(got, r.ID) {
				return true
			}
		}
		return false
	}
	got := list(guardian.ReferralQuery{AgencyID: "de-bka", VisibleStates: deliveredStates})
	if contains(got, f.held) || contains(got, f.other) || contains(got, f.escPY) || len(got) != len(f.inbox) {
		t.Errorf("de-bka's inbox holds %v", got)
	}
	// Held, even when asked for.
	held := true
	if got := list(guardian.ReferralQuery{AgencyID: "de-bka", VisibleStates: allStates, Held: &held}); len(got) != 0 {
		t.Errorf("de-bka sees held referrals %v", got)
	}
	got = list(guardian.ReferralQuery{AgencyID: "py-liaison", VisibleStates: deliveredStates, EscalatedCountries: []string{"PY"}})
	if !slices.Equal(sorted(f.escPY, ""), got) {
		t.Errorf("PY's liaison office sees %v, want the escalated %v", got, ids(f.escPY))
	}
	// Not for its countries, or not escalated.
	for _, countries := range [][]string{{"BO"}, {"DE"}, {"DE", "BO"}} {
		if got := list(guardian.ReferralQuery{AgencyID: "x-liaison", VisibleStates: deliveredStates, EscalatedCountries: countries}); len(got) != 0 {
			t.Errorf("a liaison office for %v sees %v", countries, got)
		}
	}
	// AR is a country of the escalated ones, and of ar-pfa's others.
	got = list(guardian.ReferralQuery{AgencyID: "x-liaison", VisibleStates: deliveredStates, EscalatedCountries: []string{"AR"}})
	if !slices.Equal(sorted(f.escPY, ""), got) {
		t.Errorf("AR's liaison office sees %v, want only the escalated %v", got, ids(f.escPY))
	}
	// Only escalated states it may see.
	got = list(guardian.ReferralQuery{AgencyID: "py-liaison", VisibleStates: []guardian.ReferralState{guardian.ReferralAcknowledged}, EscalatedCountries: []string{"PY"}})
	if len(got) != 0 {
		t.Errorf("with only acknowledged visible, the liaison office sees %v", got)
	}
	if got := list(guardian.ReferralQuery{All: true, Held: &held}); !slices.Equal(got, sorted(append(slices.Clone(f.held), f.escHeld...), "")) {
		t.Errorf("the hub's held referrals: %v", got)
	}
	n, err := d.ds.CountReferrals(d.ctx, guardian.ReferralQuery{AgencyID: "py-liaison", VisibleStates: deliveredStates, EscalatedCountries: []string{"PY"}})
	if err != nil || n[guardian.ReferralDelivered] != len(f.escPY) || len(n) != 1 {
		t.Errorf("CountReferrals for the liaison office = %v, %v", n, err)
	}
}

// testListFilters: each filter, on its own, against the same selection
// made here.
func testListFilters(t *testing.T, e *env) {
	d := deliveryEnv(t, e)
	f := d.listFixture()
	base := guardian.ReferralQuery{AgencyID: "de-bka", VisibleStates: deliveredStates}
	cut := f.inbox[10].Deadline
	since := f.inbox[12].UpdatedAt
	report := f.inbox[5].ReportID
	yes, no := true, false
	for _, c := range []struct {
		name string
		q    func(q *guardian.ReferralQuery)
		keep func(r *guardian.Referral) bool
		from []*guardian.Referral
	}{
		{"states", func(q *guardian.ReferralQuery) { q.States = []guardian.ReferralState{guardian.ReferralOpened} },
			func(r *guardian.Referral) bool { return r.State == guardian.ReferralOpened }, f.inbox},
		{"priorities", func(q *guardian.ReferralQuery) {
			q.Priorities = []guardian.Priority{guardian.PriorityUnreviewed, guardian.Priority3}
		},
			func(r *guardian.Referral) bool { return r.Priority == "E" || r.Priority == "3" }, f.inbox},
		{"deadline before", func(q *guardian.ReferralQuery) { q.DeadlineBefore = cut },
			func(r *guardian.Referral) bool { return r.Deadline.Before(cut) }, f.inbox},
		{"updated since", func(q *guardian.ReferralQuery) { q.UpdatedSince = since },
			func(r *guardian.Referral) bool { return !r.UpdatedAt.Before(since) }, f.inbox},
		{"not held", func(q *guardian.ReferralQuery) { q.Held = &no }, func(*guardian.Referral) bool { return true }, f.inbox},
		{"report", func(q *guardian.ReferralQuery) { q.ReportID = report },
			func(r *guardian.Referral) bool { return r.ReportID == report }, f.inbox},
		{"min escalation", func(q *guardian.ReferralQuery) { *q = guardian.ReferralQuery{All: true, MinEscalation: 1} },
			func(r *guardian.Referral) bool { return r.Escalation >= 1 }, slices.Concat(f.inbox, f.other, f.escPY)},
		{"hub held", func(q *guardian.ReferralQuery) {
			*q = guardian.ReferralQuery{All: true, Held: &yes, States: []guardian.ReferralState{guardian.ReferralNew}}
		},
			func(r *guardian.Referral) bool { return r.HeldForConfirmation }, slices.Concat(f.inbox, f.held, f.escHeld)},
	} {
		q := base
		c.q(&q)
		var want []*guardian.Referral
		for _, r := range c.from {
			if r := d.referral(r.ID); c.keep(r) {
				want = append(want, r)
			}
		}
		if len(want) == 0 || len(want) == len(c.from) && c.name != "not held" {
			t.Errorf("%s: the fixture does not exercise the filter (%d of %d)", c.name, len(want), len(c.from))
		}
		for _, o := range []guardian.ReferralOrder{guardian.OrderUrgent, guardian.OrderUpdated} {
			q.Order = o
			if got := ids(d.listAll(q, 3)); !slices.Equal(got, sorted(want, o)) {
				t.Errorf("%s, %s:\n got %v\nwant %v", c.name, o, got, sorted(want, o))
			}
		}
		counts, err := d.ds.CountReferrals(d.ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		wantCounts := map[guardian.ReferralState]int{}
		for _, r := range want {
			wantCounts[r.State]++
		}
		if diff := cmp.Diff(wantCounts, counts); diff != "" {
			t.Errorf("%s: CountReferrals (-want +got):\n%s", c.name, diff)
		}
	}
}

// testMessages: messages are sealed under the report's key, read back in
// their threads, recorded without their body and handed to the hook
// without it.
func testMessages(t *testing.T, e *env) {
	d := deliveryEnv(t, e)
	r := d.one(refSpec{agency: "de-bka"})
	secret := "suspect-" + randomHex(6) + "@example.com"
	n, c := d.eventCount(), len(d.log.committed(t))
	ask := &guardian.Message{ReferralID: r.ID, ThreadAgencyID: "de-bka", From: guardian.AgencyOrganisation("de-bka"), Author: "user:42",
		Kind: guardian.MessageRequestInfo, Body: "Is " + secret + " the uploader?"}
	if err := d.ds.AddMessage(d.ctx, ask, agencyEvent("de-bka")); err != nil {
		t.Fatal(err)
	}
	if ask.ID == 0 || !ask.CreatedAt.Equal(d.now()) {
		t.Errorf("AddMessage set id %d, time %v", ask.ID, ask.CreatedAt)
	}
	d.clock.Advance(time.Minute)
	reply := &guardian.Message{ReferralID: r.ID, ThreadAgencyID: "de-bka", From: guardian.HubOrganisation("example-hub"), Author: "user:7",
		Kind: guardian.MessageReply, Body: "Yes.\nSee the file details."}
	liaisonNote := &guardian.Message{ReferralID: r.ID, ThreadAgencyID: "py-liaison", From: guardian.AgencyOrganisation("py-liaison"), Author: "user:9",
		Kind: guardian.MessageNote, Body: "Noted."}
	for _, m := range []*guardian.Message{reply, liaisonNote} {
		if err := d.ds.AddMessage(d.ctx, m, hubEvent()); err != nil {
			t.Fatal(err)
		}
	}
	thread, err := d.ds.FindMessages(d.ctx, r.ID, "de-bka")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*guardian.Message{ask, reply}, thread); diff != "" {
		t.Errorf("de-bka's thread (-added +found):\n%s", diff)
	}
	all, err := d.ds.FindMessages(d.ctx, r.ID, "")
	if err != nil || len(all) != 3 || all[2].ID != liaisonNote.ID {
		t.Errorf("every thread: %d messages, %v", len(all), err)
	}
	if none, err := d.ds.FindMessages(d.ctx, r.ID, "ar-pfa"); err != nil || len(none) != 0 {
		t.Errorf("another agency's thread: %v, %v", none, err)
	}
	evs := d.since(n)
	d.wantEvents(evs,
		wantEvent{"message.add", guardian.CategoryAlteration, nil, r.ID, "request-info"},
		wantEvent{"message.add", guardian.CategoryAlteration, nil, r.ID, "reply"},
		wantEvent{"message.add", guardian.CategoryAlteration, nil, r.ID, "note"})
	for _, ev := range evs {
		if strings.Contains(fmt.Sprintf("%+v", *ev), "uploader") {
			t.Errorf("event %s holds the body", ev.Action)
		}
	}
	chs := d.changesSince(c)
	if len(chs) != 3 || chs[0].Event != guardian.EventMessage || chs[0].Message == nil || chs[0].Message.ID != ask.ID || chs[0].Message.Body != "" ||
		chs[0].Referral.ID != r.ID {
		t.Errorf("hook changes %+v, want three messages without their bodies", chs)
	}

	// In the database, sealed.
	db := d.log.db
	rows, err := db.QueryContext(d.ctx, `SELECT body FROM referral_messages`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	count := 0
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			t.Fatal(err)
		}
		count++
		if bytes.Contains(body, []byte(secret)) || bytes.Contains(body, []byte("Noted.")) || len(body) == 0 {
			t.Errorf("a message body is stored in the clear: %q", body)
		}
	}
	if count != 3 {
		t.Errorf("%d message rows", count)
	}

	// Refused: bad messages, an unknown referral, a failing hook.
	n = d.eventCount()
	for _, bad := range []*guardian.Message{
		{ReferralID: r.ID, ThreadAgencyID: "de-bka", From: guardian.AgencyOrganisation("de-bka"), Kind: "shout", Body: "x"},
		{ReferralID: r.ID, ThreadAgencyID: "de-bka", From: guardian.AgencyOrganisation("de-bka"), Kind: guardian.MessageNote, Body: " "},
		{ReferralID: r.ID, ThreadAgencyID: "de-bka", From: guardian.AgencyOrganisation("de-bka"), Kind: guardian.MessageNote, Body: strings.Repeat("x", guardian.MaxNoteLen+1)},
		{ReferralID: r.ID, From: guardian.AgencyOrganisation("de-bka"), Kind: guardian.MessageNote, Body: "x"},
		{ReferralID: r.ID, ThreadAgencyID: "de-bka", Kind: guardian.MessageNote, Body: "x"},
	} {
		wantCode(t, d.ds.AddMessage(d.ctx, bad, agencyEvent("de-bka")), guardian.EINVALID)
	}
	wantCode(t, d.ds.AddMessage(d.ctx, &guardian.Message{ReferralID: r.ID + 1000, ThreadAgencyID: "de-bka", From: guardian.AgencyOrganisation("de-bka"),
		Kind: guardian.MessageNote, Body: "x"}, agencyEvent("de-bka")), guardian.ENOTFOUND)
	d.log.failWith(errors.New("synthetic enqueue failure"))
	if err := d.ds.AddMessage(d.ctx, &guardian.Message{ReferralID: r.ID, ThreadAgencyID: "de-bka", From: guardian.AgencyOrganisation("de-bka"),
		Kind: guardian.MessageNote, Body: "lost"}, agencyEvent("de-bka")); err == nil {
		t.Error("AddMessage with a failing hook succeeded")
	}
	d.log.failWith(nil)
	if all, _ := d.ds.FindMessages(d.ctx, r.ID, ""); len(all) != 3 || d.eventCount() != n {
		t.Errorf("refused messages left %d messages, %d events", len(all), d.eventCount()-n)
	}
}

// testNotifications: notifications are kept as given and recorded as
// disclosures, sent or failed.
func testNotifications(t *testing.T, e *env) {
	d := deliveryEnv(t, e)
	r := d.one(refSpec{agency: "de-bka"})
	n := d.eventCount()
	sent := &guardian.Notification{ReferralID: r.ID, AgencyID: "de-bka", Event: guardian.EventDelivered, Channel: guardian.ChannelEmail,
		Target: "duty@bka.example.org", Attempts: 1, Sent: true}
	if err := d.ds.RecordNotification(d.ctx, sent, jobEvent()); err != nil {
		t.Fatal(err)
	}
	d.clock.Advance(time.Minute)
	failed := &guardian.Notification{ReferralID: r.ID, AgencyID: "de-bka", Event: guardian.EventDelivered, Channel: guardian.ChannelWebhook,
		Target: "https://bka.example.org/hook", Attempts: 8, Error: "503 Service Unavailable"}
	if err := d.ds.RecordNotification(d.ctx, failed, jobEvent()); err != nil {
		t.Fatal(err)
	}
	digest := &guardian.Notification{Event: guardian.EventEscalated, Channel: guardian.ChannelEmail, Target: "supervisors@hub.example.org", Attempts: 1, Sent: true}
	if err := d.ds.RecordNotification(d.ctx, digest, jobEvent()); err != nil {
		t.Fatal(err)
	}
	if sent.ID == 0 || !sent.CreatedAt.Equal(d.now().Add(-time.Minute)) || !failed.CreatedAt.Equal(d.now()) {
		t.Errorf("RecordNotification set %+v", sent)
	}
	got, err := d.ds.FindNotifications(d.ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*guardian.Notification{sent, failed}, got); diff != "" {
		t.Errorf("FindNotifications (-recorded +found):\n%s", diff)
	}
	if got, err := d.ds.FindNotifications(d.ctx, 0); err != nil || len(got) != 1 || got[0].ID != digest.ID {
		t.Errorf("digests: %v, %v", got, err)
	}
	if got, err := d.ds.FindNotifications(d.ctx, r.ID+1000); err != nil || len(got) != 0 {
		t.Errorf("notifications of an unknown referral: %v, %v", got, err)
	}
	evs := d.since(n)
	if len(evs) != 3 {
		t.Fatalf("%d events, want 3", len(evs))
	}
	for i, w := range []struct {
		action, outcome, kind, id string
		recipients                []string
	}{
		{"notification.sent", guardian.OutcomeSuccess, "referral", fmt.Sprint(r.ID), []string{"de-bka"}},
		{"notification.failed", guardian.OutcomeFailure, "referral", fmt.Sprint(r.ID), []string{"de-bka"}},
		{"notification.sent", guardian.OutcomeSuccess, "notification", fmt.Sprint(digest.ID), []string{"hub:supervisors"}},
	} {
		ev := evs[i]
		if ev.Action != w.action || ev.Outcome != w.outcome || ev.Category != guardian.CategoryDisclosure || ev.ObjectKind != w.kind ||
			ev.ObjectID != w.id || !slices.Equal(ev.Recipients, w.recipients) || strings.Contains(ev.Reason, "503") {
			t.Errorf("event %d: %+v; want %+v", i, ev, w)
		}
	}
	for _, bad := range []*guardian.Notification{
		{ReferralID: r.ID, Event: guardian.EventDelivered, Channel: "pager", Target: "x", Sent: true},
		{ReferralID: r.ID, Event: guardian.EventDelivered, Channel: guardian.ChannelEmail, Sent: true},
		{ReferralID: r.ID, Channel: guardian.ChannelEmail, Target: "x", Sent: true},
		{ReferralID: r.ID, Event: guardian.EventDelivered, Channel: guardian.ChannelEmail, Target: "x", Attempts: -1},
	} {
		wantCode(t, d.ds.RecordNotification(d.ctx, bad, jobEvent()), guardian.EINVALID)
	}
	wantCode(t, d.ds.RecordNotification(d.ctx, &guardian.Notification{ReferralID: r.ID + 1000, Event: guardian.EventDelivered,
		Channel: guardian.ChannelEmail, Target: "x", Sent: true}, jobEvent()), guardian.ENOTFOUND)
}

// testWebhookSecrets: an agency's sealed secret is kept as given and
// replaced, each time with a permission event.
func testWebhookSecrets(t *testing.T, e *env) {
	d := deliveryEnv(t, e)
	_, err := d.ws.FindWebhookSecret(d.ctx, "de-bka")
	wantCode(t, err, guardian.ENOTFOUND)
	n := d.eventCount()
	for _, secret := range [][]byte{[]byte("sealed-1\x00\xff"), []byte("sealed-2")} {
		ev := &guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorSystem, Name: "cli"}}
		if err := d.ws.SetWebhookSecret(d.ctx, "de-bka", secret, ev); err != nil {
			t.Fatal(err)
		}
		if ev.Action != "webhook.secret" || ev.Category != guardian.CategoryPermission || ev.ObjectID != "de-bka" || ev.ObjectKind != "agency" {
			t.Errorf("event %+v", ev)
		}
		if got, err := d.ws.FindWebhookSecret(d.ctx, "de-bka"); err != nil || !bytes.Equal(got, secret) {
			t.Errorf("FindWebhookSecret = %q, %v; want %q", got, err, secret)
		}
	}
	if d.eventCount() != n+2 {
		t.Errorf("%d events, want 2", d.eventCount()-n)
	}
	_, err = d.ws.FindWebhookSecret(d.ctx, "ar-pfa")
	wantCode(t, err, guardian.ENOTFOUND)
	wantCode(t, d.ws.SetWebhookSecret(d.ctx, "", []byte("x"), systemEvent("")), guardian.EINVALID)
	wantCode(t, d.ws.SetWebhookSecret(d.ctx, "de-bka", nil, systemEvent("")), guardian.EINVALID)
}

// storeAtVersion creates a store of schema version v, closed again, with
// one reporter: the start of a test of the migrations after v, which writes
// what an older guardian stored in SQL.
func storeAtVersion(t *testing.T, b Backend, v int) (dsn string, rep *guardian.Reporter) {
	t.Helper()
	dsn = b.NewDSN(t)
	old, err := b.Open(t.Context(), dsn, sqlstore.Options{Migrations: migrationsUpTo(t, b, v), Sealer: suiteSealer,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	oe := &env{t: t, ctx: t.Context(), s: old, clock: NewClock(start)}
	return dsn, oe.reporter("example-service")
}

// testDeliveryMigration: referrals stored by a guardian of schema version
// 7 read back after the migration to version 8 with no escalation, decline
// or outcome, and list in priority order (their priority_rank computed for
// them).
func testDeliveryMigration(t *testing.T, e *env) {
	b := deliveryEnv(t, e).log.b
	ctx := t.Context()
	dsn, rep := storeAtVersion(t, b, 7)

	// Reports stored and finished in SQL, as reports whose evidence is
	// destroyed (no key, no documents): this code's CreateReport and
	// FinishReport use columns of later versions, and the referrals are
	// what this test reads.
	db := b.rawDB(t, dsn)
	now := b.timeValue(start)
	var reports []int64
	for range 3 {
		var id int64
		if err := db.QueryRowContext(ctx, b.rebind(`INSERT INTO reports (reporter_id, state, opened_at, modified_at, finished_at,
			xml, document, sealed, wrapped_key) VALUES (?, 'finished', ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			rep.ID, now, now, now, []byte{}, []byte{}, true, nil).Scan(&id); err != nil {
			t.Fatal(err)
		}
		reports = append(reports, id)
	}
	for i, p := range []string{"3", "E", "1"} {
		mustExec(t, db, b.rebind(`INSERT INTO referrals (report_id, agency_id, network, countries, channel, reason, priority, label,
			handling_code, data_scope, acknowledge_within_us, retention_days, deadline, held, state, received_at, triaged_at, routed_at,
			delivered_at, updated_at) VALUES (?, 'de-bka', 'n', 'DE', 'direct', 'partner', ?, 'referral', 'x', '', 3600000000, 365, ?, ?, 'delivered',
			?, ?, ?, ?, ?)`), reports[i], p, now, false, now, now, now, now, now)
	}
	s := MustOpenDSN(t, b, dsn, sqlstore.Options{Migrate: true, Sealer: suiteSealer})
	rs, more, err := s.ListReferrals(ctx, guardian.ReferralQuery{AgencyID: "de-bka", VisibleStates: deliveredStates})
	if err != nil || more || len(rs) != 3 {
		t.Fatalf("ListReferrals after the migration: %d, %v, %v", len(rs), more, err)
	}
	for i, p := range []guardian.Priority{"E", "1", "3"} {
		r := rs[i]
		if r.Priority != p || r.Escalation != 0 || r.EscalatedAt != nil || r.LiaisonAgencyID != "" || r.Outcome != nil || r.Decline != nil {
			t.Errorf("referral %d after the migration: %+v; want priority %s, nothing more", i, r, p)
		}
	}
}

// testDueEscalations: every change of a referral's state, level or deadline
// keeps its next escalation step on its row (guardian.Referral.NextEscalation),
// and DueEscalations finds the step at its time, not a microsecond before;
// RescheduleEscalation stores it again from the row.
func testDueEscalations(t *testing.T, e *env) {
	d := deliveryEnv(t, e)
	// levelDue is the level DueEscalations gives referral id at now, 0 if
	// it does not give it. The suite's other tests share the store: the
	// limit takes every referral they made.
	levelDue := func(id int64, now time.Time) int {
		t.Helper()
		due, err := d.ds.DueEscalations(d.ctx, now, 100000)
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range due {
			if i > 0 && due[i-1].ReferralID == x.ReferralID {
				t.Fatalf("referral %d given twice", x.ReferralID)
			}
			if x.ReferralID == id {
				return x.Level
			}
		}
		return 0
	}
	wantNext := func(what string, id int64, level int, at time.Time) {
		t.Helper()
		if level == 0 {
			if l := levelDue(id, d.now().Add(1000*time.Hour)); l != 0 {
				t.Errorf("%s: level %d due, want no escalation", what, l)
			}
			return
		}
		if l := levelDue(id, at.Add(-time.Microsecond)); l != 0 {
			t.Errorf("%s: level %d due a microsecond before %v", what, l, at)
		}
		if l := levelDue(id, at); l != level {
			t.Errorf("%s: level %d due at %v, want %d", what, l, at, level)
		}
	}
	const ack = 4 * time.Hour
	refs := d.route(
		refSpec{agency: "due-a", priority: guardian.Priority1, ack: ack},
		refSpec{agency: "due-b", priority: guardian.Priority1, ack: ack, held: true},
		refSpec{agency: "due-c", priority: guardian.Priority1, ack: ack, held: true})
	a, b, c := refs[0], refs[1], refs[2]
	wantNext("delivered by routing", a.ID, 1, a.Deadline)
	wantNext("held", b.ID, 0, time.Time{})

	d.clock.Advance(time.Minute)
	if _, err := d.ds.ConfirmReferral(d.ctx, b.ID, hubEvent()); err != nil {
		t.Fatal(err)
	}
	wantNext("confirmed", b.ID, 1, b.Deadline)
	if _, err := d.ds.MarkReferralOpened(d.ctx, a.ID, agencyEvent("due-a")); err != nil {
		t.Fatal(err)
	}
	wantNext("opened", a.ID, 1, a.Deadline)

	d.clock.Advance(ack)
	if _, ok, err := d.ds.EscalateReferral(d.ctx, a.ID, 1, "", jobEvent()); err != nil || !ok {
		t.Fatalf("EscalateReferral: %v, %v", ok, err)
	}
	wantNext("escalated to level 1", a.ID, 2, a.Deadline.Add(ack))
	// A new priority: the next step moves with the deadline, at the level
	// reached.
	within := func(string) (time.Duration, bool) { return 2 * ack, true }
	if _, err := d.ds.ChangeReportPriority(d.ctx, a.ReportID, guardian.Priority2, within, hubEvent()); err != nil {
		t.Fatal(err)
	}
	wantNext("reprioritised at level 1", a.ID, 2, a.RoutedAt.Add(4*ack))
	wantNext("reprioritised at level 0", b.ID, 1, b.RoutedAt.Add(2*ack))
	d.clock.Advance(4 * ack)
	if _, ok, err := d.ds.EscalateReferral(d.ctx, a.ID, 2, "", jobEvent()); err != nil || !ok {
		t.Fatalf("EscalateReferral to 2: %v, %v", ok, err)
	}
	wantNext("at the hub", a.ID, 0, time.Time{})

	if _, err := d.ds.AcknowledgeReferral(d.ctx, b.ID, agencyEvent("due-b")); err != nil {
		t.Fatal(err)
	}
	wantNext("acknowledged", b.ID, 0, time.Time{})

	// Withdrawn while held, then reinstated undelayed: due afresh at
	// level 1, at its new deadline.
	if err := d.routeReport(c.ReportID, &guardian.RoutingUpdate{Withdraw: []string{"due-c"}}); err != nil {
		t.Fatal(err)
	}
	wantNext("withdrawn", c.ID, 0, time.Time{})
	if err := d.routeReport(c.ReportID, &guardian.RoutingUpdate{Reinstate: []*guardian.Referral{refSpec{agency: "due-c", ack: ack}.referral()}}); err != nil {
		t.Fatal(err)
	}
	wantNext("reinstated", c.ID, 1, d.now().Add(ack))
	if _, err := d.ds.DeclineReferral(d.ctx, c.ID, &guardian.Decline{Reason: "Not ours."}, agencyEvent("due-c")); err != nil {
		t.Fatal(err)
	}
	wantNext("declined", c.ID, 0, time.Time{})

	// RescheduleEscalation stores the row's own step again.
	r := d.one(refSpec{agency: "due-d", ack: ack})
	for _, id := range []int64{r.ID, a.ID} {
		if err := d.ds.RescheduleEscalation(d.ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	wantNext("rescheduled", r.ID, 1, r.Deadline)
	wantNext("rescheduled at the hub", a.ID, 0, time.Time{})
	if err := d.ds.RescheduleEscalation(d.ctx, r.ID+1000); guardian.ErrorCode(err) != guardian.ENOTFOUND {
		t.Errorf("RescheduleEscalation of an unknown referral: %v, want ENOTFOUND", err)
	}
}

// testEscalationMigration: referrals stored by a guardian of schema version
// 15, whose escalations were River's jobs, have their next step on their
// rows after the migration to version 16: level 1 at the deadline, level 2
// one acknowledge-within later, none once acknowledged or at the hub.
func testEscalationMigration(t *testing.T, e *env) {
	b := deliveryEnv(t, e).log.b
	ctx := t.Context()
	dsn, rep := storeAtVersion(t, b, 15)

	db := b.rawDB(t, dsn)
	now := b.timeValue(start)
	const ack = time.Hour
	deadline := start.Add(ack)
	var report int64
	if err := db.QueryRowContext(ctx, b.rebind(`INSERT INTO reports (reporter_id, state, opened_at, modified_at, finished_at,
		xml, document, sealed, wrapped_key) VALUES (?, 'finished', ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		rep.ID, now, now, now, []byte{}, []byte{}, true, nil).Scan(&report); err != nil {
		t.Fatal(err)
	}
	rows := []struct {
		agency, state string
		level         int
		want          int       // level due; 0 none
		at            time.Time // when
	}{
		{"mig-a", "delivered", 0, 1, deadline},
		{"mig-b", "opened", 1, 2, deadline.Add(ack)},
		{"mig-c", "delivered", 2, 0, time.Time{}},
		{"mig-d", "acknowledged", 0, 0, time.Time{}},
		{"mig-e", "new", 0, 0, time.Time{}},
	}
	ids := map[int64]int{}
	for i, r := range rows {
		var id int64
		if err := db.QueryRowContext(ctx, b.rebind(`INSERT INTO referrals (report_id, agency_id, network, countries, channel, reason, priority, label,
			handling_code, data_scope, acknowledge_within_us, retention_days, deadline, held, state, received_at, triaged_at, routed_at,
			delivered_at, updated_at, escalation) VALUES (?, ?, 'n', 'DE', 'direct', 'partner', '1', 'referral', 'x', '', ?, 365, ?, ?, ?,
			?, ?, ?, ?, ?, ?) RETURNING id`), report, r.agency, ack.Microseconds(), b.timeValue(deadline), false, r.state,
			now, now, now, now, now, r.level).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids[id] = i
	}
	// Priority 3 referrals delivered before the migration: the older
	// guardian scheduled their digests, and the sweep starts at the last
	// one's window, not the first's.
	lastDelivery := start.Add(-time.Minute).Truncate(time.Microsecond) // as stored
	for agency, at := range map[string]time.Time{"mig-f": lastDelivery, "mig-g": start.Add(-2 * time.Hour)} {
		mustExec(t, db, b.rebind(`INSERT INTO referrals (report_id, agency_id, network, countries, channel, reason, priority, label,
			handling_code, data_scope, acknowledge_within_us, retention_days, deadline, held, state, received_at, triaged_at, routed_at,
			delivered_at, acknowledged_at, updated_at) VALUES (?, ?, 'n', 'DE', 'direct', 'partner', '3', 'referral', 'x', '', ?, 365, ?, ?,
			'acknowledged', ?, ?, ?, ?, ?, ?)`), report, agency, ack.Microseconds(), b.timeValue(deadline), false,
			now, now, now, b.timeValue(at), now, now)
	}
	s := MustOpenDSN(t, b, dsn, sqlstore.Options{Migrate: true, Sealer: suiteSealer})
	if swept, err := s.DigestsSwept(ctx); err != nil || !swept.Equal(lastDelivery) {
		t.Errorf("digests swept from %v (%v) after the migration, want the last delivery's %v", swept, err, lastDelivery)
	}
	levels := func(at time.Time) map[int]int {
		due, err := s.DueEscalations(ctx, at, 100)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int]int{}
		for _, d := range due {
			out[ids[d.ReferralID]] = d.Level
		}
		return out
	}
	for i, r := range rows {
		if r.want == 0 {
			if l, ok := levels(start.Add(100 * ack))[i]; ok {
				t.Errorf("%s (%s, level %d) after the migration: level %d due, want none", r.agency, r.state, r.level, l)
			}
			continue
		}
		if l, ok := levels(r.at.Add(-time.Microsecond))[i]; ok {
			t.Errorf("%s after the migration: level %d due before %v", r.agency, l, r.at)
		}
		if l := levels(r.at)[i]; l != r.want {
			t.Errorf("%s after the migration: level %d due at %v, want %d", r.agency, l, r.at, r.want)
		}
	}
}

// testDigestSweep: DigestAgencies finds the agencies with a priority 2 or
// 3 referral delivered in a window (its start in, its end out; held ones
// once confirmed), in order, each once; DigestsSwept and MarkDigestsSwept
// keep a time that only moves forward.
func testDigestSweep(t *testing.T, e *env) {
	d := deliveryEnv(t, e)
	ours := func(agencies []string) []string {
		var out []string
		for _, a := range agencies {
			if strings.HasPrefix(a, "digest-") {
				out = append(out, a)
			}
		}
		return out
	}
	within := func(start, end time.Time) []string {
		t.Helper()
		got, err := d.ds.DigestAgencies(d.ctx, start, end)
		if err != nil {
			t.Fatal(err)
		}
		return ours(got)
	}
	t0 := d.now()
	refs := d.route(
		refSpec{agency: "digest-b", priority: guardian.Priority3},
		refSpec{agency: "digest-a", priority: guardian.Priority2},
		refSpec{agency: "digest-c", priority: guardian.Priority1},
		refSpec{agency: "digest-d", priority: guardian.Priority2, held: true})
	d.route(refSpec{agency: "digest-a", priority: guardian.Priority3})
	if got, want := within(t0, t0.Add(time.Microsecond)), []string{"digest-a", "digest-b"}; !slices.Equal(got, want) {
		t.Errorf("agencies at %v: %v, want %v (priority 1 and held ones left out)", t0, got, want)
	}
	if got := within(t0.Add(-time.Hour), t0); len(got) != 0 {
		t.Errorf("agencies before %v: %v, want none (a window's end is out)", t0, got)
	}
	d.clock.Advance(time.Minute)
	if _, err := d.ds.ConfirmReferral(d.ctx, refs[3].ID, hubEvent()); err != nil {
		t.Fatal(err)
	}
	if got, want := within(t0.Add(time.Minute), t0.Add(2*time.Minute)), []string{"digest-d"}; !slices.Equal(got, want) {
		t.Errorf("agencies when the held one was confirmed: %v, want %v", got, want)
	}

	swept, err := d.ds.DigestsSwept(d.ctx)
	if err != nil {
		t.Fatal(err)
	}
	next := t0.Add(15 * time.Minute)
	if swept.After(next) {
		next = swept.Add(15 * time.Minute)
	}
	for _, mark := range []time.Time{next, next.Add(-15 * time.Minute)} {
		if err := d.ds.MarkDigestsSwept(d.ctx, mark); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := d.ds.DigestsSwept(d.ctx); err != nil || !got.Equal(next) {
		t.Errorf("swept until %v (%v), want %v: an earlier mark changes nothing", got, err, next)
	}
}
