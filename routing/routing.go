// Package routing decides which agencies receive a report, and applies the
// decision.
//
// The decisions are pure logic: they read a [guardian.Network] and the
// report's resolved locations and return intentions, and they compare
// intentions with the referrals that already exist to say what to create,
// withdraw or leave. They store nothing, send nothing and never fail. Two
// functions make them:
//
//   - [Route] turns the ranked locations of a report, and any analyst
//     overrides, into a [Decision]: one [Intent] per agency that should
//     receive the report, and whether the report goes to the analysts'
//     queue.
//   - [Diff] compares those intents with the report's existing referrals and
//     returns a [Plan]. Applying the plan and diffing again yields an empty
//     plan, so routing can be re-run whenever evidence changes or an analyst
//     decides, without ever creating a second referral to one agency.
//
// [Service] is the one part with I/O: for a finished report it runs triage,
// Route and Diff, and has the store apply the result in one transaction with
// its audit events. The triage workers (jobs.Pipeline, which take finished
// reports from the store's routing queue) and an analyst's decision both
// call [Service.RouteReport].
//
// The vocabulary routing shares with the store and the API is typed in
// package guardian: [guardian.OverrideAction], [guardian.ReferralReason] and
// [guardian.RoutingStatus] (from [guardian.ReferralState.RoutingStatus]).
//
// docs/routing.md describes the rules for operators.
package routing

import (
	"fmt"
	"slices"
	"time"

	"github.com/guardian-network/guardian"
)

// Location is one country where the report's jurisdiction resolution
// places the child, the suspect or the offence.
type Location struct {
	Country string // ISO 3166-1 alpha-2
	// Score is the resolver's weight of the evidence. Routing does not use
	// it: the order of the locations is the ranking. It is carried for the
	// record.
	Score float64
	// Confident says the evidence is strong enough to refer the report to
	// this country without an analyst looking first; triage decides it
	// (triage.Confident).
	Confident bool
}

// Intent is one referral that routing wants to exist.
type Intent struct {
	AgencyID  string
	Agreement *guardian.Agreement // its terms: data scope, handling code, deadlines
	// Countries are the report's countries the agency receives it for, in
	// rank order: several when one agency covers several of them (two
	// countries under one liaison office give one referral listing both).
	// Empty for a report without location.
	Countries []string
	Channel   guardian.Channel
	Reason    guardian.ReferralReason
	// Confirm holds the referral until an analyst confirms it: the
	// agreement asks for that, or routing had no confident location.
	Confirm bool
}

// Terms are what a referral made from an intent carries, for a report of a
// given priority.
type Terms struct {
	HandlingCode      string // the default; an analyst may choose another
	DataScope         guardian.DataScope
	AcknowledgeWithin time.Duration
	RetentionDays     int
	Confirm           bool // wait for an analyst before delivery
}

// Terms returns the terms of a referral made from the intent for a report
// of the given priority ("E", "1", "2" or "3"), and false for another
// priority.
func (in Intent) Terms(priority string) (Terms, bool) {
	d, ok := in.Agreement.AcknowledgeDeadline(priority)
	if !ok {
		return Terms{}, false
	}
	return Terms{
		HandlingCode:      in.Agreement.HandlingCode,
		DataScope:         in.Agreement.DataScope,
		AcknowledgeWithin: d,
		RetentionDays:     in.Agreement.RetentionDays,
		Confirm:           in.Confirm,
	}, true
}

// Decision is the result of [Route].
type Decision struct {
	// Network is the digest of the network routing used, for the record:
	// referrals and audit events can name the version of the agreements
	// they were made under.
	Network string
	// Intents has one entry per agency, ordered by the best-ranked country
	// each serves; analysts' additions come last, in the order given.
	Intents []Intent
	// Review puts the report in the analysts' queue: it has no location,
	// or no confident one, or an override could not be applied.
	Review bool
	// Notes say in words why Review is set and what routing left out, for
	// the analyst and the audit record.
	Notes []string
}

// Route decides which agencies should receive a report, from its ranked
// locations (best first) and the analysts' overrides (oldest first; for each
// agency the last one counts). Overrides are read for their AgencyID and
// Action only.
//
// For each confident location, the agency is the partner whose direct
// agreement covers the country, else the liaison office whose agreement
// covers it, else the fallback; a country covered by the domestic agreement
// goes to the domestic agency. Locations that lead to one agency make one
// intent listing all their countries.
//
// With locations but none confident, the best-ranked one is routed as above
// but held for an analyst's confirmation, and the report is queued for
// review: sending it to the wrong country discloses it, waiting does not.
// Without any usable location, the report goes to the domestic agency and
// to the analysts' queue.
//
// Countries that are not two capital letters are ignored with a note; codes
// of that shape that no agreement covers go to the fallback.
func Route(n *guardian.Network, locations []Location, overrides []*guardian.RoutingOverride) Decision {
	d := Decision{Network: n.Digest}
	var valid []Location
	seen := make(map[string]bool)
	for _, l := range locations {
		if !isCountryCode(l.Country) {
			d.note("location %q is not an ISO 3166-1 alpha-2 code; ignored", l.Country)
			continue
		}
		if !seen[l.Country] {
			seen[l.Country] = true
			valid = append(valid, l)
		}
	}

	var routed []string
	unconfident := false
	for _, l := range valid {
		if l.Confident {
			routed = append(routed, l.Country)
		}
	}
	if len(routed) == 0 && len(valid) > 0 {
		routed = []string{valid[0].Country}
		unconfident = true
		d.note("no confident location: the best candidate, %s, is held for an analyst's confirmation", valid[0].Country)
	}

	byAgency := make(map[string]int) // agency ID → index in d.Intents
	for _, c := range routed {
		ag := n.AgreementFor(c)
		if i, ok := byAgency[ag.Agency]; ok {
			d.Intents[i].Countries = append(d.Intents[i].Countries, c)
			continue
		}
		byAgency[ag.Agency] = len(d.Intents)
		d.Intents = append(d.Intents, Intent{
			AgencyID:  ag.Agency,
			Agreement: ag,
			Countries: []string{c},
			Channel:   ag.Channel,
			Reason:    reasonFor(n, ag),
			Confirm:   ag.Dispatch == guardian.DispatchConfirm || unconfident,
		})
	}
	if len(valid) == 0 {
		ag := n.DomesticAgreement()
		byAgency[ag.Agency] = len(d.Intents)
		d.Intents = append(d.Intents, Intent{
			AgencyID:  ag.Agency,
			Agreement: ag,
			Channel:   ag.Channel,
			Reason:    guardian.ReasonNoLocation,
			Confirm:   ag.Dispatch == guardian.DispatchConfirm,
		})
		d.note("no location: referred to the domestic agency %s and queued for an analyst", ag.Agency)
	}

	d.applyOverrides(n, overrides, valid, byAgency)
	return d
}

// applyOverrides folds the analysts' decisions into the intents.
func (d *Decision) applyOverrides(n *guardian.Network, overrides []*guardian.RoutingOverride, valid []Location, byAgency map[string]int) {
	last := make(map[string]guardian.OverrideAction)
	var order []string
	for _, o := range overrides {
		if _, ok := last[o.AgencyID]; !ok {
			order = append(order, o.AgencyID)
		}
		last[o.AgencyID] = o.Action
	}
	withdrawn := make(map[string]bool)
	for _, id := range order {
		switch last[id] {
		case guardian.OverrideWithdraw:
			withdrawn[id] = true
		case guardian.OverrideAdd:
			if i, ok := byAgency[id]; ok {
				// The analyst's word is the confirmation.
				d.Intents[i].Confirm = false
				continue
			}
			ag, ok := n.AgreementOf(id)
			if !ok {
				d.note("an analyst added agency %q, which is not in the network (any more); not routed", id)
				continue
			}
			var countries []string
			for _, l := range valid {
				if ag.Covers(l.Country) {
					countries = append(countries, l.Country)
				}
			}
			byAgency[id] = len(d.Intents)
			d.Intents = append(d.Intents, Intent{
				AgencyID:  id,
				Agreement: ag,
				Countries: countries,
				Channel:   ag.Channel,
				Reason:    guardian.ReasonAnalyst,
			})
		case guardian.OverrideClear:
		default:
			d.note("override %q of agency %q is unknown; ignored", last[id], id)
		}
	}
	if len(withdrawn) > 0 {
		d.Intents = slices.DeleteFunc(d.Intents, func(in Intent) bool { return withdrawn[in.AgencyID] })
	}
}

func (d *Decision) note(format string, args ...any) {
	d.Review = true
	d.Notes = append(d.Notes, fmt.Sprintf(format, args...))
}

func reasonFor(n *guardian.Network, ag *guardian.Agreement) guardian.ReferralReason {
	a, _ := n.Agency(ag.Agency) // NewNetwork guarantees it exists
	switch a.Kind {
	case guardian.AgencyLiaison:
		return guardian.ReasonLiaison
	case guardian.AgencyFallback:
		return guardian.ReasonFallback
	case guardian.AgencyDomestic:
		return guardian.ReasonDomestic
	}
	return guardian.ReasonPartner
}

// isCountryCode checks the shape of an ISO 3166-1 alpha-2 code. Whether the
// code is assigned is the resolver's concern; an unassigned one reaches the
// fallback, whose analysts will notice.
func isCountryCode(s string) bool {
	return len(s) == 2 && 'A' <= s[0] && s[0] <= 'Z' && 'A' <= s[1] && s[1] <= 'Z'
}
