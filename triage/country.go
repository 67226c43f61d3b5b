package triage

import "strings"

// isoCountries are the ISO 3166-1 alpha-2 codes of the CyberTipline
// schema's country enumeration (reference §3.10), less its pseudo and
// withdrawn codes (A1 A2 O1 AP EU AN FX, see rules.go), plus XK (Kosovo),
// which the schema and the IP databases use.
const isoCountries = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ " +
	"BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CX CW CY CZ DE DJ DK DM DO " +
	"DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU " +
	"GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW " +
	"KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU " +
	"MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW " +
	"PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF " +
	"TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT " +
	"ZA ZM ZW"

// countryTable maps a code's two letters to the code as a string ("" for
// none) and to its top-level domain with the dot: lookups that allocate
// nothing, since resolution runs for every report.
var countryTable, domainTable [26 * 26]string

func init() {
	for i := 0; i+2 <= len(isoCountries); i += 3 {
		c := isoCountries[i : i+2]
		k := int(c[0]-'A')*26 + int(c[1]-'A')
		countryTable[k] = c
		domainTable[k] = "." + string([]byte{c[0] + 'a' - 'A', c[1] + 'a' - 'A'})
	}
}

// letterIndex returns the table index of two ASCII letters of either case.
func letterIndex(a, b byte) (int, bool) {
	a |= 0x20
	b |= 0x20
	if a < 'a' || a > 'z' || b < 'a' || b > 'z' {
		return 0, false
	}
	return int(a-'a')*26 + int(b-'a'), true
}

// isoCountry returns the canonical code for an ISO country code, or "".
func isoCountry(code string) string {
	if len(code) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' {
		return ""
	}
	return countryTable[int(code[0]-'A')*26+int(code[1]-'A')]
}

// pseudoNotes are the notes for pseudoCountries, built once.
var pseudoNotes = func() map[string]string {
	m := make(map[string]string, len(pseudoCountries))
	for code, meaning := range pseudoCountries {
		m[code] = "pseudo country code " + code + " (" + meaning + "): no country"
	}
	return m
}()

// normCountry turns a code from a report or a database into an ISO code. It
// returns "" with a note and a marker for codes that name no country.
func normCountry(code string) (string, string, marker) {
	if c := isoCountry(code); c != "" {
		return c, "", markNone
	}
	if c, ok := renamedCountries[code]; ok {
		return c, "", markNone
	}
	if n, ok := pseudoNotes[code]; ok {
		return "", n, markProxy
	}
	return "", "not a country code", markNone
}

// usTerritories are the state codes of the schema's US list that are
// countries of their own in ISO 3166-1 (and in the IP databases).
var usTerritories = map[string]string{"PR": "PR", "GU": "GU", "VI": "VI"}

// domainCountry returns the country of a host name's country-code
// top-level domain, and the domain as ".xx"; "" when the domain is generic
// or not a country's.
func domainCountry(host string) (country, domain string) {
	n := len(host)
	if n > 0 && host[n-1] == '.' {
		host = host[:n-1] // fully qualified form
		n--
	}
	if n < 4 || host[n-3] != '.' {
		return "", ""
	}
	k, ok := letterIndex(host[n-2], host[n-1])
	if !ok {
		return "", ""
	}
	if host[n-2]|0x20 == 'u' && host[n-1]|0x20 == 'k' {
		return "GB", ".uk"
	}
	if countryTable[k] == "" || genericCountryDomains[domainTable[k][1:]] {
		return "", ""
	}
	return countryTable[k], domainTable[k]
}

// emailHost returns the domain of an e-mail address.
func emailHost(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.TrimSpace(addr[i+1:])
	}
	return ""
}

// urlHost returns the host of a URL, or of a bare "host/path".
func urlHost(u string) string {
	u = strings.TrimSpace(u)
	for i := 0; i+2 < len(u); i++ {
		if u[i] == ':' && u[i+1] == '/' && u[i+2] == '/' {
			u = u[i+3:]
			break
		}
		if u[i] == '/' || u[i] == '?' || u[i] == '#' {
			break
		}
	}
	for i := 0; i < len(u); i++ {
		switch u[i] {
		case '/', '?', '#', '\\':
			u = u[:i]
		}
	}
	if i := strings.LastIndexByte(u, '@'); i >= 0 {
		u = u[i+1:]
	}
	if len(u) > 0 && u[0] == '[' {
		return "" // an IP literal has no domain
	}
	if i := strings.LastIndexByte(u, ':'); i >= 0 {
		u = u[:i]
	}
	return u
}
