package routing_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/network"
	"github.com/guardian-network/guardian/routing"
)

// MustLoadDemo loads the demo network that ships in examples/.
func MustLoadDemo(tb testing.TB) *guardian.Network {
	tb.Helper()
	n, err := network.Load("../examples/network-demo.yaml")
	if err != nil {
		tb.Fatalf("load demo network: %v", err)
	}
	return n
}

// confident returns confident locations for the given countries, best first.
func confident(countries ...string) []routing.Location {
	var ls []routing.Location
	for i, c := range countries {
		ls = append(ls, routing.Location{Country: c, Score: 1 - float64(i)/10, Confident: true})
	}
	return ls
}

// brief is the part of an intent the tests compare.
type brief struct {
	Agency    string
	Countries []string
	Reason    guardian.ReferralReason
	Confirm   bool
}

func briefs(in []routing.Intent) []brief {
	var out []brief
	for _, i := range in {
		out = append(out, brief{i.AgencyID, i.Countries, i.Reason, i.Confirm})
	}
	return out
}

func TestRouteDemoReachesFiftyEightCountries(t *testing.T) {
	n := MustLoadDemo(t)
	covered := n.CoveredCountries()
	if len(covered) != 58 {
		t.Fatalf("the demo network covers %d countries, want 58: %v", len(covered), covered)
	}
	var direct, liaison int
	for _, c := range covered {
		d := routing.Route(n, confident(c), nil)
		if len(d.Intents) != 1 || d.Review {
			t.Fatalf("%s: got %+v, want one intent and no review", c, d)
		}
		in := d.Intents[0]
		a, _ := n.Agency(in.AgencyID)
		switch in.Reason {
		case guardian.ReasonPartner:
			direct++
			if a.Kind != guardian.AgencyPartner || in.Channel != guardian.ChannelDirect {
				t.Errorf("%s: partner reason with agency %s of kind %s, channel %s", c, a.ID, a.Kind, in.Channel)
			}
		case guardian.ReasonLiaison:
			liaison++
			if a.Kind != guardian.AgencyLiaison || in.Channel != guardian.ChannelLiaison {
				t.Errorf("%s: liaison reason with agency %s of kind %s, channel %s", c, a.ID, a.Kind, in.Channel)
			}
		default:
			t.Errorf("%s: reached through %s (%s), want a partner or a liaison office", c, in.AgencyID, in.Reason)
		}
		if !in.Agreement.Covers(c) {
			t.Errorf("%s: routed under an agreement that does not list it", c)
		}
	}
	if direct != 9 || liaison != 49 {
		t.Errorf("got %d countries through partners and %d through liaison offices, want 9 and 49", direct, liaison)
	}
}

func TestRoute(t *testing.T) {
	n := MustLoadDemo(t)
	for _, tt := range []struct {
		name      string
		locations []routing.Location
		overrides []*guardian.RoutingOverride
		want      []brief
		review    bool
	}{{
		name:      "PartnerCountry",
		locations: confident("DE"),
		want:      []brief{{"de-bka-cac", []string{"DE"}, guardian.ReasonPartner, false}},
	}, {
		name:      "PartnerWinsOverLiaisonThatListsIt",
		locations: confident("PY"),
		want:      []brief{{"py-fiscalia-cyber", []string{"PY"}, guardian.ReasonPartner, false}},
	}, {
		name:      "PartnerThatAsksForConfirmation",
		locations: confident("IT"),
		want:      []brief{{"it-postal-police", []string{"IT"}, guardian.ReasonPartner, true}},
	}, {
		name:      "NoPartnerGoesToCoveringLiaison",
		locations: confident("BR"),
		want:      []brief{{"lo-buenos-aires", []string{"BR"}, guardian.ReasonLiaison, true}},
	}, {
		name:      "UncoveredGoesToFallback",
		locations: confident("JP"),
		want:      []brief{{"intl-cac-desk", []string{"JP"}, guardian.ReasonFallback, true}},
	}, {
		name:      "HomeCountryGoesToDomestic",
		locations: confident("US"),
		want:      []brief{{"us-federal-cac", []string{"US"}, guardian.ReasonDomestic, false}},
	}, {
		name:   "NoLocationGoesToDomesticAndAnalysts",
		want:   []brief{{"us-federal-cac", nil, guardian.ReasonNoLocation, false}},
		review: true,
	}, {
		name:      "OneReferralPerAgency",
		locations: confident("BR", "DE", "CL", "JP", "KR", "PY"),
		want: []brief{
			{"lo-buenos-aires", []string{"BR", "CL"}, guardian.ReasonLiaison, true},
			{"de-bka-cac", []string{"DE"}, guardian.ReasonPartner, false},
			{"intl-cac-desk", []string{"JP", "KR"}, guardian.ReasonFallback, true},
			{"py-fiscalia-cyber", []string{"PY"}, guardian.ReasonPartner, false},
		},
	}, {
		name:      "RepeatedCountryCountsOnce",
		locations: confident("BR", "BR"),
		want:      []brief{{"lo-buenos-aires", []string{"BR"}, guardian.ReasonLiaison, true}},
	}, {
		name: "OnlyConfidentLocationsWhenThereAreSome",
		locations: []routing.Location{
			{Country: "JP", Score: 0.9},
			{Country: "CA", Score: 0.6, Confident: true},
		},
		want: []brief{{"ca-rcmp-ncecc", []string{"CA"}, guardian.ReasonPartner, false}},
	}, {
		name:      "NoConfidentLocationHoldsTheBestCandidate",
		locations: []routing.Location{{Country: "NL", Score: 0.4}, {Country: "DE", Score: 0.3}},
		want:      []brief{{"nl-police-avc", []string{"NL"}, guardian.ReasonPartner, true}},
		review:    true,
	}, {
		name:      "MalformedCodesAreIgnored",
		locations: []routing.Location{{Country: "usa", Confident: true}, {Country: "", Confident: true}},
		want:      []brief{{"us-federal-cac", nil, guardian.ReasonNoLocation, false}},
		review:    true,
	}, {
		name:      "AnalystAddsLiaisonOfficeInSupport",
		locations: confident("PY"),
		overrides: []*guardian.RoutingOverride{{AgencyID: "lo-buenos-aires", Action: guardian.OverrideAdd}},
		want: []brief{
			{"py-fiscalia-cyber", []string{"PY"}, guardian.ReasonPartner, false},
			{"lo-buenos-aires", []string{"PY"}, guardian.ReasonAnalyst, false},
		},
	}, {
		name:      "AnalystWithdrawsAgency",
		locations: confident("BR", "DE"),
		overrides: []*guardian.RoutingOverride{{AgencyID: "de-bka-cac", Action: guardian.OverrideWithdraw}},
		want:      []brief{{"lo-buenos-aires", []string{"BR"}, guardian.ReasonLiaison, true}},
	}, {
		name:      "AnalystAdditionConfirms",
		locations: confident("BR"),
		overrides: []*guardian.RoutingOverride{{AgencyID: "lo-buenos-aires", Action: guardian.OverrideAdd}},
		want:      []brief{{"lo-buenos-aires", []string{"BR"}, guardian.ReasonLiaison, false}},
	}, {
		name:      "LastOverrideWins",
		locations: confident("DE"),
		overrides: []*guardian.RoutingOverride{
			{AgencyID: "de-bka-cac", Action: guardian.OverrideWithdraw},
			{AgencyID: "gb-nca-ceop", Action: guardian.OverrideAdd},
			{AgencyID: "de-bka-cac", Action: guardian.OverrideClear},
			{AgencyID: "gb-nca-ceop", Action: guardian.OverrideWithdraw},
		},
		want: []brief{{"de-bka-cac", []string{"DE"}, guardian.ReasonPartner, false}},
	}, {
		name:      "AnalystAddsAgencyNoLongerInNetwork",
		locations: confident("DE"),
		overrides: []*guardian.RoutingOverride{{AgencyID: "lo-atlantis", Action: guardian.OverrideAdd}},
		want:      []brief{{"de-bka-cac", []string{"DE"}, guardian.ReasonPartner, false}},
		review:    true,
	}} {
		t.Run(tt.name, func(t *testing.T) {
			d := routing.Route(n, tt.locations, tt.overrides)
			if diff := cmp.Diff(tt.want, briefs(d.Intents)); diff != "" {
				t.Errorf("intents (-want +got):\n%s", diff)
			}
			if d.Review != tt.review {
				t.Errorf("Review = %v, want %v (notes: %q)", d.Review, tt.review, d.Notes)
			}
			if d.Review && len(d.Notes) == 0 {
				t.Error("Review without a note saying why")
			}
			for _, in := range d.Intents {
				if ag, _ := n.AgreementOf(in.AgencyID); ag != in.Agreement || in.Channel != ag.Channel {
					t.Errorf("intent for %s carries another agreement or channel", in.AgencyID)
				}
			}
		})
	}
}

func TestRouteNoLocationNote(t *testing.T) {
	d := routing.Route(MustLoadDemo(t), nil, nil)
	if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "no location") {
		t.Errorf("notes = %q, want one saying there is no location", d.Notes)
	}
}

func TestIntentTerms(t *testing.T) {
	n := MustLoadDemo(t)
	d := routing.Route(n, confident("BR"), nil)
	if d.Network != n.Digest {
		t.Errorf("Decision.Network = %q, want the network's digest", d.Network)
	}
	terms, ok := d.Intents[0].Terms("1")
	want := routing.Terms{
		HandlingCode:      "H1",
		DataScope:         guardian.ScopeReporterContacts | guardian.ScopeSuspectDetails | guardian.ScopeVictimDetails | guardian.ScopeFiles,
		AcknowledgeWithin: 12 * time.Hour,
		RetentionDays:     365,
		Confirm:           true,
	}
	if !ok || terms != want {
		t.Errorf("Terms(1) = %+v, %v; want %+v", terms, ok, want)
	}
	if _, ok := d.Intents[0].Terms("4"); ok {
		t.Error("Terms(4) found a deadline")
	}
}
