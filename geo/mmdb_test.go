package geo_test

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/guardian-network/guardian/geo"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// MustWriteMMDB writes a small MaxMind-format database in the shapes the
// reader understands and returns its path. The networks are invented: the
// reader is tested, not the data.
func MustWriteMMDB(tb testing.TB) string {
	tb.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "Guardian-Test-Country",
		RecordSize:              24,
		IncludeReservedNetworks: true, // to prove the reader ignores what a file says about them
	})
	if err != nil {
		tb.Fatal(err)
	}
	country := func(cc string) mmdbtype.Map {
		return mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(cc)}}
	}
	for _, n := range []struct {
		cidr string
		rec  mmdbtype.Map
	}{
		{"11.0.0.0/16", country("DE")},
		{"11.1.0.0/16", mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("FR")}, "traits": mmdbtype.Map{"is_anonymous_proxy": mmdbtype.Bool(true)}}},
		{"11.2.0.0/16", mmdbtype.Map{"traits": mmdbtype.Map{"is_satellite_provider": mmdbtype.Bool(true)}}},
		{"11.3.0.0/16", mmdbtype.Map{"continent": mmdbtype.Map{"code": mmdbtype.String("EU")}}},
		{"11.4.0.0/16", mmdbtype.Map{"continent": mmdbtype.Map{"code": mmdbtype.String("AS")}}},
		{"11.5.0.0/16", mmdbtype.Map{"country_code": mmdbtype.String("JP")}}, // ip-location-db's flat shape
		{"11.6.0.0/16", mmdbtype.Map{"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("US")}}},
		{"2a00::/16", country("NL")},
		{"192.0.2.0/24", country("US")}, // documentation: must still give no country
		{"2001:db8::/32", country("US")},
		{"10.0.0.0/8", country("US")},
	} {
		_, ipnet, err := net.ParseCIDR(n.cidr)
		if err != nil {
			tb.Fatal(err)
		}
		if err := w.Insert(ipnet, n.rec); err != nil {
			tb.Fatalf("insert %s: %v", n.cidr, err)
		}
	}
	path := filepath.Join(tb.TempDir(), "test.mmdb")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.WriteTo(f); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestMMDB_Country(t *testing.T) {
	db, err := geo.OpenMMDB(MustWriteMMDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.DatabaseType(); got != "Guardian-Test-Country" {
		t.Errorf("DatabaseType() = %q", got)
	}
	for _, tt := range []struct{ addr, want string }{
		{"11.0.1.2", "DE"},
		{"::ffff:11.0.1.2", "DE"},
		{"2002:0b00:0102::1", "DE"}, // 6to4 of 11.0.1.2
		{"11.1.0.1", "A1"},          // anonymous proxy wins over the country
		{"11.2.0.1", "A2"},
		{"11.3.0.1", "EU"},
		{"11.4.0.1", "AP"},
		{"11.5.0.1", "JP"},
		{"11.6.0.1", ""}, // registered_country only: no guess
		{"11.7.0.1", ""}, // not in the file
		{"2a00:1::1", "NL"},
		{"192.0.2.1", ""},
		{"2001:db8::1", ""},
		{"10.1.1.1", ""},
	} {
		if got := db.Country(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("Country(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

func TestOpenMMDB_Errors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.mmdb")
	if err := os.WriteFile(bad, []byte("not a MaxMind database, just synthetic bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A real database cut short.
	good, err := os.ReadFile(MustWriteMMDB(t))
	if err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short.mmdb")
	if err := os.WriteFile(short, good[:len(good)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "missing.mmdb"), bad, short} {
		if db, err := geo.OpenMMDB(p); err == nil {
			db.Close()
			t.Errorf("OpenMMDB(%s) succeeded", filepath.Base(p))
		}
	}
}

func BenchmarkMMDB_Country(b *testing.B) {
	db, err := geo.OpenMMDB(MustWriteMMDB(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	addr := netip.MustParseAddr("11.0.1.2")
	b.ReportAllocs()
	for b.Loop() {
		db.Country(addr)
	}
}
