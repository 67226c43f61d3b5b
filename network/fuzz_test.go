package network

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
)

// fuzzSeedEdits turn testdata/minimal.yaml into files that reach the
// parser's corners: aliases, flow and block styles, every kind of problem.
var fuzzSeedEdits = []edit{
	{"[BR, CL]", "&c [BR, CL]"},
	{"[BR, CL]", "[BR, CL, US, PY]"},
	{"data-scope: [suspect-details]", "data-scope: *s"},
	{"[suspect-details, files, file-content]", "&s [suspect-details, files, file-content]"},
	{"country: PY", "country: UK"},
	{"kind: domestic", "kind: fallback"},
	{"agency: lo-south", "agency: lo-north"},
	{"{E: 1h, 1: 4h, 2: 3d, 3: 14d}", "{E: 1h, 1: 4h, 2: 14d, 3: 3d}"},
	{"{E: 1h, 1: 4h, 2: 3d, 3: 14d}", "\n      E: 1h\n      1: 4h\n      2: 3d\n      3: 14d"},
	{"countries: [US]", "countries: [US, PY]"},
	{"  country: US\n  handling", "  country: US\n  <<: {x: 1}\n  handling"},
	{"retention: 730d", "retention: 2y"},
	{"https://py.example.org/hook", "http://user@py.example.org/hook#x"},
	{"ttj9vz]", "ttj9va]"},
	{"py@example.org", `"A <py@example.org>"`},
	{"hub:\n", "---\nhub:\n"},
	{"    dispatch: confirm\n", "    dispatch: confirm\n---\n"},
}

func FuzzParse(f *testing.F) {
	demo, err := os.ReadFile(demoPath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(demo)
	base := string(MustReadTestdata(f, "minimal.yaml"))
	f.Add([]byte(base))
	for _, e := range fuzzSeedEdits {
		f.Add([]byte(strings.Replace(base, e.old, e.new, 1)))
	}
	for _, s := range []string{"", "hub:", "[]", "a: &a [*a]", "hub: &h {id: *h}", "\t", "hub: !!binary aGk="} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Parse("fuzz.yaml", data)
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("refused without an ErrorList: %v", err)
			}
			for _, e := range list {
				if e.File != "fuzz.yaml" || e.Msg == "" || e.Line < 0 || e.Column < 0 {
					t.Fatalf("malformed problem %#v", e)
				}
			}
			return
		}
		assertRoutable(t, n)
		assertRoundTrip(t, n)
	})
}

// assertRoutable checks that an accepted network gives every country an
// agreement, passes NewNetwork's checks again, and counts as covered exactly
// the countries a partner or a liaison office takes.
func assertRoutable(t *testing.T, n *guardian.Network) {
	t.Helper()
	if _, err := guardian.NewNetwork(n.Hub, n.Agencies, n.Agreements); err != nil {
		t.Fatalf("accepted network fails NewNetwork: %v", err)
	}
	covered := make(map[string]bool)
	for _, c := range n.CoveredCountries() {
		covered[c] = true
	}
	for _, c := range Countries() {
		ag := n.AgreementFor(c)
		if ag == nil {
			t.Fatalf("no agreement for %s", c)
		}
		a, ok := n.Agency(ag.Agency)
		if !ok {
			t.Fatalf("agreement for %s is with unknown agency %q", c, ag.Agency)
		}
		abroad := a.Kind == guardian.AgencyPartner || a.Kind == guardian.AgencyLiaison
		if abroad != covered[c] {
			t.Fatalf("%s goes to %s (%s) but CoveredCountries says %v", c, a.ID, a.Kind, covered[c])
		}
		if abroad && !ag.Covers(c) {
			t.Fatalf("%s goes to %s, whose agreement does not list it", c, a.ID)
		}
	}
	for _, ag := range n.Agreements {
		if len(ag.AcknowledgeWithin) != 4 || ag.RetentionDays < 1 || ag.HandlingCode == "" {
			t.Fatalf("incomplete agreement accepted: %+v", ag)
		}
	}
}

// assertRoundTrip checks that an accepted network, written back, reads as
// the same network: what Parse accepts, Marshal can express and Parse
// accepts again.
func assertRoundTrip(t *testing.T, n *guardian.Network) {
	t.Helper()
	data, err := Marshal(n)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	again, err := Parse("marshalled.yaml", data)
	if err != nil {
		t.Fatalf("marshalled network refused: %v\n%s", err, data)
	}
	if diff := cmp.Diff(n, again, equalNetworks); diff != "" {
		t.Fatalf("round trip changed the network (-read +marshalled):\n%s", diff)
	}
}
