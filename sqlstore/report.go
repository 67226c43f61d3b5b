package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/guardian-network/guardian"
)

// defaultExpireBatch is how many reports ExpireReports handles when given
// no limit.
const defaultExpireBatch = 100

// reportColumns are the columns scanReport reads, in order.
const reportColumns = `id, reporter_id, state, opened_at, modified_at, finished_at, retracted_at, expired_at,
	xml, document, wrapped_key`

// CreateReport implements [guardian.Store].
func (s *Store) CreateReport(ctx context.Context, r *guardian.Report, ev *guardian.AuditEvent) error {
	switch {
	case r.ReporterID == 0 || len(r.XML) == 0 || len(r.WrappedKey) == 0:
		return errors.New("create report: reporter, XML and wrapped key are required")
	case !json.Valid(r.Document):
		return errors.New("create report: document is not valid JSON")
	}
	err := s.update(ctx, func(tx *tx) error {
		err := tx.queryRow(`
			INSERT INTO reports (reporter_id, state, opened_at, modified_at, xml, document, wrapped_key)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			RETURNING id`,
			[]any{r.ReporterID, string(guardian.ReportOpen), tx.t(tx.now), tx.t(tx.now), r.XML, string(r.Document), r.WrappedKey},
			&r.ID)
		if err != nil {
			return fmt.Errorf("insert report: %w", err)
		}
		r.State, r.OpenedAt, r.ModifiedAt = guardian.ReportOpen, tx.now, tx.now
		r.FinishedAt, r.RetractedAt, r.ExpiredAt = nil, nil, nil
		return recordSuccess(tx, ev, "report", strconv.FormatInt(r.ID, 10), r.ID, "")
	})
	if err != nil {
		return fmt.Errorf("create report: %w", err)
	}
	return nil
}

// FindReportByID implements [guardian.Store].
func (s *Store) FindReportByID(ctx context.Context, id int64) (*guardian.Report, error) {
	return s.findReport(ctx, `id = ?`, id)
}

// FindReporterReport implements [guardian.Store].
func (s *Store) FindReporterReport(ctx context.Context, reporterID, reportID int64) (*guardian.Report, error) {
	return s.findReport(ctx, `id = ? AND reporter_id = ?`, reportID, reporterID)
}

func (s *Store) findReport(ctx context.Context, where string, args ...any) (*guardian.Report, error) {
	var r *guardian.Report
	err := s.view(ctx, func(tx *tx) (err error) {
		if r, err = selectReport(tx, where, "", args...); err != nil {
			return err
		}
		r.Files, err = findFiles(tx, r.ID)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, guardian.Errorf(guardian.EREPORTNOTFOUND, "Report %d not found.", args[0])
	} else if err != nil {
		return nil, fmt.Errorf("find report %d: %w", args[0], err)
	}
	return r, nil
}

// selectReport returns the one report matching where, without its files,
// or sql.ErrNoRows. lock is appended to the query.
func selectReport(tx *tx, where, lock string, args ...any) (*guardian.Report, error) {
	rows, err := tx.query(`SELECT `+reportColumns+` FROM reports WHERE `+where+lock, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, sql.ErrNoRows
	}
	r, err := scanReport(rows)
	if err != nil {
		return nil, err
	}
	return r, rows.Close()
}

func scanReport(rows *sql.Rows) (*guardian.Report, error) {
	var r guardian.Report
	err := rows.Scan(&r.ID, &r.ReporterID, &r.State,
		timeScanner{&r.OpenedAt}, timeScanner{&r.ModifiedAt},
		nullTimeScanner{&r.FinishedAt}, nullTimeScanner{&r.RetractedAt}, nullTimeScanner{&r.ExpiredAt},
		&r.XML, (*[]byte)(&r.Document), &r.WrappedKey)
	if err != nil {
		return nil, fmt.Errorf("scan report: %w", err)
	}
	return &r, nil
}

// openReport locks the reporter's report for the rest of tx and checks that
// it still accepts changes: open, and not past its expiry time by the
// store's clock even if ExpireReports has not marked it yet. It reads only
// what the check needs: the hot paths (AddFile, SetFileDetails) need not
// load the report's XML.
func openReport(tx *tx, reporterID, reportID int64) error {
	var r guardian.Report
	err := tx.queryRow(`SELECT state, opened_at, modified_at FROM reports WHERE id = ? AND reporter_id = ?`+tx.d.LockRow(),
		[]any{reportID, reporterID}, &r.State, timeScanner{&r.OpenedAt}, timeScanner{&r.ModifiedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return guardian.Errorf(guardian.EREPORTNOTFOUND, "Report %d not found.", reportID)
	} else if err != nil {
		return fmt.Errorf("lock report %d: %w", reportID, err)
	}
	switch {
	case r.State == guardian.ReportFinished:
		return guardian.Errorf(guardian.EFINISHED, "Report %d is already finished.", reportID)
	case r.State == guardian.ReportRetracted:
		return guardian.Errorf(guardian.ERETRACTED, "Report %d is already retracted.", reportID)
	case r.State == guardian.ReportExpired || !tx.now.Before(r.ExpiresAt()):
		return guardian.Errorf(guardian.EREPORTNOTFOUND, "Report %d has expired.", reportID)
	}
	return nil
}

// touchReport records a change to an open report, which postpones its
// expiry.
func touchReport(tx *tx, reportID int64) error {
	if _, err := tx.exec(`UPDATE reports SET modified_at = ? WHERE id = ?`, tx.t(tx.now), reportID); err != nil {
		return fmt.Errorf("touch report %d: %w", reportID, err)
	}
	return nil
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
// retracted, and returns it with its files.
func (s *Store) closeReport(ctx context.Context, reporterID, reportID int64, state guardian.ReportState, ev *guardian.AuditEvent) (*guardian.Report, error) {
	column := "finished_at"
	if state == guardian.ReportRetracted {
		column = "retracted_at"
	}
	var r *guardian.Report
	err := s.update(ctx, func(tx *tx) (err error) {
		if err := openReport(tx, reporterID, reportID); err != nil {
			return err
		}
		_, err = tx.exec(`UPDATE reports SET state = ?, modified_at = ?, `+column+` = ? WHERE id = ?`,
			string(state), tx.t(tx.now), tx.t(tx.now), reportID)
		if err != nil {
			return fmt.Errorf("update report %d: %w", reportID, err)
		}
		if r, err = selectReport(tx, `id = ?`, "", reportID); err != nil {
			return fmt.Errorf("read report %d: %w", reportID, err)
		}
		if r.Files, err = findFiles(tx, r.ID); err != nil {
			return err
		}
		return recordSuccess(tx, ev, "report", strconv.FormatInt(r.ID, 10), r.ID, "")
	})
	return r, err
}

// ExpireReports implements [guardian.Store]. A limit of 0 or less handles
// a batch of 100. On PostgreSQL, reports another transaction holds (being
// changed, or expired by another hub process) are left for the next call.
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
			SELECT `+reportColumns+`
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
			r, err := scanReport(rows)
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
	return reports, nil
}

// expireReport marks r expired, destroys its wrapped data key so that its
// evidence can never be decrypted again, and records the erasure.
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
