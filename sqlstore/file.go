package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/guardian-network/guardian"
)

// fileStateColumns are the columns of a file that scanFiles reads, in
// order; fileColumns add its details as stored, which only reads of a whole
// report open.
const (
	fileStateColumns = `id, report_id, name, size, md5, sha1, sha256, uploaded_at,
	blob_key, wrapped_key, details_at, image_status, pdq, pdq_quality, pdq_dihedral, viewed_by_reporter`
	fileColumns = fileStateColumns + `, details_xml, details, sealed`
)

// blobBatch bounds the placeholders of one FindUnreferencedBlobs query, well
// below the limits of both databases.
const blobBatch = 500

// AddFile implements [guardian.Store].
func (s *Store) AddFile(ctx context.Context, reporterID int64, f *guardian.File, ev *guardian.AuditEvent) error {
	if !validFileID(f.ID) {
		return fmt.Errorf("add file: id %q is not 32 lower-case hex digits", f.ID)
	}
	if f.BlobKey == "" || len(f.WrappedKey) == 0 {
		return errors.New("add file: blob key and wrapped key are required")
	}
	if (f.ImageStatus == guardian.ImageHashed) != (f.PDQ != "" && f.PDQQuality != nil) {
		return fmt.Errorf("add file: image status %q does not agree with the PDQ hash", f.ImageStatus)
	}
	err := s.update(ctx, func(tx *tx) error {
		// The report counts its files, numbering them in upload order;
		// the UPDATE that touches it also locks it (or SQLite's single
		// writer excludes all others), so no two files get one number.
		var position int
		err := tx.queryRow(`UPDATE reports SET modified_at = ?, file_count = file_count + 1 WHERE `+openReportWhere+` RETURNING file_count`,
			append([]any{tx.t(tx.now)}, openReportArgs(tx.d, tx.now, reporterID, f.ReportID)...), &position)
		if errors.Is(err, sql.ErrNoRows) {
			return whyNotOpen(tx, reporterID, f.ReportID)
		} else if err != nil {
			return fmt.Errorf("touch report %d: %w", f.ReportID, err)
		}
		_, err = tx.exec(`
			INSERT INTO files (id, report_id, position, name, size, md5, sha1, sha256, uploaded_at, blob_key, wrapped_key, sealed,
				image_status, pdq, pdq_quality, pdq_dihedral)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, TRUE, ?, ?, ?, ?)`,
			f.ID, f.ReportID, position, f.Name, f.Size, f.MD5, f.SHA1, f.SHA256, tx.t(tx.now), f.BlobKey, f.WrappedKey,
			string(f.ImageStatus), nullString(f.PDQ), f.PDQQuality, nullString(strings.Join(f.PDQDihedral, ",")))
		if guardian.ErrorCode(err) == guardian.ECONFLICT {
			return fmt.Errorf("%w: %w", guardian.Errorf(guardian.ECONFLICT, "File %s already exists.", f.ID), err)
		} else if err != nil {
			return fmt.Errorf("insert file: %w", err)
		}
		f.UploadedAt = tx.now
		return recordSuccess(tx, ev, "file", f.ID, f.ReportID, f.ID)
	})
	if err != nil {
		return fmt.Errorf("add file: %w", err)
	}
	return nil
}

// FindFiles returns the files of a report in upload order, with their
// digests and image hashes but without their details (DetailsAt says which
// have them), or EREPORTNOTFOUND.
func (s *Store) FindFiles(ctx context.Context, reportID int64) ([]*guardian.File, error) {
	var files []*guardian.File
	err := s.view(ctx, func(tx *tx) error {
		var n int
		if err := tx.queryRow(`SELECT COUNT(*) FROM reports WHERE id = ?`, []any{reportID}, &n); err != nil {
			return err
		}
		if n == 0 {
			return guardian.Errorf(guardian.EREPORTNOTFOUND, "Report %d not found.", reportID)
		}
		var err error
		files, err = findFiles(tx, reportID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find files: %w", err)
	}
	return files, nil
}

// validFileID reports whether id is 32 lower-case hex digits.
func validFileID(id string) bool {
	return len(id) == 32 && strings.Trim(id, "0123456789abcdef") == ""
}

// SetFileDetails implements [guardian.Store]. Sending the same details
// again changes nothing and records no event: ev.ID stays 0. The details
// are stored sealed, and the file comes back with them in the clear.
func (s *Store) SetFileDetails(ctx context.Context, reporterID, reportID int64, fileID string, xml []byte, details json.RawMessage, ev *guardian.AuditEvent) (*guardian.File, error) {
	if len(xml) == 0 || !json.Valid(details) {
		return nil, errors.New("set file details: XML and valid JSON details are required")
	}
	if err := s.needSealer(); err != nil {
		return nil, fmt.Errorf("set file details: %w", err)
	}
	// Whether the reporter viewed the file is kept in the clear too: the
	// triage queue's order needs it at finish (guardian.Report.TriageFirst).
	var fd struct {
		Viewed *bool `json:"fileViewedByEsp"`
	}
	if err := json.Unmarshal(details, &fd); err != nil {
		return nil, fmt.Errorf("set file details: %w", err)
	}
	var viewed any // NULL when the details do not say
	if fd.Viewed != nil {
		viewed = *fd.Viewed
	}
	var f *guardian.File
	err := s.update(ctx, func(tx *tx) error {
		k, err := touchOpenReport(tx, reporterID, reportID)
		if err != nil {
			return err
		}
		xmlLabel, jsonLabel := fileDetailsLabels(fileID)
		sealedXML, err := s.seal(k, xmlLabel, xml)
		if err != nil {
			return err
		}
		sealedDetails, err := s.seal(k, jsonLabel, details)
		if err != nil {
			return err
		}
		// Details are set once: the update matches only a file without
		// them, and only when it matches none is the file read to say why.
		rows, err := tx.query(`
			UPDATE files SET details_xml = ?, details = ?, sealed = TRUE, details_at = ?, viewed_by_reporter = ?
			WHERE id = ? AND report_id = ? AND details_xml IS NULL
			RETURNING `+fileStateColumns,
			sealedXML, sealedDetails, tx.t(tx.now), viewed, fileID, reportID)
		if err != nil {
			return fmt.Errorf("update file: %w", err)
		}
		files, err := scanFiles(rows, nil)
		if err != nil {
			return err
		}
		if len(files) == 1 {
			f = files[0]
			f.DetailsXML, f.Details = bytes.Clone(xml), bytes.Clone(details)
			return recordSuccess(tx, ev, "file", f.ID, reportID, f.ID)
		}
		if f, err = s.fileDetailsConflict(tx, k, fileID, xml); err == nil {
			return errUnchanged // and undo the touch of the report
		}
		return err
	})
	if errors.Is(err, errUnchanged) {
		return f, nil
	} else if err != nil {
		return nil, fmt.Errorf("set file details: %w", err)
	}
	return f, nil
}

// fileDetailsConflict says why setting the details xml of a file of an
// open report changed nothing: the file is not there (EFILENOTFOUND), or
// has other details (ECONFLICT). If it has these very details, the request
// is a repeat, which succeeds: it returns the file.
func (s *Store) fileDetailsConflict(tx *tx, k reportKey, fileID string, xml []byte) (*guardian.File, error) {
	rows, err := tx.query(`SELECT `+fileColumns+` FROM files WHERE id = ? AND report_id = ?`, fileID, k.reportID)
	if err != nil {
		return nil, fmt.Errorf("find file: %w", err)
	}
	var sealed []bool
	files, err := scanFiles(rows, &sealed)
	switch {
	case err != nil:
		return nil, err
	case len(files) == 0:
		return nil, guardian.Errorf(guardian.EFILENOTFOUND, "File not found in report %d.", k.reportID)
	}
	if err := s.openDetails(k, files[0], sealed[0]); err != nil {
		return nil, err
	}
	if !bytes.Equal(files[0].DetailsXML, xml) {
		return nil, guardian.Errorf(guardian.ECONFLICT, "File %s already has different details.", fileID)
	}
	return files[0], nil
}

// errUnchanged rolls back a write transaction that turned out to change
// nothing, when the caller is to succeed all the same.
var errUnchanged = errors.New("unchanged")

// findFiles returns the files of a report in upload order, without their
// details (DetailsAt says which have them).
func findFiles(tx *tx, reportID int64) ([]*guardian.File, error) {
	rows, err := tx.query(`SELECT `+fileStateColumns+` FROM files WHERE report_id = ? ORDER BY position`, reportID)
	if err != nil {
		return nil, fmt.Errorf("find files: %w", err)
	}
	return scanFiles(rows, nil)
}

// findFilesWithDetails returns the files of the report in upload order,
// with their details opened.
func (s *Store) findFilesWithDetails(tx *tx, k reportKey) ([]*guardian.File, error) {
	rows, err := tx.query(`SELECT `+fileColumns+` FROM files WHERE report_id = ? ORDER BY position`, k.reportID)
	if err != nil {
		return nil, fmt.Errorf("find files: %w", err)
	}
	var sealed []bool
	files, err := scanFiles(rows, &sealed)
	if err != nil {
		return nil, err
	}
	for i, f := range files {
		if err := s.openDetails(k, f, sealed[i]); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// openDetails replaces the details of f, a file of the report, as stored
// with the details in the clear.
func (s *Store) openDetails(k reportKey, f *guardian.File, sealed bool) (err error) {
	if f.DetailsXML == nil {
		return nil
	}
	xmlLabel, jsonLabel := fileDetailsLabels(f.ID)
	if f.DetailsXML, err = s.open(k, xmlLabel, f.DetailsXML, sealed); err != nil {
		return err
	}
	f.Details, err = s.open(k, jsonLabel, f.Details, sealed)
	return err
}

// scanFiles reads and closes rows of the columns fileStateColumns or, if
// sealed is not nil, fileColumns: then the details are as stored, and
// *sealed says, file by file, whether they are sealed. A report without
// files has an empty, non-nil slice, so that it encodes as [] rather than
// null.
func scanFiles(rows *sql.Rows, sealed *[]bool) ([]*guardian.File, error) {
	defer rows.Close()
	files := []*guardian.File{}
	for rows.Next() {
		var f guardian.File
		var pdq, dihedral sql.NullString
		var viewed sql.NullBool
		dest := []any{&f.ID, &f.ReportID, &f.Name, &f.Size, &f.MD5, &f.SHA1, &f.SHA256, timeScanner{&f.UploadedAt},
			&f.BlobKey, &f.WrappedKey, nullTimeScanner{&f.DetailsAt}, &f.ImageStatus, &pdq, &f.PDQQuality, &dihedral, &viewed}
		var details []byte
		var isSealed bool
		if sealed != nil {
			dest = append(dest, &f.DetailsXML, &details, &isSealed)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("scan file: %w", err)
		}
		if details != nil {
			f.Details = details
		}
		f.PDQ = pdq.String
		if viewed.Valid {
			f.ViewedByReporter = &viewed.Bool
		}
		if dihedral.String != "" {
			f.PDQDihedral = strings.Split(dihedral.String, ",")
		}
		if sealed != nil {
			*sealed = append(*sealed, isSealed)
		}
		files = append(files, &f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("scan files: %w", err)
	}
	return files, nil
}

// FindUnreferencedBlobs implements [guardian.Store]. The result keeps the
// order of blobKeys, without repeats.
func (s *Store) FindUnreferencedBlobs(ctx context.Context, blobKeys []string) ([]string, error) {
	referenced := make(map[string]bool)
	err := s.view(ctx, func(tx *tx) error {
		for start := 0; start < len(blobKeys); start += blobBatch {
			batch := blobKeys[start:min(start+blobBatch, len(blobKeys))]
			args := make([]any, len(batch))
			for i, k := range batch {
				args[i] = k
			}
			rows, err := tx.query(`
				SELECT f.blob_key
				FROM files f JOIN reports r ON r.id = f.report_id
				WHERE r.wrapped_key IS NOT NULL
				AND f.blob_key IN (?`+strings.Repeat(", ?", len(batch)-1)+`)`, args...)
			if err != nil {
				return err
			}
			if err := scanStrings(rows, referenced); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find unreferenced blobs: %w", err)
	}
	unreferenced := []string{}
	for _, k := range blobKeys {
		if !referenced[k] {
			unreferenced = append(unreferenced, k)
			referenced[k] = true // report each key once
		}
	}
	return unreferenced, nil
}

// scanStrings adds the single string column of rows to set and closes rows.
func scanStrings(rows *sql.Rows, set map[string]bool) error {
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		set[s] = true
	}
	return rows.Err()
}
