package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

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
	// The file's columns as insertFileColumns lists them, but its
	// position, which the report's count gives, and sealed.
	fileArgs := func(now time.Time) []any {
		return []any{f.ID, f.ReportID, f.Name, f.Size, f.MD5, f.SHA1, f.SHA256, s.d.TimeValue(now), f.BlobKey, f.WrappedKey,
			string(f.ImageStatus), nullString(f.PDQ), f.PDQQuality, nullString(strings.Join(f.PDQDihedral, ","))}
	}
	var err error
	if s.d.OneStatementWrites() {
		err = s.addFileStatement(ctx, reporterID, f, fileArgs, ev)
	} else {
		err = s.update(ctx, func(tx *tx) error {
			// The report counts its files, numbering them in upload
			// order; the UPDATE that touches it also locks it (or
			// SQLite's single writer excludes all others), so no two
			// files get one number.
			var position int
			err := tx.queryRow(`UPDATE reports SET modified_at = ?, file_count = file_count + 1 WHERE `+openReportWhere+` RETURNING file_count`,
				append([]any{tx.t(tx.now)}, openReportArgs(tx.d, tx.now, reporterID, f.ReportID)...), &position)
			if errors.Is(err, sql.ErrNoRows) {
				return whyNotOpen(tx, reporterID, f.ReportID)
			} else if err != nil {
				return fmt.Errorf("touch report %d: %w", f.ReportID, err)
			}
			var inserted string
			err = queryRecorded(tx, ev, "file", f.ID, f.ReportID, f.ID,
				`INSERT INTO files (`+insertFileColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, TRUE, ?, ?, ?, ?) RETURNING id`,
				append([]any{position}, fileArgs(tx.now)...), &inserted)
			if err != nil {
				return err
			}
			f.UploadedAt = tx.now
			return nil
		})
	}
	if guardian.ErrorCode(err) == guardian.ECONFLICT {
		err = fmt.Errorf("%w: %w", guardian.Errorf(guardian.ECONFLICT, "File %s already exists.", f.ID), err)
	}
	if err != nil {
		s.openReports.drop(f.ReportID) // maybe closed meanwhile: read it next time
		return fmt.Errorf("add file: %w", err)
	}
	s.openReports.touch(f.ReportID, f.UploadedAt)
	return nil
}

// insertFileColumns are the columns a file is inserted with: its position
// first, then those of AddFile's fileArgs, then sealed and the image hash.
const insertFileColumns = `position, id, report_id, name, size, md5, sha1, sha256, uploaded_at, blob_key, wrapped_key, sealed,
	image_status, pdq, pdq_quality, pdq_dihedral`

// addFileStatement is AddFile in one statement (see
// [Dialect.OneStatementWrites]): it counts the file in its report, which it
// locks, inserts it at that position and records ev.
func (s *Store) addFileStatement(ctx context.Context, reporterID int64, f *guardian.File, fileArgs func(time.Time) []any, ev *guardian.AuditEvent) error {
	now := s.clock()
	evArgs, err := recordedArgs(s.d, ev, now, "file", f.ID, f.ReportID, f.ID)
	if err != nil {
		return err
	}
	var inserted string
	err = s.writeStatement(ctx, f.ReportID, recordedSQL(
		`report AS (UPDATE reports SET modified_at = ?, file_count = file_count + 1 WHERE `+openReportWhere+` RETURNING file_count)`,
		`INSERT INTO files (`+insertFileColumns+`)
			SELECT report.file_count, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, TRUE, ?, ?, ?, ? FROM report RETURNING id`, ""),
		slices.Concat([]any{s.d.TimeValue(now)}, openReportArgs(s.d, now, reporterID, f.ReportID), fileArgs(now), evArgs),
		&inserted, &ev.ID)
	if errors.Is(err, sql.ErrNoRows) {
		// The report was not open: say why.
		return s.view(ctx, func(tx *tx) error { return whyNotOpen(tx, reporterID, f.ReportID) })
	} else if err != nil {
		return err
	}
	f.UploadedAt = now
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
	if s.d.OneStatementWrites() {
		f, err := s.setFileDetailsStatement(ctx, reporterID, reportID, fileID, xml, details, viewed, ev)
		if err == nil {
			s.rememberDetails(reportID, f)
			return f, nil
		} else if !errors.Is(err, errNotChanged) {
			return nil, fmt.Errorf("set file details: %w", err)
		}
		// A repeat, a conflict or a report not open: the transaction
		// below tells which.
	}
	var f *guardian.File
	err := s.update(ctx, func(tx *tx) error {
		k, err := touchOpenReport(tx, reporterID, reportID)
		if err != nil {
			return err
		}
		sealedXML, sealedDetails, err := s.sealDetails(k, fileID, xml, details)
		if err != nil {
			return err
		}
		// Details are set once: the update matches only a file without
		// them, and only when it matches none is the file read to say why.
		var row fileRow
		err = queryRecorded(tx, ev, "file", fileID, reportID, fileID, `
			UPDATE files SET details_xml = ?, details = ?, sealed = TRUE, details_at = ?, viewed_by_reporter = ?
			WHERE id = ? AND report_id = ? AND details_xml IS NULL
			RETURNING `+fileStateColumns,
			[]any{sealedXML, sealedDetails, tx.t(tx.now), viewed, fileID, reportID},
			row.dest(false)...)
		if err == nil {
			f = row.file()
			f.DetailsXML, f.Details = bytes.Clone(xml), bytes.Clone(details)
			return nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("update file: %w", err)
		}
		if f, err = s.fileDetailsConflict(tx, k, fileID, xml); err == nil {
			return errUnchanged // and undo the touch of the report
		}
		return err
	})
	if errors.Is(err, errUnchanged) {
		return f, nil
	} else if err != nil {
		s.openReports.drop(reportID) // maybe closed meanwhile: read it next time
		return nil, fmt.Errorf("set file details: %w", err)
	}
	s.rememberDetails(reportID, f)
	return f, nil
}

// sealDetails seals a file's details, as received and parsed, under its
// report's key, bound to the file.
func (s *Store) sealDetails(k reportKey, fileID string, xml, details []byte) (sealedXML, sealedDetails []byte, err error) {
	xmlLabel, jsonLabel := fileDetailsLabels(fileID)
	if sealedXML, err = s.seal(k, xmlLabel, xml); err != nil {
		return nil, nil, err
	}
	if sealedDetails, err = s.seal(k, jsonLabel, details); err != nil {
		return nil, nil, err
	}
	return sealedXML, sealedDetails, nil
}

// rememberDetails records in openReports that the file's details changed
// its report, which postpones its expiry.
func (s *Store) rememberDetails(reportID int64, f *guardian.File) {
	if f.DetailsAt != nil {
		s.openReports.touch(reportID, *f.DetailsAt)
	}
}

// errNotChanged says that setFileDetailsStatement changed nothing.
var errNotChanged = errors.New("nothing changed")

// setFileDetailsStatement is SetFileDetails in one statement (see
// [Dialect.OneStatementWrites]) where the file has no details yet, its
// report is open and of the reporter: it locks the report, sets the file's
// details sealed, touches the report and records ev. It needs the report's
// key first, which does not change while the report is open: from
// openReports, or read. Where it
// changes nothing, errNotChanged: SetFileDetails's transaction then says
// why, or finds a repeat.
func (s *Store) setFileDetailsStatement(ctx context.Context, reporterID, reportID int64, fileID string, xml, details []byte, viewed any, ev *guardian.AuditEvent) (*guardian.File, error) {
	k := reportKey{reportID: reportID, reporterID: reporterID}
	now := s.clock()
	if r, ok := s.openReports.get(reporterID, reportID, now); ok {
		k.wrapped = r.WrappedKey
	} else {
		err := s.queryRow(ctx, `SELECT wrapped_key FROM reports WHERE id = ? AND reporter_id = ?`, []any{reportID, reporterID}, &k.wrapped)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && k.wrapped == nil) {
			return nil, errNotChanged
		} else if err != nil {
			return nil, fmt.Errorf("read report %d: %w", reportID, err)
		}
	}
	sealedXML, sealedDetails, err := s.sealDetails(k, fileID, xml, details)
	if err != nil {
		return nil, err
	}
	evArgs, err := recordedArgs(s.d, ev, now, "file", fileID, reportID, fileID)
	if err != nil {
		return nil, err
	}
	var row fileRow
	err = s.writeStatement(ctx, reportID, recordedSQL(
		`report AS (SELECT id FROM reports WHERE `+openReportWhere+s.d.LockRow()+`)`,
		`UPDATE files SET details_xml = ?, details = ?, sealed = TRUE, details_at = ?, viewed_by_reporter = ?
			FROM report WHERE files.id = ? AND files.report_id = report.id AND files.details_xml IS NULL
			RETURNING `+filesFileStateColumns,
		`touch AS (UPDATE reports SET modified_at = ? WHERE id IN (SELECT report_id FROM change))`),
		slices.Concat(openReportArgs(s.d, now, reporterID, reportID),
			[]any{sealedXML, sealedDetails, s.d.TimeValue(now), viewed, fileID},
			[]any{s.d.TimeValue(now)}, evArgs),
		append(row.dest(false), &ev.ID)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotChanged
	} else if err != nil {
		return nil, err
	}
	f := row.file()
	f.DetailsXML, f.Details = bytes.Clone(xml), bytes.Clone(details)
	return f, nil
}

// filesFileStateColumns are fileStateColumns, each named with its table.
var filesFileStateColumns = func() string {
	names := strings.Split(fileStateColumns, ",")
	for i, n := range names {
		names[i] = "files." + strings.TrimSpace(n)
	}
	return strings.Join(names, ", ")
}()

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
	rows, err := tx.query(filesOfReport, reportID)
	if err != nil {
		return nil, fmt.Errorf("find files: %w", err)
	}
	return scanFiles(rows, nil)
}

// filesOfReport reads a report's files, without their details, in upload
// order.
const filesOfReport = `SELECT ` + fileStateColumns + ` FROM files WHERE report_id = ? ORDER BY position`

// findFilesWithDetails returns the files of the report in upload order,
// with their details opened.
func (s *Store) findFilesWithDetails(tx *tx, k reportKey) ([]*guardian.File, error) {
	rows, err := tx.query(filesWithDetailsOfReport, k.reportID)
	if err != nil {
		return nil, fmt.Errorf("find files: %w", err)
	}
	return s.openFiles(rows, k)
}

// filesWithDetailsOfReport reads a report's files with their details as
// stored, in upload order.
const filesWithDetailsOfReport = `SELECT ` + fileColumns + ` FROM files WHERE report_id = ? ORDER BY position`

// openFiles scans the files of the report from rows (columns fileColumns),
// with their details opened, and closes rows.
func (s *Store) openFiles(rows *sql.Rows, k reportKey) ([]*guardian.File, error) {
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
		var row fileRow
		if err := rows.Scan(row.dest(sealed != nil)...); err != nil {
			return nil, fmt.Errorf("scan file: %w", err)
		}
		if sealed != nil {
			*sealed = append(*sealed, row.sealed)
		}
		files = append(files, row.file())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("scan files: %w", err)
	}
	return files, nil
}

// fileRow receives a row of fileStateColumns, or of fileColumns, and
// makes it a file.
type fileRow struct {
	f             guardian.File
	pdq, dihedral sql.NullString
	viewed        sql.NullBool
	details       []byte
	sealed        bool
}

// dest returns the scan's destinations: of fileColumns with details, else
// of fileStateColumns.
func (r *fileRow) dest(details bool) []any {
	f := &r.f
	dest := []any{&f.ID, &f.ReportID, &f.Name, &f.Size, &f.MD5, &f.SHA1, &f.SHA256, timeScanner{&f.UploadedAt},
		&f.BlobKey, &f.WrappedKey, nullTimeScanner{&f.DetailsAt}, &f.ImageStatus, &r.pdq, &f.PDQQuality, &r.dihedral, &r.viewed}
	if details {
		dest = append(dest, &f.DetailsXML, &r.details, &r.sealed)
	}
	return dest
}

// file returns the file scanned.
func (r *fileRow) file() *guardian.File {
	f := &r.f
	if r.details != nil {
		f.Details = r.details
	}
	f.PDQ = r.pdq.String
	if r.viewed.Valid {
		f.ViewedByReporter = &r.viewed.Bool
	}
	if r.dihedral.String != "" {
		f.PDQDihedral = strings.Split(r.dihedral.String, ",")
	}
	return f
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
