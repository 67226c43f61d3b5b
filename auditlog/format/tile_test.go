package format_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian/auditlog/format"
)

func TestTilePath(t *testing.T) {
	for _, tc := range []struct {
		path string
		want format.TilePath
	}{
		{"0/000", format.TilePath{}},
		{"0/067", format.TilePath{Index: 67}},
		{"1/x001/x234/067", format.TilePath{Level: 1, Index: 1234067}},
		{"3/x001/000.p/255", format.TilePath{Level: 3, Index: 1000, Width: 255}},
		{"0/999.p/1", format.TilePath{Index: 999, Width: 1}},
		{"7/000", format.TilePath{Level: 7}},
		{"entries/000.p/3", format.TilePath{Entries: true, Width: 3}},
		{"entries/x009/x223/x372/x036/x854/x775/807", format.TilePath{Entries: true, Index: 1<<63 - 1}},
	} {
		got, err := format.ParseTilePath(tc.path)
		if err != nil {
			t.Errorf("ParseTilePath(%q): %v", tc.path, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseTilePath(%q) (-want +got):\n%s", tc.path, diff)
		}
		if s := got.String(); s != tc.path {
			t.Errorf("%+v.String() = %q, want %q", got, s, tc.path)
		}
	}
	for _, bad := range []string{
		"", "0", "0/", "0/0", "0/00", "0/0000", "0/1234", "0/x000/001", "0/x01/234", "0/001/234",
		"0/x001", "0/x001/", "-1/000", "8/000", "00/000", "a/000", "0/000.p/0", "0/000.p/256",
		"0/000.p/010", "0/000.p/", "0/000.p", "0/000.p/1/2", "entries/", "entries/1", "entries/000.p/256",
		"0/../../etc", "0/000/", "/0/000", "0/x009/x223/x372/x036/x854/x775/808", "0/+01",
		"0/x001/x001/x001/x001/x001/x001/x001/001",
	} {
		if p, err := format.ParseTilePath(bad); err == nil {
			t.Errorf("ParseTilePath(%q) = %+v, want an error", bad, p)
		}
	}
}

// FuzzTilePath: a path that parses is the canonical path of its tile.
func FuzzTilePath(f *testing.F) {
	for _, s := range []string{"0/000", "1/x001/x234/067.p/12", "entries/x001/000", "0/x000/001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		p, err := format.ParseTilePath(path)
		if err != nil {
			return
		}
		if s := p.String(); s != path {
			t.Fatalf("ParseTilePath(%q).String() = %q", path, s)
		}
	})
}
