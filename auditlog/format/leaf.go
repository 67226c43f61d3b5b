package format

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/guardian-network/guardian"
)

// LeafVersion is the value of the "v" member of every leaf this package
// writes. A change to the encoding gets a new version; old leaves keep theirs.
const LeafVersion = 1

// MaxLeafSize is the largest leaf an entry bundle can carry: C2SP
// tlog-tiles prefixes each entry with a big-endian uint16 length.
const MaxLeafSize = 1<<16 - 1

// leafTimeLayout writes times in RFC 3339, UTC, with exactly six fractional
// digits: the microseconds that both stores keep.
const leafTimeLayout = "2006-01-02T15:04:05.000000Z"

// MarshalLeaf returns the leaf of the audit log that records ev: the bytes
// whose RFC 6962 leaf hash, SHA-256(0x00 || leaf), is in the Merkle tree, and
// which entry bundles serve. ev.Index must be set (the integrator sets it).
//
// # Encoding, version 1
//
// A leaf is a JSON object in the canonical form of RFC 8785 (JSON
// Canonicalization Scheme): no whitespace, members sorted by name, strings
// escaped minimally. Every member is always present, in this order:
//
//	{"action":S,
//	 "actor":{"id":S,"kind":S,"name":S,"organisation":S},
//	 "category":S,"clientAddr":S,"fileId":S,"id":I,"index":I,
//	 "justification":S,"objectId":S,"objectKind":S,"outcome":S,"reason":S,
//	 "recipients":[S,...],"reportId":I,"requestId":S,"time":T,"v":1}
//
// (shown on several lines here; a leaf is one line with no newline at the
// end). The members are the fields of [guardian.AuditEvent] of the same
// JSON name; "id" is the event's row id, "index" its leaf index. Absent
// values are written as their zero: "" for strings, 0 for reportId, [] for
// recipients (in the event's order).
//
//   - S, a string: '"', the text in UTF-8 with '"' and '\' escaped as \" and
//     \\, the control characters U+0008, U+0009, U+000A, U+000C, U+000D as
//     \b, \t, \n, \f, \r, the other characters below U+0020 as \u00XX with
//     lower-case hex digits, and every other character as itself; then '"'.
//     Text that is not valid UTF-8 cannot be encoded.
//   - I, an integer: decimal, no leading zeros, '-' if negative. (RFC 8785
//     writes numbers as IEEE doubles, which agree for magnitudes below
//     2^53, far beyond any id or index.)
//   - T, a time: a string "YYYY-MM-DDTHH:MM:SS.ffffffZ", in UTC, with
//     exactly six fractional digits (the time truncated to microseconds).
//
// An independent verifier can rebuild a leaf from an event with any RFC
// 8785 implementation, or parse it with any JSON parser.
func MarshalLeaf(ev *guardian.AuditEvent) ([]byte, error) {
	if ev.Index == nil {
		return nil, fmt.Errorf("audit event %d: no leaf index", ev.ID)
	}
	return AppendLeaf(make([]byte, 0, 384), ev, *ev.Index)
}

// CheckEvent reports whether ev can become a leaf, whatever id and index it
// is given: valid UTF-8 without NUL characters (which PostgreSQL's text
// cannot hold either), a time in years 0 to 9999, and small enough for an
// entry bundle. The store calls it before appending an event, because an
// event appended is integrated in order and cannot be skipped: one that
// could not be encoded would stop the log.
func CheckEvent(ev *guardian.AuditEvent) error {
	texts := []string{ev.Actor.ID, ev.Actor.Name, ev.Actor.Organisation, string(ev.Actor.Kind),
		string(ev.Category), ev.Action, ev.ObjectKind, ev.ObjectID, ev.FileID, ev.Outcome,
		ev.Reason, ev.Justification, ev.RequestID, ev.ClientAddr}
	for _, s := range append(texts, ev.Recipients...) {
		if strings.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("audit event %q: text contains a NUL character", ev.Action)
		}
	}
	// The largest id and index take 19 digits each.
	const maxInt = 1<<63 - 1
	e := *ev
	e.ID = maxInt
	_, err := AppendLeaf(make([]byte, 0, 384), &e, maxInt)
	return err
}

var errLeafTooLarge = errors.New("leaf larger than 65535 bytes")

// AppendLeaf appends the leaf of ev, at index, to b: [MarshalLeaf] with
// the index given rather than read from ev, for callers that know it from
// the leaf's position (the integrator, entry bundles, verifiers) and that
// encode many leaves into one buffer.
func AppendLeaf(b []byte, ev *guardian.AuditEvent, index int64) ([]byte, error) {
	start := len(b)
	t := ev.Time.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("audit event %d: time %v out of range", ev.ID, ev.Time)
	}
	var err error
	str := func(name, s string) {
		b = append(b, ',', '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		if err == nil {
			b, err = appendString(b, s)
		}
	}
	num := func(name string, n int64) {
		b = append(b, ',', '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		b = strconv.AppendInt(b, n, 10)
	}

	b = append(b, `{"action":`...)
	b, err = appendString(b, ev.Action)
	b = append(b, `,"actor":{"id":`...)
	if err == nil {
		b, err = appendString(b, ev.Actor.ID)
	}
	str("kind", string(ev.Actor.Kind))
	str("name", ev.Actor.Name)
	str("organisation", ev.Actor.Organisation)
	b = append(b, '}')
	str("category", string(ev.Category))
	str("clientAddr", ev.ClientAddr)
	str("fileId", ev.FileID)
	num("id", ev.ID)
	num("index", index)
	str("justification", ev.Justification)
	str("objectId", ev.ObjectID)
	str("objectKind", ev.ObjectKind)
	str("outcome", ev.Outcome)
	str("reason", ev.Reason)
	b = append(b, `,"recipients":[`...)
	for i, r := range ev.Recipients {
		if i > 0 {
			b = append(b, ',')
		}
		if err == nil {
			b, err = appendString(b, r)
		}
	}
	b = append(b, ']')
	num("reportId", ev.ReportID)
	str("requestId", ev.RequestID)
	b = append(b, `,"time":"`...)
	b = t.AppendFormat(b, leafTimeLayout)
	b = append(b, `","v":`...)
	b = strconv.AppendInt(b, LeafVersion, 10)
	b = append(b, '}')

	if err != nil {
		return nil, fmt.Errorf("audit event %d: %w", ev.ID, err)
	}
	if len(b)-start > MaxLeafSize {
		return nil, fmt.Errorf("audit event %d: %w", ev.ID, errLeafTooLarge)
	}
	return b, nil
}

// appendString appends s as an RFC 8785 JSON string.
func appendString(b []byte, s string) ([]byte, error) {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return b, errors.New("text is not valid UTF-8")
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\f':
			b = append(b, '\\', 'f')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"'), nil
}
