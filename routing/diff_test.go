package routing_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian/routing"
)

// agencies names the agencies of a list of intents or referrals, for compact
// comparisons.
func agencies[T routing.Intent | routing.ExistingReferral](items []T) []string {
	var ids []string
	for _, it := range items {
		switch v := any(it).(type) {
		case routing.Intent:
			ids = append(ids, v.AgencyID)
		case routing.ExistingReferral:
			ids = append(ids, v.AgencyID)
		}
	}
	return ids
}

func TestDiff(t *testing.T) {
	intent := func(id string, reason routing.Reason, countries ...string) routing.Intent {
		return routing.Intent{AgencyID: id, Reason: reason, Countries: countries}
	}
	ref := func(id string, s routing.Status, countries ...string) routing.ExistingReferral {
		return routing.ExistingReferral{AgencyID: id, Status: s, Countries: countries}
	}
	type want struct{ Add, Reinstate, Update, Withdraw, Stale []string }
	for _, tt := range []struct {
		name     string
		existing []routing.ExistingReferral
		intended []routing.Intent
		want     want
	}{{
		name:     "FirstRouting",
		intended: []routing.Intent{intent("a", routing.ReasonPartner, "PY"), intent("b", routing.ReasonLiaison, "BR")},
		want:     want{Add: []string{"a", "b"}},
	}, {
		name:     "NothingChanged",
		existing: []routing.ExistingReferral{ref("a", routing.Pending, "PY"), ref("b", routing.Delivered, "BR")},
		intended: []routing.Intent{intent("a", routing.ReasonPartner, "PY"), intent("b", routing.ReasonLiaison, "BR")},
	}, {
		name:     "NewEvidenceAddsAgency",
		existing: []routing.ExistingReferral{ref("a", routing.Delivered, "PY")},
		intended: []routing.Intent{intent("a", routing.ReasonPartner, "PY"), intent("b", routing.ReasonLiaison, "BR")},
		want:     want{Add: []string{"b"}},
	}, {
		name:     "NewCountryUnderSameAgencyUpdates",
		existing: []routing.ExistingReferral{ref("b", routing.Pending, "BR")},
		intended: []routing.Intent{intent("b", routing.ReasonLiaison, "BR", "CL")},
		want:     want{Update: []string{"b"}},
	}, {
		name:     "CountryOrderIsNoChange",
		existing: []routing.ExistingReferral{ref("b", routing.Pending, "CL", "BR")},
		intended: []routing.Intent{intent("b", routing.ReasonLiaison, "BR", "CL")},
	}, {
		name:     "PendingNoLongerIntendedIsWithdrawn",
		existing: []routing.ExistingReferral{ref("a", routing.Pending, "PY")},
		want:     want{Withdraw: []string{"a"}},
	}, {
		name:     "DeliveredNoLongerIntendedIsStale",
		existing: []routing.ExistingReferral{ref("a", routing.Delivered, "PY")},
		want:     want{Stale: []string{"a"}},
	}, {
		name:     "WithdrawnIntendedAgainIsReinstated",
		existing: []routing.ExistingReferral{ref("a", routing.Withdrawn, "PY")},
		intended: []routing.Intent{intent("a", routing.ReasonPartner, "PY")},
		want:     want{Reinstate: []string{"a"}},
	}, {
		name:     "WithdrawnNotIntendedStays",
		existing: []routing.ExistingReferral{ref("a", routing.Withdrawn, "PY")},
	}, {
		name:     "DeclinedIsNotResentByRouting",
		existing: []routing.ExistingReferral{ref("a", routing.Declined, "PY")},
		intended: []routing.Intent{intent("a", routing.ReasonPartner, "PY")},
	}, {
		name:     "DeclinedIsResentByAnalyst",
		existing: []routing.ExistingReferral{ref("a", routing.Declined, "PY")},
		intended: []routing.Intent{intent("a", routing.ReasonAnalyst, "PY")},
		want:     want{Reinstate: []string{"a"}},
	}, {
		name:     "DuplicateIntentsAddOnce",
		intended: []routing.Intent{intent("a", routing.ReasonPartner, "PY"), intent("a", routing.ReasonAnalyst)},
		want:     want{Add: []string{"a"}},
	}, {
		name:     "DuplicateReferralsLivelierCounts",
		existing: []routing.ExistingReferral{ref("a", routing.Withdrawn, "PY"), ref("a", routing.Delivered, "PY")},
		want:     want{Stale: []string{"a"}},
	}, {
		name:     "DuplicateReferralsNeverAdded",
		existing: []routing.ExistingReferral{ref("a", routing.Withdrawn, "PY"), ref("a", routing.Pending, "PY")},
		intended: []routing.Intent{intent("a", routing.ReasonPartner, "PY")},
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
type referralStore map[string]*routing.ExistingReferral

func (s referralStore) list() []routing.ExistingReferral {
	var out []routing.ExistingReferral
	for _, id := range slices.Sorted(maps.Keys(s)) {
		out = append(out, *s[id])
	}
	return out
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
		s[in.AgencyID] = &routing.ExistingReferral{AgencyID: in.AgencyID, Countries: in.Countries, Status: routing.Pending}
	}
	for _, in := range p.Reinstate {
		once(in.AgencyID)
		r := s[in.AgencyID]
		if r == nil || (r.Status != routing.Withdrawn && r.Status != routing.Declined) {
			t.Fatalf("plan reinstates agency %s from %+v", in.AgencyID, r)
		}
		r.Status, r.Countries = routing.Pending, in.Countries
	}
	for _, in := range p.Update {
		once(in.AgencyID)
		r := s[in.AgencyID]
		if r == nil || (r.Status != routing.Pending && r.Status != routing.Delivered) {
			t.Fatalf("plan updates agency %s from %+v", in.AgencyID, r)
		}
		r.Countries = in.Countries
	}
	for _, w := range p.Withdraw {
		once(w.AgencyID)
		r := s[w.AgencyID]
		if r == nil || r.Status != routing.Pending {
			t.Fatalf("plan withdraws agency %s from %+v", w.AgencyID, r)
		}
		r.Status = routing.Withdrawn
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
		var overrides []routing.Override
		for step := range 12 {
			var locs []routing.Location
			for range rng.IntN(4) {
				locs = append(locs, routing.Location{Country: countries[rng.IntN(len(countries))], Confident: rng.IntN(3) > 0})
			}
			if rng.IntN(4) == 0 {
				actions := []routing.OverrideAction{routing.ForceAdd, routing.ForceWithdraw, routing.Clear}
				overrides = append(overrides, routing.Override{
					AgencyID: agencyIDs[rng.IntN(len(agencyIDs))],
					Action:   actions[rng.IntN(len(actions))],
				})
			}
			for _, r := range store {
				switch {
				case r.Status == routing.Pending && rng.IntN(3) == 0:
					r.Status = routing.Delivered
				case r.Status == routing.Delivered && rng.IntN(10) == 0:
					r.Status = routing.Declined
				}
			}
			before := fmt.Sprintf("%+v", store.list())
			d := routing.Route(n, locs, overrides)
			p := routing.Diff(store.list(), d.Intents)
			for _, st := range p.Stale {
				if st.Status != routing.Delivered {
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
				if r.Status != routing.Pending && r.Status != routing.Delivered && r.Status != routing.Declined {
					t.Fatalf("report %d step %d: intended agency %s left %s", report, step, in.AgencyID, r.Status)
				}
			}
		}
	}
}
