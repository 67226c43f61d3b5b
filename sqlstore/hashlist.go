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
	case l == nil || l.Name == "" || l.Source == "" || l.Version == "":
		return guardian.Errorf(guardian.EINVALID, "A hash list needs a name, a source and a version.")
	case l.Format != "csv" && l.Format != "vics":
		return guardian.Errorf(guardian.EINVALID, "A hash list's format is csv or vics, not %q.", guardian.Clip(l.Format, 20))
	}
	for i, e := range entries {
		if !validHash(e.Type, e.Hash) {
			return guardian.Errorf(guardian.EINVALID, "Entry %d of the hash list: %q is not a %s hash in lower-case hex.",
				i+1, guardian.Clip(e.Hash, 130), guardian.Clip(string(e.Type), 20))
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

// FindHashLists implements [guardian.HashListStore]. It is one statement,
// on the read pool outside any transaction: the routing reads the lists
// before every report it matches (hashlist.Matcher), and one statement
// sees one state of them.
func (s *Store) FindHashLists(ctx context.Context) ([]*guardian.HashList, error) {
	rows, err := s.readDB.QueryContext(ctx, s.d.Rebind(`SELECT `+hashListColumns+` FROM hash_lists ORDER BY name`))
	if err != nil {
		return nil, fmt.Errorf("find hash lists: %w", s.d.FormatError(err))
	}
	defer rows.Close()
	lists := []*guardian.HashList{}
	for rows.Next() {
		var l guardian.HashList
		if err := rows.Scan(&l.ID, &l.Name, &l.Source, &l.Categories, &l.Version, &l.Format, &l.Entries, timeScanner{&l.ImportedAt}); err != nil {
			return nil, fmt.Errorf("find hash lists: %w", err)
		}
		lists = append(lists, &l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find hash lists: %w", s.d.FormatError(err))
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

// EachHashListEntry implements [guardian.HashListStore]. The rows stream
// from one read transaction, so a list replaced meanwhile is seen whole,
// old or new.
func (s *Store) EachHashListEntry(ctx context.Context, t guardian.HashType, fn func(guardian.HashMatch) error) error {
	if t.HexLen() == 0 {
		return guardian.Errorf(guardian.EINVALID, "Unknown hash type %q.", guardian.Clip(string(t), 20))
	}
	err := s.view(ctx, func(tx *tx) error {
		rows, err := tx.query(`
			SELECT l.name, l.version, e.hash, e.category
			FROM hash_list_entries e JOIN hash_lists l ON l.id = e.list_id
			WHERE e.type = ?
			ORDER BY l.name, e.hash, e.category`, string(t))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m := guardian.HashMatch{Type: t}
			if err := rows.Scan(&m.List, &m.ListVersion, &m.Hash, &m.Category); err != nil {
				return err
			}
			if err := fn(m); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("hash list entries: %w", err)
	}
	return nil
}

// matchBatch is the number of report_hash_matches rows one INSERT
// carries: seven placeholders each.
const matchBatch = 500

// SetReportHashMatches implements [guardian.HashListStore].
func (s *Store) SetReportHashMatches(ctx context.Context, reportID int64, matches []guardian.KnownMatch) error {
	if err := checkMatches(matches); err != nil {
		return fmt.Errorf("set report %d hash matches: %w", reportID, err)
	}
	err := s.update(ctx, func(tx *tx) error {
		// Write the report's row first, as a routing run does: the two
		// replace the matches one after the other, and a run that waited
		// for this one reads the matches again (Store.lockForRouting).
		if _, err := tx.exec(`UPDATE reports SET route_attempts = route_attempts WHERE id = ?`, reportID); err != nil {
			return fmt.Errorf("lock report: %w", err)
		}
		return replaceHashMatches(tx, reportID, matches, true)
	})
	if err != nil {
		return fmt.Errorf("set report %d hash matches: %w", reportID, err)
	}
	return nil
}

// checkMatches checks matches as a hash list's items, before any
// transaction.
func checkMatches(matches []guardian.KnownMatch) error {
	for i, m := range matches {
		if !validHash(m.Type, m.Hash) || m.List == "" || m.Distance < 0 || m.Distance > 256 {
			return guardian.Errorf(guardian.EINVALID, "Match %d is not a valid hash list item.", i+1)
		}
	}
	return nil
}

// replaceHashMatches replaces report reportID's recorded matches in tx;
// matches must have passed checkMatches. Unless mayHave, the report is
// known to have none recorded, and nothing is deleted.
func replaceHashMatches(tx *tx, reportID int64, matches []guardian.KnownMatch, mayHave bool) error {
	if len(matches) > 0 {
		ids, err := reportFileIDs(tx, reportID)
		if err != nil {
			return err
		}
		for _, m := range matches {
			if !ids[m.FileID] {
				return guardian.Errorf(guardian.ENOTFOUND, "File %q is not a file of report %d.", guardian.Clip(m.FileID, 40), reportID)
			}
		}
	}
	if mayHave {
		if _, err := tx.exec(`DELETE FROM report_hash_matches WHERE report_id = ?`, reportID); err != nil {
			return fmt.Errorf("delete old matches: %w", err)
		}
	}
	for start := 0; start < len(matches); start += matchBatch {
		batch := matches[start:min(start+matchBatch, len(matches))]
		args := make([]any, 0, 7*len(batch))
		for _, m := range batch {
			args = append(args, reportID, m.FileID, m.List, string(m.Type), m.Hash, m.Category, m.Distance)
		}
		_, err := tx.exec(`INSERT INTO report_hash_matches (report_id, file_id, list, type, hash, category, distance) VALUES (?, ?, ?, ?, ?, ?, ?)`+
			strings.Repeat(", (?, ?, ?, ?, ?, ?, ?)", len(batch)-1), args...)
		if err != nil {
			return fmt.Errorf("insert matches: %w", err)
		}
	}
	return nil
}

// FindHashBundle implements [guardian.HashListStore]. A limit outside 1 to
// guardian.MaxHashBundle is taken as that maximum.
func (s *Store) FindHashBundle(ctx context.Context, reportID int64, limit int) (*guardian.HashBundle, error) {
	if limit <= 0 || limit > guardian.MaxHashBundle {
		limit = guardian.MaxHashBundle
	}
	b := &guardian.HashBundle{Members: []guardian.HashBundleMember{}}
	// The items are the report's own (type, hash) pairs; the others are
	// found through the (type, hash, report_id) index.
	const others = `
		FROM report_hash_matches o
		WHERE o.report_id <> ? AND EXISTS (
			SELECT 1 FROM report_hash_matches m
			WHERE m.report_id = ? AND m.type = o.type AND m.hash = o.hash)`
	err := s.view(ctx, func(tx *tx) error {
		if err := tx.queryRow(`SELECT COUNT(DISTINCT o.report_id)`+others, []any{reportID, reportID}, &b.Reports); err != nil {
			return fmt.Errorf("count: %w", err)
		}
		if b.Reports == 0 {
			return nil
		}
		rows, err := tx.query(`
			SELECT DISTINCT o.report_id, o.type, o.hash`+others+` AND o.report_id IN (
				SELECT DISTINCT o.report_id`+others+`
				ORDER BY o.report_id DESC LIMIT ?)
			ORDER BY o.report_id DESC, o.type, o.hash`, reportID, reportID, reportID, reportID, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m guardian.HashBundleMember
			if err := rows.Scan(&m.ReportID, &m.Type, &m.Hash); err != nil {
				return err
			}
			b.Members = append(b.Members, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("find hash bundle of report %d: %w", reportID, err)
	}
	return b, nil
}
