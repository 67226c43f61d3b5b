package pdq

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func randomHash(rng *rand.Rand) Hash {
	return hashFromWords([4]uint64{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()})
}

// near returns h with d distinct bits flipped.
func near(rng *rand.Rand, h Hash, d int) Hash {
	for _, k := range rng.Perm(256)[:d] {
		h[31-k/8] ^= 1 << (k % 8)
	}
	return h
}

// oracle is the linear scan's answer, sorted as Query sorts.
func oracle(x *Index, h Hash, maxDist int) []Match {
	w := h.words()
	x.mu.RLock()
	m := x.scan(&w, maxDist, 0, nil)
	x.mu.RUnlock()
	sortMatches(m)
	return m
}

// dataset is a list of hashes to index and queries to ask of it.
type dataset struct {
	hashes  []Hash
	queries []Hash
}

// randomData is uniform hashes, with queries that are half near copies of
// stored hashes (distance 0..40) and half random.
func randomData(rng *rand.Rand, n, q int) dataset {
	var d dataset
	for range n {
		d.hashes = append(d.hashes, randomHash(rng))
	}
	for i := range q {
		if i%2 == 0 {
			d.queries = append(d.queries, near(rng, d.hashes[rng.IntN(n)], rng.IntN(41)))
		} else {
			d.queries = append(d.queries, randomHash(rng))
		}
	}
	return d
}

// clusteredData is what real lists look like and random data is not: many
// near-duplicates. Hashes come in clusters within 16 bits of a centre, so
// a query near a centre matches dozens of entries through several slots
// at once, which is what the index's de-duplication must get right.
func clusteredData(rng *rand.Rand, n, q int) dataset {
	var d dataset
	var centres []Hash
	for len(d.hashes) < n {
		c := randomHash(rng)
		centres = append(centres, c)
		for range 1 + rng.IntN(60) {
			d.hashes = append(d.hashes, near(rng, c, rng.IntN(17)))
		}
	}
	d.hashes = d.hashes[:n]
	for range q {
		d.queries = append(d.queries, near(rng, centres[rng.IntN(len(centres))], rng.IntN(24)))
	}
	return d
}

// TestIndexMatchesScan compares every query with the linear scan, for
// distances on both sides of each per-slot radius (15/16, 31/32, 47/48),
// across the index's states: all entries chained (merge threshold not
// reached), main plus a chained tail after many merges (threshold
// lowered), after removals, and compacted.
func TestIndexMatchesScan(t *testing.T) {
	for _, kind := range []string{"random", "clustered"} {
		for _, mergeMin := range []int{minMerge, 200} {
			t.Run(fmt.Sprintf("%s/merge>%d", kind, mergeMin), func(t *testing.T) {
				t.Parallel()
				n, q := 4000, 40
				if raceEnabled {
					n, q = 1500, 10
				}
				rng := rand.New(rand.NewPCG(1, uint64(mergeMin)))
				var d dataset
				if kind == "random" {
					d = randomData(rng, n, q)
				} else {
					d = clusteredData(rng, n, q)
				}
				x := NewIndex()
				x.mergeMin = mergeMin
				for i, h := range d.hashes {
					x.Add(uint64(i), h)
				}
				// A repeated id: both of its entries are found.
				x.Add(7, near(rng, d.hashes[7], 3))
				check := func(state string) {
					t.Helper()
					matched := 0
					for _, q := range d.queries {
						for _, maxDist := range []int{0, 15, 16, 31, 32, 47, 48} {
							got, want := x.Query(q, maxDist), oracle(x, q, maxDist)
							if diff := cmp.Diff(want, got); diff != "" {
								t.Fatalf("%s: Query(%v, %d) differs from a linear scan (-want +got):\n%s", state, q, maxDist, diff)
							}
							if maxDist == MatchDistance {
								matched += len(got)
							}
						}
					}
					if matched == 0 {
						t.Fatalf("%s: no query matched anything; the test proves nothing", state)
					}
				}
				if tail := len(x.ids) - x.mainN; mergeMin < n && (x.mainN == 0 || tail == 0) {
					t.Fatalf("main %d, tail %d: want both in use", x.mainN, tail)
				}
				check(fmt.Sprintf("main %d, tail %d", x.mainN, len(x.ids)-x.mainN))
				var gone []uint64
				for i := 0; i < n; i += 10 {
					gone = append(gone, uint64(i))
				}
				if got := x.Remove(gone...); got != len(gone) {
					t.Fatalf("Remove removed %d, want %d", got, len(gone))
				}
				if got, want := x.Len(), n+1-len(gone); got != want {
					t.Fatalf("Len = %d, want %d", got, want)
				}
				check("after Remove")
				x.Compact()
				if x.mainN != x.Len() {
					t.Fatalf("after Compact main holds %d of %d", x.mainN, x.Len())
				}
				check("after Compact")
			})
		}
	}
}

func TestQueryDihedral(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	d := clusteredData(rng, 5000, 20)
	x := NewIndex()
	for i, h := range d.hashes {
		x.Add(uint64(i%4000), h) // some ids hold two hashes
	}
	for _, q := range d.queries {
		var variants [8]Hash
		for k := range variants {
			variants[k] = near(rng, q, 8*k)
		}
		variants[5] = variants[2] // a repeated variant is looked up once
		best := map[uint64]Match{}
		for k, v := range variants {
			for _, m := range oracle(x, v, MatchDistance) {
				m.Variant = k
				if b, ok := best[m.ID]; !ok || m.Distance < b.Distance || m.Distance == b.Distance && k < b.Variant {
					best[m.ID] = m
				}
			}
		}
		var want []Match
		for _, m := range best {
			want = append(want, m)
		}
		sortMatches(want)
		got := x.QueryDihedral(variants, MatchDistance)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("QueryDihedral differs from the per-id minimum over linear scans (-want +got):\n%s", diff)
		}
	}
}

// TestIndexConcurrent runs queries while a writer adds (across a merge),
// removes and compacts; run it with -race.
func TestIndexConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	n := 3000
	if raceEnabled {
		n = 1200
	}
	d := randomData(rng, n, 20)
	x := NewIndex()
	x.mergeMin = 100
	for i, h := range d.hashes[:n/3] {
		x.Add(uint64(i), h)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				q := d.queries[i%len(d.queries)]
				for _, m := range x.Query(q, MatchDistance) {
					if m.Distance > MatchDistance {
						t.Errorf("match at distance %d", m.Distance)
					}
				}
				x.QueryDihedral([8]Hash{q, q, q, q, q, q, q, q}, 20)
			}
		})
	}
	for i := n / 3; i < len(d.hashes); i++ {
		x.Add(uint64(i), d.hashes[i])
	}
	x.Remove(1, 2, 3)
	x.Compact()
	close(stop)
	wg.Wait()
	if got, want := x.Len(), len(d.hashes)-3; got != want {
		t.Errorf("Len = %d, want %d", got, want)
	}
}

func TestIndexEdges(t *testing.T) {
	x := NewIndex()
	h := randomHash(rand.New(rand.NewPCG(4, 4)))
	if got := x.Query(h, 256); len(got) != 0 {
		t.Errorf("empty index: %v", got)
	}
	x.Compact()
	x.Add(1, h)
	if got := x.Query(h, -1); got != nil {
		t.Errorf("negative distance: %v", got)
	}
	if got := x.Query(h, 0); !slices.Equal(got, []Match{{ID: 1}}) {
		t.Errorf("exact: %v", got)
	}
	inv := hashFromWords([4]uint64{^h.words()[0], ^h.words()[1], ^h.words()[2], ^h.words()[3]})
	if got := x.Query(inv, 256); !slices.Equal(got, []Match{{ID: 1, Distance: 256}}) {
		t.Errorf("complement: %v", got)
	}
	if n := x.Remove(1); n != 1 || x.Len() != 0 {
		t.Errorf("Remove = %d, Len = %d", n, x.Len())
	}
	if got := x.Query(h, 0); len(got) != 0 {
		t.Errorf("removed entry found: %v", got)
	}
}
