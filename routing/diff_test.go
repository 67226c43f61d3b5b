package routing_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/routing"
)

// agencies names the agencies of a list of intents or referrals, for compact
// comparisons.
func agencies[T routing.Intent | *guardian.Referral](items []T) []string {
	var ids []string
	for _, it := range items {
		switch v := any(it).(type) {
		case routing.Intent:
			ids = append(ids, v.AgencyID)
		case *guardian.Referral:
			ids = append(ids, v.AgencyID)
		}
	}
	return ids
}

func TestDiff(t *testing.T) {
	intent := func(id string, reason guardian.ReferralReason, countries ...string) routing.Intent {
		return routing.Intent{AgencyID: id, Reason: reason, Countries: countries}
	}
	ref := func(id string, s guardian.ReferralState, countries ...string) *guardian.Referral {
		return &guardian.Referral{AgencyID: id, State: s, Countries: countries}
	}
	type want struct{ Add, Reinstate, Update, Withdraw, Stale []string }
	for _, tt := range []struct {
		name     string
		existing []*guardian.Referral
		intended []routing.Intent
		want     want
	}{{
		name:     "FirstRouting",
		intended: []routing.Intent{intent("a", guardian.ReasonPartner, "PY"), intent("b", guardian.ReasonLiaison, "BR")},
		want:     want{Add: []string{"a", "b"}},
	}, {
		name:     "NothingChanged",
		existing: []*guardian.Referral{ref("a", guardian.ReferralNew, "PY"), ref("b", guardian.ReferralDelivered, "BR")},
		intended: []routing.Intent{intent("a", guardian.ReasonPartner, "PY"), intent("b", guardian.ReasonLiaison, "BR")},
	}, {
		name:     "NewEvidenceAddsAgency",
		existing: []*guardian.Referral{ref("a", guardian.ReferralDelivered, "PY")},
		intended: []routing.Intent{intent("a", guardian.ReasonPartner, "PY"), intent("b", guardian.ReasonLiaison, "BR")},
		want:     want{Add: []string{"b"}},
	}, {
		name:     "NewCountryUnderSameAgencyUpdates",
		existing: []*guardian.Referral{ref("b", guardian.ReferralNew, "BR")},
		intended: []routing.Intent{intent("b", guardian.ReasonLiaison, "BR", "CL")},
		want:     want{Update: []string{"b"}},
	}, {
		name:     "CountryOrderIsNoChange",
		existing: []*guardian.Referral{ref("b", guardian.ReferralNew, "CL", "BR")},
		intended: []routing.Intent{intent("b", guardian.ReasonLiaison, "BR", "CL")},
	}, {
		name:     "PendingNoLongerIntendedIsWithdrawn",
		existing: []*guardian.Referral{ref("a", guardian.ReferralNew, "PY")},
		want:     want{Withdraw: []string{"a"}},
	}, {
		name:     "DeliveredNoLongerIntendedIsStale",
		existing: []*guardian.Referral{ref("a", guardian.ReferralDelivered, "PY")},
		want:     want{Stale: []string{"a"}},
	}, {
		name:     "WithdrawnIntendedAgainIsReinstated",
		existing: []*guardian.Referral{ref("a", guardian.ReferralWithdrawn, "PY")},
		intended: []routing.Intent{intent("a", guardian.ReasonPartner, "PY")},
		want:     want{Reinstate: []string{"a"}},
	}, {
		name:     "WithdrawnNotIntendedStays",
		existing: []*guardian.Referral{ref("a", guardian.ReferralWithdrawn, "PY")},
	}, {
		name:     "DeclinedIsNotResentByRouting",
		existing: []*guardian.Referral{ref("a", guardian.ReferralRerouted, "PY")},
		intended: []routing.Intent{intent("a", guardian.ReasonPartner, "PY")},
	}, {
		name:     "DeclinedIsResentByAnalyst",
		existing: []*guardian.Referral{ref("a", guardian.ReferralRerouted, "PY")},
		intended: []routing.Intent{intent("a", guardian.ReasonAnalyst, "PY")},
		want:     want{Reinstate: []string{"a"}},
	}, {
		name:     "OpenedAcknowledgedClosedCountAsDelivered",
		existing: []*guardian.Referral{ref("a", guardian.ReferralOpened, "PY"), ref("b", guardian.ReferralAcknowledged, "BR"), ref("c", guardian.ReferralClosed, "CL")},
		intended: []routing.Intent{intent("a", guardian.ReasonPartner, "PY", "AR")},
		want:     want{Update: []string{"a"}, Stale: []string{"b", "c"}},
	}, {
		name:     "DuplicateIntentsAddOnce",
		intended: []routing.Intent{intent("a", guardian.ReasonPartner, "PY"), intent("a", guardian.ReasonAnalyst)},
		want:     want{Add: []string{"a"}},
	}, {
		name:     "DuplicateReferralsLivelierCounts",
		existing: []*guardian.Referral{ref("a", guardian.ReferralWithdrawn, "PY"), ref("a", guardian.ReferralDelivered, "PY")},
		want:     want{Stale: []string{"a"}},
	}, {
		name:     "DuplicateReferralsNeverAdded",
		existing: []*guardian.Referral{ref("a", guardian.ReferralWithdrawn, "PY"), ref("a", guardian.ReferralNew, "PY")},
		intended: []routing.Intent{intent("a", guardian.ReasonPartner, "PY")},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			p := routing.Diff(tt.existing, tt.intended)
			got := want{agencies(p.Add), agencies(p.Reinstate), agencies(p.Update), agencies(p.Withdraw), agencies(p.Stale)}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

// referralStore is a report's referrals as a store keeps them: one per
// agency. apply fails the test if a plan would break that.
type referralStore map[string]*guardian.Referral

// list returns copies of the referrals, as a store reads them.
func (s referralStore) list() []*guardian.Referral {
	var out []*guardian.Referral
	for _, id := range slices.Sorted(maps.Keys(s)) {
		r := *s[id]
		out = append(out, &r)
	}
	return out
}

func (s referralStore) String() string {
	var out []string
	for _, r := range s.list() {
		out = append(out, fmt.Sprintf("%s:%s%v", r.AgencyID, r.State, r.Countries))
	}
	return fmt.Sprint(out)
}

func (s referralStore) apply(t *testing.T, p routing.Plan) {
	t.Helper()
	seen := make(map[string]bool)
	once := func(id string) {
		if seen[id] {
			t.Fatalf("plan acts twice on agency %s: %+v", id, p)
		}
		seen[id] = true
	}
	for _, in := range p.Add {
		once(in.AgencyID)
		if _, ok := s[in.AgencyID]; ok {
			t.Fatalf("plan adds a second referral to agency %s", in.AgencyID)
		}
		s[in.AgencyID] = &guardian.Referral{AgencyID: in.AgencyID, Countries: in.Countries, State: guardian.ReferralNew}
	}
	for _, in := range p.Reinstate {
		once(in.AgencyID)
		r := s[in.AgencyID]
		if r == nil || (r.State.RoutingStatus() != guardian.RoutingWithdrawn && r.State.RoutingStatus() != guardian.RoutingDeclined) {
			t.Fatalf("plan reinstates agency %s from %+v", in.AgencyID, r)
		}
		r.State, r.Countries = guardian.ReferralNew, in.Countries
	}
	for _, in := range p.Update {
		once(in.AgencyID)
		r := s[in.AgencyID]
		if r == nil || (r.State.RoutingStatus() != guardian.RoutingPending && r.State.RoutingStatus() != guardian.RoutingDelivered) {
			t.Fatalf("plan updates agency %s from %+v", in.AgencyID, r)
		}
		r.Countries = in.Countries
	}
	for _, w := range p.Withdraw {
		once(w.AgencyID)
		r := s[w.AgencyID]
		if r == nil || r.State.RoutingStatus() != guardian.RoutingPending {
			t.Fatalf("plan withdraws agency %s from %+v", w.AgencyID, r)
		}
		r.State = guardian.ReferralWithdrawn
	}
}

// TestReroutingNeverDuplicates re-routes reports of the demo network through
// random evidence, analysts' decisions and deliveries, applying each plan to
// a store that allows one referral per agency, and checks after each step
// that routing again has nothing to do and that no delivered referral was
// touched.
func TestReroutingNeverDuplicates(t *testing.T) {
	n := MustLoadDemo(t)
	countries := []string{"PY", "AR", "BR", "CL", "DE", "IT", "JP", "KR", "US", "FR", "BE", "KE", "ZA", "IN"}
	agencyIDs := []string{"py-fiscalia-cyber", "lo-buenos-aires", "de-bka-cac", "intl-cac-desk", "us-federal-cac"}
	rng := rand.New(rand.NewPCG(1, 2))
	for report := range 200 {
		store := referralStore{}
		var overrides []*guardian.RoutingOverride
		for step := range 12 {
			var locs []routing.Location
			for range rng.IntN(4) {
				locs = append(locs, routing.Location{Country: countries[rng.IntN(len(countries))], Confident: rng.IntN(3) > 0})
			}
			if rng.IntN(4) == 0 {
				actions := []guardian.OverrideAction{guardian.OverrideAdd, guardian.OverrideWithdraw, guardian.OverrideClear}
				overrides = append(overrides, &guardian.RoutingOverride{
					AgencyID: agencyIDs[rng.IntN(len(agencyIDs))],
					Action:   actions[rng.IntN(len(actions))],
				})
			}
			for _, r := range store {
				// Delivery, then the agency sending it back.
				switch {
				case r.State == guardian.ReferralNew && rng.IntN(3) == 0:
					r.State = guardian.ReferralDelivered
				case r.State == guardian.ReferralDelivered && rng.IntN(10) == 0:
					r.State = guardian.ReferralRerouted
				}
			}
			before := store.String()
			d := routing.Route(n, locs, overrides)
			p := routing.Diff(store.list(), d.Intents)
			for _, st := range p.Stale {
				if st.State.RoutingStatus() != guardian.RoutingDelivered {
					t.Fatalf("report %d step %d: stale %+v is not delivered", report, step, st)
				}
			}
			store.apply(t, p)
			if again := routing.Diff(store.list(), d.Intents); !again.Empty() {
				t.Fatalf("report %d step %d: routing again is not idempotent\nbefore: %s\nplan: %+v\nagain: %+v", report, step, before, p, again)
			}
			// Every intended agency now has a live referral, unless it
			// declined and no analyst sent it back.
			for _, in := range d.Intents {
				r := store[in.AgencyID]
				if s := r.State.RoutingStatus(); s != guardian.RoutingPending && s != guardian.RoutingDelivered && s != guardian.RoutingDeclined {
					t.Fatalf("report %d step %d: intended agency %s left %s", report, step, in.AgencyID, s)
				}
			}
		}
	}
}
