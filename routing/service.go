package routing

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/geo"
	"github.com/guardian-network/guardian/triage"
)

// Store is what a [Service] needs of the store: the finished report, and
// the routing transaction that applies its decision.
type Store interface {
	FindReportByID(ctx context.Context, id int64) (*guardian.Report, error)
	guardian.RoutingStore
}

// Service turns a finished report into stored referrals: it resolves the
// report's jurisdiction and triages it (package triage), decides its
// referrals with [Route] and [Diff] on the network in force and the
// analysts' overrides, and has the store apply all of it in one
// transaction with its audit events ([guardian.RoutingStore.RouteReport]).
// Routing a report again changes only what the evidence or an analyst
// changed: never a second referral to one agency.
//
// A Service is safe for concurrent use once built; the job that routes
// finished reports (jobs.Pipeline) and an analyst's decision call the
// same [Service.RouteReport].
type Service struct {
	Store Store
	// Network returns the network in force (network.Reloader.Network).
	Network func() *guardian.Network
	Geo     geo.Resolver
	// Now is the clock of the triage time; nil means guardian.SystemClock.
	Now guardian.Clock
	// Routed, if set, is called after a report's routing is committed
	// (for metrics and benchmarks).
	Routed func(reportID int64)
	// Known, if set, finds the report's files in the hash lists
	// (hashlist.Matcher): triage then applies the known-content rules and
	// keeps the matches, and the store records them for bundling in the
	// routing's transaction (guardian.RoutingUpdate.RecordHashMatches).
	// Nil triages without the lists.
	Known KnownMatcher
}

// KnownMatcher finds files in the hash lists (hashlist.Matcher).
type KnownMatcher interface {
	MatchFiles(ctx context.Context, files []*guardian.File) (*guardian.KnownContent, error)
}

// RouteReport triages and routes a finished report; actor is the system
// for the pipeline, an analyst for a decision, who must give a
// justification (recorded on the events). It is idempotent. A report that
// does not exist or is not finished is EREPORTNOTFOUND, now and later.
func (s *Service) RouteReport(ctx context.Context, reportID int64, actor guardian.Actor, justification string) error {
	rep, doc, files, err := s.findFinished(ctx, reportID)
	if err != nil {
		return err
	}
	a := triage.Resolve(doc, files, s.Geo)
	var known *guardian.KnownContent
	var fileIDs []string
	if s.Known != nil {
		fileIDs = make([]string, len(rep.Files))
		for i, f := range rep.Files {
			fileIDs[i] = f.ID
		}
		if known, err = s.Known.MatchFiles(ctx, rep.Files); err != nil {
			return fmt.Errorf("route report %d: %w", reportID, err)
		}
	}
	t := triage.AssessKnown(doc, files, fileIDs, a, known)
	now := guardian.SystemClock
	if s.Now != nil {
		now = s.Now
	}
	triagedAt := now()
	n := s.Network()
	locs := locations(&a)
	err = s.Store.RouteReport(ctx, reportID, actor, n.Digest, *rep.FinishedAt, triagedAt, func(st *guardian.RoutingState) (*guardian.RoutingUpdate, error) {
		u, err := update(Route(n, locs, st.Overrides), st.Referrals, &a, &t)
		if err != nil {
			return nil, err
		}
		u.Justification = justification
		if known != nil {
			// Recorded in the routing's transaction: one write, and a
			// routing never stored without its matches.
			u.RecordHashMatches, u.HashMatches = true, known.Matches
		}
		return u, nil
	})
	if err != nil {
		return err
	}
	if s.Routed != nil {
		s.Routed(reportID)
	}
	return nil
}

// findFinished reads a finished report and decodes its document and its
// files' details (nil for a file without).
func (s *Service) findFinished(ctx context.Context, reportID int64) (*guardian.Report, *guardian.ReportDocument, []*guardian.FileDetails, error) {
	rep, err := s.Store.FindReportByID(ctx, reportID)
	if err != nil {
		return nil, nil, nil, err
	}
	if rep.State != guardian.ReportFinished || rep.FinishedAt == nil {
		return nil, nil, nil, guardian.Errorf(guardian.EREPORTNOTFOUND, "Report %d is not finished.", reportID)
	}
	var doc guardian.ReportDocument
	if err := json.Unmarshal(rep.Document, &doc); err != nil {
		return nil, nil, nil, fmt.Errorf("decode report %d: %w", reportID, err)
	}
	files := make([]*guardian.FileDetails, len(rep.Files))
	for i, f := range rep.Files {
		if len(f.Details) == 0 {
			continue
		}
		files[i] = new(guardian.FileDetails)
		if err := json.Unmarshal(f.Details, files[i]); err != nil {
			return nil, nil, nil, fmt.Errorf("decode file details %s: %w", f.ID, err)
		}
	}
	return rep, &doc, files, nil
}

// locations turns an assessment into routing's locations, confident as
// triage decides ([triage.Confident]).
func locations(a *guardian.Assessment) []Location {
	confident := triage.Confident(a)
	locs := make([]Location, len(a.Countries))
	for i, c := range a.Countries {
		locs[i] = Location{Country: c.Country, Score: c.Score, Confident: confident[i]}
	}
	return locs
}

// update is what the store must change for decision d, given the report's
// referrals, assessment a and triage t.
func update(d Decision, existing []*guardian.Referral, a *guardian.Assessment, t *guardian.Triage) (*guardian.RoutingUpdate, error) {
	plan := Diff(existing, d.Intents)
	u := &guardian.RoutingUpdate{Assessment: a, Triage: t, Review: d.Review || t.NeedsAnalyst, ReviewReason: reviewReason(d, t)}
	var err error
	if u.Create, err = referrals(plan.Add, t); err != nil {
		return nil, err
	}
	if u.Reinstate, err = referrals(plan.Reinstate, t); err != nil {
		return nil, err
	}
	for _, in := range plan.Update {
		u.Update = append(u.Update, &guardian.Referral{AgencyID: in.AgencyID, Countries: in.Countries})
	}
	for _, r := range plan.Withdraw {
		u.Withdraw = append(u.Withdraw, r.AgencyID)
	}
	return u, nil
}

// reviewReason says why the report goes to the analysts' queue: routing's
// notes, and triage's call for an analyst.
func reviewReason(d Decision, t *guardian.Triage) string {
	notes := d.Notes
	if t.NeedsAnalyst {
		notes = append(notes, "triage: needs an analyst (priority "+string(t.Priority)+")")
	}
	return strings.Join(notes, "; ")
}

// referrals makes the referrals of intents for a report triaged as t.
func referrals(intents []Intent, t *guardian.Triage) ([]*guardian.Referral, error) {
	var out []*guardian.Referral
	for _, in := range intents {
		ref, err := referralOf(in, t)
		if err != nil {
			return nil, err
		}
		out = append(out, ref)
	}
	return out, nil
}

// referralOf makes the referral of an intent for a report triaged as t.
func referralOf(in Intent, t *guardian.Triage) (*guardian.Referral, error) {
	terms, ok := in.Terms(string(t.Priority))
	if !ok {
		return nil, fmt.Errorf("agreement of %s has no deadline for priority %q", in.AgencyID, t.Priority)
	}
	countries := in.Countries
	if countries == nil {
		countries = []string{}
	}
	return &guardian.Referral{
		AgencyID: in.AgencyID, Countries: countries, Channel: in.Channel, Reason: in.Reason,
		Priority: t.Priority, Label: t.Label, HandlingCode: terms.HandlingCode, DataScope: terms.DataScope,
		AcknowledgeWithin: terms.AcknowledgeWithin, RetentionDays: terms.RetentionDays,
		HeldForConfirmation: terms.Confirm,
	}, nil
}
