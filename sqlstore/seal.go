package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
)

// Sealer encrypts and decrypts the documents of reports for the store:
// crypto.DocumentSealer on the hub's master key implements it. The store
// calls it with the report's wrapped data key as stored, so that each
// document is sealed under its own report's key and destroying that key
// (expiry, retention) destroys the documents with the files.
//
// binding is what the wrapped key is bound to: the report's reporter id (see
// server's reporterContext). reportID and label (which document: see the
// label constants) must be bound to the sealed bytes, so that a document
// moved to another report, file or column does not open.
//
// Open fails, saying little, if the bytes were altered or belong
// elsewhere. Both are safe for concurrent use. (Rows that an older guardian
// wrote in the clear are told apart by the sealed column of their table,
// not by their bytes, and sealed at the next open with a Sealer.)
type Sealer interface {
	Seal(wrappedKey []byte, binding, reportID int64, label string, document []byte) ([]byte, error)
	Open(wrappedKey []byte, binding, reportID int64, label string, sealed []byte) ([]byte, error)
}

// ErrNoSealer answers every call that writes or reads a report document on
// a store opened without [Options.Sealer].
var ErrNoSealer = errors.New("store opened without the master key: report documents cannot be read or written")

// The labels of a report's documents. A file's details are labelled with
// the file's id (fileDetailsLabels).
const (
	labelReportXML  = "report.xml"
	labelReportJSON = "report.json"
	labelAssessment = "assessment.json"
	labelTriage     = "triage.json"
)

// fileDetailsLabels returns the labels of a file's <fileDetails> and of its
// JSON.
func fileDetailsLabels(fileID string) (xml, json string) {
	return "file/" + fileID + "/details.xml", "file/" + fileID + "/details.json"
}

// reportKey is what a report's documents are sealed under: its wrapped data
// key (nil once destroyed) and the reporter that key is bound to.
type reportKey struct {
	reportID   int64
	reporterID int64
	wrapped    []byte
}

// seal seals a document of the report.
func (s *Store) seal(k reportKey, label string, document []byte) ([]byte, error) {
	if s.sealer == nil {
		return nil, ErrNoSealer
	}
	if k.wrapped == nil {
		return nil, fmt.Errorf("seal %s of report %d: its data key is destroyed", label, k.reportID)
	}
	b, err := s.sealer.Seal(k.wrapped, k.reporterID, k.reportID, label, document)
	if err != nil {
		return nil, fmt.Errorf("seal %s of report %d: %w", label, k.reportID, err)
	}
	return b, nil
}

// open returns a document of the report as stored (sealed says whether it
// is), in the clear; nil if the report's key is destroyed, since the
// document went with it.
func (s *Store) open(k reportKey, label string, stored []byte, sealed bool) ([]byte, error) {
	switch {
	case k.wrapped == nil:
		return nil, nil
	case s.sealer == nil:
		return nil, ErrNoSealer
	case !sealed:
		return stored, nil // written before documents were sealed
	}
	b, err := s.sealer.Open(k.wrapped, k.reporterID, k.reportID, label, stored)
	if err != nil {
		return nil, fmt.Errorf("open %s of report %d: %w", label, k.reportID, err)
	}
	return b, nil
}

// needSealer fails a call that will seal or open documents before it starts.
func (s *Store) needSealer() error {
	if s.sealer == nil {
		return ErrNoSealer
	}
	return nil
}

// sealBatch is how many rows one transaction of sealExisting seals: small
// enough that the writer is never held for long, large enough that the
// commits do not dominate.
const sealBatch = 100

// sealExisting seals the documents that a guardian older than schema
// version 5 stored in the clear: reports, file details and assessments. Each
// batch is one transaction; a crash loses at most the batch in flight, and
// the next open carries on. Documents of reports whose key is already
// destroyed cannot be sealed, and are erased instead: the key's destruction
// was meant to take them along, and now does.
//
// On PostgreSQL, rows another process is sealing at the same time are
// passed over; whatever is left is sealed at the next open, and read in the
// clear meanwhile.
func (s *Store) sealExisting(ctx context.Context) error {
	total, err := s.countUnsealed(ctx)
	if err != nil || total == 0 {
		return err
	}
	s.logger.InfoContext(ctx, "encrypting report documents stored in the clear", slog.Int("rows", total))
	done, erased := 0, 0
	for _, step := range []struct {
		table string
		fn    func(tx *tx) (sealed, erased int, err error)
	}{
		{"reports", s.sealReports},
		{"files", s.sealFiles},
		{"report_assessments", s.sealAssessments},
	} {
		for {
			var n, e int
			err := s.update(ctx, func(tx *tx) (err error) {
				n, e, err = step.fn(tx)
				return err
			})
			if err != nil {
				return fmt.Errorf("encrypt %s: %w", step.table, err)
			}
			done, erased = done+n, erased+e
			if n == 0 {
				break
			}
			s.logger.InfoContext(ctx, "encrypting report documents", slog.String("table", step.table),
				slog.Int("done", done), slog.Int("rows", total))
		}
	}
	left, err := s.countUnsealed(ctx)
	if err != nil {
		return err
	}
	s.logger.InfoContext(ctx, "encrypted report documents", slog.Int("rows", done),
		slog.Int("erased_with_destroyed_key", erased), slog.Int("left", left))
	// The pages that held the documents in the clear are free now, but
	// not blank.
	s.logger.InfoContext(ctx, "rewriting the database so that no free page keeps documents in the clear")
	if err := s.d.Scrub(ctx, s.db); err != nil {
		// The documents are sealed all the same: say what is left to do,
		// and carry on.
		s.logger.WarnContext(ctx, "could not rewrite the database: free pages may keep documents in the clear until it is vacuumed",
			slog.Any("error", err))
	}
	return nil
}

// countUnsealed counts the rows holding documents in the clear.
func (s *Store) countUnsealed(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM reports WHERE NOT sealed) +
		(SELECT COUNT(*) FROM files WHERE NOT sealed) +
		(SELECT COUNT(*) FROM report_assessments WHERE NOT sealed)`, nil, &n)
	if err != nil {
		return 0, fmt.Errorf("count documents in the clear: %w", err)
	}
	return n, nil
}

// CountUnsealed returns how many rows still hold report documents in the
// clear, as a guardian older than schema version 5 wrote them. A store
// opened with a Sealer seals them (see [Options.Sealer]); "guardian migrate"
// without the master key reports them.
func (s *Store) CountUnsealed(ctx context.Context) (int, error) { return s.countUnsealed(ctx) }

// The partial indexes on NOT sealed (migration 5) find the rows below
// without a scan; the queries must say NOT sealed in these words to use
// them.

// sealReports seals one batch of reports.
func (s *Store) sealReports(tx *tx) (n, erased int, err error) {
	type row struct {
		k             reportKey
		xml, document []byte
	}
	rows, err := tx.query(`SELECT id, reporter_id, wrapped_key, xml, document FROM reports
		WHERE NOT sealed ORDER BY id LIMIT ?`+tx.d.LockSkipLocked(), sealBatch)
	if err != nil {
		return 0, 0, err
	}
	var batch []row
	err = scanAll(rows, func(rows *sql.Rows) error {
		var r row
		if err := rows.Scan(&r.k.reportID, &r.k.reporterID, &r.k.wrapped, &r.xml, &r.document); err != nil {
			return err
		}
		batch = append(batch, r)
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	for _, r := range batch {
		xml, document := []byte{}, []byte{}
		if r.k.wrapped == nil {
			erased++
		} else {
			if xml, err = s.seal(r.k, labelReportXML, r.xml); err != nil {
				return 0, 0, err
			}
			if document, err = s.seal(r.k, labelReportJSON, r.document); err != nil {
				return 0, 0, err
			}
		}
		if _, err := tx.exec(`UPDATE reports SET xml = ?, document = ?, sealed = TRUE WHERE id = ?`, xml, document, r.k.reportID); err != nil {
			return 0, 0, err
		}
	}
	return len(batch), erased, nil
}

// sealFiles seals the details of one batch of files.
func (s *Store) sealFiles(tx *tx) (n, erased int, err error) {
	type row struct {
		id            string
		reportID      int64
		xml, document []byte
	}
	rows, err := tx.query(`SELECT id, report_id, details_xml, details FROM files
		WHERE NOT sealed ORDER BY id LIMIT ?`+tx.d.LockSkipLocked(), sealBatch)
	if err != nil {
		return 0, 0, err
	}
	var batch []row
	err = scanAll(rows, func(rows *sql.Rows) error {
		var r row
		if err := rows.Scan(&r.id, &r.reportID, &r.xml, &r.document); err != nil {
			return err
		}
		batch = append(batch, r)
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	keys := map[int64]reportKey{}
	for _, r := range batch {
		xml, document := r.xml, r.document
		if xml != nil { // a file without details has nothing to seal
			k, err := findReportKey(tx, keys, r.reportID)
			if err != nil {
				return 0, 0, err
			}
			xml, document = []byte{}, []byte{}
			if k.wrapped == nil {
				erased++
			} else {
				xmlLabel, jsonLabel := fileDetailsLabels(r.id)
				if xml, err = s.seal(k, xmlLabel, r.xml); err != nil {
					return 0, 0, err
				}
				if document, err = s.seal(k, jsonLabel, r.document); err != nil {
					return 0, 0, err
				}
			}
		}
		if _, err := tx.exec(`UPDATE files SET details_xml = ?, details = ?, sealed = TRUE WHERE id = ?`, xml, document, r.id); err != nil {
			return 0, 0, err
		}
	}
	return len(batch), erased, nil
}

// sealAssessments seals one batch of assessments.
func (s *Store) sealAssessments(tx *tx) (n, erased int, err error) {
	type row struct {
		reportID           int64
		assessment, triage []byte
	}
	rows, err := tx.query(`SELECT report_id, assessment, triage FROM report_assessments
		WHERE NOT sealed ORDER BY report_id LIMIT ?`+tx.d.LockSkipLocked(), sealBatch)
	if err != nil {
		return 0, 0, err
	}
	var batch []row
	err = scanAll(rows, func(rows *sql.Rows) error {
		var r row
		if err := rows.Scan(&r.reportID, &r.assessment, &r.triage); err != nil {
			return err
		}
		batch = append(batch, r)
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	keys := map[int64]reportKey{}
	for _, r := range batch {
		k, err := findReportKey(tx, keys, r.reportID)
		if err != nil {
			return 0, 0, err
		}
		assessment, triage := []byte{}, []byte{}
		if k.wrapped == nil {
			erased++
		} else {
			if assessment, err = s.seal(k, labelAssessment, r.assessment); err != nil {
				return 0, 0, err
			}
			if triage, err = s.seal(k, labelTriage, r.triage); err != nil {
				return 0, 0, err
			}
		}
		if _, err := tx.exec(`UPDATE report_assessments SET assessment = ?, triage = ?, sealed = TRUE WHERE report_id = ?`,
			assessment, triage, r.reportID); err != nil {
			return 0, 0, err
		}
	}
	return len(batch), erased, nil
}

// findReportKey returns the key of a report, reading it once per batch.
func findReportKey(tx *tx, keys map[int64]reportKey, reportID int64) (reportKey, error) {
	if k, ok := keys[reportID]; ok {
		return k, nil
	}
	k := reportKey{reportID: reportID}
	err := tx.queryRow(`SELECT reporter_id, wrapped_key FROM reports WHERE id = ?`, []any{reportID}, &k.reporterID, &k.wrapped)
	if err != nil {
		return k, fmt.Errorf("read key of report %d: %w", reportID, err)
	}
	keys[reportID] = k
	return k, nil
}

// scanAll calls scan for each row of rows and closes them.
func scanAll(rows *sql.Rows, scan func(*sql.Rows) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// checkSealer opens the document of the newest sealed report that still
// has its key, so that a store opened with the wrong master key fails now,
// with a message that says so, rather than at every read.
func (s *Store) checkSealer(ctx context.Context) error {
	var k reportKey
	var document []byte
	err := s.queryRow(ctx, `SELECT id, reporter_id, wrapped_key, document FROM reports
		WHERE wrapped_key IS NOT NULL AND sealed ORDER BY id DESC LIMIT 1`, nil,
		&k.reportID, &k.reporterID, &k.wrapped, &document)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("check the master key: %w", err)
	}
	if _, err := s.open(k, labelReportJSON, document, true); err != nil {
		return fmt.Errorf("the master key does not open report %d, which the store holds: is it the key the store was written with? (%w)", k.reportID, err)
	}
	return nil
}
