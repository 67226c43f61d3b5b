package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/guardian-network/guardian"
)

// defaultExpireBatch is how many reports ExpireReports handles when given
// no limit.
const defaultExpireBatch = 100

// reportColumns are the columns of a whole report, in the order reportDest
// gives them; reportStateColumns leave out its documents (see
// [Store.FindReporterReport]), which only reads of the whole report open.
const (
	reportStateColumns = `id, reporter_id, state, opened_at, modified_at, finished_at, retracted_at, expired_at,
	wrapped_key, provisional_priority`
	reportColumns = reportStateColumns + `, xml, document, sealed`
)

// CreateReport implements [guardian.Store].
func (s *Store) CreateReport(ctx context.Context, r *guardian.Report, ev *guardian.AuditEvent) error {
	switch {
	case r.ReporterID == 0 || len(r.XML) == 0 || len(r.WrappedKey) == 0:
		return errors.New("create report: reporter, XML and wrapped key are required")
	case !json.Valid(r.Document):
		return errors.New("create report: document is not valid JSON")
	}
	if err := s.needSealer(); err != nil {
		return fmt.Errorf("create report: %w", err)
	}
	id, override, err := s.reportIDs.take(ctx, s.d, s.db, s.clock())
	if err != nil {
		return fmt.Errorf("create report: %w", err)
	}
	if id != 0 {
		err = s.insertReport(ctx, r, id, override, ev)
	} else {
		err = s.update(ctx, func(tx *tx) error { return s.insertReportDrawingID(tx, r, ev) })
	}
	if err != nil {
		return fmt.Errorf("create report: %w", err)
	}
	s.openReports.put(r)
	return nil
}

// insertReport inserts the report with the id drawn ahead, its documents
// sealed, and records ev, in one statement committed by itself.
func (s *Store) insertReport(ctx context.Context, r *guardian.Report, id int64, override string, ev *guardian.AuditEvent) error {
	now := s.clock()
	xml, document, err := s.sealReport(r, id)
	if err != nil {
		return err
	}
	evArgs, err := recordedArgs(s.d, ev, now, "report", strconv.FormatInt(id, 10), id, "")
	if err != nil {
		return err
	}
	err = s.writeStatement(ctx, id, recordedSQL("", `
		INSERT INTO reports (id, reporter_id, state, opened_at, modified_at, xml, document, sealed, wrapped_key, provisional_priority)
		`+override+` VALUES (?, ?, ?, ?, ?, ?, ?, TRUE, ?, ?)
		RETURNING id`, ""),
		append([]any{id, r.ReporterID, string(guardian.ReportOpen), s.d.TimeValue(now), s.d.TimeValue(now), xml, document,
			r.WrappedKey, nullPriority(r.ProvisionalPriority)}, evArgs...),
		&r.ID, &ev.ID)
	if err != nil {
		return fmt.Errorf("insert report: %w", err)
	}
	r.State, r.OpenedAt, r.ModifiedAt = guardian.ReportOpen, now, now
	r.FinishedAt, r.RetractedAt, r.ExpiredAt = nil, nil, nil
	return nil
}

// sealReport seals the report's documents bound to id, its id.
func (s *Store) sealReport(r *guardian.Report, id int64) (xml, document []byte, err error) {
	k := reportKey{reportID: id, reporterID: r.ReporterID, wrapped: r.WrappedKey}
	if xml, err = s.seal(k, labelReportXML, r.XML); err != nil {
		return nil, nil, err
	}
	if document, err = s.seal(k, labelReportJSON, r.Document); err != nil {
		return nil, nil, err
	}
	return xml, document, nil
}

// insertReportDrawingID inserts the report, its id drawn by the INSERT,
// then its documents sealed bound to that id, and records ev.
func (s *Store) insertReportDrawingID(tx *tx, r *guardian.Report, ev *guardian.AuditEvent) error {
	err := tx.queryRow(`
		INSERT INTO reports (reporter_id, state, opened_at, modified_at, xml, document, sealed, wrapped_key, provisional_priority)
		VALUES (?, ?, ?, ?, ?, ?, TRUE, ?, ?)
		RETURNING id`,
		[]any{r.ReporterID, string(guardian.ReportOpen), tx.t(tx.now), tx.t(tx.now), []byte{}, []byte{}, r.WrappedKey,
			nullPriority(r.ProvisionalPriority)},
		&r.ID)
	if err != nil {
		return fmt.Errorf("insert report: %w", err)
	}
	xml, document, err := s.sealReport(r, r.ID)
	if err != nil {
		return err
	}
	if _, err := tx.exec(`UPDATE reports SET xml = ?, document = ? WHERE id = ?`, xml, document, r.ID); err != nil {
		return fmt.Errorf("store report documents: %w", err)
	}
	r.State, r.OpenedAt, r.ModifiedAt = guardian.ReportOpen, tx.now, tx.now
	r.FinishedAt, r.RetractedAt, r.ExpiredAt = nil, nil, nil
	return recordSuccess(tx, ev, "report", strconv.FormatInt(r.ID, 10), r.ID, "")
}

// FindReporterReport implements [guardian.Store]. It is one statement,
// which sees one snapshot by itself: no transaction is needed.
func (s *Store) FindReporterReport(ctx context.Context, reporterID, reportID int64) (*guardian.Report, error) {
	var r guardian.Report
	err := s.queryRow(ctx, `SELECT `+reportStateColumns+` FROM reports WHERE id = ? AND reporter_id = ?`,
		[]any{reportID, reporterID}, reportStateDest(&r)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, guardian.Errorf(guardian.EREPORTNOTFOUND, "Report %d not found.", reportID)
	} else if err != nil {
		return nil, fmt.Errorf("find report %d: %w", reportID, err)
	}
	return &r, nil
}

// FindReportByID implements [guardian.Store]. It opens the report's
// documents and its files' details; those of a report whose key is
// destroyed (expired) went with the key, and are nil.
//
// A closed report's row and files no longer change (but for sealing
// documents stored in the clear, which each row says of itself), so its
// files are read by a second statement of their own: the report's routing
// reads every finished report, and on PostgreSQL a transaction's BEGIN and
// COMMIT are two more round trips. An open report's row and files are read
// in one transaction, as they may be changing.
func (s *Store) FindReportByID(ctx context.Context, id int64) (*guardian.Report, error) {
	if err := s.needSealer(); err != nil {
		return nil, fmt.Errorf("find report %d: %w", id, err)
	}
	rows, err := s.readDB.QueryContext(ctx, s.d.Rebind(`SELECT `+reportColumns+` FROM reports WHERE id = ?`), id)
	var r *guardian.Report
	if err == nil {
		r, err = s.openReport(rows)
	}
	if err == nil && r.State != guardian.ReportOpen {
		k := reportKey{reportID: r.ID, reporterID: r.ReporterID, wrapped: r.WrappedKey}
		if rows, err = s.readDB.QueryContext(ctx, s.d.Rebind(filesWithDetailsOfReport), id); err == nil {
			r.Files, err = s.openFiles(rows, k)
		}
	} else if err == nil {
		err = s.view(ctx, func(tx *tx) error {
			rows, err := tx.query(`SELECT `+reportColumns+` FROM reports WHERE id = ?`, id)
			if err != nil {
				return err
			}
			if r, err = s.openReport(rows); err != nil {
				return err
			}
			r.Files, err = s.findFilesWithDetails(tx, reportKey{reportID: r.ID, reporterID: r.ReporterID, wrapped: r.WrappedKey})
			return err
		})
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, guardian.Errorf(guardian.EREPORTNOTFOUND, "Report %d not found.", id)
	} else if err != nil {
		return nil, fmt.Errorf("find report %d: %w", id, s.d.FormatError(err))
	}
	return r, nil
}

// openReport scans the one report of rows (columns reportColumns), without
// its files, with its documents opened, and closes rows. No row is
// sql.ErrNoRows.
func (s *Store) openReport(rows *sql.Rows) (*guardian.Report, error) {
	var sealed bool
	r, err := scanOneReport(rows, &sealed)
	if err != nil {
		return nil, err
	}
	k := reportKey{reportID: r.ID, reporterID: r.ReporterID, wrapped: r.WrappedKey}
	if r.XML, err = s.open(k, labelReportXML, r.XML, sealed); err != nil {
		return nil, err
	}
	if r.Document, err = s.open(k, labelReportJSON, r.Document, sealed); err != nil {
		return nil, err
	}
	return r, nil
}

// scanOneReport reads the one report of rows (columns reportColumns),
// without its files and with its documents as stored, sets *sealed, and
// closes rows. No row is sql.ErrNoRows.
func scanOneReport(rows *sql.Rows, sealed *bool) (*guardian.Report, error) {
	return scanOne(rows, func(r *guardian.Report) []any { return reportDest(r, sealed) })
}

// scanOneReportState is scanOneReport for the columns reportStateColumns:
// the report without its documents.
func scanOneReportState(rows *sql.Rows, dest ...any) (*guardian.Report, error) {
	return scanOne(rows, func(r *guardian.Report) []any { return append(reportStateDest(r), dest...) })
}

// scanOne scans the one row of rows into the destinations columns gives
// for a new report, and closes rows. No row is sql.ErrNoRows.
func scanOne(rows *sql.Rows, columns func(*guardian.Report) []any) (*guardian.Report, error) {
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, sql.ErrNoRows
	}
	var r guardian.Report
	if err := rows.Scan(columns(&r)...); err != nil {
		return nil, fmt.Errorf("scan report: %w", err)
	}
	return &r, rows.Close()
}

// scanReportState reads a report from the columns reportStateColumns.
func scanReportState(rows *sql.Rows) (*guardian.Report, error) {
	var r guardian.Report
	if err := rows.Scan(reportStateDest(&r)...); err != nil {
		return nil, fmt.Errorf("scan report: %w", err)
	}
	return &r, nil
}

// reportDest returns where the columns reportColumns of r are scanned: the
// documents as stored, and whether they are sealed into *sealed.
func reportDest(r *guardian.Report, sealed *bool) []any {
	return append(reportStateDest(r), &r.XML, (*[]byte)(&r.Document), sealed)
}

// reportStateDest returns where the columns reportStateColumns of r are
// scanned.
func reportStateDest(r *guardian.Report) []any {
	return []any{&r.ID, &r.ReporterID, &r.State,
		timeScanner{&r.OpenedAt}, timeScanner{&r.ModifiedAt},
		nullTimeScanner{&r.FinishedAt}, nullTimeScanner{&r.RetractedAt}, nullTimeScanner{&r.ExpiredAt},
		&r.WrappedKey, nullPriorityScanner{&r.ProvisionalPriority}}
}

// nullPriority stores an empty priority as NULL.
func nullPriority(p guardian.Priority) any {
	if p == "" {
		return nil
	}
	return string(p)
}

// nullPriorityScanner reads a priority column that may be NULL, as empty.
type nullPriorityScanner struct{ p *guardian.Priority }

func (s nullPriorityScanner) Scan(v any) error {
	var ns sql.NullString
	if err := ns.Scan(v); err != nil {
		return err
	}
	*s.p = guardian.Priority(ns.String)
	return nil
}

// Changes to a report start with one UPDATE that selects the report only if
// it belongs to the reporter and still accepts changes — open, and not past
// its expiry time by tx's clock even if ExpireReports has not marked it yet
// — and records the change, which postpones its expiry. The UPDATE locks
// the row for the rest of the transaction (on PostgreSQL; on SQLite the
// transaction holds the only write lock), serialising lifecycle operations
// on the report; one that waited for the lock sees the row as the other
// left it. Only when it matches no row does whyNotOpen read the report to
// say why: the common case costs one statement, not a locking SELECT and an
// UPDATE.
//
// Expiry is the later of opened+24h and modified+1h, so a report accepts
// changes while either is still ahead; the cut-offs are computed here so
// that the query needs no date arithmetic of either database.
const openReportWhere = `id = ? AND reporter_id = ? AND state = ? AND (opened_at > ? OR modified_at > ?)`

// openReportArgs are the arguments of openReportWhere at the time now.
func openReportArgs(d Dialect, now time.Time, reporterID, reportID int64) []any {
	return []any{reportID, reporterID, string(guardian.ReportOpen),
		d.TimeValue(now.Add(-guardian.OpenReportLifetime)), d.TimeValue(now.Add(-guardian.OpenReportIdle))}
}

// touchOpenReport records a change to the reporter's report, locking it for
// the rest of tx, and returns the key its documents are sealed under; or
// returns why the report accepts no change (see openReportWhere).
func touchOpenReport(tx *tx, reporterID, reportID int64) (reportKey, error) {
	k := reportKey{reportID: reportID, reporterID: reporterID}
	err := tx.queryRow(`UPDATE reports SET modified_at = ? WHERE `+openReportWhere+` RETURNING wrapped_key`,
		append([]any{tx.t(tx.now)}, openReportArgs(tx.d, tx.now, reporterID, reportID)...), &k.wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return k, whyNotOpen(tx, reporterID, reportID)
	} else if err != nil {
		return k, fmt.Errorf("touch report %d: %w", reportID, err)
	}
	return k, nil
}

// whyNotOpen returns the error for a report of the reporter that an UPDATE
// WHERE openReportWhere did not match. States never return to open, so a
// report still open was passed over for its expiry.
func whyNotOpen(tx *tx, reporterID, reportID int64) error {
	var state guardian.ReportState
	err := tx.queryRow(`SELECT state FROM reports WHERE id = ? AND reporter_id = ?`, []any{reportID, reporterID}, &state)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return guardian.Errorf(guardian.EREPORTNOTFOUND, "Report %d not found.", reportID)
	case err != nil:
		return fmt.Errorf("read report %d: %w", reportID, err)
	case state == guardian.ReportFinished:
		return guardian.Errorf(guardian.EFINISHED, "Report %d is already finished.", reportID)
	case state == guardian.ReportRetracted:
		return guardian.Errorf(guardian.ERETRACTED, "Report %d is already retracted.", reportID)
	default: // expired, or open past its expiry time
		return guardian.Errorf(guardian.EREPORTNOTFOUND, "Report %d has expired.", reportID)
	}
}

// FinishReport implements [guardian.Store].
func (s *Store) FinishReport(ctx context.Context, reporterID, reportID int64, ev *guardian.AuditEvent) (*guardian.Report, error) {
	r, err := s.closeReport(ctx, reporterID, reportID, guardian.ReportFinished, ev)
	if err != nil {
		return nil, fmt.Errorf("finish report: %w", err)
	}
	return r, nil
}

// RetractReport implements [guardian.Store].
func (s *Store) RetractReport(ctx context.Context, reporterID, reportID int64, ev *guardian.AuditEvent) (*guardian.Report, error) {
	r, err := s.closeReport(ctx, reporterID, reportID, guardian.ReportRetracted, ev)
	if err != nil {
		return nil, fmt.Errorf("retract report: %w", err)
	}
	return r, nil
}

// closeReport moves an open report of the reporter to state, finished or
// retracted, and returns it with its files, without documents: nothing that
// closes a report reads them, and none is opened needlessly.
func (s *Store) closeReport(ctx context.Context, reporterID, reportID int64, state guardian.ReportState, ev *guardian.AuditEvent) (*guardian.Report, error) {
	// Closed, or found not open: either way no longer open.
	defer s.openReports.drop(reportID)
	if s.d.OneStatementWrites() {
		r, err := s.closeReportStatement(ctx, reporterID, reportID, state, ev)
		if !errors.Is(err, errNotChanged) {
			return r, err
		}
		// Not open, or changed since the statement's snapshot: the
		// transaction below says which, or closes it.
		s.closesRetried.Add(1)
	}
	var r *guardian.Report
	err := s.update(ctx, func(tx *tx) (err error) {
		queued := new(sql.NullInt64)
		query, args, dest := closeStatement(tx.d, tx.now, reporterID, reportID, state, queued, nil)
		rows, err := tx.query(query, args...)
		if err != nil {
			return fmt.Errorf("update report %d: %w", reportID, err)
		}
		r, err = scanOneReportState(rows, dest...)
		if errors.Is(err, sql.ErrNoRows) {
			return whyNotOpen(tx, reporterID, reportID)
		} else if err != nil {
			return fmt.Errorf("update report %d: %w", reportID, err)
		}
		if r.Files, err = findFiles(tx, r.ID); err != nil {
			return err
		}
		// Report.RoutingOrder is the rule; the statement's order is its
		// reading in SQL, which saves a second UPDATE of the row on the
		// hot path. They differ only where the statement's snapshot
		// missed a file's details committed while it waited for the row
		// (PostgreSQL, a reporter racing its own finish): then the rule's
		// order is stored.
		if state == guardian.ReportFinished && queued.Int64 != int64(r.RoutingOrder()) {
			s.orderFixes.Add(1)
			if err := queueRouting(tx, r.ID, r.RoutingOrder()); err != nil {
				return err
			}
		}
		return recordSuccess(tx, ev, "report", strconv.FormatInt(r.ID, 10), r.ID, "")
	})
	return r, err
}

// closeStatement is the UPDATE that moves the reporter's open report to
// state, finished or retracted, at now, returning reportStateColumns, and
// its arguments: it locks, checks and changes in one statement (see
// openReportWhere). A finished report is queued for triage and routing in
// the same statement, so that a crash cannot finish it unqueued, and the
// statement also returns the order it was queued at, into queued: dest are
// the destinations after reportStateColumns'.
//
// With files (closeReportStatement's), the UPDATE also returns the
// report's files, as filesJSON reads them, into *files, and matches the
// report only if its row is still the version that the statement's
// snapshot sees: its WITH query seen must give that version.
func closeStatement(d Dialect, now time.Time, reporterID, reportID int64, state guardian.ReportState, queued *sql.NullInt64, files *[]byte) (query string, args, dest []any) {
	column := "finished_at"
	if state == guardian.ReportRetracted {
		column = "retracted_at"
	}
	set, from, where, returning := `state = ?, modified_at = ?, `+column+` = ?`, "", openReportWhere, reportStateColumns
	if state == guardian.ReportFinished {
		set += `, route_order = ` + finishRoutingOrder + `, route_after = NULL, route_attempts = 0, route_error = NULL`
		returning += `, route_order`
		dest = append(dest, queued)
	}
	if files != nil {
		from, where, returning = ` FROM seen`, where+` AND reports.xmin = seen.version`, returning+`, `+filesJSON
		dest = append(dest, files)
	}
	args = append([]any{string(state), d.TimeValue(now), d.TimeValue(now)}, openReportArgs(d, now, reporterID, reportID)...)
	return `UPDATE reports SET ` + set + from + ` WHERE ` + where + ` RETURNING ` + returning, args, dest
}

// closeReportStatement is closeReport in one statement (see
// [Dialect.OneStatementWrites]), with its event and the report's files,
// which a closed report keeps as they are. The files are those of the
// statement's snapshot, which misses an upload or a file's details
// committed while the statement waited for the report's row: so the
// statement closes the report only if no change to its row was committed
// since that snapshot. The row's version (PostgreSQL's xmin, the
// transaction that wrote it) says so: every intake write to an open
// report writes its row, and the row the UPDATE finds once it holds the
// lock is the latest. Where it changes nothing (the report is not open,
// or was changed meanwhile), errNotChanged: closeReport's transaction
// then says why, or closes it reading the files after the change.
func (s *Store) closeReportStatement(ctx context.Context, reporterID, reportID int64, state guardian.ReportState, ev *guardian.AuditEvent) (*guardian.Report, error) {
	now := s.clock()
	evArgs, err := recordedArgs(s.d, ev, now, "report", strconv.FormatInt(reportID, 10), reportID, "")
	if err != nil {
		return nil, err
	}
	queued, r, files := new(sql.NullInt64), new(guardian.Report), []byte(nil)
	query, args, dest := closeStatement(s.d, now, reporterID, reportID, state, queued, &files)
	err = s.writeStatement(ctx, reportID, recordedSQL(`seen AS (SELECT xmin AS version FROM reports WHERE id = ?)`, query, ""),
		slices.Concat([]any{reportID}, args, evArgs),
		slices.Concat(reportStateDest(r), dest, []any{&ev.ID})...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotChanged
	} else if err != nil {
		return nil, fmt.Errorf("update report %d: %w", reportID, err)
	}
	if r.Files, err = decodeFilesJSON(r.ID, files); err != nil {
		return nil, fmt.Errorf("update report %d: %w", reportID, err)
	}
	// See closeReport: the statement's order and the rule's agree, as
	// they read the same files; should they not, the rule's is stored
	// while the report waits in the queue with the statement's (a routing
	// that has begun reads the files itself).
	if state == guardian.ReportFinished && queued.Int64 != int64(r.RoutingOrder()) {
		s.orderFixes.Add(1)
		err := s.update(ctx, func(tx *tx) error {
			_, err := tx.exec(`UPDATE reports SET route_order = ? WHERE id = ? AND route_order = ? AND route_after IS NULL`,
				r.RoutingOrder(), r.ID, queued.Int64)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("queue report %d for routing: %w", r.ID, err)
		}
	}
	return r, nil
}

// filesJSON is a sub-select, for a statement on reports, of the report's
// files in upload order, without their details, as a JSON array of arrays
// (NULL for none) that decodeFilesJSON reads: a statement returns one row,
// and a report has any number of files. It is for PostgreSQL's one
// statement writes only (json_agg, encode).
const filesJSON = `(SELECT json_agg(json_build_array(f.id, f.name, f.size, f.md5, f.sha1, f.sha256, f.uploaded_at,
	f.blob_key, encode(f.wrapped_key, 'hex'), f.details_at, f.image_status, f.pdq, f.pdq_quality, f.pdq_dihedral,
	f.viewed_by_reporter) ORDER BY f.position) FROM files f WHERE f.report_id = reports.id)`

// decodeFilesJSON reads the files of the report that filesJSON returned.
func decodeFilesJSON(reportID int64, data []byte) ([]*guardian.File, error) {
	files := []*guardian.File{}
	if data == nil {
		return files, nil
	}
	var rows [][]json.RawMessage
	if err := json.Unmarshal(data, &rows); err != nil {
		return nil, fmt.Errorf("read files: %w", err)
	}
	for _, cols := range rows {
		// Into a fileRow, as a scan of fileStateColumns would fill it, so
		// that the file is made as every other read of files makes it.
		row := fileRow{f: guardian.File{ReportID: reportID}}
		f := &row.f
		var wrapped string
		var pdq, dihedral *string
		dest := []any{&f.ID, &f.Name, &f.Size, &f.MD5, &f.SHA1, &f.SHA256, &f.UploadedAt,
			&f.BlobKey, &wrapped, &f.DetailsAt, &f.ImageStatus, &pdq, &f.PDQQuality, &dihedral,
			&f.ViewedByReporter}
		if len(cols) != len(dest) {
			return nil, fmt.Errorf("read files: %d columns, want %d", len(cols), len(dest))
		}
		for i, d := range dest {
			if err := json.Unmarshal(cols[i], d); err != nil {
				return nil, fmt.Errorf("read files: column %d: %w", i+1, err)
			}
		}
		var err error
		if f.WrappedKey, err = hex.DecodeString(wrapped); err != nil {
			return nil, fmt.Errorf("read files: wrapped key: %w", err)
		}
		f.UploadedAt = f.UploadedAt.UTC()
		if f.DetailsAt != nil {
			*f.DetailsAt = f.DetailsAt.UTC()
		}
		if pdq != nil {
			row.pdq = sql.NullString{String: *pdq, Valid: true}
		}
		if dihedral != nil {
			row.dihedral = sql.NullString{String: *dihedral, Valid: true}
		}
		if f.ViewedByReporter != nil {
			row.viewed = sql.NullBool{Bool: *f.ViewedByReporter, Valid: true}
		}
		files = append(files, row.file())
	}
	return files, nil
}

// finishRoutingOrder is [guardian.Report.RoutingOrder] in SQL, for the
// finish's UPDATE of the report row: first for an expected priority E or
// 1, or for files none of which the reporter viewed
// ([guardian.Report.TriageFirst]); then by expected priority. Its values
// are the package's constants, written in: PostgreSQL cannot tell a
// parameter's type in a CASE.
var finishRoutingOrder = fmt.Sprintf(`CASE
	WHEN provisional_priority IN ('%s', '%s') THEN %d
	WHEN file_count > 0 AND NOT EXISTS (SELECT 1 FROM files WHERE files.report_id = reports.id AND files.viewed_by_reporter = TRUE) THEN %d
	WHEN provisional_priority = '%s' THEN %d
	ELSE %d END`,
	guardian.PriorityUnreviewed, guardian.Priority1, guardian.RoutingFirst,
	guardian.RoutingFirst,
	guardian.Priority2, guardian.RoutingSoon,
	guardian.RoutingInTurn)

// ExpireReports implements [guardian.Store]. A limit of 0 or less handles
// a batch of 100. On PostgreSQL, reports another transaction holds (being
// changed, or expired by another hub process) are left for the next call.
// The reports come back without documents, which their keys took along,
// and their files without details.
func (s *Store) ExpireReports(ctx context.Context, limit int) ([]*guardian.Report, error) {
	if limit <= 0 {
		limit = defaultExpireBatch
	}
	reports := []*guardian.Report{}
	err := s.update(ctx, func(tx *tx) error {
		// ExpiresAt is the later of opened+24h and modified+1h, so a report
		// is due when both have passed; the cut-offs are computed here so
		// that the query needs no date arithmetic of either database.
		rows, err := tx.query(`
			SELECT `+reportStateColumns+`
			FROM reports
			WHERE state = ? AND opened_at <= ? AND modified_at <= ?
			ORDER BY id
			LIMIT ?`+tx.d.LockSkipLocked(),
			string(guardian.ReportOpen),
			tx.t(tx.now.Add(-guardian.OpenReportLifetime)), tx.t(tx.now.Add(-guardian.OpenReportIdle)), limit)
		if err != nil {
			return fmt.Errorf("select due reports: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanReportState(rows)
			if err != nil {
				return err
			}
			reports = append(reports, r)
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("select due reports: %w", err)
		}
		for _, r := range reports {
			if err := expireReport(tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("expire reports: %w", err)
	}
	for _, r := range reports {
		s.openReports.drop(r.ID)
	}
	return reports, nil
}

// expireReport marks r expired, destroys its wrapped data key so that its
// evidence and documents can never be decrypted again, and records the
// erasure.
func expireReport(tx *tx, r *guardian.Report) (err error) {
	_, err = tx.exec(`UPDATE reports SET state = ?, expired_at = ?, modified_at = ?, wrapped_key = NULL WHERE id = ?`,
		string(guardian.ReportExpired), tx.t(tx.now), tx.t(tx.now), r.ID)
	if err != nil {
		return fmt.Errorf("expire report %d: %w", r.ID, err)
	}
	now := tx.now
	r.State, r.ExpiredAt, r.ModifiedAt, r.WrappedKey = guardian.ReportExpired, &now, now, nil
	if r.Files, err = findFiles(tx, r.ID); err != nil {
		return err
	}
	id := strconv.FormatInt(r.ID, 10)
	return recordSuccess(tx, &guardian.AuditEvent{
		Actor:    guardian.Actor{Kind: guardian.ActorSystem},
		Category: guardian.CategoryErasure,
		Action:   "report.expire",
	}, "report", id, r.ID, "")
}
