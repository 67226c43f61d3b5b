package guardian_test

import (
	"testing"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/network"
)

func mustDemoNetwork(tb testing.TB) *guardian.Network {
	tb.Helper()
	n, err := network.Load("examples/network-demo.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestLiaisonOfficeFor(t *testing.T) {
	n := mustDemoNetwork(t)
	for _, tc := range []struct {
		name      string
		agency    string
		countries []string
		want      string // "" for none: the hub's supervisors
	}{
		{"PartnerCountryWithLiaison", "py-fiscalia-cyber", []string{"PY"}, "lo-buenos-aires"},
		{"PartnerCountryWithoutLiaison", "de-bka-cac", []string{"DE"}, ""},
		{"FirstCountryUncoveredSecondCovered", "de-bka-cac", []string{"DE", "FR"}, "lo-paris"},
		{"RankOrderDecides", "ar-pfa-cyber", []string{"AR", "FR"}, "lo-buenos-aires"},
		{"RankOrderDecidesOtherWay", "intl-cac-desk", []string{"FR", "AR"}, "lo-paris"},
		{"OwnLiaisonSkipped", "lo-paris", []string{"FR"}, ""},
		{"OwnLiaisonSkippedNextCovers", "lo-paris", []string{"FR", "CZ"}, "lo-vienna"},
		{"NoLocation", "us-federal-cac", nil, ""},
		{"DomesticCountry", "us-federal-cac", []string{"US"}, ""},
		{"FallbackCountry", "intl-cac-desk", []string{"JP"}, ""},
		{"UnknownCode", "intl-cac-desk", []string{"ZZ"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &guardian.Referral{AgencyID: tc.agency, Countries: tc.countries}
			a, ok := n.LiaisonOfficeFor(r)
			got := ""
			if ok {
				got = a.ID
				if a.Kind != guardian.AgencyLiaison {
					t.Errorf("%s is a %s, not a liaison office", a.ID, a.Kind)
				}
			}
			if got != tc.want {
				t.Errorf("LiaisonOfficeFor(%s, %v) = %q, want %q", tc.agency, tc.countries, got, tc.want)
			}
			// Level 1 goes where LiaisonOfficeFor says, or to the
			// supervisors; level 2 always to the supervisors.
			target := n.EscalationTarget(r, guardian.EscalationLiaison)
			if (target == nil) != (tc.want == "") || (target != nil && target.ID != tc.want) {
				t.Errorf("EscalationTarget(level 1) = %v, want %q", target, tc.want)
			}
			if target := n.EscalationTarget(r, guardian.EscalationHub); target != nil {
				t.Errorf("EscalationTarget(level 2) = %s, want the hub's supervisors", target.ID)
			}
		})
	}
}

func TestEscalationAt(t *testing.T) {
	deadline := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := &guardian.Referral{Deadline: deadline, AcknowledgeWithin: 4 * time.Hour}
	for _, tc := range []struct {
		level int
		want  time.Time
		ok    bool
	}{
		{guardian.EscalationNone, time.Time{}, false},
		{guardian.EscalationLiaison, deadline, true},
		{guardian.EscalationHub, deadline.Add(4 * time.Hour), true},
		{3, time.Time{}, false},
	} {
		got, ok := guardian.EscalationAt(r, tc.level)
		if !got.Equal(tc.want) || ok != tc.ok {
			t.Errorf("EscalationAt(level %d) = %v, %v; want %v, %v", tc.level, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDecideEscalation(t *testing.T) {
	deadline := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ref := func(state guardian.ReferralState, escalation int) *guardian.Referral {
		return &guardian.Referral{State: state, Escalation: escalation, Deadline: deadline, AcknowledgeWithin: time.Hour}
	}
	before, at, between, after := deadline.Add(-time.Minute), deadline, deadline.Add(30*time.Minute), deadline.Add(2*time.Hour)
	for _, tc := range []struct {
		name   string
		r      *guardian.Referral
		level  int
		now    time.Time
		want   guardian.EscalationDecision
		wantAt time.Time
	}{
		{"Level1BeforeDeadline", ref(guardian.ReferralDelivered, 0), 1, before, guardian.EscalationWait, deadline},
		{"Level1AtDeadline", ref(guardian.ReferralDelivered, 0), 1, at, guardian.EscalationDue, deadline},
		{"Level1Opened", ref(guardian.ReferralOpened, 0), 1, after, guardian.EscalationDue, deadline},
		{"Level1Acknowledged", ref(guardian.ReferralAcknowledged, 0), 1, after, guardian.EscalationStop, time.Time{}},
		{"Level1Closed", ref(guardian.ReferralClosed, 0), 1, after, guardian.EscalationStop, time.Time{}},
		{"Level1Declined", ref(guardian.ReferralRerouted, 0), 1, after, guardian.EscalationStop, time.Time{}},
		{"Level1Withdrawn", ref(guardian.ReferralWithdrawn, 0), 1, after, guardian.EscalationStop, time.Time{}},
		{"Level1NotDelivered", ref(guardian.ReferralNew, 0), 1, after, guardian.EscalationStop, time.Time{}},
		{"Level1Reached", ref(guardian.ReferralDelivered, 1), 1, after, guardian.EscalationStop, time.Time{}},
		{"Level2Early", ref(guardian.ReferralDelivered, 1), 2, between, guardian.EscalationWait, deadline.Add(time.Hour)},
		{"Level2Due", ref(guardian.ReferralDelivered, 1), 2, after, guardian.EscalationDue, deadline.Add(time.Hour)},
		{"Level2WithoutLevel1", ref(guardian.ReferralDelivered, 0), 2, after, guardian.EscalationStop, time.Time{}},
		{"Level2Acknowledged", ref(guardian.ReferralAcknowledged, 1), 2, after, guardian.EscalationStop, time.Time{}},
		{"Level2Reached", ref(guardian.ReferralDelivered, 2), 2, after, guardian.EscalationStop, time.Time{}},
		{"Level3", ref(guardian.ReferralDelivered, 2), 3, after, guardian.EscalationStop, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, gotAt := guardian.DecideEscalation(tc.r, tc.level, tc.now)
			if got != tc.want || !gotAt.Equal(tc.wantAt) {
				t.Errorf("DecideEscalation = %v, %v; want %v, %v", got, gotAt, tc.want, tc.wantAt)
			}
		})
	}
}

// TestNextEscalation: a delivered or opened referral's next step is the
// level after its own, at that level's time; an acknowledged, closed,
// re-routed, withdrawn or held one, or one at the hub already, has none.
func TestNextEscalation(t *testing.T) {
	deadline := time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		state     guardian.ReferralState
		level     int
		wantLevel int // 0: none
		wantAt    time.Time
	}{
		{guardian.ReferralDelivered, 0, 1, deadline},
		{guardian.ReferralOpened, 0, 1, deadline},
		{guardian.ReferralDelivered, 1, 2, deadline.Add(4 * time.Hour)},
		{guardian.ReferralOpened, 1, 2, deadline.Add(4 * time.Hour)},
		{guardian.ReferralDelivered, 2, 0, time.Time{}},
		{guardian.ReferralAcknowledged, 0, 0, time.Time{}},
		{guardian.ReferralClosed, 1, 0, time.Time{}},
		{guardian.ReferralRerouted, 0, 0, time.Time{}},
		{guardian.ReferralWithdrawn, 0, 0, time.Time{}},
		{guardian.ReferralNew, 0, 0, time.Time{}},
	} {
		r := &guardian.Referral{State: tc.state, Escalation: tc.level, Deadline: deadline, AcknowledgeWithin: 4 * time.Hour}
		level, at, ok := r.NextEscalation()
		if ok != (tc.wantLevel != 0) || level != tc.wantLevel && ok || !at.Equal(tc.wantAt) {
			t.Errorf("%s at level %d: next escalation %d at %v (%t), want %d at %v", tc.state, tc.level, level, at, ok, tc.wantLevel, tc.wantAt)
		}
	}
}
