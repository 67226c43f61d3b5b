package geo_test

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/guardian-network/guardian/geo"
)

// The test tables use documentation-free public space only as numbers: a
// Table answers what it is given, and Country's class check is tested
// separately, so addresses below avoid special-purpose blocks.

func r(from, to, cc string) geo.Range {
	return geo.Range{From: netip.MustParseAddr(from), To: netip.MustParseAddr(to), Country: cc}
}

func MustNewTable(tb testing.TB, rs ...geo.Range) *geo.Table {
	tb.Helper()
	t, err := geo.NewTable(rs, geo.Info{Source: "test", Version: "1", License: "none", Attribution: "none"})
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func TestTable_Country(t *testing.T) {
	tab := MustNewTable(t,
		r("11.0.0.0", "11.0.0.255", "DE"),
		r("11.0.1.0", "11.0.1.255", "DE"), // merged with the one before
		r("11.0.3.0", "11.0.3.0", "FR"),   // one address, after a gap
		r("223.255.255.0", "223.255.255.255", "JP"),
		r("2a00::", "2a00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "NL"),
		r("2a01::", "2a01::7", "BE"), // a range below /64
		r("2a01::8", "2a01::8", "LU"),
		r("3ffe:ffff:ffff:ffff::", "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "AU"),
	)
	for _, tt := range []struct{ addr, want string }{
		{"10.255.255.255", ""}, // private anyway
		{"11.0.0.0", "DE"},
		{"11.0.1.255", "DE"},
		{"11.0.2.0", ""},
		{"11.0.2.255", ""},
		{"11.0.3.0", "FR"},
		{"11.0.3.1", ""},
		{"223.255.255.255", "JP"},
		{"::ffff:11.0.3.0", "FR"}, // IPv4-mapped
		{"2a00::", "NL"},
		{"2a00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "NL"},
		{"2a01::", "BE"},
		{"2a01::7", "BE"},
		{"2a01::8", "LU"},
		{"2a01::9", ""},
		{"29ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},
		{"3ffe:ffff:ffff:ffff::1", "AU"},
		{"2002:0b00:0300::1", "FR"}, // 6to4 of 11.0.3.0
		{"2001:db8::1", ""},         // documentation, even if a table said otherwise
	} {
		if got := tab.Country(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("Country(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
	v4, v6 := tab.Len()
	if v4 != 7 || v6 != 7 {
		t.Errorf("Len() = %d, %d; want 7, 7 (runs of one country or none)", v4, v6)
	}
}

func TestTable_DocumentationNeverResolves(t *testing.T) {
	// A table that claims everything still answers "" for the
	// documentation ranges.
	tab := MustNewTable(t, r("0.0.0.0", "255.255.255.255", "US"), r("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "US"))
	for _, a := range []string{"192.0.2.1", "198.51.100.1", "203.0.113.1", "2001:db8::1", "3fff::1", "10.0.0.1"} {
		if got := tab.Country(netip.MustParseAddr(a)); got != "" {
			t.Errorf("Country(%s) = %q, want \"\"", a, got)
		}
	}
	if got := tab.Country(netip.MustParseAddr("11.1.1.1")); got != "US" {
		t.Errorf("Country(11.1.1.1) = %q, want US", got)
	}
}

func TestNewTable_Errors(t *testing.T) {
	for name, rs := range map[string][]geo.Range{
		"overlap":        {r("11.0.0.0", "11.0.0.255", "DE"), r("11.0.0.128", "11.0.1.0", "FR")},
		"reversed":       {r("11.0.0.255", "11.0.0.0", "DE")},
		"mixed families": {r("11.0.0.0", "2a00::", "DE")},
		"bad code":       {r("11.0.0.0", "11.0.0.255", "de")},
		"mapped":         {r("::ffff:11.0.0.0", "::ffff:11.0.0.255", "DE")},
		"after the top":  {r("255.255.255.0", "255.255.255.255", "DE"), r("255.255.255.255", "255.255.255.255", "FR")},
	} {
		if _, err := geo.NewTable(rs, geo.Info{}); err == nil {
			t.Errorf("%s: NewTable succeeded", name)
		}
	}
}

func TestTable_RoundTrip(t *testing.T) {
	want := []geo.Range{
		r("11.0.0.0", "11.0.1.255", "DE"),
		r("11.0.3.0", "11.0.3.0", "FR"),
		r("255.255.255.0", "255.255.255.255", "JP"),
		r("2a01::", "2a01::7", "BE"),
		r("2a01::9", "2a01:0:0:1::3", "LU"), // a distance that needs the wide form
		r("ffff::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "AU"),
	}
	tab := MustNewTable(t, want...)
	b, err := tab.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := geo.ParseTable(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tab.Info(), got.Info()); diff != "" {
		t.Errorf("Info (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, slices.Collect(got.Ranges()), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("Ranges (-want +got):\n%s", diff)
	}
	b2, err := got.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Error("marshal, parse, marshal changed the bytes")
	}
}

// TestParseTable_Corrupt truncates and flips every byte of a small table:
// each result is an error or a table whose lookups stay in bounds.
func TestParseTable_Corrupt(t *testing.T) {
	b, err := MustNewTable(t, r("11.0.0.0", "11.0.1.255", "DE"), r("2a01::", "2a01::7", "BE")).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	probe := func(data []byte) {
		tab, err := geo.ParseTable(data)
		if err != nil {
			return
		}
		for _, a := range []string{"11.0.0.1", "1.1.1.1", "255.255.255.254", "2a01::1", "2c0f::1", "2001:4860::1"} {
			tab.Country(netip.MustParseAddr(a))
		}
	}
	for n := range len(b) {
		probe(b[:n])
	}
	for i := range b {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			c := bytes.Clone(b)
			c[i] ^= x
			probe(c)
		}
	}
	if _, err := geo.ParseTable(append(bytes.Clone(b), 0)); err == nil {
		t.Error("trailing byte accepted")
	}
}

func FuzzParseTable(f *testing.F) {
	b, err := MustNewTable(f, r("11.0.0.0", "11.0.1.255", "DE"), r("2a01::", "2a01::7", "BE")).MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := geo.ParseTable(data)
		if err != nil {
			return
		}
		tab.Country(netip.MustParseAddr("11.0.0.1"))
		tab.Country(netip.MustParseAddr("2a01::1"))
		// What parses re-encodes to the same bytes: the form has one
		// spelling per table.
		again, err := tab.MarshalBinary()
		if err != nil || !bytes.Equal(again, data) {
			t.Errorf("re-encoding differs (err %v)", err)
		}
	})
}

func BenchmarkTable_Country(b *testing.B) {
	tab := geo.Embedded()
	for _, a := range []string{"81.2.69.160", "2a02:8070::1"} {
		addr := netip.MustParseAddr(a)
		b.Run(a, func(b *testing.B) {
			for b.Loop() {
				tab.Country(addr)
			}
		})
	}
}
