package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/guardian-network/guardian"
)

var _ guardian.HashListStore = (*Store)(nil)

// entryBatch is the number of hash list entries one INSERT carries: four
// placeholders each, well below the limits of both databases.
const entryBatch = 1000

// hashListColumns are the columns of hash_lists that scanHashLists reads.
const hashListColumns = `id, name, source, categories, version, format, entry_count, imported_at`

// ImportHashList implements [guardian.HashListStore]. The old list's entries
// are deleted and the new ones inserted in one transaction, so that a
// reader sees the old version or the new one, never a mixture.
func (s *Store) ImportHashList(ctx context.Context, l *guardian.HashList, entries []guardian.HashListEntry, force bool, ev *guardian.AuditEvent) error {
	switch {
	case l.Name == "" || l.Source == "" || l.Version == "":
		return errors.New("import hash list: name, source and version are required")
	case l.Format != "csv" && l.Format != "vics":
		return fmt.Errorf("import hash list: unknown format %q", l.Format)
	}
	for i, e := range entries {
		if !validHash(e.Type, e.Hash) {
			return fmt.Errorf("import hash list: entry %d: %q is not a %s hash in lower-case hex", i, e.Hash, e.Type)
		}
	}
	err := s.update(ctx, func(tx *tx) error {
		var oldID int64
		var oldVersion string
		err := tx.queryRow(`SELECT id, version FROM hash_lists WHERE name = ?`, []any{l.Name}, &oldID, &oldVersion)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("find list: %w", err)
		case !force && guardian.CompareVersions(l.Version, oldVersion) <= 0:
			return guardian.Errorf(guardian.ECONFLICT, "Hash list %q is already at version %s, not older than %s.", l.Name, oldVersion, l.Version)
		default:
			if _, err := tx.exec(`DELETE FROM hash_list_entries WHERE list_id = ?`, oldID); err != nil {
				return fmt.Errorf("delete old entries: %w", err)
			}
			if _, err := tx.exec(`DELETE FROM hash_lists WHERE id = ?`, oldID); err != nil {
				return fmt.Errorf("delete old list: %w", err)
			}
		}
		err = tx.queryRow(`
			INSERT INTO hash_lists (name, source, categories, version, format, entry_count, imported_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			[]any{l.Name, l.Source, l.Categories, l.Version, l.Format, len(entries), tx.t(tx.now)}, &l.ID)
		if err != nil {
			return fmt.Errorf("insert list: %w", err)
		}
		for start := 0; start < len(entries); start += entryBatch {
			batch := entries[start:min(start+entryBatch, len(entries))]
			args := make([]any, 0, 4*len(batch))
			for _, e := range batch {
				args = append(args, l.ID, string(e.Type), e.Hash, e.Category)
			}
			_, err := tx.exec(`INSERT INTO hash_list_entries (list_id, type, hash, category) VALUES (?, ?, ?, ?)`+
				strings.Repeat(", (?, ?, ?, ?)", len(batch)-1), args...)
			if err != nil {
				return fmt.Errorf("insert entries: %w", err)
			}
		}
		l.Entries, l.ImportedAt = int64(len(entries)), tx.now
		return recordSuccess(tx, ev, "hash_list", l.Name, 0, "")
	})
	if err != nil {
		return fmt.Errorf("import hash list: %w", err)
	}
	return nil
}

// FindHashLists implements [guardian.HashListStore].
func (s *Store) FindHashLists(ctx context.Context) ([]*guardian.HashList, error) {
	var lists []*guardian.HashList
	err := s.view(ctx, func(tx *tx) error {
		rows, err := tx.query(`SELECT ` + hashListColumns + ` FROM hash_lists ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		lists = []*guardian.HashList{}
		for rows.Next() {
			var l guardian.HashList
			if err := rows.Scan(&l.ID, &l.Name, &l.Source, &l.Categories, &l.Version, &l.Format, &l.Entries, timeScanner{&l.ImportedAt}); err != nil {
				return err
			}
			lists = append(lists, &l)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("find hash lists: %w", err)
	}
	return lists, nil
}

// RemoveHashList implements [guardian.HashListStore].
func (s *Store) RemoveHashList(ctx context.Context, name string, ev *guardian.AuditEvent) error {
	err := s.update(ctx, func(tx *tx) error {
		var id int64
		err := tx.queryRow(`SELECT id FROM hash_lists WHERE name = ?`, []any{name}, &id)
		if errors.Is(err, sql.ErrNoRows) {
			return guardian.Errorf(guardian.ENOTFOUND, "Hash list %q not found.", name)
		} else if err != nil {
			return fmt.Errorf("find list: %w", err)
		}
		if _, err := tx.exec(`DELETE FROM hash_list_entries WHERE list_id = ?`, id); err != nil {
			return fmt.Errorf("delete entries: %w", err)
		}
		if _, err := tx.exec(`DELETE FROM hash_lists WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete list: %w", err)
		}
		return recordSuccess(tx, ev, "hash_list", name, 0, "")
	})
	if err != nil {
		return fmt.Errorf("remove hash list: %w", err)
	}
	return nil
}

// FindHashMatches implements [guardian.HashListStore]. Hashes that are not
// lower-case hex of their type's length match nothing.
func (s *Store) FindHashMatches(ctx context.Context, hashes []guardian.HashListEntry) ([]guardian.HashMatch, error) {
	var conds []string
	var args []any
	for _, h := range hashes {
		if validHash(h.Type, h.Hash) {
			conds = append(conds, `(e.type = ? AND e.hash = ?)`)
			args = append(args, string(h.Type), h.Hash)
		}
	}
	matches := []guardian.HashMatch{}
	if len(conds) == 0 {
		return matches, nil
	}
	err := s.view(ctx, func(tx *tx) error {
		rows, err := tx.query(`
			SELECT l.name, l.version, e.type, e.hash, e.category
			FROM hash_list_entries e JOIN hash_lists l ON l.id = e.list_id
			WHERE `+strings.Join(conds, " OR ")+`
			ORDER BY l.name, e.type, e.hash, e.category`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m guardian.HashMatch
			if err := rows.Scan(&m.List, &m.ListVersion, &m.Type, &m.Hash, &m.Category); err != nil {
				return err
			}
			matches = append(matches, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("find hash matches: %w", err)
	}
	return matches, nil
}

// validHash reports whether h is a hash of type t in lower-case hex.
func validHash(t guardian.HashType, h string) bool {
	return t.HexLen() > 0 && len(h) == t.HexLen() && strings.Trim(h, "0123456789abcdef") == ""
}
