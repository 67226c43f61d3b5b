// Package hashlist reads lists of hashes of known content from the files
// users exchange, for the hub to store, and matches files against the
// stored lists ([Matcher]: exact digests through the store, PDQ hashes
// through an in-memory pdq.Index it keeps current).
//
// Two formats are read, each by one function that streams its input:
//
//   - [ParseCSV] reads rows of type,hash,category: the format HMA-style
//     tools exchange. Types are md5, sha1, sha256 and pdq.
//   - [ParseVICS] reads Project VIC's VICS JSON: the MD5 and SHA-1 of each
//     of its Media entries, with the entry's category.
//
// Hashes come back as lower-case hex of their type's length. A file with
// any bad row is refused whole: the parsers return no entries and a
// [*ParseError] that lists the bad rows by line number, so that a user can
// fix them all in one go.
package hashlist

import (
	"errors"
	"fmt"
	"strings"

	"github.com/guardian-network/guardian"
)

// MaxLineLength bounds a line of a CSV list; longer lines are refused
// rather than read into memory.
const MaxLineLength = 4096

// maxErrors bounds the line errors a ParseError keeps; the count of the
// rest is kept.
const maxErrors = 100

// LineError is one bad row of a list.
type LineError struct {
	Line int    // 1-based
	Msg  string // what is wrong with it
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// ParseError lists the bad rows of a refused list, in order.
type ParseError struct {
	Errors []LineError // the first 100
	More   int         // how many more there were
}

func (e *ParseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d bad rows", len(e.Errors)+e.More)
	for _, le := range e.Errors {
		b.WriteString("\n")
		b.WriteString(le.Error())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\nand %d more", e.More)
	}
	return b.String()
}

// collector gathers line errors.
type collector struct{ pe ParseError }

func (c *collector) add(line int, format string, args ...any) {
	if len(c.pe.Errors) < maxErrors {
		c.pe.Errors = append(c.pe.Errors, LineError{Line: line, Msg: fmt.Sprintf(format, args...)})
	} else {
		c.pe.More++
	}
}

func (c *collector) err() error {
	if len(c.pe.Errors) == 0 {
		return nil
	}
	pe := c.pe
	return &pe
}

// ErrEmpty is returned for a list without a single hash.
var ErrEmpty = errors.New("hashlist: the list holds no hashes")

// ParseType reads a hash type name, case-insensitively; sha-1 and sha-256
// are accepted for sha1 and sha256.
func ParseType(s string) (guardian.HashType, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "md5":
		return guardian.HashMD5, true
	case "sha1", "sha-1":
		return guardian.HashSHA1, true
	case "sha256", "sha-256":
		return guardian.HashSHA256, true
	case "pdq":
		return guardian.HashPDQ, true
	}
	return "", false
}

// NormaliseHash returns s, a hash of type t, as lower-case hex, or an error
// saying why it is not one.
func NormaliseHash(t guardian.HashType, s string) (string, error) {
	h := strings.ToLower(strings.TrimSpace(s))
	if len(h) != t.HexLen() {
		return "", fmt.Errorf("%s hash %q has %d characters, not %d", t, trunc(s), len(h), t.HexLen())
	}
	if strings.Trim(h, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%s hash %q is not hex", t, trunc(s))
	}
	return h, nil
}

// trunc shortens s for an error message.
func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
