package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/guardian-network/guardian"
)

// The audit log's tables (migration 0002): audit_leaves gives each
// integrated event its leaf index, audit_hashes holds the Merkle tree's
// stored hashes (golang.org/x/mod/sumdb/tlog's numbering), audit_checkpoints
// every signed checkpoint, and the single row of audit_log_state the size
// of the tree, the last event integrated and the log's verifier key. All
// but audit_log_state are append-only by trigger; its row only moves
// forward.

var (
	_ guardian.AuditLogStore = (*Store)(nil)
	_ guardian.TokenStore    = (*Store)(nil)
)

// AuditDialect is what the audit log needs of a [Dialect] beyond the
// interface. Both database packages implement it; [Store] finds it by a
// type assertion on its Dialect.
type AuditDialect interface {
	// BeginAuditIntegration is the first statement of an integrating
	// transaction. It makes the transaction READ COMMITTED where the
	// database could be configured otherwise: AuditWatermark's guarantee
	// holds only for statements that take a new snapshot after it.
	BeginAuditIntegration(ctx context.Context, tx *sql.Tx) error
	// AuditWatermark returns the largest audit event id at which no
	// transaction is still in flight: every event with an id up to it is
	// committed, or rolled back for good, and no transaction will insert
	// one. It runs in the integrating transaction, whose later statements
	// must see every event up to it that committed.
	//
	// On SQLite the transaction holds the only write lock, so this is
	// the largest id. On PostgreSQL ids come from a sequence drawn before
	// commit, so a smaller id may commit after a larger one; a barrier
	// waits out the transactions that hold one (see its migration 0002).
	AuditWatermark(ctx context.Context, tx *sql.Tx) (int64, error)
	// BulkInsert inserts rows into table in as few statements as the
	// database makes fast. values holds one slice per column, each
	// []int64 or [][]byte, all of the same length. An integration inserts
	// thousands of leaves and hashes, and one statement per row would
	// cost more than all else it does.
	BulkInsert(ctx context.Context, tx *sql.Tx, table string, columns []string, values ...any) error
}

// readChunk bounds the ranges of one read of stored hashes, keeping a
// statement's parameters well below the limits of either database (32766
// for SQLite, 65535 for PostgreSQL).
const readChunk = 500

func (s *Store) auditDialect() (AuditDialect, error) {
	ad, ok := s.d.(AuditDialect)
	if !ok {
		return nil, fmt.Errorf("%T does not support the audit log", s.d)
	}
	return ad, nil
}

// IntegrateAuditLog implements [guardian.AuditLogStore].
//
// The transaction first locks audit_log_state's row, which every
// integrator does: whoever comes second waits, then sees the first one's
// leaves, so two hub processes extend one tree and never fork it. Only then
// does it take the watermark, so that the events it adds are all there will
// ever be up to that id.
func (s *Store) IntegrateAuditLog(ctx context.Context, limit int, fn guardian.IntegrateFunc) (int, error) {
	ad, err := s.auditDialect()
	if err != nil {
		return 0, err
	}
	if limit <= 0 {
		return 0, errors.New("integrate audit log: limit must be positive")
	}
	var added int
	err = s.update(ctx, func(tx *tx) error {
		added = 0
		if err := ad.BeginAuditIntegration(tx.ctx, tx.tx); err != nil {
			return fmt.Errorf("begin audit integration: %w", tx.d.FormatError(err))
		}
		var size, lastID int64
		err := tx.queryRow(`SELECT tree_size, last_event_id FROM audit_log_state WHERE id = 1`+tx.d.LockRow(),
			nil, &size, &lastID)
		if err != nil {
			return fmt.Errorf("lock audit log state: %w", err)
		}
		watermark, err := ad.AuditWatermark(tx.ctx, tx.tx)
		if err != nil {
			return fmt.Errorf("audit watermark: %w", tx.d.FormatError(err))
		}
		if watermark <= lastID {
			return nil
		}
		events, err := findNewEvents(tx, lastID, watermark, limit)
		if err != nil || len(events) == 0 {
			return err // none: the ids up to the watermark were rolled back
		}
		for i, ev := range events {
			index := size + int64(i)
			ev.Index = &index
		}
		in, err := fn(tx.ctx, size, events, func(ctx context.Context, indexes []int64) ([][]byte, error) {
			return readAuditHashes(ctx, tx.tx, tx.d, indexes)
		})
		if err != nil {
			return err
		}
		switch {
		case in == nil || in.TreeSize != size+int64(len(events)):
			return errors.New("integration does not cover the events given")
		case len(in.RootHash) != 32 || len(in.Checkpoint) == 0:
			return errors.New("integration has no root hash or checkpoint")
		}
		if err := insertLeaves(tx, ad, events); err != nil {
			return err
		}
		if err := insertHashes(tx, ad, in.Hashes); err != nil {
			return err
		}
		_, err = tx.exec(`INSERT INTO audit_checkpoints (tree_size, root_hash, note, created_at) VALUES (?, ?, ?, ?)`,
			in.TreeSize, in.RootHash, in.Checkpoint, tx.t(tx.now))
		if err != nil {
			return fmt.Errorf("insert audit checkpoint: %w", err)
		}
		_, err = tx.exec(`UPDATE audit_log_state SET tree_size = ?, last_event_id = ? WHERE id = 1`,
			in.TreeSize, events[len(events)-1].ID)
		if err != nil {
			return fmt.Errorf("update audit log state: %w", err)
		}
		added = len(events)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("integrate audit log: %w", err)
	}
	return added, nil
}

// findNewEvents returns up to limit events with lastID < id <= watermark,
// in id order.
func findNewEvents(tx *tx, lastID, watermark int64, limit int) ([]*guardian.AuditEvent, error) {
	rows, err := tx.query(`
		SELECT `+eventColumns+`, NULL
		FROM audit_events e
		WHERE e.id > ? AND e.id <= ?
		ORDER BY e.id
		LIMIT ?`, lastID, watermark, limit)
	if err != nil {
		return nil, fmt.Errorf("find events to integrate: %w", err)
	}
	defer rows.Close()
	var events []*guardian.AuditEvent
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		events = append(events, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find events to integrate: %w", tx.d.FormatError(err))
	}
	return events, nil
}

func insertLeaves(tx *tx, ad AuditDialect, events []*guardian.AuditEvent) error {
	index, id := make([]int64, len(events)), make([]int64, len(events))
	for i, ev := range events {
		index[i], id[i] = *ev.Index, ev.ID
	}
	if err := ad.BulkInsert(tx.ctx, tx.tx, "audit_leaves", []string{"leaf_index", "event_id"}, index, id); err != nil {
		return fmt.Errorf("insert audit leaves: %w", tx.d.FormatError(err))
	}
	return nil
}

func insertHashes(tx *tx, ad AuditDialect, hashes []guardian.AuditHash) error {
	index, hash := make([]int64, len(hashes)), make([][]byte, len(hashes))
	for i, h := range hashes {
		index[i], hash[i] = h.Index, h.Hash
	}
	if err := ad.BulkInsert(tx.ctx, tx.tx, "audit_hashes", []string{"hash_index", "hash"}, index, hash); err != nil {
		return fmt.Errorf("insert audit hashes: %w", tx.d.FormatError(err))
	}
	return nil
}

// rowsQuerier is a *sql.DB, *sql.Conn or *sql.Tx.
type rowsQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ReadAuditHashes implements [guardian.AuditLogStore]. Each statement
// reads one snapshot; hashes never change once stored, so several
// statements for a long list read a consistent tree too.
func (s *Store) ReadAuditHashes(ctx context.Context, indexes []int64) ([][]byte, error) {
	hs, err := readAuditHashes(ctx, s.readDB, s.d, indexes)
	if err != nil {
		return nil, fmt.Errorf("read audit hashes: %w", err)
	}
	return hs, nil
}

// readAuditHashes reads the stored hashes at indexes through q. It asks for
// runs of consecutive indexes as ranges, so that a tile or a verifier's
// chunk is a range scan and a proof's scattered hashes one IN list.
func readAuditHashes(ctx context.Context, q rowsQuerier, d Dialect, indexes []int64) ([][]byte, error) {
	out := make([][]byte, len(indexes))
	if len(indexes) == 0 {
		return out, nil
	}
	sorted := slices.Clone(indexes)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	found := make(map[int64][]byte, len(sorted))

	var singles []any
	var ranges []any
	flush := func() error {
		if len(singles) == 0 && len(ranges) == 0 {
			return nil
		}
		var where []string
		if len(singles) > 0 {
			where = append(where, "hash_index IN (?"+strings.Repeat(", ?", len(singles)-1)+")")
		}
		for range len(ranges) / 2 {
			where = append(where, "hash_index BETWEEN ? AND ?")
		}
		rows, err := q.QueryContext(ctx, d.Rebind(`SELECT hash_index, hash FROM audit_hashes WHERE `+strings.Join(where, " OR ")),
			append(singles, ranges...)...)
		if err != nil {
			return d.FormatError(err)
		}
		defer rows.Close()
		for rows.Next() {
			var i int64
			var h []byte
			if err := rows.Scan(&i, &h); err != nil {
				return err
			}
			found[i] = h
		}
		singles, ranges = singles[:0], ranges[:0]
		return d.FormatError(rows.Err())
	}
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j] == sorted[j-1]+1 {
			j++
		}
		if j-i == 1 {
			singles = append(singles, sorted[i])
		} else {
			ranges = append(ranges, sorted[i], sorted[j-1])
		}
		if len(singles)+len(ranges) >= readChunk {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		i = j
	}
	if err := flush(); err != nil {
		return nil, err
	}
	for k, i := range indexes {
		h, ok := found[i]
		if !ok {
			return nil, guardian.Errorf(guardian.ENOTFOUND, "Hash %d is not in the audit log.", i)
		}
		out[k] = h
	}
	return out, nil
}

// LatestAuditCheckpoint implements [guardian.AuditLogStore].
func (s *Store) LatestAuditCheckpoint(ctx context.Context) (*guardian.AuditCheckpoint, error) {
	var cp guardian.AuditCheckpoint
	err := s.queryRow(ctx, `
		SELECT tree_size, root_hash, note, created_at
		FROM audit_checkpoints
		ORDER BY tree_size DESC
		LIMIT 1`, nil, &cp.TreeSize, &cp.RootHash, &cp.Note, timeScanner{&cp.CreatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, guardian.Errorf(guardian.ENOTFOUND, "The audit log is empty.")
	} else if err != nil {
		return nil, fmt.Errorf("latest audit checkpoint: %w", err)
	}
	return &cp, nil
}

// FindAuditLeaves implements [guardian.AuditLogStore]. It is one statement,
// so the leaves and their events come from one snapshot.
func (s *Store) FindAuditLeaves(ctx context.Context, start, end int64) ([]guardian.AuditLeaf, error) {
	if start < 0 || end < start {
		return nil, guardian.Errorf(guardian.EINVALID, "Need 0 <= start <= end.")
	}
	if end == start {
		return nil, nil
	}
	rows, err := s.readDB.QueryContext(ctx, s.d.Rebind(`
		SELECT l.leaf_index, `+eventColumns+`, l.leaf_index
		FROM audit_leaves l LEFT JOIN audit_events e ON e.id = l.event_id
		WHERE l.leaf_index >= ? AND l.leaf_index < ?
		ORDER BY l.leaf_index`), start, end)
	if err != nil {
		return nil, fmt.Errorf("find audit leaves: %w", s.d.FormatError(err))
	}
	defer rows.Close()
	leaves := make([]guardian.AuditLeaf, 0, end-start)
	for rows.Next() {
		var lf guardian.AuditLeaf
		if lf.Event, err = scanEvent(rows, &lf.Index); err != nil {
			return nil, fmt.Errorf("find audit leaves: %w", err)
		}
		leaves = append(leaves, lf)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find audit leaves: %w", s.d.FormatError(err))
	}
	return leaves, nil
}

// PinAuditVerifierKey records key as the audit log's verifier key unless
// one is recorded, and returns the recorded key (see auditlog.KeyPinner).
// A trigger keeps the recorded key from changing.
func (s *Store) PinAuditVerifierKey(ctx context.Context, key string) (string, error) {
	if key == "" {
		return "", errors.New("pin audit verifier key: empty key")
	}
	var pinned string
	err := s.update(ctx, func(tx *tx) error {
		if _, err := tx.exec(`UPDATE audit_log_state SET verifier_key = ? WHERE id = 1 AND verifier_key IS NULL`, key); err != nil {
			return err
		}
		return tx.queryRow(`SELECT verifier_key FROM audit_log_state WHERE id = 1`, nil, &pinned)
	})
	if err != nil {
		return "", fmt.Errorf("pin audit verifier key: %w", err)
	}
	return pinned, nil
}
