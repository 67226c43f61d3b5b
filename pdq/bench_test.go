package pdq

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// large enables the 10-million-hash benchmarks, which take about a
// gigabyte and several seconds to set up:
//
//	go test ./pdq -run '^$' -bench Query -benchtime 2000x -pdq.large
var large = flag.Bool("pdq.large", false, "run the 10-million-hash index benchmarks")

// benchIndex is an index of n random hashes with 1000 queries, 100 of
// them planted near-duplicates (distance 1..31) of stored hashes and 900
// random, as in pdq.md §3.1. Building it is timed and measured once.
type benchIndex struct {
	x        *Index
	queries  []Hash
	build    time.Duration
	heapGrow uint64
}

var (
	benchIndexes   = map[int]*benchIndex{}
	benchIndexesMu sync.Mutex
)

func getBenchIndex(b *testing.B, n int) *benchIndex {
	benchIndexesMu.Lock()
	defer benchIndexesMu.Unlock()
	if bi, ok := benchIndexes[n]; ok {
		return bi
	}
	// Only one big index in memory at a time.
	clear(benchIndexes)
	runtime.GC()
	rng := rand.New(rand.NewPCG(41, uint64(n)))
	entries := make([]Entry, n)
	for i := range entries {
		entries[i] = Entry{ID: uint64(i), Hash: randomHash(rng)}
	}
	bi := &benchIndex{}
	for i := range 1000 {
		if i%10 == 0 {
			bi.queries = append(bi.queries, near(rng, entries[rng.IntN(n)].Hash, 1+rng.IntN(31)))
		} else {
			bi.queries = append(bi.queries, randomHash(rng))
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	bi.x = NewIndex()
	bi.x.AddBatch(entries)
	bi.build = time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(entries)
	bi.heapGrow = after.HeapAlloc - before.HeapAlloc
	benchIndexes[n] = bi
	return bi
}

// BenchmarkQuery measures one Query at distance 31 (ns/op), and reports
// the index's size per hash (bytes/hash, from its arrays; heap-bytes/hash,
// from the heap's growth while building) and the time AddBatch took to
// build it (build-s, measured once).
func BenchmarkQuery(b *testing.B) {
	for _, n := range []int{1_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("%dM", n/1_000_000), func(b *testing.B) {
			if n > 1_000_000 && !*large {
				b.Skip("needs -pdq.large")
			}
			bi := getBenchIndex(b, n)
			found := 0
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				found += len(bi.x.Query(bi.queries[i%len(bi.queries)], MatchDistance))
			}
			b.ReportMetric(float64(bi.x.memBytes())/float64(n), "bytes/hash")
			b.ReportMetric(float64(bi.heapGrow)/float64(n), "heap-bytes/hash")
			b.ReportMetric(bi.build.Seconds(), "build-s")
			if found == 0 {
				b.Fatal("no planted match found")
			}
		})
	}
}

// BenchmarkQueryScan is the linear scan the index replaces, for scale.
func BenchmarkQueryScan(b *testing.B) {
	bi := getBenchIndex(b, 1_000_000)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		w := bi.queries[i%len(bi.queries)].words()
		bi.x.scan(&w, MatchDistance, 0, nil)
	}
}

// BenchmarkQueryDihedral is the lookup of one image: 8 queries.
func BenchmarkQueryDihedral(b *testing.B) {
	bi := getBenchIndex(b, 1_000_000)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		q := bi.queries[i%len(bi.queries)]
		rng := rand.New(rand.NewPCG(uint64(i), 0))
		v := [8]Hash{q, randomHash(rng), randomHash(rng), randomHash(rng), randomHash(rng), randomHash(rng), randomHash(rng), randomHash(rng)}
		bi.x.QueryDihedral(v, MatchDistance)
	}
}

// BenchmarkHash hashes the 1600x1004 bridge JPEG from the reference
// vectors: "Reader" includes decoding, "Image" starts from the decoded
// image.
func BenchmarkHash(b *testing.B) {
	path := filepath.Join(vectorDir, "images", "te-bridge-1600x1004.jpg")
	data, err := os.ReadFile(path)
	if err != nil {
		b.Skipf("reference image missing: %v", err)
	}
	b.Run("Reader", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := HashReader(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Small is the size of the simulator's pictures, where the fixed work
	// (the DCT, the eight dihedral hashes) outweighs the pixels.
	b.Run("Small", func(b *testing.B) {
		img := image.NewGray(image.Rect(0, 0, 160, 120))
		for i := range img.Pix {
			img.Pix[i] = uint8(i*7 + i/160*13)
		}
		for b.Loop() {
			if _, err := HashImage(img); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Image", func(b *testing.B) {
		img := mustDecodeFile(b, path)
		for b.Loop() {
			if _, err := HashImage(img); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAdd loads b.N random hashes one Add at a time into an empty
// index, merges included, then compacts: ns/op is the amortised cost of
// an incremental load. -benchtime 1000000x loads a million.
func BenchmarkAdd(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	hashes := make([]Hash, b.N)
	for i := range hashes {
		hashes[i] = randomHash(rng)
	}
	x := NewIndex()
	b.ResetTimer()
	for i, h := range hashes {
		x.Add(uint64(i), h)
	}
	x.Compact()
}
