package hashlist_test

import (
	"cmp"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/hashlist"
	"github.com/guardian-network/guardian/pdq"
	"github.com/guardian-network/guardian/storetest"
)

func randomPDQ(rng *rand.Rand) pdq.Hash {
	var h pdq.Hash
	for i := range h {
		h[i] = byte(rng.Uint32())
	}
	return h
}

// near returns h with d distinct bits flipped.
func near(rng *rand.Rand, h pdq.Hash, d int) pdq.Hash {
	for _, k := range rng.Perm(256)[:d] {
		h[k/8] ^= 1 << (k % 8)
	}
	return h
}

func randomHex(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return hex.EncodeToString(b)
}

// fixture is a store with hash lists, and files to look up in them.
type fixture struct {
	store   hashlist.MatchStore
	imports func(l *guardian.HashList, entries []guardian.HashListEntry)
	lists   map[string][]guardian.HashListEntry // by list name, as imported
	queries []hashlist.Query
}

func newFixture(t *testing.T) *fixture {
	s := storetest.MustOpenSQLite(t, storetest.NewClock(time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)).Now)
	f := &fixture{store: s, lists: map[string][]guardian.HashListEntry{}}
	f.imports = func(l *guardian.HashList, entries []guardian.HashListEntry) {
		t.Helper()
		ev := &guardian.AuditEvent{Category: guardian.CategoryPrivileged, Action: "hashlist.import", Actor: guardian.Actor{Kind: guardian.ActorSystem, ID: "test"}}
		if err := s.ImportHashList(t.Context(), l, entries, true, ev); err != nil {
			t.Fatal(err)
		}
		f.lists[l.Name] = entries
	}
	return f
}

// makeData imports two lists with n PDQ entries between them (random, or
// clusters of near-duplicates as real lists have) and some digests, and
// makes q queries: near copies of entries (some rotated), random hashes,
// low-quality images, and files whose digests are listed.
func (f *fixture) makeData(rng *rand.Rand, kind string, n, q int) {
	var hashes []pdq.Hash
	var centres []pdq.Hash
	for len(hashes) < n {
		if kind == "random" {
			hashes = append(hashes, randomPDQ(rng))
			continue
		}
		c := randomPDQ(rng)
		centres = append(centres, c)
		for range 1 + rng.IntN(90) {
			hashes = append(hashes, near(rng, c, rng.IntN(17)))
		}
	}
	hashes = hashes[:n]
	var a, b []guardian.HashListEntry
	for i, h := range hashes {
		e := guardian.HashListEntry{Type: guardian.HashPDQ, Hash: h.String(), Category: fmt.Sprint(1 + i%3)}
		if i%5 == 0 {
			b = append(b, e)
		} else {
			a = append(a, e)
		}
		if i%50 == 0 { // in both lists
			b = append(b, e)
		}
	}
	md5s := make([]string, 20)
	for i := range md5s {
		md5s[i] = randomHex(rng, 16)
		a = append(a, guardian.HashListEntry{Type: guardian.HashMD5, Hash: md5s[i], Category: "1"})
	}
	f.imports(&guardian.HashList{Name: "list-a", Source: "example", Version: "1", Format: "csv"}, a)
	f.imports(&guardian.HashList{Name: "list-b", Source: "example", Version: "1", Format: "csv"}, b)
	for i := range q {
		qu := hashlist.Query{FileID: fmt.Sprintf("%032x", i), MD5: randomHex(rng, 16), SHA1: randomHex(rng, 20),
			SHA256: randomHex(rng, 32), HasPDQ: true, Quality: 50 + rng.IntN(51)}
		switch i % 6 {
		case 0, 1: // a near copy of an entry, or of a cluster's centre
			base := hashes[rng.IntN(n)]
			if len(centres) > 0 && i%2 == 1 {
				base = centres[rng.IntN(len(centres))]
			}
			qu.PDQ = near(rng, base, rng.IntN(40))
		case 2: // a rotated copy: the entry is one of the query's variants
			d := pdq.DihedralFromHash(near(rng, hashes[rng.IntN(n)], rng.IntN(20)))
			qu.PDQ = d[1+rng.IntN(7)]
			if i%4 == 0 {
				exact := pdq.DihedralFromHash(qu.PDQ)
				exact[3] = randomPDQ(rng) // stands for the hasher's own variants
				qu.Dihedral = &exact
			}
		case 3: // random
			qu.PDQ = randomPDQ(rng)
		case 4: // too poor to match perceptually, but its digest is listed
			qu.PDQ, qu.Quality = hashes[rng.IntN(n)], rng.IntN(50)
			qu.MD5 = md5s[rng.IntN(len(md5s))]
		case 5: // not an image
			qu.HasPDQ, qu.Quality = false, 0
		}
		f.queries = append(f.queries, qu)
	}
}

// oracle is the linear scan: every entry of every list against every
// variant of every query, the smallest distance kept per entry, and the
// closest guardian.MaxKnownMatchesPerFile per file; it also returns how
// many it left out.
func (f *fixture) oracle(maxDist int) ([]guardian.KnownMatch, int) {
	out := []guardian.KnownMatch{}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range f.lists {
			if !yield(n) {
				return
			}
		}
	})
	for _, q := range f.queries {
		variants := pdq.DihedralFromHash(q.PDQ)
		if q.Dihedral != nil {
			variants = *q.Dihedral
		}
		variants[pdq.Original] = q.PDQ
		for _, name := range names {
			for _, e := range f.lists[name] {
				m := guardian.KnownMatch{FileID: q.FileID, List: name, ListVersion: "1", Type: e.Type, Hash: e.Hash, Category: e.Category}
				switch e.Type {
				case guardian.HashMD5:
					if e.Hash == q.MD5 {
						out = append(out, m)
					}
				case guardian.HashPDQ:
					if !q.HasPDQ || q.Quality < pdq.MinQuality {
						continue
					}
					h, _ := pdq.ParseHash(e.Hash)
					best, bestV := 257, 0
					for v, x := range variants {
						if d := x.Distance(h); d < best {
							best, bestV = d, v
						}
					}
					if best <= maxDist {
						m.Distance = best
						if bestV != pdq.Original {
							m.Variant = pdq.VariantNames[bestV]
						}
						out = append(out, m)
					}
				}
			}
		}
	}
	order := map[string]int{}
	for i, q := range f.queries {
		order[q.FileID] = i
	}
	slices.SortFunc(out, func(a, b guardian.KnownMatch) int {
		return cmp.Or(cmp.Compare(order[a.FileID], order[b.FileID]), cmp.Compare(a.Distance, b.Distance),
			cmp.Compare(a.List, b.List), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Hash, b.Hash), cmp.Compare(a.Category, b.Category))
	})
	var kept []guardian.KnownMatch
	omitted := 0
	perFile := map[string]int{}
	for _, m := range out {
		if perFile[m.FileID]++; perFile[m.FileID] > guardian.MaxKnownMatchesPerFile {
			omitted++
		} else {
			kept = append(kept, m)
		}
	}
	return kept, omitted
}

// TestMatcherMatchesLinearScan compares the matcher's answers with a
// linear scan of every list entry, on random and on clustered lists, at
// the default distance and at smaller and larger ones.
func TestMatcherMatchesLinearScan(t *testing.T) {
	for _, kind := range []string{"random", "clustered"} {
		t.Run(kind, func(t *testing.T) {
			f := newFixture(t)
			f.makeData(rand.New(rand.NewPCG(13, uint64(len(kind)))), kind, 3000, 300)
			perceptual, variants, exact := 0, 0, 0
			for _, maxDist := range []int{pdq.MatchDistance, 10, 40} {
				m, err := hashlist.NewMatcher(f.store, maxDist)
				if err != nil {
					t.Fatal(err)
				}
				got, err := m.Match(t.Context(), f.queries)
				if err != nil {
					t.Fatal(err)
				}
				want, omitted := f.oracle(maxDist)
				if diff := gocmp.Diff(want, got.Matches); diff != "" {
					t.Fatalf("distance %d: matches differ from a linear scan (-want +got):\n%s", maxDist, diff)
				}
				if got.Omitted != omitted {
					t.Errorf("distance %d: %d matches omitted, want %d", maxDist, got.Omitted, omitted)
				}
				if maxDist == 40 && kind == "clustered" && omitted == 0 {
					t.Error("no file matched more than the bound: the bound is not exercised")
				}
				if got.Lists != 2 || got.Files != len(f.queries) || got.MaxDistance != maxDist {
					t.Errorf("distance %d: known content %d lists, %d files, distance %d", maxDist, got.Lists, got.Files, got.MaxDistance)
				}
				if maxDist == pdq.MatchDistance {
					for _, x := range got.Matches {
						switch {
						case x.Type == guardian.HashMD5:
							exact++
						case x.Variant != "":
							variants++
						default:
							perceptual++
						}
					}
				}
			}
			// The data must exercise every kind of match.
			if perceptual < 50 || variants < 10 || exact < 10 {
				t.Errorf("too few matches to compare: %d perceptual, %d through a variant, %d exact", perceptual, variants, exact)
			}
		})
	}
}

// TestMatcherRefresh checks that the matcher follows the lists another
// process imports and removes.
func TestMatcherRefresh(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	m, err := hashlist.NewMatcher(f.store, pdq.MatchDistance)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	h := randomPDQ(rng)
	q := []hashlist.Query{{FileID: "f1", MD5: randomHex(rng, 16), HasPDQ: true, PDQ: near(rng, h, 5), Quality: 90}}
	match := func() *guardian.KnownContent {
		t.Helper()
		k, err := m.Match(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	if k := match(); k.Lists != 0 || len(k.Matches) != 0 {
		t.Fatalf("no lists: %+v", k)
	}
	entry := guardian.HashListEntry{Type: guardian.HashPDQ, Hash: h.String(), Category: "2"}
	f.imports(&guardian.HashList{Name: "memes", Source: "example", Version: "1", Format: "csv"}, []guardian.HashListEntry{entry})
	want := []guardian.KnownMatch{{FileID: "f1", List: "memes", ListVersion: "1", Type: guardian.HashPDQ, Hash: h.String(), Category: "2", Distance: 5}}
	if diff := gocmp.Diff(want, match().Matches); diff != "" {
		t.Errorf("after import (-want +got):\n%s", diff)
	}
	// A new version of the list without the entry, imported with the
	// same entry count: the import time tells it apart.
	other := guardian.HashListEntry{Type: guardian.HashPDQ, Hash: randomPDQ(rng).String(), Category: "2"}
	f.imports(&guardian.HashList{Name: "memes", Source: "example", Version: "2", Format: "csv"}, []guardian.HashListEntry{other})
	if k := match(); k.Lists != 1 || len(k.Matches) != 0 {
		t.Errorf("after replacing the list: %+v", k)
	}
	lists, entries, err := m.Refresh(ctx)
	if err != nil || lists != 1 || entries != 1 {
		t.Errorf("Refresh = %d, %d, %v; want 1 list, 1 entry", lists, entries, err)
	}
	if err := f.store.(guardian.HashListStore).RemoveHashList(ctx, "memes", &guardian.AuditEvent{Category: guardian.CategoryPrivileged,
		Action: "hashlist.remove", Actor: guardian.Actor{Kind: guardian.ActorSystem, ID: "test"}}); err != nil {
		t.Fatal(err)
	}
	if k := match(); k.Lists != 0 {
		t.Errorf("after removal: %+v", k)
	}
}

func TestNewMatcherRefused(t *testing.T) {
	for _, d := range []int{-1, hashlist.MaxMatchDistance + 1} {
		if _, err := hashlist.NewMatcher(nil, d); err == nil {
			t.Errorf("NewMatcher(%d) accepted", d)
		}
	}
}

// TestMatcherConcurrent matches from several goroutines while lists are
// imported: every answer is that of one whole version of the list.
func TestMatcherConcurrent(t *testing.T) {
	f := newFixture(t)
	m, err := hashlist.NewMatcher(f.store, pdq.MatchDistance)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	h := randomPDQ(rng)
	q := []hashlist.Query{{FileID: "f1", HasPDQ: true, PDQ: h, Quality: 80}}
	version := func(v int) []guardian.HashListEntry {
		// Version v lists h and v-1 near copies of it.
		var e []guardian.HashListEntry
		for i := range v {
			e = append(e, guardian.HashListEntry{Type: guardian.HashPDQ, Hash: near(rng, h, i).String(), Category: fmt.Sprint(v)})
		}
		return e
	}
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				k, err := m.Match(t.Context(), q)
				if err != nil {
					errs <- err
					return
				}
				// All matches from one version: as many as its number.
				if n := len(k.Matches); n > 0 && fmt.Sprint(n) != k.Matches[0].Category {
					errs <- fmt.Errorf("%d matches from version %s", n, k.Matches[0].Category)
					return
				}
			}
		}()
	}
	for v := 1; v <= 10; v++ {
		f.imports(&guardian.HashList{Name: "growing", Source: "example", Version: fmt.Sprint(v), Format: "csv"}, version(v))
	}
	close(done)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if k, err := m.Match(t.Context(), q); err != nil || len(k.Matches) != 10 {
		t.Errorf("after the last import: %+v, %v", k, err)
	}
}

// TestQueryOfDihedral: a file hashed since schema version 10 is matched on
// its stored, exact rotations and flips; an older one has none, and
// matching derives them.
func TestQueryOfDihedral(t *testing.T) {
	q := 80
	hash := func(b byte) string { return strings.Repeat(fmt.Sprintf("%02x", b), 32) }
	var stored []string
	var want [8]pdq.Hash
	for i := range want {
		stored = append(stored, hash(byte(i+1)))
		h, err := pdq.ParseHash(stored[i])
		if err != nil {
			t.Fatal(err)
		}
		want[i] = h
	}
	f := &guardian.File{ID: "f", ImageStatus: guardian.ImageHashed, PDQ: stored[0], PDQQuality: &q, PDQDihedral: stored}
	got, err := hashlist.QueryOf(f)
	if err != nil {
		t.Fatal(err)
	}
	if got.Dihedral == nil || *got.Dihedral != want {
		t.Errorf("dihedral %v, want the stored %v", got.Dihedral, want)
	}
	f.PDQDihedral = nil
	if got, err = hashlist.QueryOf(f); err != nil || got.Dihedral != nil {
		t.Errorf("a file without stored rotations: %v, %v; want none (derived when matching)", got.Dihedral, err)
	}
	f.PDQDihedral = append(slices.Clone(stored[:7]), "not a hash")
	if _, err := hashlist.QueryOf(f); err == nil {
		t.Error("a malformed stored rotation was accepted")
	}
}
