package auditlog

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/auditlog/format"
)

// verifyChunk is how many leaves Verify reads at a time: memory stays
// bounded whatever the size of the log.
const verifyChunk = 4096

// VerifyError says where a store's audit log differs from what its events
// and its signed checkpoint require.
type VerifyError struct {
	// Index is the first leaf index at which something differs, or -1
	// when the latest checkpoint itself is at fault: its signature or
	// format, or a root hash that the leaves do not produce although
	// every stored hash matches them (leaves and hashes were rewritten
	// together; an older checkpoint, or a witness, shows where).
	Index  int64
	Reason string
}

func (e *VerifyError) Error() string {
	if e.Index < 0 {
		return "audit log: checkpoint: " + e.Reason
	}
	return fmt.Sprintf("audit log: leaf %d: %s", e.Index, e.Reason)
}

// Report is the result of a successful [Verify].
type Report struct {
	// Checkpoint is the latest checkpoint, whose signature and root the
	// store's leaves bear out. Zero for an empty log.
	Checkpoint format.Checkpoint
	// Signed is the checkpoint's signed note.
	Signed []byte
	// Duration is how long verification took.
	Duration time.Duration
}

// Verify checks a store's whole audit log without trusting anything in it
// but the signature of the latest checkpoint, made with verifierKey: it
// reads every leaf in order with its event, encodes the event again, and
// recomputes every stored hash of the tree and the root. It returns a
// [*VerifyError] naming the first index where anything differs: an event
// changed, missing or out of order, a leaf missing, a stored hash changed
// or missing, or a root that the checkpoint does not sign. Other errors
// are failures to read the store.
//
// Verify reads the log in chunks, so that memory does not grow with it.
// A log that grows meanwhile is verified up to the checkpoint that was
// latest when Verify started.
func Verify(ctx context.Context, store guardian.AuditLogStore, verifierKey string) (*Report, error) {
	started := time.Now()
	cp, err := store.LatestAuditCheckpoint(ctx)
	if guardian.ErrorCode(err) == guardian.ENOTFOUND {
		leaves, err := store.FindAuditLeaves(ctx, 0, 1)
		if err != nil {
			return nil, err
		}
		if len(leaves) > 0 {
			return nil, &VerifyError{Index: 0, Reason: "the log has leaves but no checkpoint"}
		}
		return &Report{Duration: time.Since(started)}, nil
	} else if err != nil {
		return nil, err
	}
	c, err := format.OpenCheckpoint(cp.Note, verifierKey)
	if err != nil {
		return nil, &VerifyError{Index: -1, Reason: err.Error()}
	}
	if c.TreeSize != cp.TreeSize || !bytes.Equal(c.RootHash[:], cp.RootHash) {
		return nil, &VerifyError{Index: -1, Reason: "the stored size or root differs from the signed note"}
	}

	v := verifier{ctx: ctx, store: store}
	for start := int64(0); start < c.TreeSize; start += verifyChunk {
		if err := v.chunk(start, min(start+verifyChunk, c.TreeSize)); err != nil {
			return nil, err
		}
	}
	root, err := tlog.TreeHash(c.TreeSize, &v.f)
	if err != nil {
		return nil, err
	}
	if root != c.RootHash {
		return nil, &VerifyError{Index: -1, Reason: fmt.Sprintf("the leaves and stored hashes agree, but their root is not the one signed for size %d", c.TreeSize)}
	}

	// Leaves beyond the checkpoint are normal only if a newer checkpoint
	// covers them: integration commits leaves and checkpoint together, so
	// reading the leaves first and the checkpoint second cannot miss it.
	beyond, err := store.FindAuditLeaves(ctx, c.TreeSize, c.TreeSize+1)
	if err != nil {
		return nil, err
	}
	if len(beyond) > 0 {
		now, err := store.LatestAuditCheckpoint(ctx)
		if err != nil {
			return nil, err
		}
		if now.TreeSize <= c.TreeSize {
			return nil, &VerifyError{Index: c.TreeSize, Reason: "a leaf beyond the latest checkpoint"}
		}
	}
	return &Report{Checkpoint: c, Signed: cp.Note, Duration: time.Since(started)}, nil
}

// verifier carries Verify's state from one chunk to the next.
type verifier struct {
	ctx    context.Context
	store  guardian.AuditLogStore
	f      Frontier    // of the leaves verified so far
	prevID int64       // the event id of the last leaf
	hashes []tlog.Hash // computed in the current chunk, from StoredHashCount(start)
	buf    []byte
}

// chunk verifies the leaves [start, end).
func (v *verifier) chunk(start, end int64) error {
	leaves, err := v.store.FindAuditLeaves(v.ctx, start, end)
	if err != nil {
		return err
	}
	v.hashes = v.hashes[:0]
	for i := start; i < end; i++ {
		j := i - start
		var reason string
		switch {
		case j >= int64(len(leaves)) || leaves[j].Index != i:
			reason = "the leaf row is missing"
		case leaves[j].Event == nil:
			reason = "the event row is missing"
		case leaves[j].Event.ID <= v.prevID:
			reason = fmt.Sprintf("event %d follows event %d: rows reordered", leaves[j].Event.ID, v.prevID)
		}
		if reason == "" {
			ev := leaves[j].Event
			v.buf, err = format.AppendLeaf(v.buf[:0], ev, i)
			if err != nil {
				reason = err.Error()
			} else {
				hs, err := v.f.Add(i, tlog.RecordHash(v.buf))
				if err != nil {
					return err
				}
				v.hashes = append(v.hashes, hs...)
				v.prevID = ev.ID
				continue
			}
		}
		// A stored hash before i that differs comes first.
		if err := v.compare(start); err != nil {
			return err
		}
		return &VerifyError{Index: i, Reason: reason}
	}
	return v.compare(start)
}

// compare checks the hashes computed since leaf start against the stored
// ones.
func (v *verifier) compare(start int64) error {
	if len(v.hashes) == 0 {
		return nil
	}
	first := tlog.StoredHashCount(start)
	idx := make([]int64, len(v.hashes))
	for k := range idx {
		idx[k] = first + int64(k)
	}
	stored, err := v.store.ReadAuditHashes(v.ctx, idx)
	if guardian.ErrorCode(err) == guardian.ENOTFOUND {
		return v.findMissing(idx)
	} else if err != nil {
		return err
	}
	for k, h := range stored {
		if !bytes.Equal(h, v.hashes[k][:]) {
			level, n := tlog.SplitStoredHashIndex(idx[k])
			if level == 0 {
				return &VerifyError{Index: n, Reason: "the event does not hash to the stored leaf hash: the event or the hash was changed"}
			}
			return &VerifyError{Index: leafCompleting(level, n), Reason: fmt.Sprintf("the stored hash of tree level %d differs from the one its leaves give", level)}
		}
	}
	return nil
}

// findMissing names the first of the stored hashes idx that is missing.
func (v *verifier) findMissing(idx []int64) error {
	for _, x := range idx {
		if _, err := v.store.ReadAuditHashes(v.ctx, []int64{x}); guardian.ErrorCode(err) == guardian.ENOTFOUND {
			level, n := tlog.SplitStoredHashIndex(x)
			return &VerifyError{Index: leafCompleting(level, n), Reason: fmt.Sprintf("the stored hash of tree level %d is missing", level)}
		} else if err != nil {
			return err
		}
	}
	return fmt.Errorf("audit log: stored hashes %d to %d: reported missing, but found", idx[0], idx[len(idx)-1])
}

// leafCompleting returns the index of the leaf whose integration stored the
// hash of the subtree n at level: its last leaf.
func leafCompleting(level int, n int64) int64 {
	return (n+1)<<level - 1
}
