package geo

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/netip"
	"strings"
	"testing"
)

func TestEmbedded_Info(t *testing.T) {
	info := Embedded().Info()
	for _, tt := range []struct{ field, got, want string }{
		{"Source", info.Source, "DB-IP IP to Country Lite"},
		{"Version", info.Version, "@ip-location-db/dbip-country@"},
		{"License", info.License, "CC BY 4.0"},
		{"Attribution", info.Attribution, "DB-IP"},
	} {
		if !strings.Contains(tt.got, tt.want) {
			t.Errorf("%s = %q, want it to contain %q", tt.field, tt.got, tt.want)
		}
	}
	if v4, v6 := Embedded().Len(); v4 < 100_000 || v6 < 100_000 {
		t.Errorf("Len() = %d, %d: the table looks truncated", v4, v6)
	}
}

// TestEmbedded_RealAllocations takes addresses from ranges the embedded data
// assigns to countries (first, last and middle address of every 499th
// range) and checks that lookups give those countries back.
func TestEmbedded_RealAllocations(t *testing.T) {
	tab := Embedded()
	seen := map[string]bool{}
	i := 0
	for r := range tab.Ranges() {
		i++
		if _, ok := pseudo[r.Country]; ok {
			t.Fatalf("range %v-%v has the pseudo code %s", r.From, r.To, r.Country)
		}
		// Every 499th, and the first IPv4 and IPv6 range of a few
		// countries the tests of package triage rely on.
		key := r.Country + map[bool]string{true: "4", false: "6"}[r.From.Is4()]
		want := i%499 == 0 || strings.Contains("DE US GB FR BR JP CA", r.Country) && !seen[key]
		if !want {
			continue
		}
		seen[key] = true
		for _, a := range []netip.Addr{r.From, r.To, mid(r.From, r.To)} {
			if Classify(a) != Public {
				continue
			}
			if got := tab.Country(a); got != r.Country {
				t.Errorf("Country(%v) = %q, want %q (range %v-%v)", a, got, r.Country, r.From, r.To)
			}
		}
	}
	for _, k := range []string{"DE4", "DE6", "US4", "US6", "BR4", "JP6"} {
		if !seen[k] {
			t.Errorf("no range for %s", k)
		}
	}
}

var pseudo = map[string]bool{"A1": true, "A2": true, "O1": true, "EU": true, "AP": true}

func mid(a, b netip.Addr) netip.Addr {
	x, y := u128(a), u128(b)
	m := x.shr(1).add(y.shr(1)).add(uint128{0, x.lo & y.lo & 1})
	if a.Is4() {
		return addr4(uint32(m.lo))
	}
	return addr16(m)
}

func TestEmbedded_DocumentationRanges(t *testing.T) {
	tab := Embedded()
	for _, p := range []string{"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"} {
		for a := netip.MustParsePrefix(p).Addr(); netip.MustParsePrefix(p).Contains(a); a = a.Next() {
			if got := tab.Country(a); got != "" {
				t.Fatalf("Country(%v) = %q, want no country", a, got)
			}
		}
	}
	for _, a := range []string{"2001:db8::", "2001:db8::10", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8:1234::1", "3fff::1"} {
		if got := tab.Country(netip.MustParseAddr(a)); got != "" {
			t.Errorf("Country(%s) = %q, want no country", a, got)
		}
	}
}

// TestEmbedded_Canonical checks that the file is what MarshalBinary
// writes for the table it holds: the encoder and the decoder agree.
func TestEmbedded_Canonical(t *testing.T) {
	zr, err := gzip.NewReader(bytes.NewReader(embedded))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Embedded().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, b) {
		t.Error("the embedded table does not re-encode to itself")
	}
}
