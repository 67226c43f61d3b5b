package pdq

import (
	"cmp"
	"math/bits"
	"runtime"
	"slices"
	"sync"
)

// Index finds the stored hashes within a Hamming distance of a query. It
// is a multi-index hash as upstream's README-MIH describes: each hash is
// cut into 16 slots of 16 bits, and since two hashes within 31 bits differ
// in at most 1 bit in at least one slot (pigeonhole), a query only visits
// the entries whose slot value is within 1 bit of its own in some slot:
// 16 x 17 buckets, about 0.4% of a random list, each verified with four
// popcounts. The answers are exactly a linear scan's.
//
// Memory is about 104 bytes per hash (32 for the hash, 8 for the id, 64
// for 16 slot lists of 32-bit positions) and a 4 MiB offset table. Entries
// added one by one also cost a 4 MiB head table and up to 25% spare
// capacity until [Index.Compact].
//
// An Index is safe for concurrent use: any number of queries run in
// parallel, and Add, AddBatch, Remove and Compact take a write lock. The
// zero value is not usable; call [NewIndex].
//
// # Layout
//
// The bulk of the entries is in one structure ("main"): for each slot,
// the positions of all entries sorted by slot value, with an offset table
// of 65,537 entries (compressed sparse rows). Entries added since the last
// merge ("tail") are chained per slot and value: a head table and, per
// entry and slot, the previous entry with the same value. When the tail
// outgrows a quarter of main it is merged in, bucket by bucket, which is
// a sequential copy; so Add is amortised O(1) and no Add sorts main
// again. Removal marks entries dead; Compact (or enough removals)
// rebuilds without them.
//
// # Loading
//
// Load a hash list with [Index.AddBatch], which sorts a large batch
// straight into main (a radix sort per slot): 10 million hashes take
// under 4 s here with other work on the machine. The index's large arrays
// are backed by transparent huge pages where Linux allows it: faulting in
// the gigabyte 4 KiB at a time on a virtual machine cost more than the
// sort, and random lookups miss the TLB less. The same list added one
// hash at a time takes several times as long, because each merge copies
// main into fresh memory, and the Add that triggers a merge holds the
// write lock for it.
type Index struct {
	mu     sync.RWMutex
	hashes []uint64 // 4 words per entry, as Hash.words
	ids    []uint64
	dead   []uint64 // bit set of removed positions
	ndead  int

	// main covers positions [0, mainN): lists[s] holds the positions of
	// slot s grouped by slot value, and offs[s*(slotValues+1)+v] is where
	// value v's group starts. One array per slot, so that a merge needs
	// fresh memory for one slot at a time: on a virtual machine, first
	// touching a page costs more than the merge's arithmetic.
	mainN int
	offs  []uint32
	lists [slots][]uint32

	// The tail covers positions [mainN, len(ids)). heads[s*slotValues+v]
	// is 1 + the newest tail position with value v in slot s (0: none),
	// and next[16*(p-mainN)+s] is 1 + the previous one.
	heads []uint32
	next  []uint32

	// mergeMin is the tail size below which the tail is never merged:
	// minMerge, lowered by tests to exercise merges on small data.
	mergeMin int
}

// Match is one stored entry found by a query.
type Match struct {
	ID uint64
	// Distance is the Hamming distance between the stored hash and the
	// query (for QueryDihedral, the closest of the query's variants).
	Distance int
	// Variant is the index in QueryDihedral's variants (Original to
	// FlipMinus1) that gave Distance; 0 for Query.
	Variant int
}

const (
	slots      = 16
	slotValues = 1 << 16
	// minMerge is the tail size below which the tail is never merged: a
	// few chained entries cost less than touching main's 64 bytes per
	// entry, and small indexes never need main at all.
	minMerge = 1 << 16
	// mergeRatio sets when the tail is merged: once it holds more than
	// 1/mergeRatio of main's entries. A larger ratio keeps chains short
	// for queries; a smaller one copies main less often while loading.
	// With 4, loading n entries copies about 5n of them in all.
	mergeRatio = 4
	// maxRadius is the largest per-slot radius the buckets are probed
	// for. Radius r visits sum(C(16,i), i<=r) values per slot: 17 for
	// r=1 (maxDist <= 31), 137 for r=2 (<= 47), 697 for r=3, by which
	// point a linear scan is cheaper.
	maxRadius = 2
)

// NewIndex returns an empty index.
func NewIndex() *Index { return &Index{mergeMin: minMerge} }

// slot returns the 16-bit value of slot s (0..15) of a hash held as words.
func slot(w []uint64, s int) int { return int(uint16(w[s>>2] >> (16 * (s & 3)))) }

// Len returns the number of entries, not counting removed ones.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.ids) - x.ndead
}

// Add stores h under id. Ids are the caller's and need not be unique: an
// id added with several hashes is found through each of them. Add is
// amortised constant time; see Loading in the type's documentation for
// the merges.
func (x *Index) Add(id uint64, h Hash) {
	x.mu.Lock()
	defer x.mu.Unlock()
	w := h.words()
	x.hashes = append(x.hashes, w[:]...)
	x.ids = append(x.ids, id)
	x.added(len(x.ids) - 1)
}

// Entry is one id and hash for AddBatch.
type Entry struct {
	ID   uint64
	Hash Hash
}

// AddBatch stores many entries at once, as Add would one by one but
// cheaper: a batch as large as a quarter of the index goes straight into
// the main structure without being chained first, and a first batch is
// stored in arrays of exactly its size. Use it to load a hash list.
func (x *Index) AddBatch(entries []Entry) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.ids)+len(entries) > 1<<32-1 {
		panic("pdq: index full (2^32-1 entries)")
	}
	if len(x.ids) == 0 {
		x.hashes = make([]uint64, 0, 4*len(entries))
		x.ids = make([]uint64, 0, len(entries))
		hugePages(x.hashes)
		hugePages(x.ids)
	}
	start := len(x.ids)
	x.hashes = slices.Grow(x.hashes, 4*len(entries))[:4*(start+len(entries))]
	x.ids = slices.Grow(x.ids, len(entries))[:start+len(entries)]
	// Copied in parallel: on a virtual machine, faulting in fresh pages
	// is most of the cost of a first large batch.
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), 4, 1+len(entries)>>18)
	for w := range workers {
		wg.Go(func() {
			for i := w * len(entries) / workers; i < (w+1)*len(entries)/workers; i++ {
				p := start + i
				h := entries[i].Hash.words()
				copy(x.hashes[4*p:4*p+4], h[:])
				x.ids[p] = entries[i].ID
			}
		})
	}
	wg.Wait()
	if n := (len(x.ids) + 63) / 64; n > len(x.dead) {
		x.dead = append(x.dead, make([]uint64, n-len(x.dead))...)
	}
	if t := len(x.ids) - x.mainN; t > x.mergeMin && t > x.mainN/mergeRatio {
		x.merge()
		return
	}
	for p := start; p < len(x.ids); p++ {
		x.added(p)
	}
}

// added chains the new entry at position p into the tail, and merges the
// tail into main when it has grown enough.
func (x *Index) added(p int) {
	if p == 1<<32-1 {
		panic("pdq: index full (2^32-1 entries)")
	}
	if p/64 >= len(x.dead) {
		x.dead = append(x.dead, 0)
	}
	if x.heads == nil {
		x.heads = make([]uint32, slots*slotValues)
	}
	t := len(x.next)
	x.next = append(x.next, make([]uint32, slots)...)
	next := x.next[t : t+slots : t+slots]
	w := x.hashes[4*p : 4*p+4]
	for s := range slots {
		v := s*slotValues + slot(w, s)
		next[s] = x.heads[v]
		x.heads[v] = uint32(p + 1)
	}
	if t := len(x.ids) - x.mainN; t > x.mergeMin && t > x.mainN/mergeRatio {
		x.merge()
	}
}

// merge moves the tail into main, one slot at a time: the tail's
// positions are sorted by slot value, then each of main's buckets is
// followed by the tail's, so positions stay ascending within a bucket.
func (x *Index) merge() {
	n, tn := len(x.ids), len(x.ids)-x.mainN
	if x.offs == nil {
		x.offs = make([]uint32, slots*(slotValues+1))
	}
	// Slots are independent, so they are merged in parallel; the caller
	// holds the write lock and waits for all of them.
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), 4)
	for w := range workers {
		wg.Go(func() {
			var mine []int
			for s := w; s < slots; s += workers {
				mine = append(mine, s)
			}
			offs := make([][]uint32, len(mine))
			lists := make([][]uint32, len(mine))
			for i, s := range mine {
				if x.mainN == 0 {
					offs[i], lists[i] = x.offs[s*(slotValues+1):(s+1)*(slotValues+1)], make([]uint32, n)
				} else {
					offs[i], lists[i] = make([]uint32, slotValues+1), make([]uint32, tn)
				}
				hugePages(lists[i])
			}
			sortSlots(x.hashes, mine, x.mainN, n, offs, lists)
			for i, s := range mine {
				if x.mainN == 0 {
					x.lists[s] = lists[i]
				} else {
					x.lists[s] = mergeSlot(x.offs[s*(slotValues+1):(s+1)*(slotValues+1)], x.lists[s], offs[i], lists[i], n)
					lists[i] = nil
				}
			}
		})
	}
	wg.Wait()
	x.mainN = n
	// The chain tables are reused: the next tail grows to about the
	// size this one had.
	clear(x.heads)
	x.next = x.next[:0]
}

// mergeSlot returns the n positions of old (grouped by o) and tail
// (grouped by toffs) with each of old's buckets followed by tail's, and
// updates o to match.
func mergeSlot(o, old, toffs, tail []uint32, n int) []uint32 {
	l := make([]uint32, n)
	hugePages(l)
	// Buckets hold a few entries each, too few for copy's call to pay
	// off.
	at := uint32(0)
	for v := range slotValues {
		lo, hi := o[v], o[v+1]
		o[v] = at
		for _, p := range old[lo:hi] {
			l[at] = p
			at++
		}
		for _, p := range tail[toffs[v]:toffs[v+1]] {
			l[at] = p
			at++
		}
	}
	o[slotValues] = at
	return l
}

// sortSlots sorts positions [start, end) by their value in each slot of
// ss: offs[i] (slotValues+1 entries) receives each value's start in
// lists[i] (end-start entries), for slot ss[i]. Positions stay ascending
// within a value.
//
// It is a two-pass radix sort, low byte then high byte, carrying each
// value with its position: every pass writes 256 sequential streams.
// Scattering positions straight to their 65,536 buckets (a counting sort)
// is one random write to a 40 MB array per entry and slot at 10 million
// entries, and was three quarters of the build time.
func sortSlots(hashes []uint64, ss []int, start, end int, offs, lists [][]uint32) {
	// One pass over the hashes counts every slot's values.
	for i := range ss {
		clear(offs[i])
	}
	for p := start; p < end; p++ {
		w := hashes[4*p : 4*p+4 : 4*p+4]
		for i, s := range ss {
			offs[i][slot(w, s)+1]++
		}
	}
	tmp := make([]uint64, end-start) // value<<32 | position, by low byte
	hugePages(tmp)
	for i, s := range ss {
		o := offs[i]
		var low [256]uint32
		for v := range slotValues {
			low[v&0xff] += o[v+1]
		}
		for v := 1; v <= slotValues; v++ {
			o[v] += o[v-1]
		}
		var at [256]uint32
		for b, sum := 1, uint32(0); b < 256; b++ {
			sum += low[b-1]
			at[b] = sum
		}
		word, shift := s>>2, 16*(s&3)
		for p := start; p < end; p++ {
			v := uint16(hashes[4*p+word] >> shift)
			tmp[at[v&0xff]] = uint64(v)<<32 | uint64(p)
			at[v&0xff]++
		}
		// The high byte's buckets start where its first value's does.
		for b := range 256 {
			at[b] = o[b<<8]
		}
		l := lists[i]
		for _, x := range tmp {
			b := x >> 40 & 0xff
			l[at[b]] = uint32(x)
			at[b]++
		}
	}
}

// Remove removes every entry stored under one of ids and returns how many
// it removed. It scans all ids, so remove in batches. When a quarter of
// the entries are removed, the index compacts itself.
func (x *Index) Remove(ids ...uint64) int {
	if len(ids) == 0 {
		return 0
	}
	set := make(map[uint64]struct{}, len(ids))
	for _, id := range ids {
		set[id] = struct{}{}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	removed := 0
	for p, id := range x.ids {
		if _, ok := set[id]; ok && x.dead[p/64]&(1<<(p%64)) == 0 {
			x.dead[p/64] |= 1 << (p % 64)
			removed++
		}
	}
	x.ndead += removed
	if x.ndead > 0 && x.ndead*4 >= len(x.ids) {
		x.compact()
	}
	return removed
}

// Compact drops removed entries, moves every entry into the main
// structure and releases spare capacity. Call it after a bulk load: until
// then recent entries are chained, which costs queries a little.
func (x *Index) Compact() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.compact()
}

func (x *Index) compact() {
	if x.ndead == 0 {
		if len(x.ids) > x.mainN {
			x.merge()
		}
		x.heads, x.next = nil, nil
		// Appending left up to a quarter of the arrays spare.
		x.hashes, x.ids, x.dead = clip(x.hashes), clip(x.ids), clip(x.dead)
		return
	}
	n := len(x.ids) - x.ndead
	hashes, ids := make([]uint64, 0, 4*n), make([]uint64, 0, n)
	for p, id := range x.ids {
		if x.dead[p/64]&(1<<(p%64)) == 0 {
			hashes = append(hashes, x.hashes[4*p:4*p+4]...)
			ids = append(ids, id)
		}
	}
	x.hashes, x.ids = hashes, ids
	x.dead, x.ndead = make([]uint64, (n+63)/64), 0
	x.heads, x.next = nil, nil
	x.mainN, x.offs, x.lists = 0, nil, [slots][]uint32{}
	if n > 0 {
		x.merge()
	}
	x.next = nil
}

// clip returns s in an array of exactly its length.
func clip(s []uint64) []uint64 {
	if cap(s) == len(s) {
		return s
	}
	return append(make([]uint64, 0, len(s)), s...)
}

// Query returns the entries within maxDist of h, closest first (ties by
// id). Use [MatchDistance] for upstream's threshold. Distances up to 47
// use the buckets; larger ones scan every entry.
func (x *Index) Query(h Hash, maxDist int) []Match {
	if maxDist < 0 {
		return nil
	}
	w := h.words()
	x.mu.RLock()
	m := x.query(&w, maxDist, 0, nil)
	x.mu.RUnlock()
	sortMatches(m)
	return m
}

// QueryDihedral returns the entries within maxDist of any of variants,
// usually a query image's [Result.Dihedral], so that rotated and mirrored
// copies are found too. Each id appears once, with the smallest distance
// between any of its hashes and any variant.
func (x *Index) QueryDihedral(variants [8]Hash, maxDist int) []Match {
	if maxDist < 0 {
		return nil
	}
	var all []Match
	x.mu.RLock()
	for k, v := range variants {
		if slices.Contains(variants[:k], v) {
			continue // symmetric images repeat variants
		}
		w := v.words()
		all = x.query(&w, maxDist, k, all)
	}
	x.mu.RUnlock()
	// An id found through several variants (or stored with several
	// hashes) is reported once, with its smallest distance.
	slices.SortFunc(all, func(a, b Match) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Distance, b.Distance), cmp.Compare(a.Variant, b.Variant))
	})
	out := all[:0]
	for _, m := range all {
		if len(out) > 0 && out[len(out)-1].ID == m.ID {
			continue
		}
		out = append(out, m)
	}
	sortMatches(out)
	return out
}

func sortMatches(m []Match) {
	slices.SortFunc(m, func(a, b Match) int {
		return cmp.Or(cmp.Compare(a.Distance, b.Distance), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Variant, b.Variant))
	})
}

// query appends the matches of q to out. The caller holds the read lock.
func (x *Index) query(q *[4]uint64, maxDist, variant int, out []Match) []Match {
	r := maxDist / slots
	if r > maxRadius {
		return x.scan(q, maxDist, variant, out)
	}
	var probes [137]int // 1 + 16 + 120 values within radius 2
	hs := x.hashes
	for s := range slots {
		v := slot(q[:], s)
		np := 0
		probes[np] = v
		np++
		if r >= 1 {
			for i := range 16 {
				probes[np] = v ^ 1<<i
				np++
				if r >= 2 {
					for j := range i {
						probes[np] = v ^ 1<<i ^ 1<<j
						np++
					}
				}
			}
		}
		// The loops below are the hot path: a candidate is a random load
		// of 16 bytes and two popcounts, kept small so that the processor
		// has many loads in flight; the rest of the check is in found.
		q0, q1 := q[0], q[1]
		if x.mainN > 0 {
			o := x.offs[s*(slotValues+1) : (s+1)*(slotValues+1)]
			l := x.lists[s]
			for _, pv := range probes[:np] {
				for _, p := range l[o[pv]:o[pv+1]] {
					h := hs[4*int(p) : 4*int(p)+2 : 4*int(p)+2]
					if bits.OnesCount64(q0^h[0])+bits.OnesCount64(q1^h[1]) <= maxDist {
						out = x.found(q, int(p), s, r, maxDist, variant, out)
					}
				}
			}
		}
		if x.heads != nil {
			for _, pv := range probes[:np] {
				for e := x.heads[s*slotValues+pv]; e != 0; e = x.next[16*(int(e)-1-x.mainN)+s] {
					out = x.found(q, int(e)-1, s, r, maxDist, variant, out)
				}
			}
		}
	}
	return out
}

// found finishes checking candidate p, found through slot s, and appends
// it if it is within maxDist, not removed, and s is the first slot through
// which the query finds it: a match may lie within the radius in several
// slots, and reporting it only from the first keeps the answer free of
// duplicates without any per-query state shared between readers.
func (x *Index) found(q *[4]uint64, p, s, r, maxDist, variant int, out []Match) []Match {
	h := x.hashes[4*p : 4*p+4 : 4*p+4]
	d := bits.OnesCount64(q[0]^h[0]) + bits.OnesCount64(q[1]^h[1]) +
		bits.OnesCount64(q[2]^h[2]) + bits.OnesCount64(q[3]^h[3])
	if d > maxDist {
		return out
	}
	for e := range s {
		if bits.OnesCount16(uint16(slot(q[:], e)^slot(h, e))) <= r {
			return out
		}
	}
	if x.dead[p/64]&(1<<(p%64)) != 0 {
		return out
	}
	return append(out, Match{ID: x.ids[p], Distance: d, Variant: variant})
}

// scan is the linear search: every live entry, four popcounts each. It
// serves distances too large for the buckets, and the tests use it as the
// oracle for query.
func (x *Index) scan(q *[4]uint64, maxDist, variant int, out []Match) []Match {
	for p := range x.ids {
		h := x.hashes[4*p : 4*p+4 : 4*p+4]
		d := bits.OnesCount64(q[0]^h[0]) + bits.OnesCount64(q[1]^h[1]) +
			bits.OnesCount64(q[2]^h[2]) + bits.OnesCount64(q[3]^h[3])
		if d <= maxDist && x.dead[p/64]&(1<<(p%64)) == 0 {
			out = append(out, Match{ID: x.ids[p], Distance: d, Variant: variant})
		}
	}
	return out
}

// memBytes is the memory the index holds, from capacities: what the
// benchmarks report per hash.
func (x *Index) memBytes() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := 8*(cap(x.hashes)+cap(x.ids)+cap(x.dead)) +
		4*(cap(x.offs)+cap(x.heads)+cap(x.next))
	for _, l := range x.lists {
		n += 4 * cap(l)
	}
	return n
}
