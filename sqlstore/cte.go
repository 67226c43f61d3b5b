package sqlstore

// Intake changes in one statement each, where the dialect has writable CTEs
// (PostgreSQL).
//
// On PostgreSQL every statement is a round trip between hub and server, and
// so are BEGIN and COMMIT: a change made as a transaction of an UPDATE, an
// INSERT and its audit event costs five. Those round trips, more than the
// statements' own work, were what the intake cost both processes (the intake
// benchmark, docs/operations.md). So each intake change is one statement of
// data-modifying WITH clauses, sent outside any explicit transaction. A
// statement is atomic by itself: the change and its audit event commit
// together or not at all, and the audit log's barrier (the statement-level
// trigger of migration 0002) fires for the audit INSERT as for any other.
//
// The statements lock the report before they change anything of it, as the
// transactions of the other dialect do (see openReportWhere): the report's
// UPDATE is the first sub-statement or, where the report must be touched
// only if the change happens, a locking sub-select that the change waits
// on. A WITH's sub-statements all see the snapshot taken when the statement
// began, before any wait for a lock, so none of them reads rows that a
// concurrent change of the same report may have added meanwhile: a new
// file's position comes from the report row's own counter, which an UPDATE
// sees in its newest version.
//
// When a statement changes nothing, the reason is read afterwards in a
// read-only transaction: a report never returns to open and file details
// are set once, so what it reads still explains the refusal.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/guardian-network/guardian"
)

// Positions in auditEventArgs of the arguments auditCTE may derive.
const (
	argObjectID = 8
	argReportID = 9
)

// auditCTE returns a sub-statement that inserts ev once for each row of the
// sub-statement src, returning the event's id, and its arguments. ev must
// be complete (see successEvent), except that where objectIDExpr or
// reportIDExpr, SQL expressions over src's columns, are given, they supply
// an object id or report id that ev leaves empty: the report's id, which
// its INSERT draws in the same statement.
func auditCTE(d Dialect, ev *guardian.AuditEvent, src, objectIDExpr, reportIDExpr string) (string, []any, error) {
	deriveObject := objectIDExpr != "" && ev.ObjectID == ""
	deriveReport := reportIDExpr != "" && ev.ReportID == 0
	if deriveObject {
		// Checked as the longest id it can become.
		ev.ObjectID = strconv.FormatInt(1<<63-1, 10)
	}
	args, err := auditEventArgs(d, ev)
	if deriveObject {
		ev.ObjectID = ""
	}
	if err != nil {
		return "", nil, err
	}
	values := `?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`
	if deriveObject || deriveReport {
		objectID, reportID := "?", "?"
		if deriveObject {
			objectID, args[argObjectID] = "COALESCE(?, "+objectIDExpr+")", nil
		}
		if deriveReport {
			reportID, args[argReportID] = "COALESCE(?, "+reportIDExpr+")", nil
		}
		values = `?, ?, ?, ?, ?, ?, ?, ?, ` + objectID + `, ` + reportID + `, ?, ?, ?, ?, ?, ?, ?`
	}
	return `INSERT INTO audit_events (` + auditColumns + `)
		SELECT ` + values + ` FROM ` + src + `
		RETURNING id AS event_id`, args, nil
}

// successEvent completes ev as the record of a change, at now, to the
// object named, filling the identifiers the caller left empty.
func successEvent(ev *guardian.AuditEvent, now time.Time, objectKind, objectID string, reportID int64, fileID string) error {
	if ev == nil {
		return errors.New("audit event missing: every change is recorded")
	}
	ev.Time = now
	ev.Outcome = guardian.OutcomeSuccess
	if ev.ObjectKind == "" {
		ev.ObjectKind, ev.ObjectID = objectKind, objectID
	}
	if ev.ReportID == 0 {
		ev.ReportID = reportID
	}
	if ev.FileID == "" {
		ev.FileID = fileID
	}
	return nil
}

// oneStatement runs a write of one statement returning at most one row, and
// scans the row; no row is sql.ErrNoRows.
func (s *Store) oneStatement(ctx context.Context, query string, args []any, dest ...any) error {
	err := s.db.QueryRowContext(ctx, s.d.Rebind(query), args...).Scan(dest...)
	return s.d.FormatError(err)
}

// whyNotOpenNow reads why a report of the reporter accepted no change.
func (s *Store) whyNotOpenNow(ctx context.Context, reporterID, reportID int64) error {
	return s.view(ctx, func(tx *tx) error { return whyNotOpen(tx, reporterID, reportID) })
}

// createReportCTE is CreateReport in one statement.
func (s *Store) createReportCTE(ctx context.Context, r *guardian.Report, ev *guardian.AuditEvent) error {
	now := s.clock()
	// The report's id is drawn by the statement: the audit INSERT names
	// it where the caller did not (see auditCTE).
	if err := successEvent(ev, now, "report", "", 0, ""); err != nil {
		return err
	}
	audit, auditArgs, err := auditCTE(s.d, ev, "r", "CAST(r.id AS text)", "r.id")
	if err != nil {
		return err
	}
	args := append([]any{r.ReporterID, string(guardian.ReportOpen), s.d.TimeValue(now), s.d.TimeValue(now),
		r.XML, string(r.Document), r.WrappedKey}, auditArgs...)
	err = s.oneStatement(ctx, `
		WITH r AS (
			INSERT INTO reports (reporter_id, state, opened_at, modified_at, xml, document, wrapped_key)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			RETURNING id
		), e AS (`+audit+`)
		SELECT r.id, e.event_id FROM r, e`, args, &r.ID, &ev.ID)
	if err != nil {
		return fmt.Errorf("insert report: %w", err)
	}
	if ev.ObjectKind == "report" && ev.ObjectID == "" {
		ev.ObjectID = strconv.FormatInt(r.ID, 10)
	}
	if ev.ReportID == 0 {
		ev.ReportID = r.ID
	}
	r.State, r.OpenedAt, r.ModifiedAt = guardian.ReportOpen, now, now
	r.FinishedAt, r.RetractedAt, r.ExpiredAt = nil, nil, nil
	return nil
}

// addFileCTE is AddFile in one statement.
func (s *Store) addFileCTE(ctx context.Context, reporterID int64, f *guardian.File, ev *guardian.AuditEvent) error {
	now := s.clock()
	if err := successEvent(ev, now, "file", f.ID, f.ReportID, f.ID); err != nil {
		return err
	}
	audit, auditArgs, err := auditCTE(s.d, ev, "f", "", "")
	if err != nil {
		return err
	}
	args := append([]any{s.d.TimeValue(now)}, openReportArgs(s.d, now, reporterID, f.ReportID)...)
	args = append(args, f.ID, f.Name, f.Size, f.MD5, f.SHA1, f.SHA256, s.d.TimeValue(now), f.BlobKey, f.WrappedKey)
	args = append(args, auditArgs...)
	err = s.oneStatement(ctx, `
		WITH t AS (
			UPDATE reports SET modified_at = ?, file_count = file_count + 1
			WHERE `+openReportWhere+`
			RETURNING id, file_count
		), f AS (
			INSERT INTO files (id, report_id, position, name, size, md5, sha1, sha256, uploaded_at, blob_key, wrapped_key)
			SELECT ?, t.id, t.file_count, ?, ?, ?, ?, ?, ?, ?, ? FROM t
			RETURNING id
		), e AS (`+audit+`)
		SELECT e.event_id FROM e`, args, &ev.ID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return s.whyNotOpenNow(ctx, reporterID, f.ReportID)
	case guardian.ErrorCode(err) == guardian.ECONFLICT:
		return fmt.Errorf("%w: %w", guardian.Errorf(guardian.ECONFLICT, "File %s already exists.", f.ID), err)
	case err != nil:
		return fmt.Errorf("insert file: %w", err)
	}
	f.UploadedAt = now
	return nil
}

// setFileDetailsCTE is SetFileDetails in one statement. The report is
// touched only if the file's details are set, so the UPDATE of the file
// comes first, waiting on a locking sub-select of the report.
func (s *Store) setFileDetailsCTE(ctx context.Context, reporterID, reportID int64, fileID string, xml []byte, details []byte, ev *guardian.AuditEvent) (*guardian.File, error) {
	now := s.clock()
	if err := successEvent(ev, now, "file", fileID, reportID, fileID); err != nil {
		return nil, err
	}
	audit, auditArgs, err := auditCTE(s.d, ev, "f", "", "")
	if err != nil {
		return nil, err
	}
	args := append([]any{xml, string(details), s.d.TimeValue(now), fileID, reportID}, openReportArgs(s.d, now, reporterID, reportID)...)
	args = append(append(args, s.d.TimeValue(now)), auditArgs...)
	rows, err := s.db.QueryContext(ctx, s.d.Rebind(`
		WITH f AS (
			UPDATE files SET details_xml = ?, details = ?, details_at = ?
			WHERE id = ? AND report_id = ? AND details_xml IS NULL
			AND EXISTS (SELECT 1 FROM reports WHERE `+openReportWhere+` FOR UPDATE)
			RETURNING `+fileColumns+`
		), t AS (
			UPDATE reports SET modified_at = ? WHERE id IN (SELECT report_id FROM f)
		), e AS (`+audit+`)
		SELECT `+fileColumns+`, e.event_id FROM f, e`), args...)
	if err != nil {
		return nil, fmt.Errorf("update file: %w", s.d.FormatError(err))
	}
	files, err := scanFiles(rows, &ev.ID)
	if err != nil {
		return nil, fmt.Errorf("update file: %w", s.d.FormatError(err))
	}
	if len(files) == 1 {
		return files[0], nil
	}
	ev.ID = 0
	// Nothing changed: the report accepts no change, or the file is not
	// there or has its details already.
	var f *guardian.File
	err = s.view(ctx, func(tx *tx) error {
		var open bool
		err := tx.queryRow(`SELECT EXISTS (SELECT 1 FROM reports WHERE `+openReportWhere+`)`,
			openReportArgs(tx.d, tx.now, reporterID, reportID), &open)
		if err != nil {
			return fmt.Errorf("read report %d: %w", reportID, err)
		}
		if !open {
			return whyNotOpen(tx, reporterID, reportID)
		}
		f, err = fileDetailsConflict(tx, reportID, fileID, xml)
		return err
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// closeReportCTE is closeReport in one statement, or, with finish hooks to
// run, one statement and the hooks in a transaction.
func (s *Store) closeReportCTE(ctx context.Context, reporterID, reportID int64, state guardian.ReportState, ev *guardian.AuditEvent) (*guardian.Report, error) {
	column := "finished_at"
	if state == guardian.ReportRetracted {
		column = "retracted_at"
	}
	id := strconv.FormatInt(reportID, 10)
	statement := func(now time.Time) (string, []any, error) {
		if err := successEvent(ev, now, "report", id, reportID, ""); err != nil {
			return "", nil, err
		}
		audit, auditArgs, err := auditCTE(s.d, ev, "r", "", "")
		if err != nil {
			return "", nil, err
		}
		args := append([]any{string(state), s.d.TimeValue(now), s.d.TimeValue(now)}, openReportArgs(s.d, now, reporterID, reportID)...)
		return `
			WITH r AS (
				UPDATE reports SET state = ?, modified_at = ?, ` + column + ` = ?
				WHERE ` + openReportWhere + `
				RETURNING ` + reportStateColumns + `
			), e AS (` + audit + `)
			SELECT ` + reportStateColumns + `, e.event_id FROM r, e`, append(args, auditArgs...), nil
	}

	hooks := state == guardian.ReportFinished && len(s.currentFinishHooks()) > 0
	var r *guardian.Report
	if hooks {
		// What a finished report sets in motion is enqueued in the
		// transaction that finishes it.
		err := s.update(ctx, func(tx *tx) error {
			q, args, err := statement(tx.now)
			if err != nil {
				return err
			}
			rows, err := tx.query(q, args...)
			if err != nil {
				return fmt.Errorf("update report %d: %w", reportID, err)
			}
			if r, err = scanOneReportState(rows, &ev.ID); errors.Is(err, sql.ErrNoRows) {
				return whyNotOpen(tx, reporterID, reportID)
			} else if err != nil {
				return fmt.Errorf("update report %d: %w", reportID, err)
			}
			if r.Files, err = findFiles(tx, r.ID); err != nil {
				return err
			}
			return s.finished(tx, r.ID)
		})
		return r, err
	}

	q, args, err := statement(s.clock())
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.d.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("update report %d: %w", reportID, s.d.FormatError(err))
	}
	r, err = scanOneReportState(rows, &ev.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, s.whyNotOpenNow(ctx, reporterID, reportID)
	} else if err != nil {
		return nil, fmt.Errorf("update report %d: %w", reportID, s.d.FormatError(err))
	}
	// Read after the commit, and still all of them: a closed report
	// takes no more files. One statement needs no transaction.
	rows, err = s.readDB.QueryContext(ctx, s.d.Rebind(selectReportFiles), r.ID)
	if err != nil {
		return nil, fmt.Errorf("find files: %w", s.d.FormatError(err))
	}
	if r.Files, err = scanFiles(rows); err != nil {
		return nil, fmt.Errorf("find files: %w", err)
	}
	return r, nil
}
