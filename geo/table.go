package geo

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math/bits"
	"net/netip"
	"slices"
)

// Table is an IP-to-country table held in memory as sorted range starts: a
// lookup is a binary search, with no allocation. A Table is immutable and
// safe for concurrent use. Build one with [NewTable] or [ParseTable], or use
// [Embedded]; the zero Table answers "" for everything.
type Table struct {
	info  Info
	codes []string // index 0 is "" (no country)

	// Entry i covers [start[i], start[i+1]); the last one reaches the top
	// of the address space. start[0] is always 0, so every address falls in
	// exactly one entry. IPv6 starts are split into 64-bit halves.
	v4start []uint32
	v4cc    []uint8
	v6hi    []uint64
	v6lo    []uint64
	v6cc    []uint8
}

// Info describes where a table's data came from; NOTICE repeats it.
type Info struct {
	Source      string // data set and edition
	Version     string // version of the package it was taken from
	License     string
	Attribution string // text the licence asks users to display
}

// Range is an inclusive range of addresses of one family and its country
// ("" for none).
type Range struct {
	From, To netip.Addr
	Country  string
}

var _ Resolver = (*Table)(nil)

// Info returns the table's provenance.
func (t *Table) Info() Info { return t.info }

// Len returns the number of IPv4 and IPv6 entries (runs of one country or of
// no country).
func (t *Table) Len() (v4, v6 int) { return len(t.v4start), len(t.v6hi) }

// Ranges yields the table's ranges that have a country, IPv4 then IPv6, in
// address order, with adjacent ranges of one country merged.
func (t *Table) Ranges() iter.Seq[Range] {
	return func(yield func(Range) bool) {
		for i, s := range t.v4start {
			if t.v4cc[i] == 0 {
				continue
			}
			end := uint32(1<<32 - 1)
			if i+1 < len(t.v4start) {
				end = t.v4start[i+1] - 1
			}
			if !yield(Range{From: addr4(s), To: addr4(end), Country: t.codes[t.v4cc[i]]}) {
				return
			}
		}
		for i := range t.v6hi {
			if t.v6cc[i] == 0 {
				continue
			}
			end := uint128{^uint64(0), ^uint64(0)}
			if i+1 < len(t.v6hi) {
				end = uint128{t.v6hi[i+1], t.v6lo[i+1]}.sub(uint128{0, 1})
			}
			if !yield(Range{From: addr16(uint128{t.v6hi[i], t.v6lo[i]}), To: addr16(end), Country: t.codes[t.v6cc[i]]}) {
				return
			}
		}
	}
}

func addr4(x uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], x)
	return netip.AddrFrom4(b)
}

func addr16(x uint128) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], x.hi)
	binary.BigEndian.PutUint64(b[8:], x.lo)
	return netip.AddrFrom16(b)
}

// Country implements [Resolver].
func (t *Table) Country(addr netip.Addr) string {
	addr = Unwrap(addr)
	if classify(addr) != Public || len(t.v4cc) == 0 {
		return ""
	}
	if addr.Is4() {
		b := addr.As4()
		x := binary.BigEndian.Uint32(b[:])
		// Find the last start <= x. start[0] == 0 keeps i >= 0.
		lo, hi := 0, len(t.v4start)
		for hi-lo > 1 {
			m := int(uint(lo+hi) >> 1)
			if t.v4start[m] <= x {
				lo = m
			} else {
				hi = m
			}
		}
		return t.codes[t.v4cc[lo]]
	}
	b := addr.As16()
	xh, xl := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	lo, hi := 0, len(t.v6hi)
	for hi-lo > 1 {
		m := int(uint(lo+hi) >> 1)
		if h := t.v6hi[m]; h < xh || h == xh && t.v6lo[m] <= xl {
			lo = m
		} else {
			hi = m
		}
	}
	return t.codes[t.v6cc[lo]]
}

// NewTable builds a table from inclusive ranges of either family, in any
// order. Ranges must not overlap; adjacent ranges of one country are merged
// and addresses in no range have no country. Countries must be two
// upper-case letters.
func NewTable(ranges []Range, info Info) (*Table, error) {
	t := &Table{info: info, codes: []string{""}}
	index := map[string]uint8{"": 0}
	var r4, r6 []Range
	for _, r := range ranges {
		if !r.From.IsValid() || !r.To.IsValid() || r.From.Is4() != r.To.Is4() || r.From.Zone() != "" || r.To.Zone() != "" || r.From.Is4In6() || r.To.Is4In6() {
			return nil, fmt.Errorf("geo: bad range %v-%v", r.From, r.To)
		}
		if r.To.Less(r.From) {
			return nil, fmt.Errorf("geo: range %v-%v ends before it starts", r.From, r.To)
		}
		if r.Country != "" && !isCode(r.Country) {
			return nil, fmt.Errorf("geo: range %v-%v: bad country code %q", r.From, r.To, r.Country)
		}
		if _, ok := index[r.Country]; !ok {
			if len(t.codes) == 256 {
				return nil, errors.New("geo: more than 255 countries")
			}
			index[r.Country] = uint8(len(t.codes))
			t.codes = append(t.codes, r.Country)
		}
		if r.From.Is4() {
			r4 = append(r4, r)
		} else {
			r6 = append(r6, r)
		}
	}
	s4, c4, err := runs(r4, uint128{0, 1<<32 - 1}, index)
	if err != nil {
		return nil, err
	}
	s6, c6, err := runs(r6, uint128{^uint64(0), ^uint64(0)}, index)
	if err != nil {
		return nil, err
	}
	t.setEntries(s4, c4, s6, c6)
	return t, nil
}

// runs turns sorted-or-not inclusive ranges of one family, whose top
// address is top, into entry starts and country indexes: one entry per run
// of one country or of no country, the first starting at 0.
func runs(rs []Range, top uint128, index map[string]uint8) ([]uint128, []uint8, error) {
	slices.SortFunc(rs, func(a, b Range) int { return a.From.Compare(b.From) })
	var starts []uint128
	var ccs []uint8
	add := func(s uint128, cc uint8) {
		if n := len(ccs); n > 0 && ccs[n-1] == cc {
			return // the same country (or none) goes on
		}
		starts = append(starts, s)
		ccs = append(ccs, cc)
	}
	next := uint128{} // first address not yet covered
	full := false     // the ranges reached top
	for _, r := range rs {
		from, to := u128(r.From), u128(r.To)
		if full || from.less(next) {
			return nil, nil, fmt.Errorf("geo: range %v-%v overlaps the one before", r.From, r.To)
		}
		if next.less(from) {
			add(next, 0)
		}
		add(from, index[r.Country])
		if to == top {
			full = true
		} else {
			next = to.inc()
		}
	}
	if !full {
		add(next, 0)
	}
	return starts, ccs, nil
}

func (t *Table) setEntries(s4 []uint128, c4 []uint8, s6 []uint128, c6 []uint8) {
	t.v4start, t.v4cc = make([]uint32, len(s4)), c4
	for i, s := range s4 {
		t.v4start[i] = uint32(s.lo)
	}
	t.v6hi, t.v6lo, t.v6cc = make([]uint64, len(s6)), make([]uint64, len(s6)), c6
	for i, s := range s6 {
		t.v6hi[i], t.v6lo[i] = s.hi, s.lo
	}
}

// The binary form, written by [Table.MarshalBinary] and read by
// [ParseTable]:
//
//	magic    "guardian-geo/1\n"
//	info     four uvarint-length-prefixed strings: Source, Version, License, Attribution
//	codes    uvarint n, then n two-letter codes (index i+1; index 0 is no country)
//	ipv4     uvarint count, then count entries
//	ipv6     uvarint count, then count entries
//
// An entry is a country index byte, then the distance d from the previous
// entry's start (from 0 for the first, whose d is 0) written as d = m << s:
// a byte holding s (bits 0-6) and a flag (bit 7), the uvarint low 64 bits of
// m and, when the flag is set, the uvarint high 64 bits. Allocations are
// aligned blocks, so most distances are a small m times a large power of
// two, and an entry takes three or four bytes.
var magic = []byte("guardian-geo/1\n")

const wideFlag = 0x80

// MarshalBinary encodes the table in the form [ParseTable] reads.
func (t *Table) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, len(magic)+4*(len(t.v4start)+len(t.v6hi))+256)
	b = append(b, magic...)
	for _, s := range []string{t.info.Source, t.info.Version, t.info.License, t.info.Attribution} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(t.codes)-1))
	for _, c := range t.codes[1:] {
		b = append(b, c...)
	}
	appendEntries := func(n int, start func(int) uint128, cc []uint8) {
		b = binary.AppendUvarint(b, uint64(n))
		prev := uint128{}
		for i := range n {
			s := start(i)
			d := s.sub(prev)
			shift := d.trailingZeros()
			m := d.shr(shift)
			if m.hi != 0 {
				b = append(b, cc[i], byte(shift)|wideFlag)
				b = binary.AppendUvarint(b, m.lo)
				b = binary.AppendUvarint(b, m.hi)
			} else {
				b = append(b, cc[i], byte(shift))
				b = binary.AppendUvarint(b, m.lo)
			}
			prev = s
		}
	}
	appendEntries(len(t.v4start), func(i int) uint128 { return uint128{0, uint64(t.v4start[i])} }, t.v4cc)
	appendEntries(len(t.v6hi), func(i int) uint128 { return uint128{t.v6hi[i], t.v6lo[i]} }, t.v6cc)
	return b, nil
}

// ParseTable decodes the form [Table.MarshalBinary] writes. It checks
// everything a lookup relies on (starts increasing from 0 within the
// family, known country indexes), so corrupt input gives an error, never a
// table that answers out of bounds.
func ParseTable(data []byte) (*Table, error) {
	if !bytes.HasPrefix(data, magic) {
		return nil, errors.New("geo: not a table")
	}
	r := reader{b: data[len(magic):]}
	t := &Table{}
	for _, s := range []*string{&t.info.Source, &t.info.Version, &t.info.License, &t.info.Attribution} {
		*s = string(r.bytes(r.uvarint()))
	}
	n := r.uvarint()
	if n > 255 {
		return nil, errors.New("geo: corrupt table: too many countries")
	}
	t.codes = make([]string, 1, n+1)
	for range n {
		c := string(r.bytes(2))
		if r.err == nil && !isCode(c) {
			return nil, errors.New("geo: corrupt table: bad country code")
		}
		t.codes = append(t.codes, c)
	}
	// readEntries decodes one family's entries, handing each start to set
	// once the count is known (alloc), so that the starts go straight into
	// the table's arrays.
	readEntries := func(top uint128, alloc func(n int), set func(i int, s uint128)) []uint8 {
		count := r.uvarint()
		if r.err != nil || count == 0 || count > uint64(len(r.b))/3 {
			r.fail()
			return nil
		}
		alloc(int(count))
		ccs := make([]uint8, count)
		prev := uint128{}
		for i := range int(count) {
			cc, sb := r.byte(), r.byte()
			m := uint128{0, r.uvarint()}
			if sb&wideFlag != 0 {
				m.hi = r.uvarint()
			}
			shift := uint(sb &^ wideFlag)
			if r.err != nil || int(cc) >= len(t.codes) || m.len()+shift > 128 || (i == 0) != m.isZero() {
				r.fail()
				return nil
			}
			// One spelling per table: odd m (the shift takes all trailing
			// zeros), the wide form only when needed, and no two entries
			// in a row of one country (they would be one run).
			if i > 0 && (m.lo&1 == 0 || (sb&wideFlag != 0) != (m.hi != 0) || cc == ccs[i-1]) || i == 0 && sb != 0 {
				r.fail()
				return nil
			}
			s := prev.add(m.shl(shift))
			if i > 0 && !prev.less(s) || top.less(s) {
				r.fail() // not increasing, wrapped, or past the family's top
				return nil
			}
			set(i, s)
			ccs[i], prev = cc, s
		}
		return ccs
	}
	t.v4cc = readEntries(uint128{0, 1<<32 - 1},
		func(n int) { t.v4start = make([]uint32, n) },
		func(i int, s uint128) { t.v4start[i] = uint32(s.lo) })
	t.v6cc = readEntries(uint128{^uint64(0), ^uint64(0)},
		func(n int) { t.v6hi, t.v6lo = make([]uint64, n), make([]uint64, n) },
		func(i int, s uint128) { t.v6hi[i], t.v6lo[i] = s.hi, s.lo })
	if r.err != nil {
		return nil, fmt.Errorf("geo: corrupt table: %w", r.err)
	}
	if len(r.b) != 0 {
		return nil, errors.New("geo: corrupt table: trailing data")
	}
	return t, nil
}

func isCode(s string) bool {
	return len(s) == 2 && 'A' <= s[0] && s[0] <= 'Z' && 'A' <= s[1] && s[1] <= 'Z'
}

type reader struct {
	b   []byte
	err error
}

var errShort = errors.New("truncated or inconsistent")

func (r *reader) fail() {
	if r.err == nil {
		r.err = errShort
	}
	r.b = nil
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || n > 1 && r.b[n-1] == 0 {
		r.fail() // malformed, or not the shortest form
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) bytes(n uint64) []byte {
	if uint64(len(r.b)) < n {
		r.fail()
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

// uint128 is an address as a number: IPv4 addresses use lo only.
type uint128 struct{ hi, lo uint64 }

func u128(a netip.Addr) uint128 {
	if a.Is4() {
		b := a.As4()
		return uint128{0, uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return uint128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (a uint128) isZero() bool { return a.hi == 0 && a.lo == 0 }

func (a uint128) less(b uint128) bool {
	return cmp.Or(cmp.Compare(a.hi, b.hi), cmp.Compare(a.lo, b.lo)) < 0
}

func (a uint128) add(b uint128) uint128 {
	lo, carry := bits.Add64(a.lo, b.lo, 0)
	hi, _ := bits.Add64(a.hi, b.hi, carry)
	return uint128{hi, lo}
}

func (a uint128) sub(b uint128) uint128 {
	lo, borrow := bits.Sub64(a.lo, b.lo, 0)
	hi, _ := bits.Sub64(a.hi, b.hi, borrow)
	return uint128{hi, lo}
}

func (a uint128) inc() uint128 { return a.add(uint128{0, 1}) }

// len returns the number of bits needed to hold a.
func (a uint128) len() uint {
	if a.hi != 0 {
		return 64 + uint(bits.Len64(a.hi))
	}
	return uint(bits.Len64(a.lo))
}

func (a uint128) trailingZeros() uint {
	if a.lo != 0 {
		return uint(bits.TrailingZeros64(a.lo))
	}
	if a.hi != 0 {
		return 64 + uint(bits.TrailingZeros64(a.hi))
	}
	return 0
}

func (a uint128) shr(n uint) uint128 {
	switch {
	case n == 0:
		return a
	case n >= 64:
		return uint128{0, a.hi >> (n - 64)}
	}
	return uint128{a.hi >> n, a.lo>>n | a.hi<<(64-n)}
}

func (a uint128) shl(n uint) uint128 {
	switch {
	case n == 0:
		return a
	case n >= 64:
		return uint128{a.lo << (n - 64), 0}
	}
	return uint128{a.hi<<n | a.lo>>(64-n), a.lo << n}
}
