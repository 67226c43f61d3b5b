package routing

import (
	"slices"

	"github.com/guardian-network/guardian"
)

// Plan is what re-routing asks the caller to do. Applying it, then calling
// Diff again with the referrals as they now are, yields a Plan with nothing
// to do.
type Plan struct {
	// Add: no referral to the agency exists; create one, pending.
	Add []Intent
	// Reinstate: the agency's referral was withdrawn (or declined, and an
	// analyst sends it back); make that same referral pending again with
	// the intent's countries and terms.
	Reinstate []Intent
	// Update: a pending or delivered referral stays, but the countries it
	// is for changed; record the intent's countries on it.
	Update []Intent
	// Withdraw: pending referrals no longer intended; withdraw them.
	Withdraw []*guardian.Referral
	// Stale: delivered referrals no longer intended. They are left as they
	// are, because the agency already has the report; an analyst decides
	// whether to tell the agency. Stale entries are not work: they come
	// back on every Diff until the referral is closed or intended again.
	Stale []*guardian.Referral
}

// Empty reports whether the plan changes nothing. Stale referrals do not
// count: they call for an analyst, not for a change.
func (p Plan) Empty() bool {
	return len(p.Add) == 0 && len(p.Reinstate) == 0 && len(p.Update) == 0 && len(p.Withdraw) == 0
}

// Diff compares the referrals a report has with the intents of a fresh
// [Route] and says what to change. Of each existing referral it reads the
// agency, the countries and the state's [guardian.RoutingStatus]; a report
// has at most one referral per agency (the store keeps report × agency
// unique), so the agency identifies it. Diff never adds a referral for an
// agency that already has one in any state, and never plans two actions for
// one agency, even if existing or intended list an agency twice (the first
// intent counts, and the liveliest referral: delivered, pending, declined,
// withdrawn).
//
// The rules, for each agency, by the existing referral's status:
//
//	existing \ intended   yes                                no
//	none                  Add                                -
//	pending               Update if countries differ         Withdraw
//	delivered             Update if countries differ         Stale
//	withdrawn             Reinstate                          -
//	declined              Reinstate if Reason is analyst     -
//
// Every state maps onto one of these statuses, so Diff never plans an
// addition for an agency that has a referral.
//
// Analysts' overrides reach Diff through the intents: a forced withdrawal
// removes the agency from them (so a pending referral is withdrawn and a
// withdrawn one stays so), a forced addition keeps it there.
func Diff(existing []*guardian.Referral, intended []Intent) Plan {
	var p Plan
	have := make(map[string]*guardian.Referral, len(existing))
	for _, r := range existing {
		if prev, ok := have[r.AgencyID]; !ok || liveliness(r.State) > liveliness(prev.State) {
			have[r.AgencyID] = r
		}
	}
	want := make(map[string]bool, len(intended))
	for _, in := range intended {
		if want[in.AgencyID] {
			continue
		}
		want[in.AgencyID] = true
		r, ok := have[in.AgencyID]
		if !ok {
			p.Add = append(p.Add, in)
			continue
		}
		switch r.State.RoutingStatus() {
		case guardian.RoutingPending, guardian.RoutingDelivered:
			if !sameCountries(r.Countries, in.Countries) {
				p.Update = append(p.Update, in)
			}
		case guardian.RoutingWithdrawn:
			p.Reinstate = append(p.Reinstate, in)
		case guardian.RoutingDeclined:
			if in.Reason == guardian.ReasonAnalyst {
				p.Reinstate = append(p.Reinstate, in)
			}
		}
	}
	done := make(map[string]bool, len(existing))
	for _, r := range existing {
		if want[r.AgencyID] || done[r.AgencyID] {
			continue
		}
		done[r.AgencyID] = true
		switch r = have[r.AgencyID]; r.State.RoutingStatus() {
		case guardian.RoutingPending:
			p.Withdraw = append(p.Withdraw, r)
		case guardian.RoutingDelivered:
			p.Stale = append(p.Stale, r)
		}
	}
	return p
}

// liveliness orders states for choosing among duplicates: the one that
// matters most for what the agency knows wins.
func liveliness(s guardian.ReferralState) int {
	switch s.RoutingStatus() {
	case guardian.RoutingDelivered:
		return 4
	case guardian.RoutingPending:
		return 3
	case guardian.RoutingDeclined:
		return 2
	case guardian.RoutingWithdrawn:
		return 1
	}
	return 0
}

func sameCountries(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
