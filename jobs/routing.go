package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/geo"
	"github.com/guardian-network/guardian/routing"
	"github.com/guardian-network/guardian/triage"
)

// RoutingStore is what a [Router] needs of the store.
type RoutingStore interface {
	FindReportByID(ctx context.Context, id int64) (*guardian.Report, error)
	guardian.RoutingStore
}

// Router triages a finished report and routes it: it resolves the report's
// jurisdiction, assesses it, decides its referrals on the network in force
// and the analysts' overrides, and stores all of it in one transaction with
// its audit events. Routing a report again changes only what the evidence
// or an analyst changed: never a second referral to one agency.
type Router struct {
	Store RoutingStore
	// Network returns the network in force (network.Reloader.Network).
	Network func() *guardian.Network
	Geo     geo.Resolver
	// Now is the clock of the triage time; nil means guardian.SystemClock.
	Now guardian.Clock
	// Routed, if set, is called after a report's routing is committed
	// (for metrics and benchmarks).
	Routed func(reportID int64)
}

// Confidence thresholds of [Locations].
const (
	// ConfidentTop is the confidence above which the first country is
	// routed without an analyst (docs/triage.md: 0.4 to 0.7 "needs a look",
	// but is routed; below 0.4 the location is a lead, not an answer).
	ConfidentTop = 0.4
	// ConfidentOther is the support × markers a further country needs on
	// its own evidence: one fresh upload address (0.71) is enough.
	ConfidentOther = 0.7
	supportScale   = 8 // as in triage's rules
)

// Locations turns an assessment into routing's locations. The first
// country is confident when the assessment's confidence is at least
// ConfidentTop; each further country when the first is and its own
// evidence's support times the markers factor is at least ConfidentOther.
func Locations(a *guardian.Assessment) []routing.Location {
	markers := 1.0
	for _, f := range a.ConfidenceFactors {
		if f.Name == "markers" {
			markers = f.Value
		}
	}
	locs := make([]routing.Location, 0, len(a.Countries))
	top := a.Confidence >= ConfidentTop
	for i, c := range a.Countries {
		conf := top
		if i > 0 {
			conf = top && (1-math.Exp(-c.Weight/supportScale))*markers >= ConfidentOther
		}
		locs = append(locs, routing.Location{Country: c.Country, Score: c.Score, Confident: conf})
	}
	return locs
}

// Route triages and routes the report; actor is the system for the
// pipeline, an analyst for a decision, who must give a justification
// (recorded on the events). It is idempotent.
func (r *Router) Route(ctx context.Context, reportID int64, actor guardian.Actor, justification string) error {
	rep, err := r.Store.FindReportByID(ctx, reportID)
	if err != nil {
		return err
	}
	if rep.State != guardian.ReportFinished || rep.FinishedAt == nil {
		return guardian.Errorf(guardian.EREPORTNOTFOUND, "Report %d is not finished.", reportID)
	}
	var doc guardian.ReportDocument
	if err := json.Unmarshal(rep.Document, &doc); err != nil {
		return fmt.Errorf("decode report %d: %w", reportID, err)
	}
	files := make([]*guardian.FileDetails, len(rep.Files))
	for i, f := range rep.Files {
		if len(f.Details) == 0 {
			continue
		}
		files[i] = new(guardian.FileDetails)
		if err := json.Unmarshal(f.Details, files[i]); err != nil {
			return fmt.Errorf("decode file details %s: %w", f.ID, err)
		}
	}
	a := triage.Resolve(&doc, files, r.Geo)
	t := triage.Assess(&doc, files, a)
	now := guardian.SystemClock
	if r.Now != nil {
		now = r.Now
	}
	triagedAt := now()
	n := r.Network()
	locs := Locations(&a)
	err = r.Store.RouteReport(ctx, reportID, actor, n.Digest, *rep.FinishedAt, triagedAt, func(st *guardian.RoutingState) (*guardian.RoutingUpdate, error) {
		overrides := make([]routing.Override, len(st.Overrides))
		for i, o := range st.Overrides {
			overrides[i] = routing.Override{AgencyID: o.AgencyID, Action: routing.OverrideAction(o.Action)}
		}
		d := routing.Route(n, locs, overrides)
		existing := make([]routing.ExistingReferral, len(st.Referrals))
		for i, ref := range st.Referrals {
			existing[i] = routing.ExistingReferral{AgencyID: ref.AgencyID, Countries: ref.Countries, Status: status(ref.State)}
		}
		plan := routing.Diff(existing, d.Intents)
		u := &guardian.RoutingUpdate{Assessment: &a, Triage: &t, Review: d.Review || t.NeedsAnalyst, Justification: justification}
		notes := d.Notes
		if t.NeedsAnalyst {
			notes = append(notes, "triage: needs an analyst (priority "+string(t.Priority)+")")
		}
		u.ReviewReason = strings.Join(notes, "; ")
		for _, in := range plan.Add {
			ref, err := referralOf(in, &t)
			if err != nil {
				return nil, err
			}
			u.Create = append(u.Create, ref)
		}
		for _, in := range plan.Reinstate {
			ref, err := referralOf(in, &t)
			if err != nil {
				return nil, err
			}
			u.Reinstate = append(u.Reinstate, ref)
		}
		for _, in := range plan.Update {
			u.Update = append(u.Update, &guardian.Referral{AgencyID: in.AgencyID, Countries: in.Countries})
		}
		for _, w := range plan.Withdraw {
			u.Withdraw = append(u.Withdraw, w.AgencyID)
		}
		return u, nil
	})
	if err != nil {
		return err
	}
	if r.Routed != nil {
		r.Routed(reportID)
	}
	return nil
}

// referralOf makes the referral of an intent for a report triaged as t.
func referralOf(in routing.Intent, t *guardian.Triage) (*guardian.Referral, error) {
	terms, ok := in.Terms(string(t.Priority))
	if !ok {
		return nil, fmt.Errorf("agreement of %s has no deadline for priority %q", in.AgencyID, t.Priority)
	}
	countries := in.Countries
	if countries == nil {
		countries = []string{}
	}
	return &guardian.Referral{
		AgencyID: in.AgencyID, Countries: countries, Channel: in.Channel, Reason: string(in.Reason),
		Priority: t.Priority, Label: t.Label, HandlingCode: terms.HandlingCode, DataScope: terms.DataScope,
		AcknowledgeWithin: terms.AcknowledgeWithin, RetentionDays: terms.RetentionDays,
		HeldForConfirmation: terms.Confirm,
	}, nil
}

// status maps a referral's state onto what re-routing cares about.
func status(s guardian.ReferralState) routing.Status {
	switch s {
	case guardian.ReferralNew:
		return routing.Pending
	case guardian.ReferralWithdrawn:
		return routing.Withdrawn
	case guardian.ReferralRerouted:
		return routing.Declined
	}
	return routing.Delivered
}
