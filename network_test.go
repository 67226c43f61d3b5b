package guardian_test

import (
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
)

func TestDataScopeText(t *testing.T) {
	for _, s := range []guardian.DataScope{
		0,
		guardian.ScopeFiles,
		guardian.ScopeReporterContacts | guardian.ScopeFiles | guardian.ScopeFileContent,
		guardian.ScopeReporterContacts | guardian.ScopeSuspectDetails | guardian.ScopeVictimDetails | guardian.ScopeFiles | guardian.ScopeFileContent,
	} {
		text, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back guardian.DataScope
		if err := back.UnmarshalText(text); err != nil || back != s {
			t.Errorf("%q read back as %v, %v; want %v", text, back, err, s)
		}
	}
	if got := (guardian.ScopeFileContent | guardian.ScopeSuspectDetails).String(); got != "suspect-details,file-content" {
		t.Errorf("String() = %q", got)
	}
	var s guardian.DataScope
	if err := s.UnmarshalText([]byte("files,everything")); err == nil {
		t.Error("UnmarshalText accepted an unknown section")
	}
	if _, err := guardian.DataScope(0x80).MarshalText(); err == nil {
		t.Error("MarshalText accepted unknown bits")
	}
}

// testNetwork builds a small network by hand: a partner for PY, a liaison
// office for PY (as backup) and BR, a fallback, a domestic agency for US.
func testNetwork(tb testing.TB, edit func(agencies []*guardian.Agency, agreements []*guardian.Agreement)) (*guardian.Network, error) {
	tb.Helper()
	deadlines := map[string]time.Duration{"E": time.Hour, "1": 4 * time.Hour, "2": 72 * time.Hour, "3": 336 * time.Hour}
	agency := func(id string, kind guardian.AgencyKind) *guardian.Agency {
		return &guardian.Agency{ID: id, Name: id, Kind: kind, Country: "US", Languages: []string{"en"},
			Duty: guardian.DutyContacts{Email: []string{id + "@example.org"}}}
	}
	agreement := func(id string, ch guardian.Channel, countries ...string) *guardian.Agreement {
		return &guardian.Agreement{Agency: id, Channel: ch, Countries: countries, HandlingCode: "H0",
			AcknowledgeWithin: deadlines, RetentionDays: 30, Dispatch: guardian.DispatchAutomatic}
	}
	agencies := []*guardian.Agency{
		agency("py", guardian.AgencyPartner),
		agency("lo", guardian.AgencyLiaison),
		agency("fb", guardian.AgencyFallback),
		agency("home", guardian.AgencyDomestic),
	}
	agreements := []*guardian.Agreement{
		agreement("py", guardian.ChannelDirect, "PY"),
		agreement("lo", guardian.ChannelLiaison, "PY", "BR"),
		agreement("fb", guardian.ChannelDirect),
		agreement("home", guardian.ChannelDirect, "US"),
	}
	if edit != nil {
		edit(agencies, agreements)
	}
	hub := guardian.Hub{ID: "hub", Name: "Hub", Country: "US", HandlingCodes: []guardian.HandlingCode{{Code: "H0", Description: "Evidence."}}}
	return guardian.NewNetwork(hub, agencies, agreements)
}

func TestNetworkLookups(t *testing.T) {
	n, err := testNetwork(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	for country, want := range map[string]string{"PY": "py", "BR": "lo", "JP": "fb", "US": "home", "": "fb"} {
		if got := n.AgreementFor(country).Agency; got != want {
			t.Errorf("AgreementFor(%q) is %s's, want %s's", country, got, want)
		}
	}
	if got := strings.Join(n.CoveredCountries(), ","); got != "BR,PY" {
		t.Errorf("CoveredCountries() = %s, want BR,PY", got)
	}
	if ag, ok := n.LiaisonFor("PY"); !ok || ag.Agency != "lo" {
		t.Errorf("LiaisonFor(PY) = %v, %v", ag, ok)
	}
	if a, ok := n.Agency("lo"); !ok || a.Kind != guardian.AgencyLiaison {
		t.Errorf("Agency(lo) = %v, %v", a, ok)
	}
	if _, ok := n.AgreementOf("nobody"); ok {
		t.Error("AgreementOf(nobody) found one")
	}

	// A liaison office that also lists the hub's own country does not make
	// it a country with access abroad: its reports stay at home.
	n, err = testNetwork(t, func(_ []*guardian.Agency, g []*guardian.Agreement) { g[1].Countries = append(g[1].Countries, "US") })
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(n.CoveredCountries(), ","); got != "BR,PY" || n.AgreementFor("US").Agency != "home" {
		t.Errorf("CoveredCountries() = %s and US goes to %s; want BR,PY and home", got, n.AgreementFor("US").Agency)
	}
}

func TestNewNetworkRefuses(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func([]*guardian.Agency, []*guardian.Agreement)
		want string
	}{
		{"DuplicateAgency", func(a []*guardian.Agency, _ []*guardian.Agreement) { a[1].ID = "py" }, `agency "py" is defined twice`},
		{"UnknownAgency", func(_ []*guardian.Agency, g []*guardian.Agreement) { g[0].Agency = "nobody" }, `agreement with unknown agency "nobody"`},
		{"TwoAgreements", func(_ []*guardian.Agency, g []*guardian.Agreement) { g[1].Agency = "py" }, `agency "py" has two agreements`},
		{"LiaisonChannelForPartner", func(_ []*guardian.Agency, g []*guardian.Agreement) { g[0].Channel = guardian.ChannelLiaison }, "cannot have a liaison agreement"},
		{"DoubleDirect", func(_ []*guardian.Agency, g []*guardian.Agreement) { g[3].Countries = []string{"US", "PY"} }, "country PY is covered by the direct agreements of both"},
		{"FallbackWithCountries", func(_ []*guardian.Agency, g []*guardian.Agreement) { g[2].Countries = []string{"JP"} }, "must not list countries"},
		{"NoFallback", func(a []*guardian.Agency, _ []*guardian.Agreement) { a[2].Kind = guardian.AgencyPartner }, "exactly one fallback agency"},
		{"TwoDomestic", func(a []*guardian.Agency, _ []*guardian.Agreement) { a[0].Kind = guardian.AgencyDomestic }, "exactly one domestic agency with an agreement, not 2"},
		{"UnknownKind", func(a []*guardian.Agency, _ []*guardian.Agreement) { a[0].Kind = "embassy" }, `unknown kind "embassy"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := testNetwork(t, tt.edit)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want …%s…", err, tt.want)
			}
		})
	}
}
