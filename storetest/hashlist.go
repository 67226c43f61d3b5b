package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
)

// hashLists returns the store as a guardian.HashListStore, failing the
// test if it is not one.
func (e *env) hashLists() guardian.HashListStore {
	e.t.Helper()
	hs, ok := e.s.(guardian.HashListStore)
	if !ok {
		e.t.Fatalf("%T does not keep hash lists", e.s)
	}
	return hs
}

// randomEntries returns n synthetic entries of type t: random hex.
func randomEntries(t guardian.HashType, n int, category string) []guardian.HashListEntry {
	entries := make([]guardian.HashListEntry, n)
	for i := range entries {
		entries[i] = guardian.HashListEntry{Type: t, Hash: randomHex(t.HexLen() / 2), Category: category}
	}
	return entries
}

func testFileImageHash(t *testing.T, e *env) {
	rep := e.reporter("example-service")
	r := e.report(rep.ID)
	q := 87
	hashed := newFile(r.ID)
	hashed.ImageStatus, hashed.PDQ, hashed.PDQQuality = guardian.ImageHashed, randomHex(32), &q
	other := newFile(r.ID)
	other.ImageStatus = guardian.ImageNotImage
	for _, f := range []*guardian.File{hashed, other} {
		if err := e.s.AddFile(e.ctx, rep.ID, f, reporterEvent(rep.ID, "file.upload")); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]*guardian.File{hashed, other}, e.find(r.ID).Files); diff != "" {
		t.Errorf("files (-added +found):\n%s", diff)
	}
	bad := newFile(r.ID)
	bad.ImageStatus = guardian.ImageHashed // without a hash
	n := e.eventCount()
	if err := e.s.AddFile(e.ctx, rep.ID, bad, reporterEvent(rep.ID, "file.upload")); err == nil {
		t.Error("a hashed file without a hash was added")
	}
	e.refused(nil, "", n)
}

func testImportHashList(t *testing.T, e *env) {
	hs := e.hashLists()
	entries := append(randomEntries(guardian.HashMD5, 1500, "1"), randomEntries(guardian.HashPDQ, 3, "2")...)
	l := &guardian.HashList{Name: "example-list", Source: "example source", Categories: "vics", Version: "2026.9", Format: "csv"}
	ev := systemEvent("hashlist.import")
	if err := hs.ImportHashList(e.ctx, l, entries, false, ev); err != nil {
		t.Fatal(err)
	}
	e.wantStored(ev)
	if ev.ObjectKind != "hash_list" || ev.ObjectID != "example-list" {
		t.Errorf("event names %s %s", ev.ObjectKind, ev.ObjectID)
	}
	want := &guardian.HashList{ID: l.ID, Name: "example-list", Source: "example source", Categories: "vics", Version: "2026.9",
		Format: "csv", Entries: 1503, ImportedAt: e.now()}
	if diff := cmp.Diff(want, l); diff != "" {
		t.Errorf("imported list (-want +got):\n%s", diff)
	}
	lists, err := hs.FindHashLists(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*guardian.HashList{want}, lists); diff != "" {
		t.Errorf("lists (-want +found):\n%s", diff)
	}

	// Matches: exact only, of the right type.
	query := []guardian.HashListEntry{
		{Type: guardian.HashMD5, Hash: entries[7].Hash},
		{Type: guardian.HashSHA1, Hash: entries[7].Hash + "00000000"}, // another type
		{Type: guardian.HashPDQ, Hash: entries[1501].Hash},
		{Type: guardian.HashMD5, Hash: randomHex(16)}, // unknown
		{Type: guardian.HashMD5, Hash: "not hex"},
	}
	matches, err := hs.FindHashMatches(e.ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	wantMatches := []guardian.HashMatch{
		{List: "example-list", ListVersion: "2026.9", Type: guardian.HashMD5, Hash: entries[7].Hash, Category: "1"},
		{List: "example-list", ListVersion: "2026.9", Type: guardian.HashPDQ, Hash: entries[1501].Hash, Category: "2"},
	}
	if diff := cmp.Diff(wantMatches, matches); diff != "" {
		t.Errorf("matches (-want +got):\n%s", diff)
	}

	// An older or equal version is refused, and changes nothing.
	for _, v := range []string{"2026.9", "2026.8", "2025.12"} {
		n := e.eventCount()
		old := &guardian.HashList{Name: "example-list", Source: "s", Version: v, Format: "csv"}
		err := hs.ImportHashList(e.ctx, old, randomEntries(guardian.HashMD5, 2, "1"), false, systemEvent("hashlist.import"))
		e.refused(err, guardian.ECONFLICT, n)
	}

	// A newer version replaces the old one whole.
	e.clock.Advance(time.Hour)
	newer := &guardian.HashList{Name: "example-list", Source: "example source", Version: "2026.10", Format: "vics"}
	newEntries := randomEntries(guardian.HashSHA1, 2, "3")
	if err := hs.ImportHashList(e.ctx, newer, newEntries, false, systemEvent("hashlist.import")); err != nil {
		t.Fatal(err)
	}
	matches, err = hs.FindHashMatches(e.ctx, append(query, guardian.HashListEntry{Type: guardian.HashSHA1, Hash: newEntries[1].Hash}))
	if err != nil {
		t.Fatal(err)
	}
	wantMatches = []guardian.HashMatch{{List: "example-list", ListVersion: "2026.10", Type: guardian.HashSHA1, Hash: newEntries[1].Hash, Category: "3"}}
	if diff := cmp.Diff(wantMatches, matches); diff != "" {
		t.Errorf("matches after replacing (-want +got):\n%s", diff)
	}

	// Forced, an older version replaces it too.
	older := &guardian.HashList{Name: "example-list", Source: "example source", Version: "1", Format: "csv"}
	if err := hs.ImportHashList(e.ctx, older, randomEntries(guardian.HashMD5, 1, ""), true, systemEvent("hashlist.import")); err != nil {
		t.Fatal(err)
	}
	if lists, _ := hs.FindHashLists(e.ctx); len(lists) != 1 || lists[0].Version != "1" || lists[0].Entries != 1 {
		t.Errorf("after a forced import: %+v", lists)
	}
}

func testRemoveHashList(t *testing.T, e *env) {
	hs := e.hashLists()
	entries := randomEntries(guardian.HashSHA256, 3, "x")
	for _, name := range []string{"list-b", "list-a"} {
		l := &guardian.HashList{Name: name, Source: "s", Version: "1", Format: "csv"}
		if err := hs.ImportHashList(e.ctx, l, entries, false, systemEvent("hashlist.import")); err != nil {
			t.Fatal(err)
		}
	}
	ev := systemEvent("hashlist.remove")
	if err := hs.RemoveHashList(e.ctx, "list-b", ev); err != nil {
		t.Fatal(err)
	}
	e.wantStored(ev)
	n := e.eventCount()
	e.refused(hs.RemoveHashList(e.ctx, "list-b", systemEvent("hashlist.remove")), guardian.ENOTFOUND, n)
	lists, err := hs.FindHashLists(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(lists) != 1 || lists[0].Name != "list-a" {
		t.Errorf("lists after removal: %+v", lists)
	}
	matches, err := hs.FindHashMatches(e.ctx, entries[:1])
	if err != nil {
		t.Fatal(err)
	}
	if len(matches) != 1 || matches[0].List != "list-a" {
		t.Errorf("matches after removal: %+v", matches)
	}
}

func testImportHashListRefused(t *testing.T, e *env) {
	hs := e.hashLists()
	for name, c := range map[string]struct {
		l       guardian.HashList
		entries []guardian.HashListEntry
	}{
		"NoName":    {guardian.HashList{Source: "s", Version: "1", Format: "csv"}, nil},
		"NoVersion": {guardian.HashList{Name: "n", Source: "s", Format: "csv"}, nil},
		"BadFormat": {guardian.HashList{Name: "n", Source: "s", Version: "1", Format: "xml"}, nil},
		"UpperHex":  {guardian.HashList{Name: "n", Source: "s", Version: "1", Format: "csv"}, []guardian.HashListEntry{{Type: guardian.HashMD5, Hash: "0123456789ABCDEF0123456789abcdef"}}},
		"ShortHash": {guardian.HashList{Name: "n", Source: "s", Version: "1", Format: "csv"}, []guardian.HashListEntry{{Type: guardian.HashSHA1, Hash: "0123"}}},
		"BadType":   {guardian.HashList{Name: "n", Source: "s", Version: "1", Format: "csv"}, []guardian.HashListEntry{{Type: "crc32", Hash: "01234567"}}},
	} {
		n := e.eventCount()
		if err := hs.ImportHashList(e.ctx, &c.l, c.entries, false, systemEvent("hashlist.import")); err == nil {
			t.Errorf("%s: imported", name)
		}
		e.refused(nil, "", n)
	}
	if lists, _ := hs.FindHashLists(e.ctx); len(lists) != 0 {
		t.Errorf("refused imports stored %d lists", len(lists))
	}
}
