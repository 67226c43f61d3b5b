package cybertip

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/guardian-network/guardian"
)

// valueError is a simple value that its type rejects. limit marks the
// violation of a documented limit (maxLength, bounds) rather than of the
// CyberTipline schema proper.
type valueError struct {
	msg   string
	limit bool
}

// checkValue validates raw, the text of an element or attribute at loc, and
// returns its canonical form: what the decoder reads.
//
// Whitespace follows libxml2, the validator most clients have: xs:string
// keeps it, xs:token, xs:boolean and xs:double collapse it, and xs:int,
// xs:long, xs:dateTime and xs:date accept none around the value (XML Schema
// would collapse it; libxml2 does not, and agreeing with the validator of
// the published XSD matters more than the letter of the specification).
func checkValue(t *simpleType, raw, loc string) (string, *valueError) {
	v := raw
	var canon string
	var num float64 // for bounds
	bad := func() (string, *valueError) {
		return "", &valueError{msg: fmt.Sprintf("cvc-datatype-valid.1.2.1: Value %s at %s is not a valid value for '%s'.",
			quote(raw), loc, strings.TrimPrefix(t.base.String(), "xs:"))}
	}
	switch t.base {
	case xsString:
		canon = v
	case xsToken:
		v = collapse(v)
		canon = v
	case xsBoolean:
		v = collapse(v)
		switch v {
		case "true", "1":
			canon = "true"
		case "false", "0":
			canon = "false"
		default:
			return bad()
		}
	case xsInt, xsLong:
		if !isInteger(v) {
			return bad()
		}
		bits := 64
		if t.base == xsInt {
			bits = 32
		}
		n, err := strconv.ParseInt(v, 10, bits)
		if err != nil {
			return bad()
		}
		canon = strconv.FormatInt(n, 10)
		num = float64(n)
	case xsDouble:
		v = collapse(v)
		f, ok := parseDouble(v)
		if !ok {
			return bad()
		}
		canon = formatDouble(f)
		num = f
	case xsDateTime:
		if _, err := guardian.ParseDateTime(v); err != nil {
			return bad()
		}
		canon = v
	case xsDate:
		if _, err := guardian.ParseDate(v); err != nil {
			return bad()
		}
		canon = v
	}

	if t.enum != nil && !slices.Contains(t.enum, v) {
		return "", &valueError{msg: fmt.Sprintf("cvc-enumeration-valid: Value %s at %s is not facet-valid with respect to enumeration '%s'. It must be a value from the enumeration.",
			quote(raw), loc, enumList(t))}
	}
	if t.re != nil && !t.re.MatchString(v) {
		return "", &valueError{msg: fmt.Sprintf("cvc-pattern-valid: Value %s at %s is not facet-valid with respect to pattern '%s' for type '%s'.",
			quote(raw), loc, t.pattern, t.name)}
	}
	if t.maxLength > 0 {
		if n := utf8.RuneCountInString(v); n > t.maxLength {
			return "", &valueError{limit: true, msg: fmt.Sprintf("cvc-maxLength-valid: Value at %s with length = '%d' is not facet-valid with respect to maxLength '%d' for type '%s'.",
				loc, n, t.maxLength, t.name)}
		}
	}
	// Written as negations so that NaN, which compares false, fails both.
	if t.minInc != nil && !(num >= t.minInc.val) {
		return "", &valueError{limit: true, msg: fmt.Sprintf("cvc-minInclusive-valid: Value %s at %s is not facet-valid with respect to minInclusive '%s' for type '%s'.",
			quote(raw), loc, t.minInc.text, t.name)}
	}
	if t.maxInc != nil && !(num <= t.maxInc.val) {
		return "", &valueError{limit: true, msg: fmt.Sprintf("cvc-maxInclusive-valid: Value %s at %s is not facet-valid with respect to maxInclusive '%s' for type '%s'.",
			quote(raw), loc, t.maxInc.text, t.name)}
	}
	return canon, nil
}

// collapse applies the XML Schema whiteSpace facet "collapse".
func collapse(s string) string {
	if !strings.ContainsAny(s, " \t\n\r") {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, isXMLSpace), " ")
}

func isXMLSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

func isAllXMLSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// isInteger matches the lexical space of xs:integer: [+-]?[0-9]+.
func isInteger(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseDouble parses the lexical space of xs:double (XML Schema 1.0):
// (\+|-)?([0-9]+(\.[0-9]*)?|\.[0-9]+)([Ee](\+|-)?[0-9]+)?|-?INF|NaN.
// strconv alone would also take "Inf", hex and underscores.
func parseDouble(s string) (float64, bool) {
	switch s {
	case "INF":
		return math.Inf(1), true
	case "-INF":
		return math.Inf(-1), true
	case "NaN":
		return math.NaN(), true
	}
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	// Out-of-range values become ±Inf or 0, as in libxml2; the bounds of
	// the types that use xs:double then reject the infinities.
	f, _ := strconv.ParseFloat(s, 64)
	return f, true
}

// formatDouble writes f in a lexical form of xs:double that strconv reads
// back to the same value.
func formatDouble(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "INF"
	case math.IsInf(f, -1):
		return "-INF"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// enumList lists an enumeration for a message, shortened when long.
func enumList(t *simpleType) string {
	const show = 10
	vals := t.enum
	more := ""
	if len(vals) > show {
		more = fmt.Sprintf(", … (%d values of type '%s')", len(vals), t.name)
		vals = vals[:show]
	}
	return "[" + strings.Join(vals, ", ") + more + "]"
}

// Messages quote client input; these bounds keep a response small whatever
// was sent.
const (
	maxQuoted  = 64
	maxMessage = 1024
)

// quote returns s in single quotes for a message: shortened, with
// characters that are not graphic (controls, format characters such as
// bidirectional overrides, line separators) written as \u escapes so that
// no client ever sees them raw.
func quote(s string) string { return "'" + clean(s, maxQuoted) + "'" }

// clean shortens s to n runes and escapes runes that are not graphic.
func clean(s string, n int) string {
	var b strings.Builder
	i := 0
	for _, r := range s {
		if i == n {
			b.WriteString("…")
			break
		}
		i++
		if unicode.IsGraphic(r) {
			b.WriteRune(r)
			continue
		}
		if r == utf8.RuneError {
			b.WriteString(`\uFFFD`)
			continue
		}
		fmt.Fprintf(&b, `\u%04X`, r)
	}
	return b.String()
}
