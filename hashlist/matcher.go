package hashlist

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/pdq"
)

// MatchStore is what a [Matcher] needs of the store (guardian.HashListStore
// has it all).
type MatchStore interface {
	FindHashLists(ctx context.Context) ([]*guardian.HashList, error)
	FindHashMatches(ctx context.Context, hashes []guardian.HashListEntry) ([]guardian.HashMatch, error)
	EachHashListEntry(ctx context.Context, t guardian.HashType, fn func(guardian.HashMatch) error) error
}

// MaxMatchDistance bounds a Matcher's PDQ distance. Beyond 47 the index
// scans every entry, and beyond about 64 two unrelated pictures match.
const MaxMatchDistance = 64

// maxDigestQuery is the number of file digests one FindHashMatches call
// carries: three per file, well below both databases' parameter limits.
const maxDigestQuery = 900

// Matcher finds a report's files in the hash lists: exactly by their MD5,
// SHA-1 and SHA-256 (a store query on the entries' index), and
// perceptually by their PDQ hash, in all 8 rotations and flips, within a
// Hamming distance (an in-memory [pdq.Index] of every list's PDQ entries).
// Files of PDQ quality below [pdq.MinQuality] are matched exactly only.
//
// The PDQ index is loaded from the store on first use. Lists are imported
// by another process (guardian hashlist import), so before each match the
// matcher reads the lists' ids, versions and import times, one small query,
// and rebuilds the index when they changed: a match uses the lists as
// stored when it began. Rebuilds are one at a time; a match that finds the
// lists changed waits for the rebuild under way, and matches already past
// their check keep using the old index.
//
// A Matcher is safe for concurrent use.
type Matcher struct {
	store   MatchStore
	maxDist int

	mu  sync.Mutex // serialises refreshes
	cur atomic.Pointer[pdqLists]
}

// pdqLists is the index of the PDQ entries of one state of the lists.
type pdqLists struct {
	signature string
	lists     int
	index     *pdq.Index
	items     []pdqItem // by index id
	names     []listName
}

// pdqItem is one PDQ entry; list indexes pdqLists.names. Categories are
// interned: a list has few.
type pdqItem struct {
	hash     pdq.Hash
	list     uint32
	category string
}

type listName struct{ name, version string }

// NewMatcher returns a matcher on store with PDQ distance maxDist: 0 to
// MaxMatchDistance, usually [pdq.MatchDistance] (31).
func NewMatcher(store MatchStore, maxDist int) (*Matcher, error) {
	if maxDist < 0 || maxDist > MaxMatchDistance {
		return nil, fmt.Errorf("PDQ match distance %d is not between 0 and %d", maxDist, MaxMatchDistance)
	}
	return &Matcher{store: store, maxDist: maxDist}, nil
}

// MaxDistance returns the PDQ distance the matcher uses.
func (m *Matcher) MaxDistance() int { return m.maxDist }

// Refresh rebuilds the PDQ index if the stored lists changed since it was
// built, and returns the number of lists and of PDQ entries in force.
// Match calls it; call it at start to load the index before the first
// report.
func (m *Matcher) Refresh(ctx context.Context) (lists, pdqEntries int, err error) {
	p, err := m.refresh(ctx)
	if err != nil {
		return 0, 0, err
	}
	return p.lists, len(p.items), nil
}

func (m *Matcher) refresh(ctx context.Context) (*pdqLists, error) {
	// The usual case, lists unchanged, takes no lock: concurrent matches
	// do not queue behind each other's query of the lists.
	if p, _, err := m.current(ctx); p != nil || err != nil {
		return p, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// Read again under the lock: the refresh this one waited for may have
	// loaded them, or they may have changed again.
	p, ls, err := m.current(ctx)
	if p != nil || err != nil {
		return p, err
	}
	sig := signature(ls)
	// The signature is read before the entries: a list imported in
	// between is in the entries but not the signature, so the next
	// refresh loads the entries again, never the other way round.
	p = &pdqLists{signature: sig, lists: len(ls), index: pdq.NewIndex()}
	names := map[listName]uint32{}
	categories := map[string]string{}
	var entries []pdq.Entry
	err = m.store.EachHashListEntry(ctx, guardian.HashPDQ, func(e guardian.HashMatch) error {
		h, err := pdq.ParseHash(e.Hash)
		if err != nil {
			return fmt.Errorf("list %s: %w", e.List, err)
		}
		n := listName{e.List, e.ListVersion}
		li, ok := names[n]
		if !ok {
			li = uint32(len(p.names))
			names[n] = li
			p.names = append(p.names, n)
		}
		c, ok := categories[e.Category]
		if !ok {
			c = e.Category
			categories[c] = c
		}
		entries = append(entries, pdq.Entry{ID: uint64(len(p.items)), Hash: h})
		p.items = append(p.items, pdqItem{hash: h, list: li, category: c})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load PDQ entries: %w", err)
	}
	p.index.AddBatch(entries)
	p.items = slices.Clip(p.items)
	m.cur.Store(p)
	return p, nil
}

// current returns the loaded index if the stored lists are still those it
// was built from, else nil and the lists.
func (m *Matcher) current(ctx context.Context) (*pdqLists, []*guardian.HashList, error) {
	ls, err := m.store.FindHashLists(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("refresh hash lists: %w", err)
	}
	if p := m.cur.Load(); p != nil && p.signature == signature(ls) {
		return p, nil, nil
	}
	return nil, ls, nil
}

// signature identifies a state of the stored lists: ids are never
// reused, and a forced re-import of the same version changes the time.
func signature(ls []*guardian.HashList) string {
	var b strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&b, "%d/%s/%d/%d;", l.ID, l.Version, l.Entries, l.ImportedAt.UnixNano())
	}
	return b.String()
}

// Query is one file to match.
type Query struct {
	FileID            string
	MD5, SHA1, SHA256 string
	// PDQ is the file's PDQ hash and Quality its quality; a file without
	// one (not an image) has HasPDQ false.
	HasPDQ  bool
	PDQ     pdq.Hash
	Quality int
	// Dihedral, if not nil, are the picture's exact dihedral hashes
	// (pdq.Result.Dihedral). Without them they are derived from PDQ
	// (pdq.DihedralFromHash).
	Dihedral *[8]pdq.Hash
}

// QueryOf returns the query for a stored file.
func QueryOf(f *guardian.File) (Query, error) {
	q := Query{FileID: f.ID, MD5: f.MD5, SHA1: f.SHA1, SHA256: f.SHA256}
	if f.ImageStatus == guardian.ImageHashed && f.PDQ != "" && f.PDQQuality != nil {
		h, err := pdq.ParseHash(f.PDQ)
		if err != nil {
			return Query{}, fmt.Errorf("file %s: %w", f.ID, err)
		}
		q.HasPDQ, q.PDQ, q.Quality = true, h, *f.PDQQuality
		// The exact rotations and flips, stored at upload since schema
		// version 10; older files fall back on DihedralFromHash.
		if len(f.PDQDihedral) == len(q.Dihedral) {
			var d [8]pdq.Hash
			for i, s := range f.PDQDihedral {
				if d[i], err = pdq.ParseHash(s); err != nil {
					return Query{}, fmt.Errorf("file %s: dihedral hash %d: %w", f.ID, i, err)
				}
			}
			q.Dihedral = &d
		}
	}
	return q, nil
}

// MatchFiles matches stored files; see [Matcher.Match].
func (m *Matcher) MatchFiles(ctx context.Context, files []*guardian.File) (*guardian.KnownContent, error) {
	qs := make([]Query, len(files))
	for i, f := range files {
		var err error
		if qs[i], err = QueryOf(f); err != nil {
			return nil, err
		}
	}
	return m.Match(ctx, qs)
}

// Match finds the files of qs in the hash lists: every list entry equal to
// one of a file's digests, and every PDQ entry within the matcher's
// distance of one of its dihedral hashes (each entry once, at its smallest
// distance). Matches are ordered by file (as in qs), distance, list, type
// and hash; a file keeps its guardian.MaxKnownMatchesPerFile closest.
func (m *Matcher) Match(ctx context.Context, qs []Query) (*guardian.KnownContent, error) {
	p, err := m.refresh(ctx)
	if err != nil {
		return nil, err
	}
	k := &guardian.KnownContent{Lists: p.lists, Files: len(qs), MaxDistance: m.maxDist, Matches: []guardian.KnownMatch{}}
	if p.lists == 0 {
		return k, nil
	}
	order := map[string]int{}
	for i, q := range qs {
		if _, ok := order[q.FileID]; !ok {
			order[q.FileID] = i
		}
	}
	if k.Matches, err = m.exact(ctx, qs); err != nil {
		return nil, err
	}
	for _, q := range qs {
		if !q.HasPDQ || q.Quality < pdq.MinQuality {
			continue
		}
		variants := pdq.DihedralFromHash(q.PDQ)
		if q.Dihedral != nil {
			variants = *q.Dihedral
		}
		variants[pdq.Original] = q.PDQ
		for _, x := range p.index.QueryDihedral(variants, m.maxDist) {
			it := p.items[x.ID]
			n := p.names[it.list]
			v := ""
			if x.Variant != pdq.Original {
				v = pdq.VariantNames[x.Variant]
			}
			k.Matches = append(k.Matches, guardian.KnownMatch{FileID: q.FileID, List: n.name, ListVersion: n.version,
				Type: guardian.HashPDQ, Hash: it.hash.String(), Category: it.category, Distance: x.Distance, Variant: v})
		}
	}
	slices.SortFunc(k.Matches, func(a, b guardian.KnownMatch) int {
		return cmp.Or(cmp.Compare(order[a.FileID], order[b.FileID]), cmp.Compare(a.Distance, b.Distance),
			cmp.Compare(a.List, b.List), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Hash, b.Hash),
			cmp.Compare(a.Category, b.Category), cmp.Compare(a.FileID, b.FileID))
	})
	// Only the closest matches of each file are kept.
	kept, perFile := k.Matches[:0], 0
	for i, x := range k.Matches {
		if i == 0 || x.FileID != k.Matches[i-1].FileID {
			perFile = 0
		}
		if perFile++; perFile > guardian.MaxKnownMatchesPerFile {
			k.Omitted++
			continue
		}
		kept = append(kept, x)
	}
	k.Matches = kept
	return k, nil
}

// exact finds the files' digests in the lists, in batches.
func (m *Matcher) exact(ctx context.Context, qs []Query) ([]guardian.KnownMatch, error) {
	type key struct {
		t guardian.HashType
		h string
	}
	files := map[key][]string{} // a digest may be several files'
	var hashes []guardian.HashListEntry
	for _, q := range qs {
		for _, d := range []guardian.HashListEntry{{Type: guardian.HashMD5, Hash: q.MD5}, {Type: guardian.HashSHA1, Hash: q.SHA1}, {Type: guardian.HashSHA256, Hash: q.SHA256}} {
			if d.Hash == "" {
				continue
			}
			k := key{d.Type, d.Hash}
			if _, ok := files[k]; !ok {
				hashes = append(hashes, d)
			}
			if !slices.Contains(files[k], q.FileID) {
				files[k] = append(files[k], q.FileID)
			}
		}
	}
	out := []guardian.KnownMatch{}
	for start := 0; start < len(hashes); start += maxDigestQuery {
		found, err := m.store.FindHashMatches(ctx, hashes[start:min(start+maxDigestQuery, len(hashes))])
		if err != nil {
			return nil, err
		}
		for _, f := range found {
			for _, id := range files[key{f.Type, f.Hash}] {
				out = append(out, guardian.KnownMatch{FileID: id, List: f.List, ListVersion: f.ListVersion,
					Type: f.Type, Hash: f.Hash, Category: f.Category})
			}
		}
	}
	return out, nil
}

// String describes the matcher for logs.
func (m *Matcher) String() string {
	p := m.cur.Load()
	if p == nil {
		return "hash list matcher (not loaded)"
	}
	return "hash list matcher: " + strconv.Itoa(p.lists) + " lists, " + strconv.Itoa(len(p.items)) + " PDQ entries, distance " + strconv.Itoa(m.maxDist)
}
