package triage

import (
	"strconv"
	"sync/atomic"

	"github.com/guardian-network/guardian"
	"github.com/nyaruka/phonenumbers"
)

// phoneResult is what a telephone number says about a country.
type phoneResult struct {
	country string // "" when none
	code    string // calling code as "+49", the evidence value
	note    string
}

// Notes, fixed so that resolution allocates nothing to explain a number.
const (
	notePhoneUnique     = "calling code of one country"
	notePhoneNumber     = "calling code shared by several countries; the number is one of this country's"
	notePhoneShared     = "calling code shared by several countries; the number matches none of them"
	notePhoneNonGeo     = "non-geographic calling code (satellite, international service)"
	notePhoneUnknown    = "unknown calling code"
	notePhoneNoCode     = "no country calling code: a national number names no country"
	notePhoneBad        = "not a telephone number"
	notePhoneConflicted = "; the countryCallingCode attribute disagrees with the number's own"
)

// phoneCountry reads the country of a number with libphonenumber's metadata
// (github.com/nyaruka/phonenumbers). The calling code comes from a leading
// "+" in the number or else from the countryCallingCode attribute; a number
// with neither names no country, because the same national number exists
// in many. Most calling codes belong to one country and settle the
// question. For shared ones (+1 North America and the Caribbean, +7 Russia
// and Kazakhstan, +44 the UK and the Crown Dependencies, ...) the number
// itself is matched against each country's numbering plan.
func phoneCountry(p *guardian.Phone) phoneResult {
	var digits [24]byte
	n, plus := 0, false
	for i := 0; i < len(p.Value); i++ {
		c := p.Value[i]
		switch {
		case c >= '0' && c <= '9':
			if n == len(digits) {
				return phoneResult{note: notePhoneBad}
			}
			digits[n] = c
			n++
		case c == '+' && n == 0:
			plus = true
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/' || c == '\t':
		default:
			return phoneResult{note: notePhoneBad} // letters, extensions in the text, ...
		}
	}
	if n < 3 {
		return phoneResult{note: notePhoneBad}
	}
	attr := 0
	if a := p.CountryCallingCode; len(a) > 1 && a[0] == '+' {
		attr, _ = strconv.Atoi(a[1:])
	}
	cc, national, conflict := 0, digits[:n], false
	if plus {
		// Calling codes are prefix-free: the first known prefix is it.
		c := 0
		for l := 1; l <= 3 && l < n; l++ {
			c = c*10 + int(digits[l-1]-'0')
			if len(phonenumbers.GetRegionCodesForCountryCode(c)) > 0 {
				cc, national = c, digits[l:n]
				break
			}
		}
		if cc == 0 {
			return phoneResult{note: notePhoneUnknown}
		}
		conflict = attr != 0 && attr != cc
	} else {
		cc = attr
	}
	if cc == 0 {
		return phoneResult{note: notePhoneNoCode}
	}
	res := phoneResult{code: callingCode(cc)}
	regions := phonenumbers.GetRegionCodesForCountryCode(cc)
	switch {
	case len(regions) == 0:
		res.note = notePhoneUnknown
	case regions[0] == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
		res.note = notePhoneNonGeo
	case len(regions) == 1:
		res.country, res.note = regions[0], notePhoneUnique
	default:
		res.country = sharedCodeRegion(cc, regions[0], national)
		res.note = notePhoneNumber
		if res.country == "" {
			res.note = notePhoneShared
		}
	}
	if conflict {
		res.note += notePhoneConflicted
	}
	return res
}

// sharedCodeRegion matches a national number against the numbering plans of
// the countries sharing calling code cc, whose main country is main. A
// number written nationally may start with the national prefix ("1" in
// North America, "8" in Russia, "0" in the UK), which is tried without if
// the number does not match with it.
func sharedCodeRegion(cc int, main string, national []byte) string {
	if cc == 1 && len(national) == 11 && national[0] == '1' {
		national = national[1:] // 1-NPA-NXX-XXXX
	}
	if cc == 1 && len(national) == 10 {
		return nanpRegion(national)
	}
	if r, _ := regionOf(cc, national); r != "" {
		return r
	}
	prefix := phonenumbers.GetNddPrefixForRegion(main, true)
	if prefix != "" && len(national) > len(prefix) && string(national[:len(prefix)]) == prefix {
		r, _ := regionOf(cc, national[len(prefix):])
		return r
	}
	return ""
}

// nanpAreas remembers the country of each North American area code (NPA)
// once libphonenumber has placed a fixed or mobile number of it. In the
// North American Numbering Plan each geographic area code belongs to one
// country, so the answer holds for every number of the code; matching a +1
// number against 25 countries' plans costs microseconds, and +1 is the most
// common calling code in reports. Non-geographic codes (toll-free 8xx,
// 5xx, 900, ...) are never remembered and always matched in full. At most
// 800 entries: the cache cannot grow with input.
var nanpAreas [1000]atomic.Pointer[string]

func nanpRegion(national []byte) string {
	npa := int(national[0]-'0')*100 + int(national[1]-'0')*10 + int(national[2]-'0')
	if r := nanpAreas[npa].Load(); r != nil {
		return *r
	}
	r, num := regionOf(1, national)
	if r != "" {
		switch phonenumbers.GetNumberType(num) {
		case phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
			nanpAreas[npa].Store(&r)
		}
	}
	return r
}

func regionOf(cc int, national []byte) (string, *phonenumbers.PhoneNumber) {
	if len(national) == 0 || len(national) > phonenumbers.MAX_LENGTH_FOR_NSN {
		return "", nil
	}
	var nn uint64
	for _, d := range national { // at most 17 digits: no overflow
		nn = nn*10 + uint64(d-'0')
	}
	code := int32(cc)
	num := &phonenumbers.PhoneNumber{CountryCode: &code, NationalNumber: &nn}
	if zeros := leadingZeros(national); zeros > 0 {
		// Italy (shared +39 with the Vatican) keeps a leading zero.
		t, z := true, int32(zeros)
		num.ItalianLeadingZero, num.NumberOfLeadingZeros = &t, &z
	}
	return phonenumbers.GetRegionCodeForNumber(num), num
}

func leadingZeros(b []byte) int {
	n := 0
	for n < len(b)-1 && b[n] == '0' {
		n++
	}
	return n
}

// callingCodes holds "+N" for every calling code, so that evidence values
// cost no allocation.
var callingCodes = map[int]string{}

func init() {
	for cc := 1; cc < 1000; cc++ {
		if len(phonenumbers.GetRegionCodesForCountryCode(cc)) > 0 {
			callingCodes[cc] = "+" + strconv.Itoa(cc)
		}
	}
}

func callingCode(cc int) string {
	if s, ok := callingCodes[cc]; ok {
		return s
	}
	return "+" + strconv.Itoa(cc)
}
