package storetest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/auditlog"
	"github.com/guardian-network/guardian/auditlog/format"
	"github.com/guardian-network/guardian/sqlstore"
)

// testOrigin is the origin of the test logs' checkpoints.
const testOrigin = "hub.example.org/audit"

// RunAuditLogTests runs the tests of the audit log on the backend: [Run]
// includes them. They drive package auditlog against the real database,
// and go around the store to tamper with it.
func RunAuditLogTests(t *testing.T, b Backend) {
	for _, tt := range []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"Empty", testAuditLogEmpty},
		{"Integrate", testIntegrate},
		{"AppendInBulk", testAppendInBulk},
		{"Tiles", testAuditTiles},
		{"Proofs", testAuditProofs},
		{"KeyPinned", testAuditKeyPinned},
		{"AppendOnly", testAuditLogAppendOnly},
		{"Tamper", testAuditTamper},
		{"WithinASecond", testIntegratedWithinASecond},
		{"TwoIntegrators", testTwoIntegrators},
		{"Barrier/BeforeSequence", testBarrierBeforeSequence},
		{"Barrier/InFlight", testBarrierInFlight},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, b)
		})
	}
}

// logEnv is a store on a new database with a log that integrates it.
type logEnv struct {
	t    *testing.T
	ctx  context.Context
	b    Backend
	s    *sqlstore.Store
	dsn  string
	log  *auditlog.Log
	key  note.Signer
	vkey string
}

func newLogEnv(t *testing.T, b Backend) *logEnv {
	t.Helper()
	s, dsn := MustOpen(t, b, sqlstore.Options{})
	key, vkey := MustSigningKey(t)
	return &logEnv{t: t, ctx: t.Context(), b: b, s: s, dsn: dsn, log: auditlog.New(s, key, testOrigin, nil), key: key, vkey: vkey}
}

// MustSigningKey returns a new checkpoint signer for the origin
// "hub.example.org/audit", and its verifier key.
func MustSigningKey(tb testing.TB) (note.Signer, string) {
	tb.Helper()
	key, vkey, err := auditlog.LoadOrCreateSigningKey(filepath.Join(tb.TempDir(), "audit-signing.key"), testOrigin)
	if err != nil {
		tb.Fatal(err)
	}
	return key, vkey
}

// auditEvent returns the i'th of a series of events that between them use
// every field, and text that JSON must escape.
func auditEvent(i int) *guardian.AuditEvent {
	ev := &guardian.AuditEvent{
		Actor:      guardian.Actor{Kind: guardian.ActorReporter, ID: strconv.Itoa(i % 7), Name: "service-" + strconv.Itoa(i%3)},
		Category:   guardian.CategoryCollection,
		Action:     "report.submit",
		ObjectKind: "report",
		ObjectID:   strconv.Itoa(i),
		ReportID:   int64(i + 1),
		Outcome:    guardian.OutcomeSuccess,
		RequestID:  "req-" + strconv.Itoa(i),
		ClientAddr: "192.0.2.7",
	}
	switch i % 4 {
	case 1:
		ev.Actor = guardian.Actor{Kind: guardian.ActorUser, ID: "17", Name: "Zoë \"Q\" \\ O'Brien\t\u0001", Organisation: "Agence <Paris> & Co \u2028"}
		ev.Category, ev.Action = guardian.CategoryDisclosure, "referral.send"
		ev.Justification = "case 2026/17\nline two"
		ev.Recipients = []string{"agency-b", "agency-a"}
		ev.FileID = strings.Repeat("ab", 16)
	case 2:
		ev.Outcome, ev.Reason = guardian.OutcomeFailure, "5102"
		ev.ReportID = 0
	case 3:
		ev.Actor = guardian.Actor{Kind: guardian.ActorSystem}
		ev.Category, ev.Action, ev.ObjectKind, ev.ObjectID, ev.ReportID = guardian.CategoryErasure, "report.expire", "", "", 0
	}
	return ev
}

// appendEvents appends n events and returns them as stored.
func (e *logEnv) appendEvents(n int) []*guardian.AuditEvent {
	e.t.Helper()
	evs := make([]*guardian.AuditEvent, n)
	for i := range evs {
		evs[i] = auditEvent(i)
		if err := e.s.AppendAuditEvent(e.ctx, evs[i]); err != nil {
			e.t.Fatalf("AppendAuditEvent: %v", err)
		}
	}
	return evs
}

// integrate integrates what there is and returns how many events it added.
func (e *logEnv) integrate() int {
	e.t.Helper()
	n, err := e.log.Integrate(e.ctx)
	if err != nil {
		e.t.Fatalf("Integrate: %v", err)
	}
	return n
}

// checkpoint returns the latest checkpoint, verified.
func (e *logEnv) checkpoint() format.Checkpoint {
	e.t.Helper()
	cp, err := e.log.Checkpoint(e.ctx)
	if err != nil {
		e.t.Fatalf("Checkpoint: %v", err)
	}
	c, err := format.OpenCheckpoint(cp.Note, e.vkey)
	if err != nil {
		e.t.Fatalf("OpenCheckpoint: %v", err)
	}
	if c.TreeSize != cp.TreeSize || !bytes.Equal(c.RootHash[:], cp.RootHash) {
		e.t.Fatalf("checkpoint row says %d %x, its note %d %x", cp.TreeSize, cp.RootHash, c.TreeSize, c.RootHash)
	}
	return c
}

// leaves returns all leaves of the log, failing on a missing event.
func (e *logEnv) leaves(size int64) []guardian.AuditLeaf {
	e.t.Helper()
	leaves, err := e.s.FindAuditLeaves(e.ctx, 0, size)
	if err != nil {
		e.t.Fatal(err)
	}
	if int64(len(leaves)) != size {
		e.t.Fatalf("%d leaves, want %d", len(leaves), size)
	}
	return leaves
}

// treeOf computes, independently of the store's hashes, the tree of the
// leaves' events: a map of every stored hash.
func treeOf(tb testing.TB, leaves []guardian.AuditLeaf) tlog.HashReaderFunc {
	tb.Helper()
	stored := make(map[int64]tlog.Hash)
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			h, ok := stored[x]
			if !ok {
				return nil, fmt.Errorf("no hash %d", x)
			}
			out[i] = h
		}
		return out, nil
	})
	for i, lf := range leaves {
		leaf, err := format.MarshalLeaf(lf.Event)
		if err != nil {
			tb.Fatal(err)
		}
		hs, err := tlog.StoredHashes(int64(i), leaf, r)
		if err != nil {
			tb.Fatal(err)
		}
		for k, h := range hs {
			stored[tlog.StoredHashIndex(0, int64(i))+int64(k)] = h
		}
	}
	return r
}

func testAuditLogEmpty(t *testing.T, b Backend) {
	e := newLogEnv(t, b)
	if _, err := e.log.Checkpoint(e.ctx); guardian.ErrorCode(err) != guardian.ENOTFOUND {
		t.Errorf("Checkpoint of an empty log: %v, want ENOTFOUND", err)
	}
	if n := e.integrate(); n != 0 {
		t.Errorf("Integrate added %d events to an empty log", n)
	}
	if _, err := e.log.Checkpoint(e.ctx); guardian.ErrorCode(err) != guardian.ENOTFOUND {
		t.Errorf("Checkpoint after integrating nothing: %v, want ENOTFOUND", err)
	}
	if rep, err := auditlog.Verify(e.ctx, e.s, e.vkey); err != nil || rep.Checkpoint.TreeSize != 0 {
		t.Errorf("Verify of an empty log: %+v, %v", rep, err)
	}
	if _, err := e.log.ReadTile(e.ctx, format.TilePath{Width: 1}, 0); guardian.ErrorCode(err) != guardian.ENOTFOUND {
		t.Errorf("a tile of an empty log: %v, want ENOTFOUND", err)
	}
}

// testIntegrate: every event becomes a leaf in id order, and the tree,
// computed again from the events, has the signed root.
func testIntegrate(t *testing.T, b Backend) {
	e := newLogEnv(t, b)
	appended := e.appendEvents(40)
	if n := e.integrate(); n != 40 {
		t.Fatalf("Integrate added %d, want 40", n)
	}
	appended = append(appended, e.appendEvents(3)...)
	if n := e.integrate(); n != 3 {
		t.Fatalf("Integrate added %d, want 3", n)
	}

	c := e.checkpoint()
	if c.Origin != testOrigin || c.TreeSize != 43 {
		t.Fatalf("checkpoint %q size %d, want %q 43", c.Origin, c.TreeSize, testOrigin)
	}
	cp, _ := e.log.Checkpoint(e.ctx)
	// The C2SP form exactly: three lines, a blank line, one signature.
	v, _ := note.NewVerifier(e.vkey)
	n, err := note.Open(cp.Note, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	if want := string(c.Text()); n.Text != want || len(n.Sigs) != 1 || n.Sigs[0].Name != testOrigin {
		t.Errorf("note text %q, %d signatures; want %q", n.Text, len(n.Sigs), want)
	}

	leaves := e.leaves(43)
	for i, lf := range leaves {
		want := *appended[i]
		want.Index = &leaves[i].Index
		if lf.Index != int64(i) || lf.Event == nil {
			t.Fatalf("leaf %d: %+v", i, lf)
		}
		if diff := cmp.Diff(&want, lf.Event); diff != "" {
			t.Fatalf("leaf %d (-appended +leaf):\n%s", i, diff)
		}
	}
	root, err := tlog.TreeHash(43, treeOf(t, leaves))
	if err != nil {
		t.Fatal(err)
	}
	if root != c.RootHash {
		t.Errorf("root of the events %v, checkpoint %v", root, c.RootHash)
	}
	if r, err := e.log.RootHash(e.ctx, 43); err != nil || r != root {
		t.Errorf("RootHash(43) = %v, %v; want %v", r, err, root)
	}
	// Events know their index now.
	evs, err := e.s.FindAuditEvents(e.ctx, guardian.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range evs {
		if ev.Index == nil || *ev.Index != int64(i) {
			t.Fatalf("FindAuditEvents: event %d has index %v, want %d", ev.ID, ev.Index, i)
		}
	}
	if rep, err := auditlog.Verify(e.ctx, e.s, e.vkey); err != nil || rep.Checkpoint != c {
		t.Errorf("Verify: %+v, %v", rep, err)
	}
}

// testAppendInBulk: AppendAuditEvents appends all events, in order, or
// none.
func testAppendInBulk(t *testing.T, b Backend) {
	e := newLogEnv(t, b)
	bad := []*guardian.AuditEvent{auditEvent(0), auditEvent(1), {Action: "incomplete"}}
	if err := e.s.AppendAuditEvents(e.ctx, bad); err == nil {
		t.Fatal("AppendAuditEvents with an invalid event succeeded")
	}
	var evs []*guardian.AuditEvent
	for i := range 50 {
		evs = append(evs, auditEvent(i))
	}
	if err := e.s.AppendAuditEvents(e.ctx, evs); err != nil {
		t.Fatal(err)
	}
	if n := e.integrate(); n != 50 {
		t.Fatalf("integrated %d events, want the 50 of the valid batch", n)
	}
	for i, lf := range e.leaves(50) {
		want := *evs[i]
		want.Index = &lf.Index
		if diff := cmp.Diff(&want, lf.Event); diff != "" {
			t.Fatalf("leaf %d (-appended +stored):\n%s", i, diff)
		}
	}
}

// testAuditTiles reads hash tiles and entry bundles, full and partial, and
// authenticates them against the checkpoint with tlog's own tile reader.
func testAuditTiles(t *testing.T, b Backend) {
	e := newLogEnv(t, b)
	e.appendEvents(300)
	e.integrate()
	c := e.checkpoint()
	leaves := e.leaves(300)
	tree := treeOf(t, leaves)

	read := func(p format.TilePath) ([]byte, error) {
		t.Helper()
		return e.log.ReadTile(e.ctx, p, c.TreeSize)
	}
	hashesAt := func(level int, start, n int64) []byte {
		var idx []int64
		for i := range n {
			idx = append(idx, tlog.StoredHashIndex(level, start+i))
		}
		hs, err := tree.ReadHashes(idx)
		if err != nil {
			t.Fatal(err)
		}
		var out []byte
		for _, h := range hs {
			out = append(out, h[:]...)
		}
		return out
	}
	for _, tc := range []struct {
		path string
		want []byte // nil: ENOTFOUND
	}{
		{"0/000", hashesAt(0, 0, 256)},
		{"0/001.p/44", hashesAt(0, 256, 44)},
		{"0/001.p/10", hashesAt(0, 256, 10)}, // narrower: an older size's
		{"0/001.p/45", nil},
		{"0/001", nil},
		{"0/002.p/1", nil},
		{"1/000.p/1", hashesAt(8, 0, 1)},
		{"1/000.p/2", nil},
		{"1/000", nil},
		{"2/000.p/1", nil},
	} {
		p, err := format.ParseTilePath(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := read(p)
		if tc.want == nil {
			if guardian.ErrorCode(err) != guardian.ENOTFOUND {
				t.Errorf("tile %s: %d bytes, %v; want ENOTFOUND", tc.path, len(got), err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("tile %s: %d bytes, %v; want %d bytes", tc.path, len(got), err, len(tc.want))
		}
	}

	// Entry bundles: each leaf after its big-endian uint16 length.
	for _, tc := range []struct {
		path       string
		start, end int
	}{
		{"entries/000", 0, 256},
		{"entries/001.p/44", 256, 300},
		{"entries/001.p/3", 256, 259},
	} {
		p, _ := format.ParseTilePath(tc.path)
		got, err := read(p)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		var want []byte
		for _, lf := range leaves[tc.start:tc.end] {
			leaf, _ := format.MarshalLeaf(lf.Event)
			want = append(want, byte(len(leaf)>>8), byte(len(leaf)))
			want = append(want, leaf...)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: bundle differs from the leaves", tc.path)
		}
	}
	for _, path := range []string{"entries/001", "entries/001.p/45", "entries/002.p/1"} {
		p, _ := format.ParseTilePath(path)
		if _, err := read(p); guardian.ErrorCode(err) != guardian.ENOTFOUND {
			t.Errorf("%s: %v, want ENOTFOUND", path, err)
		}
	}

	// tlog's tile reader checks every tile it reads against the root.
	tr := tileReader{t: t, read: read}
	hr := tlog.TileHashReader(tlog.Tree{N: c.TreeSize, Hash: c.RootHash}, tr)
	idx := []int64{tlog.StoredHashIndex(0, 0), tlog.StoredHashIndex(0, 299), tlog.StoredHashIndex(8, 0)}
	got, err := hr.ReadHashes(idx)
	if err != nil {
		t.Fatalf("tiles do not authenticate: %v", err)
	}
	want, _ := tree.ReadHashes(idx)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hashes through tiles (-want +got):\n%s", diff)
	}
}

// tileReader is a tlog.TileReader on Log.ReadTile.
type tileReader struct {
	t    *testing.T
	read func(format.TilePath) ([]byte, error)
}

func (r tileReader) Height() int { return format.TileHeight }

func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	var out [][]byte
	for _, t := range tiles {
		p := format.TilePath{Level: t.L, Index: t.N}
		if t.W < format.TileWidth {
			p.Width = t.W
		}
		b, err := r.read(p)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func (tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// testAuditProofs: inclusion and consistency proofs verify, and a proof
// against an older checkpoint still verifies after the log has grown.
func testAuditProofs(t *testing.T, b Backend) {
	e := newLogEnv(t, b)
	e.appendEvents(21)
	e.integrate()
	old := e.checkpoint()
	oldLeaves := e.leaves(21)
	leafHash := func(lf guardian.AuditLeaf) tlog.Hash {
		leaf, err := format.MarshalLeaf(lf.Event)
		if err != nil {
			t.Fatal(err)
		}
		return tlog.RecordHash(leaf)
	}
	oldProofs := make(map[int64]tlog.RecordProof)
	for _, i := range []int64{0, 7, 20} {
		p, err := e.log.InclusionProof(e.ctx, i, old.TreeSize)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckRecord(p, old.TreeSize, old.RootHash, i, leafHash(oldLeaves[i])); err != nil {
			t.Errorf("inclusion of %d in %d: %v", i, old.TreeSize, err)
		}
		oldProofs[i] = p
	}

	e.appendEvents(250)
	e.integrate()
	cur := e.checkpoint()
	leaves := e.leaves(cur.TreeSize)
	for _, i := range []int64{0, 7, 20, 255, 256, cur.TreeSize - 1} {
		p, err := e.log.InclusionProof(e.ctx, i, cur.TreeSize)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckRecord(p, cur.TreeSize, cur.RootHash, i, leafHash(leaves[i])); err != nil {
			t.Errorf("inclusion of %d in %d: %v", i, cur.TreeSize, err)
		}
		if h, err := e.log.LeafHash(e.ctx, i); err != nil || h != leafHash(leaves[i]) {
			t.Errorf("LeafHash(%d) = %v, %v", i, h, err)
		}
	}
	// Old proofs: the same proof is served again, and still verifies
	// against the old checkpoint.
	for i, want := range oldProofs {
		p, err := e.log.InclusionProof(e.ctx, i, old.TreeSize)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, p); diff != "" {
			t.Errorf("inclusion proof of %d in %d changed after growth", i, old.TreeSize)
		}
		if err := tlog.CheckRecord(p, old.TreeSize, old.RootHash, i, leafHash(leaves[i])); err != nil {
			t.Errorf("old inclusion of %d in %d after growth: %v", i, old.TreeSize, err)
		}
	}
	for _, from := range []int64{1, old.TreeSize, 256, cur.TreeSize} {
		p, err := e.log.ConsistencyProof(e.ctx, from, cur.TreeSize)
		if err != nil {
			t.Fatal(err)
		}
		fromRoot, err := e.log.RootHash(e.ctx, from)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckTree(p, cur.TreeSize, cur.RootHash, from, fromRoot); err != nil {
			t.Errorf("consistency %d→%d: %v", from, cur.TreeSize, err)
		}
	}
	if fromRoot, _ := e.log.RootHash(e.ctx, old.TreeSize); fromRoot != old.RootHash {
		t.Errorf("RootHash(%d) changed after growth", old.TreeSize)
	}
	// Beyond the log: not found; nonsense: invalid.
	if _, err := e.log.InclusionProof(e.ctx, 0, cur.TreeSize+1); guardian.ErrorCode(err) != guardian.ENOTFOUND {
		t.Errorf("inclusion in a tree larger than the log: %v, want ENOTFOUND", err)
	}
	if _, err := e.log.ConsistencyProof(e.ctx, 2, cur.TreeSize+5); guardian.ErrorCode(err) != guardian.ENOTFOUND {
		t.Errorf("consistency with a tree larger than the log: %v, want ENOTFOUND", err)
	}
	if _, err := e.log.InclusionProof(e.ctx, 5, 5); guardian.ErrorCode(err) != guardian.EINVALID {
		t.Errorf("inclusion of index 5 in size 5: %v, want EINVALID", err)
	}
	if _, err := e.log.ConsistencyProof(e.ctx, 0, 5); guardian.ErrorCode(err) != guardian.EINVALID {
		t.Errorf("consistency from 0: %v, want EINVALID", err)
	}
}

// testAuditKeyPinned: a hub with another key refuses to integrate into or
// serve a log that its database records as signed by the first key.
func testAuditKeyPinned(t *testing.T, b Backend) {
	e := newLogEnv(t, b)
	e.appendEvents(2)
	e.integrate()
	other, _ := MustSigningKey(t)
	l := auditlog.New(e.s, other, testOrigin, nil)
	if _, err := l.Integrate(e.ctx); !errors.Is(err, auditlog.ErrKeyMismatch) {
		t.Errorf("Integrate with another key: %v, want ErrKeyMismatch", err)
	}
	if _, err := l.Checkpoint(e.ctx); !errors.Is(err, auditlog.ErrKeyMismatch) {
		t.Errorf("Checkpoint with another key: %v, want ErrKeyMismatch", err)
	}
	// The same key in another process (a second Log) is welcome.
	if _, err := auditlog.New(e.s, e.key, testOrigin, nil).Integrate(e.ctx); err != nil {
		t.Errorf("Integrate with the same key: %v", err)
	}
	// A key named for another origin signs nothing.
	if _, err := auditlog.New(e.s, e.key, "other.example/audit", nil).Integrate(e.ctx); err == nil {
		t.Error("Integrate with a key of another origin succeeded")
	}
}

// testAuditLogAppendOnly: the database refuses to change or remove leaves,
// hashes and checkpoints, or to move the log's state back.
func testAuditLogAppendOnly(t *testing.T, b Backend) {
	e := newLogEnv(t, b)
	e.appendEvents(3)
	e.integrate()
	db := b.rawDB(t, e.dsn)
	statements := []string{
		`UPDATE audit_leaves SET event_id = 2 WHERE leaf_index = 0`,
		`DELETE FROM audit_leaves`,
		`UPDATE audit_hashes SET hash = hash WHERE hash_index = 0`,
		`DELETE FROM audit_hashes WHERE hash_index = 0`,
		`UPDATE audit_checkpoints SET note = note`,
		`DELETE FROM audit_checkpoints`,
		`UPDATE audit_log_state SET tree_size = 1`,
		`UPDATE audit_log_state SET last_event_id = 0`,
		`UPDATE audit_log_state SET verifier_key = 'other'`,
		`DELETE FROM audit_log_state`,
	}
	if b.DriverName == "pgx" {
		statements = append(statements, `TRUNCATE audit_leaves`, `TRUNCATE audit_hashes`, `TRUNCATE audit_checkpoints`, `TRUNCATE audit_log_state`)
	}
	for _, q := range statements {
		if _, err := db.ExecContext(t.Context(), q); err == nil {
			t.Errorf("%s: succeeded", q)
		}
	}
	if _, err := auditlog.Verify(e.ctx, e.s, e.vkey); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

// testAuditTamper changes the database behind the store's back, with the
// append-only triggers out of the way, and checks that Verify names the
// leaf where the change is.
func testAuditTamper(t *testing.T, b Backend) {
	const size, at = 300, 260 // at: in the second tile, past a level-8 hash
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, tm *tamperer)
		index  int64
	}{
		{"ChangeField", func(t *testing.T, tm *tamperer) {
			tm.exec(t, `UPDATE audit_events SET action = 'report.forged' WHERE id = ?`, tm.eventID(t, at))
		}, at},
		{"ChangeTime", func(t *testing.T, tm *tamperer) {
			later := `time + 1` // a microsecond
			if tm.b.DriverName == "pgx" {
				later = `time + interval '1 microsecond'`
			}
			tm.exec(t, `UPDATE audit_events SET time = `+later+` WHERE id = ?`, tm.eventID(t, at))
		}, at},
		{"DeleteEvent", func(t *testing.T, tm *tamperer) {
			tm.exec(t, `DELETE FROM audit_events WHERE id = ?`, tm.eventID(t, at))
		}, at},
		{"DeleteLeaf", func(t *testing.T, tm *tamperer) {
			tm.exec(t, `DELETE FROM audit_leaves WHERE leaf_index = ?`, at)
		}, at},
		{"SwapEvents", func(t *testing.T, tm *tamperer) { tm.swap(t, at, at+5) }, at},
		{"SwapLeaves", func(t *testing.T, tm *tamperer) {
			a, b := tm.eventID(t, at), tm.eventID(t, at+1)
			tm.exec(t, `UPDATE audit_leaves SET event_id = -1 WHERE leaf_index = ?`, at)
			tm.exec(t, `UPDATE audit_leaves SET event_id = ? WHERE leaf_index = ?`, a, at+1)
			tm.exec(t, `UPDATE audit_leaves SET event_id = ? WHERE leaf_index = ?`, b, at)
		}, at},
		{"ChangeLeafHash", func(t *testing.T, tm *tamperer) {
			tm.exec(t, `UPDATE audit_hashes SET hash = ? WHERE hash_index = ?`, bytes.Repeat([]byte{7}, 32), tlog.StoredHashIndex(0, at))
		}, at},
		{"ChangeInnerHash", func(t *testing.T, tm *tamperer) {
			// The hash of leaves 256..263 is stored with leaf 263.
			tm.exec(t, `UPDATE audit_hashes SET hash = ? WHERE hash_index = ?`, bytes.Repeat([]byte{7}, 32), tlog.StoredHashIndex(3, 32))
		}, 263},
		{"DeleteHash", func(t *testing.T, tm *tamperer) {
			tm.exec(t, `DELETE FROM audit_hashes WHERE hash_index = ?`, tlog.StoredHashIndex(1, at/2))
		}, at + 1},
		{"ChangeCheckpoint", func(t *testing.T, tm *tamperer) {
			tm.exec(t, `UPDATE audit_checkpoints SET note = ? WHERE tree_size = ?`, []byte("forged"), size)
		}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newLogEnv(t, b)
			e.appendEvents(size)
			e.integrate()
			if _, err := auditlog.Verify(e.ctx, e.s, e.vkey); err != nil {
				t.Fatalf("Verify before tampering: %v", err)
			}
			tc.tamper(t, newTamperer(t, e))
			_, err := auditlog.Verify(e.ctx, e.s, e.vkey)
			var ve *auditlog.VerifyError
			if !errors.As(err, &ve) || ve.Index != tc.index {
				t.Fatalf("Verify after tampering: %v; want a VerifyError at %d", err, tc.index)
			}
			t.Logf("%v", err)
		})
	}
}

// tamperer changes the database of a logEnv directly.
type tamperer struct {
	db *sql.DB
	b  Backend
}

// newTamperer opens the database around the store and takes away what
// protects the log: the append-only triggers.
func newTamperer(t *testing.T, e *logEnv) *tamperer {
	tm := &tamperer{db: e.b.rawDB(t, e.dsn), b: e.b}
	if e.b.DriverName == "pgx" {
		for _, table := range []string{"audit_events", "audit_leaves", "audit_hashes", "audit_checkpoints"} {
			tm.exec(t, `ALTER TABLE `+table+` DISABLE TRIGGER USER`)
		}
		return tm
	}
	for _, table := range []string{"audit_events", "audit_leaves", "audit_hashes", "audit_checkpoints"} {
		tm.exec(t, `DROP TRIGGER `+table+`_no_update`)
		tm.exec(t, `DROP TRIGGER `+table+`_no_delete`)
	}
	return tm
}

func (tm *tamperer) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := tm.db.ExecContext(t.Context(), tm.rebind(query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// rebind numbers the placeholders for PostgreSQL.
func (tm *tamperer) rebind(q string) string {
	if tm.b.DriverName != "pgx" {
		return q
	}
	for n := 1; strings.Contains(q, "?"); n++ {
		q = strings.Replace(q, "?", "$"+strconv.Itoa(n), 1)
	}
	return q
}

func (tm *tamperer) eventID(t *testing.T, index int64) int64 {
	t.Helper()
	var id int64
	if err := tm.db.QueryRowContext(t.Context(), tm.rebind(`SELECT event_id FROM audit_leaves WHERE leaf_index = ?`), index).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// eventColumns are all columns of an audit event but its id.
var eventColumns = []string{"time", "actor_kind", "actor_id", "actor_name", "actor_organisation",
	"category", "action", "object_kind", "object_id", "report_id", "file_id",
	"outcome", "reason", "justification", "recipients", "request_id", "client_addr"}

// swap exchanges the contents of the events of leaves i and j, keeping
// their ids: the rows of the log reordered.
func (tm *tamperer) swap(t *testing.T, i, j int64) {
	t.Helper()
	read := func(id int64) []any {
		vals := make([]any, len(eventColumns))
		ptrs := make([]any, len(vals))
		for k := range vals {
			ptrs[k] = &vals[k]
		}
		q := `SELECT ` + strings.Join(eventColumns, ", ") + ` FROM audit_events WHERE id = ?`
		if err := tm.db.QueryRowContext(t.Context(), tm.rebind(q), id).Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		return vals
	}
	write := func(id int64, vals []any) {
		set := make([]string, len(eventColumns))
		for k, c := range eventColumns {
			set[k] = c + " = ?"
		}
		tm.exec(t, `UPDATE audit_events SET `+strings.Join(set, ", ")+` WHERE id = ?`, append(vals, id)...)
	}
	a, b := tm.eventID(t, i), tm.eventID(t, j)
	va, vb := read(a), read(b)
	write(a, vb)
	write(b, va)
}

// testIntegratedWithinASecond: while writers append, every committed event
// is in a signed checkpoint within a second.
func testIntegratedWithinASecond(t *testing.T, b Backend) {
	e := newLogEnv(t, b)
	ctx, cancel := context.WithCancel(e.ctx)
	var runDone sync.WaitGroup
	runDone.Go(func() { e.log.Run(ctx) })
	defer func() { cancel(); runDone.Wait() }()

	type sample struct {
		at time.Time
		n  int64
	}
	var (
		committed atomic.Int64
		wg        sync.WaitGroup
		stop      = time.Now().Add(1500 * time.Millisecond)
	)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); i++ {
				if err := e.s.AppendAuditEvent(ctx, auditEvent(w*1000+i)); err != nil {
					t.Error(err)
					return
				}
				committed.Add(1)
			}
		})
	}
	var commits, sizes []sample
	deadline := stop.Add(3 * time.Second)
	for {
		commits = append(commits, sample{time.Now(), committed.Load()})
		var size int64
		if cp, err := e.s.LatestAuditCheckpoint(ctx); err == nil {
			size = cp.TreeSize
		} else if guardian.ErrorCode(err) != guardian.ENOTFOUND {
			t.Fatal(err)
		}
		sizes = append(sizes, sample{time.Now(), size})
		if time.Now().After(stop) && size == committed.Load() || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()
	if n := committed.Load(); n < 20 {
		t.Fatalf("only %d events appended", n)
	}
	worst := time.Duration(0)
	for _, c := range commits {
		var lag time.Duration = -1
		for _, s := range sizes {
			if s.n >= c.n && !s.at.Before(c.at) {
				lag = s.at.Sub(c.at)
				break
			}
		}
		if lag < 0 || lag > time.Second {
			t.Fatalf("the %d events committed at %v were not all in a checkpoint within a second (lag %v)", c.n, c.at.Format(time.StampMilli), lag)
		}
		worst = max(worst, lag)
	}
	t.Logf("%d events; longest wait for a checkpoint %v", committed.Load(), worst)
}

// testTwoIntegrators: two stores on one database, as two hub processes,
// each integrating while writers append through both. The log does not
// fork: every checkpoint is consistent with every later one, and every
// event is a leaf exactly once.
func testTwoIntegrators(t *testing.T, b Backend) {
	e := newLogEnv(t, b)
	other := MustOpenDSN(t, b, e.dsn, sqlstore.Options{})
	logs := []*auditlog.Log{e.log, auditlog.New(other, e.key, testOrigin, nil)}
	stores := []*sqlstore.Store{e.s, other}

	ctx, cancel := context.WithCancel(e.ctx)
	var integrators, writers sync.WaitGroup
	for _, l := range logs {
		integrators.Go(func() {
			for ctx.Err() == nil {
				if _, err := l.Integrate(ctx); err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	const perWriter = 40
	for w := range 4 {
		writers.Go(func() {
			for i := range perWriter {
				if err := stores[w%2].AppendAuditEvent(ctx, auditEvent(w*perWriter+i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	writers.Wait()
	cancel()
	integrators.Wait()
	e.integrate()

	c := e.checkpoint()
	if c.TreeSize != 4*perWriter {
		t.Fatalf("tree size %d, want %d", c.TreeSize, 4*perWriter)
	}
	seen := make(map[int64]bool)
	for _, lf := range e.leaves(c.TreeSize) {
		if seen[lf.Event.ID] {
			t.Fatalf("event %d is a leaf twice", lf.Event.ID)
		}
		seen[lf.Event.ID] = true
	}
	if _, err := auditlog.Verify(e.ctx, e.s, e.vkey); err != nil {
		t.Fatal(err)
	}

	db := b.rawDB(t, e.dsn)
	rows, err := db.QueryContext(t.Context(), `SELECT note FROM audit_checkpoints ORDER BY tree_size`)
	if err != nil {
		t.Fatal(err)
	}
	var cps []format.Checkpoint
	for rows.Next() {
		var n []byte
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		cp, err := format.OpenCheckpoint(n, e.vkey)
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, cp)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for i, old := range cps {
		for _, cur := range cps[i+1:] {
			p, err := e.log.ConsistencyProof(e.ctx, old.TreeSize, cur.TreeSize)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckTree(p, cur.TreeSize, cur.RootHash, old.TreeSize, old.RootHash); err != nil {
				t.Fatalf("checkpoint %d is not consistent with checkpoint %d: %v", old.TreeSize, cur.TreeSize, err)
			}
		}
	}
	t.Logf("%d checkpoints, all consistent", len(cps))
}

// barrierLock is the key of the PostgreSQL barrier's advisory lock, as
// migration 0002 sets it: ('GAUD', the oid of audit_events).
const barrierLock = `1195463972, 'audit_events'::regclass::oid::integer`

// waitForBarrierWaiter waits until a session waits for the barrier lock,
// failing if done is ready first: what should wait has not.
func waitForBarrierWaiter[T any](t *testing.T, db *sql.DB, done chan T) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		select {
		case v := <-done:
			t.Fatalf("finished (%v) without waiting for the barrier", v)
		default:
		}
		var n int
		err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_locks
			WHERE locktype = 'advisory' AND NOT granted AND classid = 1195463972
			AND objid = 'audit_events'::regclass::oid AND objsubid = 2`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("nobody waits for the barrier lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testBarrierBeforeSequence: on PostgreSQL, an insert into audit_events
// takes the barrier's lock before it draws its id, so that the integrator,
// holding the lock, knows that no id below the largest it sees is still to
// come. A row-level trigger would draw first, and this test would fail.
func testBarrierBeforeSequence(t *testing.T, b Backend) {
	if b.DriverName != "pgx" {
		t.Skip("SQLite assigns ids under its single writer")
	}
	e := newLogEnv(t, b)
	e.appendEvents(1)
	db := b.rawDB(t, e.dsn)
	lastValue := func() (v int64, called bool) {
		t.Helper()
		err := db.QueryRowContext(t.Context(), `SELECT last_value, is_called FROM audit_events_id_seq`).Scan(&v, &called)
		if err != nil {
			t.Fatal(err)
		}
		return v, called
	}

	// Hold the lock as audit_watermark does.
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), `SELECT pg_advisory_lock(`+barrierLock+`)`); err != nil {
		t.Fatal(err)
	}
	v0, c0 := lastValue()
	done := make(chan error, 1)
	go func() { done <- e.s.AppendAuditEvent(e.ctx, auditEvent(1)) }()
	waitForBarrierWaiter(t, db, done)
	if v, c := lastValue(); v != v0 || c != c0 {
		t.Errorf("a waiting insert drew id %d from the sequence (was %d): the barrier comes after the id", v, v0)
	}
	if _, err := conn.ExecContext(t.Context(), `SELECT pg_advisory_unlock(`+barrierLock+`)`); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// testBarrierInFlight: on PostgreSQL, an event whose transaction is still
// open when a later event commits is not passed over: integration waits
// for it, then adds both in id order; one rolled back leaves a gap.
func testBarrierInFlight(t *testing.T, b Backend) {
	if b.DriverName != "pgx" {
		t.Skip("SQLite assigns ids under its single writer")
	}
	e := newLogEnv(t, b)
	db := b.rawDB(t, e.dsn)
	insertSlow := func() (*sql.Tx, int64) {
		t.Helper()
		tx, err := db.BeginTx(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var id int64
		err = tx.QueryRowContext(t.Context(), `INSERT INTO audit_events (time, actor_kind, actor_id, actor_name,
			actor_organisation, category, action, object_kind, object_id, outcome, reason, justification,
			request_id, client_addr) VALUES (now(), 'system', '', '', '', 'privileged', 'slow.action', '', '',
			'success', '', '', '', '') RETURNING id`).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		return tx, id
	}
	integrate := func() chan int {
		done := make(chan int, 1)
		go func() {
			n, err := e.log.Integrate(e.ctx)
			if err != nil {
				t.Error(err)
			}
			done <- n
		}()
		return done
	}
	check := func(want ...int64) {
		t.Helper()
		c := e.checkpoint()
		var got []int64
		for _, lf := range e.leaves(c.TreeSize) {
			got = append(got, lf.Event.ID)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("leaves' event ids (-want +got):\n%s", diff)
		}
	}

	// Committed later, with a smaller id.
	slow, a := insertSlow()
	fast := auditEvent(0)
	if err := e.s.AppendAuditEvent(e.ctx, fast); err != nil {
		t.Fatal(err)
	}
	if fast.ID <= a {
		t.Fatalf("ids %d then %d", a, fast.ID)
	}
	done := integrate()
	waitForBarrierWaiter(t, db, done)
	if err := slow.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := <-done; n != 2 {
		t.Errorf("Integrate added %d, want 2", n)
	}
	check(a, fast.ID)

	// Rolled back: the gap stays a gap.
	slow, gone := insertSlow()
	next := auditEvent(1)
	if err := e.s.AppendAuditEvent(e.ctx, next); err != nil {
		t.Fatal(err)
	}
	done = integrate()
	waitForBarrierWaiter(t, db, done)
	if err := slow.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := <-done; n != 1 {
		t.Errorf("Integrate added %d, want 1", n)
	}
	check(a, fast.ID, next.ID)
	if gone >= next.ID {
		t.Errorf("rolled-back id %d, next %d", gone, next.ID)
	}
	if _, err := auditlog.Verify(e.ctx, e.s, e.vkey); err != nil {
		t.Error(err)
	}
}
