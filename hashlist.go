package guardian

import (
	"cmp"
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
	// EachHashListEntry calls fn with every entry of type t of every
	// list, in one read transaction (so from one version of each list),
	// ordered by list and hash. An error from fn stops the walk and is
	// returned. It loads the in-memory PDQ index (hashlist.Matcher).
	EachHashListEntry(ctx context.Context, t HashType, fn func(HashMatch) error) error
	// SetReportHashMatches replaces what is recorded of report reportID's
	// files found in hash lists: the rows FindHashBundle joins on. Each
	// match's FileID must be a file of the report.
	SetReportHashMatches(ctx context.Context, reportID int64, matches []KnownMatch) error
	// FindHashBundle returns the other reports with a file found as the
	// same list item (type and hash) as one of report reportID's files:
	// how many there are, and the shared items of the limit most recent
	// of them (highest report ids first).
	FindHashBundle(ctx context.Context, reportID int64, limit int) (*HashBundle, error)
}

// MaxHashBundle bounds FindHashBundle's limit: a widely circulated picture
// may be in a hundred thousand reports.
const MaxHashBundle = 1000

// KnownMatch is one file of a report found in a hash list: by one of its
// digests (Distance 0), or by its PDQ hash within the match distance. It
// is stored with the report's triage ([KnownContent]), so that the
// decision can be explained, and joined on to bundle reports.
type KnownMatch struct {
	FileID      string `json:"fileId"`
	List        string `json:"list"`
	ListVersion string `json:"listVersion"`
	// Type and Hash are the list's entry: the item the file matched.
	Type     HashType `json:"type"`
	Hash     string   `json:"hash"`
	Category string   `json:"category"`
	// Distance is the Hamming distance between the file's PDQ hash (or
	// the Variant of it) and the entry's; 0 for the digests.
	Distance int `json:"distance"`
	// Variant names the rotation or flip of the file's picture that
	// matched (rot90, flipx, ...); empty for the picture as is.
	Variant string `json:"variant,omitempty"`
}

// KnownContent is what the hash lists said about a report's files when it
// was triaged.
type KnownContent struct {
	// Lists is the number of hash lists checked, Files the number of the
	// report's files checked against them.
	Lists int `json:"lists"`
	Files int `json:"files"`
	// MaxDistance is the PDQ match distance in force.
	MaxDistance int `json:"maxDistance"`
	// Matches are ordered by file, then distance, list and item: at most
	// MaxKnownMatchesPerFile per file, the closest.
	Matches []KnownMatch `json:"matches"`
	// Omitted counts the matches left out beyond that bound: a list may
	// hold hundreds of near copies of one picture.
	Omitted int `json:"omitted,omitempty"`
}

// MaxKnownMatchesPerFile bounds the matches kept per file of a report.
const MaxKnownMatchesPerFile = 50

// MatchedFiles returns the ids of the files with at least one match.
func (k *KnownContent) MatchedFiles() map[string]bool {
	m := make(map[string]bool)
	if k != nil {
		for _, x := range k.Matches {
			m[x.FileID] = true
		}
	}
	return m
}

// HashBundle is the reports that share list items with one report.
type HashBundle struct {
	// Reports is the number of other reports sharing an item, in all.
	Reports int `json:"reports"`
	// Members are the shared items of the most recent of them, by report
	// id (highest first), then type and hash.
	Members []HashBundleMember `json:"members"`
}

// HashBundleMember is one item another report shares.
type HashBundleMember struct {
	ReportID int64    `json:"reportId"`
	Type     HashType `json:"type"`
	Hash     string   `json:"hash"`
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
			if c := cmp.Compare(len(na), len(nb)); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = ra, rb
		case a[0] != b[0]:
			return cmp.Compare(int(a[0]), int(b[0]))
		default:
			a, b = a[1:], b[1:]
		}
	}
	return cmp.Compare(len(a), len(b))
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digitRun(s string) (run, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}
