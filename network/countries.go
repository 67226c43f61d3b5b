package network

import (
	_ "embed"
	"maps"
	"slices"
	"strings"
)

// iso3166Tab is the tz database's iso3166.tab: the ISO 3166-1 alpha-2 codes
// with their usual English names, in the public domain, kept current with
// ISO by the tz maintainers. Refresh it from a tzdata release
// (/usr/share/zoneinfo/iso3166.tab on most systems).
//
//go:embed iso3166.tab
var iso3166Tab string

// countryNames maps each ISO 3166-1 alpha-2 code to its English name.
var countryNames = parseISO3166(iso3166Tab)

func parseISO3166(tab string) map[string]string {
	names := make(map[string]string, 250)
	for line := range strings.Lines(tab) {
		line = strings.TrimRight(line, "\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		code, name, ok := strings.Cut(line, "\t")
		if !ok || len(code) != 2 {
			panic("network: malformed iso3166.tab line " + line)
		}
		names[code] = name
	}
	return names
}

// CountryName returns the English name of an ISO 3166-1 alpha-2 code, and
// whether the code is one.
func CountryName(code string) (string, bool) {
	name, ok := countryNames[code]
	return name, ok
}

// Countries returns every ISO 3166-1 alpha-2 code, sorted.
func Countries() []string {
	return slices.Sorted(maps.Keys(countryNames))
}
