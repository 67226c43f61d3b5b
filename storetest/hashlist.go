package storetest

import (
	"errors"
	"slices"
	"strings"
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

func testEachHashListEntry(t *testing.T, e *env) {
	hs := e.hashLists()
	pdqA := randomEntries(guardian.HashPDQ, 3, "1")
	for _, c := range []struct {
		name    string
		entries []guardian.HashListEntry
	}{
		{"list-b", append(randomEntries(guardian.HashMD5, 2, "2"), pdqA[0])},
		{"list-a", append(pdqA, randomEntries(guardian.HashSHA1, 1, "1")...)},
	} {
		l := &guardian.HashList{Name: c.name, Source: "s", Version: "7", Format: "csv"}
		if err := hs.ImportHashList(e.ctx, l, c.entries, false, systemEvent("hashlist.import")); err != nil {
			t.Fatal(err)
		}
	}
	var got []guardian.HashMatch
	err := hs.EachHashListEntry(e.ctx, guardian.HashPDQ, func(m guardian.HashMatch) error {
		got = append(got, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []guardian.HashMatch
	for _, x := range pdqA {
		want = append(want, guardian.HashMatch{List: "list-a", ListVersion: "7", Type: guardian.HashPDQ, Hash: x.Hash, Category: "1"})
	}
	slices.SortFunc(want, func(a, b guardian.HashMatch) int { return strings.Compare(a.Hash, b.Hash) })
	want = append(want, guardian.HashMatch{List: "list-b", ListVersion: "7", Type: guardian.HashPDQ, Hash: pdqA[0].Hash, Category: "1"})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pdq entries (-want +got):\n%s", diff)
	}
	// An error from fn stops the walk.
	stop := errors.New("stop")
	calls := 0
	err = hs.EachHashListEntry(e.ctx, guardian.HashPDQ, func(guardian.HashMatch) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("walk with an error: %v after %d calls", err, calls)
	}
	if err := hs.EachHashListEntry(e.ctx, "crc32", func(guardian.HashMatch) error { return nil }); err == nil {
		t.Error("an unknown type was walked")
	}
}

func testHashBundle(t *testing.T, e *env) {
	hs := e.hashLists()
	rep := e.reporter("example-service")
	item := func(ty guardian.HashType) (guardian.HashType, string) { return ty, randomHex(ty.HexLen() / 2) }
	pdqType, pdqItem := item(guardian.HashPDQ)
	md5Type, md5Item := item(guardian.HashMD5)
	_, lonely := item(guardian.HashSHA1)
	// Four reports, each with one file: 1 and 2 share the PDQ item, 1 and
	// 3 the MD5 item, 4 shares nothing.
	var reports []int64
	var files []string
	for range 4 {
		r := e.report(rep.ID)
		f := newFile(r.ID)
		if err := e.s.AddFile(e.ctx, rep.ID, f, reporterEvent(rep.ID, "file.upload")); err != nil {
			t.Fatal(err)
		}
		reports, files = append(reports, r.ID), append(files, f.ID)
	}
	match := func(i int, ty guardian.HashType, h string, d int) guardian.KnownMatch {
		return guardian.KnownMatch{FileID: files[i], List: "example-list", ListVersion: "1", Type: ty, Hash: h, Category: "1", Distance: d}
	}
	set := func(i int, m ...guardian.KnownMatch) {
		t.Helper()
		if err := hs.SetReportHashMatches(e.ctx, reports[i], m); err != nil {
			t.Fatal(err)
		}
	}
	set(0, match(0, pdqType, pdqItem, 4), match(0, md5Type, md5Item, 0))
	set(1, match(1, pdqType, pdqItem, 30))
	set(2, match(2, md5Type, md5Item, 0), match(2, guardian.HashSHA1, lonely, 0))
	set(3)
	bundle := func(i, limit int) *guardian.HashBundle {
		t.Helper()
		b, err := hs.FindHashBundle(e.ctx, reports[i], limit)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	want := &guardian.HashBundle{Reports: 2, Members: []guardian.HashBundleMember{
		{ReportID: reports[2], Type: md5Type, Hash: md5Item},
		{ReportID: reports[1], Type: pdqType, Hash: pdqItem},
	}}
	if diff := cmp.Diff(want, bundle(0, 10)); diff != "" {
		t.Errorf("bundle of report 1 (-want +got):\n%s", diff)
	}
	want.Members = want.Members[:1]
	if diff := cmp.Diff(want, bundle(0, 1)); diff != "" {
		t.Errorf("bundle of report 1, limit 1 (-want +got):\n%s", diff)
	}
	want = &guardian.HashBundle{Reports: 1, Members: []guardian.HashBundleMember{{ReportID: reports[0], Type: pdqType, Hash: pdqItem}}}
	if diff := cmp.Diff(want, bundle(1, 10)); diff != "" {
		t.Errorf("bundle of report 2 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&guardian.HashBundle{Members: []guardian.HashBundleMember{}}, bundle(3, 10)); diff != "" {
		t.Errorf("bundle of report 4 (-want +got):\n%s", diff)
	}
	// Routing again replaces a report's matches.
	set(1)
	if b := bundle(0, 10); b.Reports != 1 || b.Members[0].ReportID != reports[2] {
		t.Errorf("bundle after report 2 lost its match: %+v", b)
	}
	// A file of another report is refused.
	if err := hs.SetReportHashMatches(e.ctx, reports[3], []guardian.KnownMatch{match(0, md5Type, md5Item, 0)}); guardian.ErrorCode(err) != guardian.ENOTFOUND {
		t.Errorf("a match on another report's file: %v", err)
	}
	bad := match(3, md5Type, "ABC", 0)
	if err := hs.SetReportHashMatches(e.ctx, reports[3], []guardian.KnownMatch{bad}); err == nil {
		t.Error("a match of a malformed hash was stored")
	}

	// The routing records the matches it was decided on in its own
	// transaction: all of it or none.
	if _, err := e.s.FinishReport(e.ctx, rep.ID, reports[3], reporterEvent(rep.ID, "report.finish")); err != nil {
		t.Fatal(err)
	}
	rs := e.s.(guardian.RoutingStore)
	route := func(m ...guardian.KnownMatch) error {
		return rs.RouteReport(e.ctx, reports[3], guardian.Actor{Kind: guardian.ActorSystem}, "synthetic-network", e.now(), e.now(),
			func(*guardian.RoutingState) (*guardian.RoutingUpdate, error) {
				return &guardian.RoutingUpdate{Assessment: &guardian.Assessment{}, Triage: &guardian.Triage{Label: guardian.LabelReferral, Priority: guardian.Priority2},
					RecordHashMatches: true, HashMatches: m}, nil
			})
	}
	for _, m := range []guardian.KnownMatch{match(0, md5Type, md5Item, 0), bad} {
		if err := route(m); err == nil {
			t.Errorf("a routing with match %+v was stored", m)
		}
	}
	if _, err := rs.FindReportAssessment(e.ctx, reports[3]); guardian.ErrorCode(err) != guardian.ENOTFOUND {
		t.Errorf("a routing refused for its matches stored its triage: %v", err)
	}
	if err := route(match(3, md5Type, md5Item, 0)); err != nil {
		t.Fatal(err)
	}
	if b := bundle(3, 10); b.Reports != 2 {
		t.Errorf("bundle of report 4 after its routing recorded a match: %+v, want reports 1 and 3", b)
	}
	if _, err := rs.FindReportAssessment(e.ctx, reports[3]); err != nil {
		t.Errorf("the routing that recorded the match: %v", err)
	}
	if err := route(); err != nil {
		t.Fatal(err)
	}
	if b := bundle(3, 10); b.Reports != 0 {
		t.Errorf("a routing without matches left them: %+v", b)
	}
}
