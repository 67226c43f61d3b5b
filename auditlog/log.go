// Package auditlog makes the hub's audit record a tamper-evident log that
// anyone holding a checkpoint can check: an RFC 6962 Merkle tree over the
// audit events, signed checkpoints, proofs, and verifiers.
//
// Most callers need three things. The hub runs a [Log]: [New] with the
// store and the signer from [LoadOrCreateSigningKey], then [Log.Run] in a
// goroutine, and serves [Log.Checkpoint], [Log.ReadTile] and the proofs
// under /audit/. An operator runs [Verify] on a store to check all of it
// offline. A partner runs [Witness] against a hub's URL to check that the
// log only ever grew since the checkpoint it saved last time.
//
// # The log
//
// Events are appended by the store in the transaction of the action they
// record, each with a row id (see [guardian.Store]). That is sequencing; it
// costs an action one INSERT and no shared counter. Integration is a later
// step ([Log.Integrate], every 250 ms): one transaction, which excludes
// every other integrator, takes the committed events not yet in the log in
// id order, gives them the next leaf indexes, adds their hashes to the tree
// and stores a checkpoint signed for the new size. Because the events are
// durable before they are integrated, a crash between the two loses
// nothing; the next integration picks them up.
//
// The tree is RFC 6962's, computed with golang.org/x/mod/sumdb/tlog, whose
// "stored hashes" (every complete subtree, at [tlog.StoredHashIndex]) the
// store keeps. A leaf is the canonical encoding of one event
// ([format.MarshalLeaf]).
//
// # Formats
//
// Everything a client reads follows a C2SP specification, so that existing
// transparency-log tools work: checkpoints are tlog-checkpoint
// (https://c2sp.org/tlog-checkpoint) in a signed note
// (https://c2sp.org/signed-note) with an Ed25519 key whose name is the
// log's origin; tiles and entry bundles are tlog-tiles
// (https://c2sp.org/tlog-tiles), height 8, named by [format.TilePath].
//
// Package format holds the leaf, tile and checkpoint formats apart from
// the integrator, so that stores and verifiers can use them alone.
package auditlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/auditlog/format"
)

// IntegrateInterval is how often [Log.Run] integrates. With integration
// itself taking milliseconds, a committed event is in a signed checkpoint
// well within a second.
const IntegrateInterval = 250 * time.Millisecond

// Log attribute keys.
const (
	attrError  = "error"
	attrEvents = "events"
)

// integrateBatch bounds the events one integration transaction adds, so
// that a backlog is worked off in transactions of bounded length, each
// with its own checkpoint.
const integrateBatch = 4096

// KeyPinner is implemented by stores that record the log's verifier key
// (as *sqlstore.Store does). A [Log] on such a store refuses to integrate or
// to serve checkpoints with a key other than the recorded one: two hub
// processes on one database with different keys would otherwise publish two
// signed views of one log.
type KeyPinner interface {
	// PinAuditVerifierKey records key if no key is recorded yet, and
	// returns the recorded key.
	PinAuditVerifierKey(ctx context.Context, key string) (string, error)
}

// ErrKeyMismatch is returned by a [Log] whose signing key is not the one
// recorded in the database. The hub must be started with the key file that
// signed the log so far.
var ErrKeyMismatch = errors.New("the audit log in this database is signed with another key; start with the key that signed it")

// Log integrates the audit events of a store into its Merkle tree, signs
// checkpoints, and reads tiles and proofs. Its methods may be called
// concurrently; several Logs on one database (several hub processes on
// one PostgreSQL) integrate one after another, never forking the log.
type Log struct {
	store  guardian.AuditLogStore
	signer note.Signer
	origin string
	logger *slog.Logger
	batch  int

	mu      sync.Mutex
	checked bool // the key is the database's
}

// New returns a log on store that signs checkpoints for origin (such as
// "hub.example.org/audit") with signer, whose name must be origin.
// A nil logger discards.
func New(store guardian.AuditLogStore, signer note.Signer, origin string, logger *slog.Logger) *Log {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Log{store: store, signer: signer, origin: origin, logger: logger, batch: integrateBatch}
}

// Check makes sure that the log's signer may sign for this database: that
// its name is the origin, and that it is the key the database records
// (recording it if the database has none yet). Integrate and Checkpoint
// call it on first use and fail with [ErrKeyMismatch] if not; call it at
// start-up to refuse to start instead. Once it has succeeded, it does
// nothing.
func (l *Log) Check(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.checked {
		return nil
	}
	if l.signer.Name() != l.origin {
		return fmt.Errorf("audit log: signing key is named %q, not the origin %q", l.signer.Name(), l.origin)
	}
	if p, ok := l.store.(KeyPinner); ok {
		key := keyID(l.signer)
		pinned, err := p.PinAuditVerifierKey(ctx, key)
		if err != nil {
			return fmt.Errorf("audit log: record verifier key: %w", err)
		}
		if !sameKey(pinned, key) {
			return fmt.Errorf("audit log: database has key %s, this hub %s: %w", pinned, key, ErrKeyMismatch)
		}
	}
	l.checked = true
	return nil
}

// Run integrates every [IntegrateInterval] until ctx is done. Failures are
// logged (once, and again when they change) and retried.
func (l *Log) Run(ctx context.Context) {
	t := time.NewTicker(IntegrateInterval)
	defer t.Stop()
	var failing string
	for {
		n, err := l.Integrate(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && err.Error() != failing:
			failing = err.Error()
			l.logger.ErrorContext(ctx, "audit log integration failed", slog.Any(attrError, err))
		case err == nil && failing != "":
			failing = ""
			l.logger.InfoContext(ctx, "audit log integration recovered", slog.Int(attrEvents, n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Integrate adds every committed event not yet in the log, in batches that
// each commit with a signed checkpoint, and returns how many it added.
func (l *Log) Integrate(ctx context.Context) (int, error) {
	if err := l.Check(ctx); err != nil {
		return 0, err
	}
	total := 0
	for {
		n, err := l.store.IntegrateAuditLog(ctx, l.batch, l.integrate)
		total += n
		if err != nil {
			return total, fmt.Errorf("integrate audit log: %w", err)
		}
		if n < l.batch {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// integrate is the [guardian.IntegrateFunc]: it hashes the new leaves into
// the tree and signs the checkpoint of the new size.
func (l *Log) integrate(ctx context.Context, size int64, events []*guardian.AuditEvent, read func(context.Context, []int64) ([][]byte, error)) (*guardian.AuditIntegration, error) {
	// Every hash that the new leaves combine with is a root of one of the
	// complete subtrees that make up the tree so far; read those at once
	// rather than a few for each leaf.
	var f Frontier
	if size > 0 {
		idx := frontierIndexes(size)
		old, err := read(ctx, idx)
		if err != nil {
			return nil, fmt.Errorf("read tree: %w", err)
		}
		hs, err := toHashes(old, len(idx))
		if err != nil {
			return nil, fmt.Errorf("read tree: %w", err)
		}
		f = Frontier{idx: idx, hash: hs}
	}
	newHashes := make([]tlog.Hash, 0, 2*len(events)+1)
	buf := make([]byte, 0, 512)
	for i, ev := range events {
		n := size + int64(i)
		if ev.Index == nil || *ev.Index != n {
			return nil, fmt.Errorf("event %d: not given the leaf index %d", ev.ID, n)
		}
		leaf, err := format.AppendLeaf(buf[:0], ev, n)
		if err != nil {
			return nil, err
		}
		hs, err := f.Add(n, tlog.RecordHash(leaf))
		if err != nil {
			return nil, err
		}
		newHashes = append(newHashes, hs...)
	}
	newSize := size + int64(len(events))
	root, err := tlog.TreeHash(newSize, &f)
	if err != nil {
		return nil, err
	}
	signed, err := signCheckpoint(format.Checkpoint{Origin: l.origin, TreeSize: newSize, RootHash: root}, l.signer)
	if err != nil {
		return nil, err
	}
	out := &guardian.AuditIntegration{
		Hashes:     make([]guardian.AuditHash, len(newHashes)),
		TreeSize:   newSize,
		RootHash:   root[:],
		Checkpoint: signed,
	}
	first := tlog.StoredHashCount(size)
	for i := range newHashes {
		out.Hashes[i] = guardian.AuditHash{Index: first + int64(i), Hash: newHashes[i][:]}
	}
	return out, nil
}

// signCheckpoint returns the signed note of c.
func signCheckpoint(c format.Checkpoint, signer note.Signer) ([]byte, error) {
	msg, err := note.Sign(&note.Note{Text: string(c.Text())}, signer)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	return msg, nil
}

// Checkpoint returns the latest signed checkpoint; ENOTFOUND while the log
// is empty.
func (l *Log) Checkpoint(ctx context.Context) (*guardian.AuditCheckpoint, error) {
	if err := l.Check(ctx); err != nil {
		return nil, err
	}
	return l.store.LatestAuditCheckpoint(ctx)
}

// ReadTile returns a hash tile or an entry bundle of the tree of size
// treeSize (that of a checkpoint), in the tlog-tiles format: a hash tile is
// its hashes one after another, an entry bundle its leaves, each after a
// big-endian uint16 of its length. A tile that does not exist at that size
// is ENOTFOUND: a full tile not yet complete, or a partial tile wider than
// the hashes there are. A partial tile narrower than that is served: its
// hashes never change, and a client holding an older checkpoint needs it.
func (l *Log) ReadTile(ctx context.Context, t format.TilePath, treeSize int64) ([]byte, error) {
	w := int64(t.Len())
	notFound := guardian.Errorf(guardian.ENOTFOUND, "Tile %s is not in the log.", t)
	if t.Index < 0 || t.Index > 1<<(62-format.TileHeight) || t.Level < 0 || t.Level > format.MaxTileLevel {
		return nil, notFound
	}
	start := t.Index * format.TileWidth
	if t.Entries {
		if start+w > treeSize {
			return nil, notFound
		}
		return l.readBundle(ctx, start, start+w)
	}
	// Tile level L holds the hashes of tree level 8L: one per complete
	// subtree of 2^8L leaves.
	if start+w > treeSize>>(format.TileHeight*t.Level) {
		return nil, notFound
	}
	return tlog.ReadTileData(tlog.Tile{H: format.TileHeight, L: t.Level, N: t.Index, W: int(w)}, l.hashReader(ctx))
}

// readBundle returns the entry bundle of the leaves [start, end).
func (l *Log) readBundle(ctx context.Context, start, end int64) ([]byte, error) {
	leaves, err := l.store.FindAuditLeaves(ctx, start, end)
	if err != nil {
		return nil, err
	}
	if int64(len(leaves)) != end-start {
		return nil, fmt.Errorf("audit log: leaves %d to %d: found %d", start, end, len(leaves))
	}
	b := make([]byte, 0, (end-start)*400)
	for i, lf := range leaves {
		if lf.Index != start+int64(i) || lf.Event == nil {
			return nil, fmt.Errorf("audit log: leaf %d or its event is missing", start+int64(i))
		}
		b = binary.BigEndian.AppendUint16(b, 0) // length, set below
		at := len(b)
		if b, err = format.AppendLeaf(b, lf.Event, lf.Index); err != nil {
			return nil, err
		}
		binary.BigEndian.PutUint16(b[at-2:], uint16(len(b)-at))
	}
	return b, nil
}

// InclusionProof returns the RFC 6962 proof that leaf index is in the tree
// of size treeSize, as [tlog.CheckRecord] checks it. A size beyond the log
// is ENOTFOUND.
func (l *Log) InclusionProof(ctx context.Context, index, treeSize int64) (tlog.RecordProof, error) {
	if index < 0 || index >= treeSize {
		return nil, guardian.Errorf(guardian.EINVALID, "Need 0 <= index < tree size.")
	}
	return tlog.ProveRecord(treeSize, index, l.hashReader(ctx))
}

// ConsistencyProof returns the RFC 6962 proof that the tree of size from is
// a prefix of the tree of size to, as [tlog.CheckTree] checks it. A size
// beyond the log is ENOTFOUND.
func (l *Log) ConsistencyProof(ctx context.Context, from, to int64) (tlog.TreeProof, error) {
	if from < 1 || from > to {
		return nil, guardian.Errorf(guardian.EINVALID, "Need 1 <= from <= to.")
	}
	return tlog.ProveTree(to, from, l.hashReader(ctx))
}

// RootHash returns the root hash of the tree of size treeSize.
func (l *Log) RootHash(ctx context.Context, treeSize int64) (tlog.Hash, error) {
	if treeSize < 0 {
		return tlog.Hash{}, guardian.Errorf(guardian.EINVALID, "Need a tree size >= 0.")
	}
	return tlog.TreeHash(treeSize, l.hashReader(ctx))
}

// LeafHash returns the RFC 6962 hash of leaf index.
func (l *Log) LeafHash(ctx context.Context, index int64) (tlog.Hash, error) {
	if index < 0 {
		return tlog.Hash{}, guardian.Errorf(guardian.EINVALID, "Need an index >= 0.")
	}
	hs, err := l.hashReader(ctx).ReadHashes([]int64{tlog.StoredHashIndex(0, index)})
	if err != nil {
		return tlog.Hash{}, err
	}
	return hs[0], nil
}

// hashReader reads the store's stored hashes.
func (l *Log) hashReader(ctx context.Context) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		b, err := l.store.ReadAuditHashes(ctx, indexes)
		if err != nil {
			return nil, err
		}
		return toHashes(b, len(indexes))
	})
}

func toHashes(b [][]byte, n int) ([]tlog.Hash, error) {
	if len(b) != n {
		return nil, fmt.Errorf("read %d hashes, want %d", len(b), n)
	}
	hs := make([]tlog.Hash, n)
	for i, h := range b {
		if len(h) != tlog.HashSize {
			return nil, fmt.Errorf("stored hash of %d bytes", len(h))
		}
		hs[i] = tlog.Hash(h)
	}
	return hs, nil
}

// Frontier holds the roots of the complete subtrees that make up a tree,
// left to right: all that is needed to add leaves to it and to compute its
// root. It is a [tlog.HashReader] of those hashes.
type Frontier struct {
	idx  []int64 // stored hash indexes
	hash []tlog.Hash
}

// frontierIndexes returns the stored hash indexes of the frontier of the
// tree of size n: one complete subtree for each bit set in n, largest first.
func frontierIndexes(n int64) []int64 {
	var idx []int64
	for level := 62; level >= 0; level-- {
		if n&(1<<level) != 0 {
			idx = append(idx, tlog.StoredHashIndex(level, n>>level-1))
		}
	}
	return idx
}

// ReadHashes implements [tlog.HashReader].
func (f *Frontier) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
next:
	for i, x := range indexes {
		for j := len(f.idx) - 1; j >= 0; j-- {
			if f.idx[j] == x {
				out[i] = f.hash[j]
				continue next
			}
		}
		return nil, fmt.Errorf("audit log: hash %d is not on the frontier", x)
	}
	return out, nil
}

// Add appends leaf n, of hash h, to the tree of size n, and returns the
// stored hashes this adds (the leaf hash and those of the subtrees it
// completes). A zero Frontier is the empty tree's.
func (f *Frontier) Add(n int64, h tlog.Hash) ([]tlog.Hash, error) {
	hs, err := tlog.StoredHashesForRecordHash(n, h, f)
	if err != nil {
		return nil, err
	}
	// The leaf merged with the last len(hs)-1 subtrees into one of level
	// len(hs)-1.
	m := len(hs) - 1
	f.idx = append(f.idx[:len(f.idx)-m], tlog.StoredHashIndex(m, n>>m))
	f.hash = append(f.hash[:len(f.hash)-m], hs[m])
	return hs, nil
}
