package format

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The tiling of C2SP tlog-tiles (https://c2sp.org/tlog-tiles): tiles of
// height 8, so that a full tile holds 256 hashes of one tree level, or 256
// entries.
const (
	TileHeight = 8
	TileWidth  = 1 << TileHeight
)

// MaxTileLevel is the highest level whose tiles can hold a hash of a tree
// of at most 2^63 leaves: level L holds the hashes of tree level 8L.
const MaxTileLevel = 63 / TileHeight

// TilePath names a tile of the log, as a path of C2SP tlog-tiles relative to
// "tile/": a hash tile "<L>/<N>[.p/<W>]" or an entry bundle
// "entries/<N>[.p/<W>]".
type TilePath struct {
	// Level is the tile level of a hash tile: its hashes are those of tree
	// level 8×Level. Zero for entry bundles.
	Level int
	// Index is the tile's number within its level, N.
	Index int64
	// Width is the number of hashes or entries of a partial tile, 1 to 255,
	// or 0 for a full tile of 256.
	Width int
	// Entries marks an entry bundle rather than a hash tile.
	Entries bool
}

var errBadTilePath = errors.New("not a tlog-tiles path")

// ParseTilePath parses the part of a tile's URL path after "tile/". It
// accepts only the canonical form that [TilePath.String] writes, so that one
// tile has one path: no leading zeros beyond the three digits of a group, no
// empty x000 groups in front, widths 1 to 255 in plain decimal.
func ParseTilePath(p string) (TilePath, error) {
	var t TilePath
	rest, ok := strings.CutPrefix(p, "entries/")
	if ok {
		t.Entries = true
	} else {
		level, after, ok := strings.Cut(p, "/")
		if !ok || !isDecimal(level) || len(level) > 2 || (len(level) > 1 && level[0] == '0') {
			return TilePath{}, fmt.Errorf("%q: %w", p, errBadTilePath)
		}
		t.Level, _ = strconv.Atoi(level)
		if t.Level > MaxTileLevel {
			return TilePath{}, fmt.Errorf("%q: level above %d: %w", p, MaxTileLevel, errBadTilePath)
		}
		rest = after
	}
	index, width, partial := strings.Cut(rest, ".p/")
	if partial {
		if !isDecimal(width) || len(width) > 3 || width[0] == '0' {
			return TilePath{}, fmt.Errorf("%q: %w", p, errBadTilePath)
		}
		t.Width, _ = strconv.Atoi(width)
		if t.Width >= TileWidth {
			return TilePath{}, fmt.Errorf("%q: width %d: %w", p, t.Width, errBadTilePath)
		}
	}
	n, err := parseTileIndex(index)
	if err != nil {
		return TilePath{}, fmt.Errorf("%q: %w", p, err)
	}
	t.Index = n
	return t, nil
}

// parseTileIndex parses N: groups of three digits separated by "/", all
// but the last prefixed with "x", the first not "x000".
func parseTileIndex(s string) (int64, error) {
	groups := strings.Split(s, "/")
	if len(groups) > 7 { // 2^63 has 19 digits
		return 0, errBadTilePath
	}
	var n int64
	for i, g := range groups {
		last := i == len(groups)-1
		if !last {
			var ok bool
			if g, ok = strings.CutPrefix(g, "x"); !ok {
				return 0, errBadTilePath
			}
		}
		if len(g) != 3 || !isDecimal(g) || (i == 0 && !last && g == "000") {
			return 0, errBadTilePath
		}
		d, _ := strconv.Atoi(g)
		if n > (1<<63-1-int64(d))/1000 {
			return 0, errBadTilePath
		}
		n = n*1000 + int64(d)
	}
	return n, nil
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String returns the tile's path after "tile/", as C2SP tlog-tiles writes
// it: N in groups of three digits, e.g. 1234067 as "x001/x234/067".
func (t TilePath) String() string {
	var b strings.Builder
	if t.Entries {
		b.WriteString("entries/")
	} else {
		b.WriteString(strconv.Itoa(t.Level))
		b.WriteByte('/')
	}
	b.WriteString(formatTileIndex(t.Index))
	if t.Width > 0 {
		b.WriteString(".p/")
		b.WriteString(strconv.Itoa(t.Width))
	}
	return b.String()
}

func formatTileIndex(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	return s
}

// Len returns the number of hashes or entries in the tile: Width, or
// [TileWidth] for a full tile.
func (t TilePath) Len() int {
	if t.Width == 0 {
		return TileWidth
	}
	return t.Width
}
