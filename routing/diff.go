package routing

import "slices"

// Status is where an existing referral stands, as far as re-routing cares.
// The referral's own states map onto it:
//
//	new (including waiting for an analyst's confirmation)   → Pending
//	delivered, opened, acknowledged, closed                 → Delivered
//	withdrawn                                               → Withdrawn
//	re-routed (the agency sent it back as not theirs)       → Declined
type Status string

const (
	// Pending: the referral exists but the agency has not received it.
	// It can still be withdrawn without the agency ever knowing.
	Pending Status = "pending"
	// Delivered: the agency has it. Withdrawing it cannot undo the
	// disclosure, so re-routing never does; it reports it as stale.
	Delivered Status = "delivered"
	// Withdrawn: withdrawn before delivery, by routing or by an analyst.
	Withdrawn Status = "withdrawn"
	// Declined: the agency returned it. Only an analyst can send it back.
	Declined Status = "declined"
)

// ExistingReferral is what Diff needs to know of a referral the report
// already has. A report has at most one referral per agency (the store
// keeps report × agency unique); the agency ID identifies it.
type ExistingReferral struct {
	AgencyID  string
	Countries []string
	Status    Status
}

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
	Withdraw []ExistingReferral
	// Stale: delivered referrals no longer intended. They are left as they
	// are, because the agency already has the report; an analyst decides
	// whether to tell the agency. Stale entries are not work: they come
	// back on every Diff until the referral is closed or intended again.
	Stale []ExistingReferral
}

// Empty reports whether the plan changes nothing. Stale referrals do not
// count: they call for an analyst, not for a change.
func (p Plan) Empty() bool {
	return len(p.Add) == 0 && len(p.Reinstate) == 0 && len(p.Update) == 0 && len(p.Withdraw) == 0
}

// Diff compares the referrals a report has with the intents of a fresh
// [Route] and says what to change. It never adds a referral for an agency
// that already has one in any state, and never plans two actions for one
// agency, even if existing or intended list an agency twice (the first
// intent counts, and the liveliest referral: delivered, pending, declined,
// withdrawn).
//
// The rules, for each agency:
//
//	existing \ intended   yes                                no
//	none                  Add                                -
//	Pending               Update if countries differ         Withdraw
//	Delivered             Update if countries differ         Stale
//	Withdrawn             Reinstate                          -
//	Declined              Reinstate if Reason is analyst     -
//
// A referral with any other status is left alone: Diff never plans an
// addition for its agency.
//
// Analysts' overrides reach Diff through the intents: a forced withdrawal
// removes the agency from them (so a pending referral is withdrawn and a
// withdrawn one stays so), a forced addition keeps it there.
func Diff(existing []ExistingReferral, intended []Intent) Plan {
	var p Plan
	have := make(map[string]ExistingReferral, len(existing))
	for _, r := range existing {
		if prev, ok := have[r.AgencyID]; !ok || liveliness(r.Status) > liveliness(prev.Status) {
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
		switch {
		case !ok:
			p.Add = append(p.Add, in)
		case r.Status == Pending || r.Status == Delivered:
			if !sameCountries(r.Countries, in.Countries) {
				p.Update = append(p.Update, in)
			}
		case r.Status == Withdrawn:
			p.Reinstate = append(p.Reinstate, in)
		case r.Status == Declined && in.Reason == ReasonAnalyst:
			p.Reinstate = append(p.Reinstate, in)
		}
	}
	done := make(map[string]bool, len(existing))
	for _, r := range existing {
		if want[r.AgencyID] || done[r.AgencyID] {
			continue
		}
		done[r.AgencyID] = true
		switch r = have[r.AgencyID]; r.Status {
		case Pending:
			p.Withdraw = append(p.Withdraw, r)
		case Delivered:
			p.Stale = append(p.Stale, r)
		}
	}
	return p
}

// liveliness orders statuses for choosing among duplicates: the one that
// matters most for what the agency knows wins.
func liveliness(s Status) int {
	switch s {
	case Delivered:
		return 4
	case Pending:
		return 3
	case Declined:
		return 2
	case Withdrawn:
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
