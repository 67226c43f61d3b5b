package network

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/guardian-network/guardian"
)

const demoPath = "../examples/network-demo.yaml"

// MustLoad loads a network file or fails the test.
func MustLoad(tb testing.TB, path string) *guardian.Network {
	tb.Helper()
	n, err := Load(path)
	if err != nil {
		tb.Fatalf("load %s: %v", path, err)
	}
	return n
}

func TestLoadDemo(t *testing.T) {
	n := MustLoad(t, demoPath)
	if got, want := len(n.Agencies), 19; got != want {
		t.Errorf("%d agencies, want %d", got, want)
	}
	if got, want := len(n.Agreements), 19; got != want {
		t.Errorf("%d agreements, want %d", got, want)
	}
	if len(n.Digest) != 64 {
		t.Errorf("Digest = %q, want 64 hex digits", n.Digest)
	}

	kinds := make(map[guardian.AgencyKind]int)
	for _, a := range n.Agencies {
		kinds[a.Kind]++
	}
	want := map[guardian.AgencyKind]int{"partner": 9, "liaison": 8, "fallback": 1, "domestic": 1}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("agencies by kind (-want +got):\n%s", diff)
	}

	covered := n.CoveredCountries()
	if len(covered) != 58 {
		t.Errorf("%d countries with access, want 58: %v", len(covered), covered)
	}
	for _, c := range covered {
		if _, ok := CountryName(c); !ok {
			t.Errorf("covered country %q is not an ISO code", c)
		}
	}

	for _, tt := range []struct{ country, agency string }{
		{"PY", "py-fiscalia-cyber"}, // direct, although Buenos Aires lists it too
		{"AR", "ar-pfa-cyber"},
		{"GB", "gb-nca-ceop"},
		{"BR", "lo-buenos-aires"},
		{"BO", "lo-buenos-aires"},
		{"NO", "lo-copenhagen"},
		{"ZA", "lo-nairobi"},
		{"JP", "intl-cac-desk"},
		{"US", "us-federal-cac"},
		{"PR", "us-federal-cac"},
		{"ZZ", "intl-cac-desk"},
	} {
		if got := n.AgreementFor(tt.country).Agency; got != tt.agency {
			t.Errorf("AgreementFor(%s) is %s's, want %s's", tt.country, got, tt.agency)
		}
	}
	if ag, ok := n.LiaisonFor("PY"); !ok || ag.Agency != "lo-buenos-aires" {
		t.Errorf("LiaisonFor(PY) = %v, %v; want Buenos Aires", ag, ok)
	}
	if got := n.DomesticAgreement().Agency; got != "us-federal-cac" {
		t.Errorf("domestic agreement is %s's", got)
	}
	if got := n.FallbackAgreement().Agency; got != "intl-cac-desk" {
		t.Errorf("fallback agreement is %s's", got)
	}

	py, _ := n.AgreementOf("py-fiscalia-cyber")
	if d, ok := py.AcknowledgeDeadline("E"); !ok || d.Hours() != 1 {
		t.Errorf("Paraguay's emergency deadline = %v, %v; want 1h", d, ok)
	}
	if !py.DataScope.Has(guardian.ScopeFiles | guardian.ScopeFileContent | guardian.ScopeReporterContacts) {
		t.Errorf("Paraguay's data scope = %s, want everything", py.DataScope)
	}
	fb := n.FallbackAgreement()
	if fb.DataScope.Has(guardian.ScopeFileContent) || fb.DataScope.Has(guardian.ScopeReporterContacts) || fb.Dispatch != guardian.DispatchConfirm {
		t.Errorf("fallback terms = %s, %s; want no content, no contacts, confirm", fb.DataScope, fb.Dispatch)
	}
}

// equalNetworks compares what a network file says, not where it came from.
var equalNetworks = cmp.Options{
	cmpopts.IgnoreUnexported(guardian.Network{}),
	cmpopts.IgnoreFields(guardian.Network{}, "Digest"),
	cmpopts.EquateEmpty(),
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, path := range []string{demoPath, "testdata/minimal.yaml"} {
		n := MustLoad(t, path)
		data, err := Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse("marshalled.yaml", data)
		if err != nil {
			t.Fatalf("%s: the marshalled network does not parse: %v\n%s", path, err, data)
		}
		if diff := cmp.Diff(n, again, equalNetworks); diff != "" {
			t.Errorf("%s: round trip changed the network (-read +marshalled):\n%s", path, diff)
		}
	}
}

func TestCountries(t *testing.T) {
	all := Countries()
	if len(all) != 249 {
		t.Errorf("%d ISO 3166-1 codes, want 249", len(all))
	}
	if name, ok := CountryName("PY"); !ok || name != "Paraguay" {
		t.Errorf("CountryName(PY) = %q, %v", name, ok)
	}
	for _, c := range []string{"UK", "XK", "EU", "py", ""} {
		if _, ok := CountryName(c); ok {
			t.Errorf("CountryName(%q) found a country", c)
		}
	}
}
