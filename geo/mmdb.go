package geo

import (
	"fmt"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// MMDB is a database in MaxMind's format, opened with [OpenMMDB]. It is safe
// for concurrent use until Close.
type MMDB struct {
	r *maxminddb.Reader
}

var _ Resolver = (*MMDB)(nil)

// OpenMMDB opens a MaxMind-format database: any file whose records carry a
// country the way GeoIP2/GeoLite2 Country and City, DB-IP's MMDB editions or
// ip-location-db's MMDB files do. The file is memory-mapped; do not replace
// it in place while it is open.
//
// Open checks the file's metadata and search tree. It does not run the
// library's full Verify, which also rejects files with cosmetic metadata
// gaps (no description) that some publishers ship; lookups decode with the
// library's bounds checks, and a bad record counts as no country.
func OpenMMDB(path string) (*MMDB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geo: open %s: %w", path, err)
	}
	return &MMDB{r: r}, nil
}

// DatabaseType returns the type the file declares, e.g. "GeoLite2-Country"
// or "DBIP-Country-Lite", for logs and the about page.
func (db *MMDB) DatabaseType() string { return db.r.Metadata.DatabaseType }

// Close releases the file.
func (db *MMDB) Close() error { return db.r.Close() }

// mmdbRecord holds the fields of the record formats we read; absent fields
// stay zero.
type mmdbRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	Continent struct {
		Code string `maxminddb:"code"`
	} `maxminddb:"continent"`
	Traits struct {
		IsAnonymousProxy    bool `maxminddb:"is_anonymous_proxy"`
		IsSatelliteProvider bool `maxminddb:"is_satellite_provider"`
	} `maxminddb:"traits"`
	// CountryCode is the flat format of ip-location-db's MMDB files.
	CountryCode string `maxminddb:"country_code"`
}

// Country implements [Resolver]. It answers, in order: "A1" for a network
// the database marks as an anonymous proxy, "A2" for a satellite provider,
// the country's ISO code, and for a network placed only on a continent the
// legacy pseudo codes "EU" (Europe) or "AP" (Asia and Oceania). It does not
// fall back to registered_country: where a block was registered says
// little about where its user is, and a guess is worse than no answer.
func (db *MMDB) Country(addr netip.Addr) string {
	addr = Unwrap(addr)
	if classify(addr) != Public {
		return ""
	}
	var rec mmdbRecord
	if err := db.r.Lookup(addr).Decode(&rec); err != nil {
		return "" // see Resolver: a bad record is no country
	}
	switch {
	case rec.Traits.IsAnonymousProxy:
		return "A1"
	case rec.Traits.IsSatelliteProvider:
		return "A2"
	case isCode(rec.Country.ISOCode):
		return rec.Country.ISOCode
	case isCode(rec.CountryCode):
		return rec.CountryCode
	}
	switch rec.Continent.Code {
	case "EU":
		return "EU"
	case "AS", "OC":
		return "AP"
	}
	return ""
}
