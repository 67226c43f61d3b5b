package guardian

import (
	"context"
	"strings"
	"time"
)

// HashType names the kind of a hash: one of the cryptographic digests of a
// file's bytes, or its PDQ perceptual hash.
type HashType string

// The hash types a file has and a hash list may hold. All are lower-case hex.
const (
	HashMD5    HashType = "md5"    // 32 hex digits
	HashSHA1   HashType = "sha1"   // 40 hex digits
	HashSHA256 HashType = "sha256" // 64 hex digits
	HashPDQ    HashType = "pdq"    // 64 hex digits
)

// HexLen returns the number of hex digits a hash of type t has, or 0 for
// an unknown type.
func (t HashType) HexLen() int {
	switch t {
	case HashMD5:
		return 32
	case HashSHA1:
		return 40
	case HashSHA256, HashPDQ:
		return 64
	}
	return 0
}

// ImageStatus says whether a file was PDQ-hashed as an image, or why not.
// Files uploaded before the hub hashed images have the empty status.
type ImageStatus string

// The image statuses of a file.
const (
	ImageHashed      ImageStatus = "hashed"      // PDQ and PDQQuality are set
	ImageNotImage    ImageStatus = "not-image"   // not in an image format the hub decodes
	ImageUndecodable ImageStatus = "undecodable" // an image format, but corrupt or unsupported
	ImageTooLarge    ImageStatus = "too-large"   // too many bytes or pixels to decode
)

// HashList is a list of hashes of known content, as imported from a file a
// user already had. The name identifies it; a newer version of the same
// list replaces it whole.
type HashList struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Source string `json:"source"` // who the list comes from
	// Categories names the category scheme the entries' categories are
	// from, for example "vics" or the source's own.
	Categories string    `json:"categories"`
	Version    string    `json:"version"` // compared by CompareVersions
	Format     string    `json:"format"`  // csv or vics
	Entries    int64     `json:"entries"`
	ImportedAt time.Time `json:"importedAt"`
}

// HashListEntry is one hash of a list: its type, lower-case hex value, and
// the category the list gives it.
type HashListEntry struct {
	Type     HashType `json:"type"`
	Hash     string   `json:"hash"`
	Category string   `json:"category"`
}

// HashMatch is a hash of a file found in a hash list.
type HashMatch struct {
	List        string   `json:"list"`
	ListVersion string   `json:"listVersion"`
	Type        HashType `json:"type"`
	Hash        string   `json:"hash"`
	Category    string   `json:"category"`
}

// HashListStore keeps hash lists. Every import and removal is recorded by
// its audit event in the same transaction.
type HashListStore interface {
	// ImportHashList stores l and its entries, replacing a list of the
	// same name in the same transaction. A stored version that is newer
	// than or equal to l.Version (by CompareVersions) is ECONFLICT unless
	// force is set. The store sets l.ID, l.Entries and l.ImportedAt.
	ImportHashList(ctx context.Context, l *HashList, entries []HashListEntry, force bool, ev *AuditEvent) error
	// FindHashLists returns the lists, by name.
	FindHashLists(ctx context.Context) ([]*HashList, error)
	// RemoveHashList removes the named list and its entries; an unknown
	// name is ENOTFOUND.
	RemoveHashList(ctx context.Context, name string, ev *AuditEvent) error
	// FindHashMatches returns the entries of every list equal to one of
	// the hashes given (exact matches only), ordered by list, type, hash.
	FindHashMatches(ctx context.Context, hashes []HashListEntry) ([]HashMatch, error)
}

// CompareVersions compares two list versions in natural order: runs of
// digits compare as numbers and everything else byte by byte, so that
// "2026.10" follows "2026.9" and "v10" follows "v9". It returns -1, 0 or +1.
func CompareVersions(a, b string) int {
	for a != "" && b != "" {
		da, db := isDigit(a[0]), isDigit(b[0])
		switch {
		case da && db:
			na, ra := digitRun(a)
			nb, rb := digitRun(b)
			na, nb = strings.TrimLeft(na, "0"), strings.TrimLeft(nb, "0")
			if c := compareInts(len(na), len(nb)); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = ra, rb
		case a[0] != b[0]:
			return compareInts(int(a[0]), int(b[0]))
		default:
			a, b = a[1:], b[1:]
		}
	}
	return compareInts(len(a), len(b))
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digitRun(s string) (run, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func compareInts(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
