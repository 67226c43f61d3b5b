package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/guardian-network/guardian"
)

var _ guardian.AccessStore = (*Store)(nil)

// RecordConsultation implements [guardian.AccessStore]. The consultations
// row is inserted first, with ON CONFLICT DO NOTHING: of concurrent calls
// for one user, referral and day, one inserts it and the others find it
// (on PostgreSQL they wait at the primary key until the first commits),
// so only the first appends its event and then points the row at it.
func (s *Store) RecordConsultation(ctx context.Context, userID, referralID int64, ev *guardian.AuditEvent) (bool, error) {
	defaultCategory(ev, guardian.CategoryConsultation)
	var recorded bool
	err := s.update(ctx, func(tx *tx) error {
		recorded = false
		reportID, err := referralReport(tx, referralID)
		if err != nil {
			return err
		}
		if err := userExists(tx, userID); err != nil {
			return err
		}
		day := guardian.ConsultationDay(tx.now)
		res, err := tx.exec(`INSERT INTO consultations (user_id, referral_id, day, event_id) VALUES (?, ?, ?, 0)
			ON CONFLICT DO NOTHING`, userID, referralID, day)
		if err != nil {
			return fmt.Errorf("insert consultation: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		if err := recordSuccess(tx, ev, "referral", strconv.FormatInt(referralID, 10), reportID, ""); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE consultations SET event_id = ? WHERE user_id = ? AND referral_id = ? AND day = ?`,
			ev.ID, userID, referralID, day); err != nil {
			return fmt.Errorf("update consultation: %w", err)
		}
		recorded = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("record consultation: %w", err)
	}
	return recorded, nil
}

// HasConsultation implements [guardian.AccessStore]: one read of the
// consultations table by its primary key.
func (s *Store) HasConsultation(ctx context.Context, userID, referralID int64, day string) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM consultations WHERE user_id = ? AND referral_id = ? AND day = ?`,
		[]any{userID, referralID, day}, &n)
	if err != nil {
		return false, fmt.Errorf("find consultation: %w", err)
	}
	return n > 0, nil
}

// referralReport returns the report of the referral, or ENOTFOUND.
func referralReport(tx *tx, referralID int64) (int64, error) {
	var reportID int64
	err := tx.queryRow(`SELECT report_id FROM referrals WHERE id = ?`, []any{referralID}, &reportID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, guardian.Errorf(guardian.ENOTFOUND, "Referral %d not found.", referralID)
	} else if err != nil {
		return 0, fmt.Errorf("read referral %d: %w", referralID, err)
	}
	return reportID, nil
}

// userExists returns ENOTFOUND for an unknown user, rather than the
// foreign key's error.
func userExists(tx *tx, userID int64) error {
	var n int
	if err := tx.queryRow(`SELECT COUNT(*) FROM users WHERE id = ?`, []any{userID}, &n); err != nil {
		return fmt.Errorf("read user: %w", err)
	} else if n == 0 {
		return guardian.Errorf(guardian.ENOTFOUND, "User not found.")
	}
	return nil
}

// RecordLegalAuthority implements [guardian.AccessStore]. Every file it
// names must be a file of the referral's report, named once (EINVALID
// otherwise); the reference is stored trimmed, and is the event's
// Justification unless the caller set one.
func (s *Store) RecordLegalAuthority(ctx context.Context, la *guardian.LegalAuthority, ev *guardian.AuditEvent) error {
	if la == nil {
		return guardian.Errorf(guardian.EINVALID, "Give the reference of the warrant or order.")
	}
	if err := la.Validate(); err != nil {
		return err
	}
	la.Reference = strings.TrimSpace(la.Reference)
	defaultCategory(ev, guardian.CategoryPermission)
	if ev != nil && ev.Justification == "" {
		ev.Justification = la.Reference
	}
	err := s.update(ctx, func(tx *tx) error {
		reportID, err := referralReport(tx, la.ReferralID)
		if err != nil {
			return err
		}
		if err := userExists(tx, la.UserID); err != nil {
			return err
		}
		if err := checkReportFiles(tx, reportID, la.FileIDs); err != nil {
			return err
		}
		err = tx.queryRow(`
			INSERT INTO legal_authorities (referral_id, file_ids, reference, user_id, recorded_at)
			VALUES (?, ?, ?, ?, ?)
			RETURNING id`,
			[]any{la.ReferralID, strings.Join(la.FileIDs, ","), la.Reference, la.UserID, tx.t(tx.now)}, &la.ID)
		if err != nil {
			return fmt.Errorf("insert legal authority: %w", err)
		}
		la.RecordedAt = tx.now
		return recordSuccess(tx, ev, "referral", strconv.FormatInt(la.ReferralID, 10), reportID, "")
	})
	if err != nil {
		return fmt.Errorf("record legal authority: %w", err)
	}
	return nil
}

// reportFileIDs returns the ids of the report's files.
func reportFileIDs(tx *tx, reportID int64) (map[string]bool, error) {
	rows, err := tx.query(`SELECT id FROM files WHERE report_id = ?`, reportID)
	if err != nil {
		return nil, fmt.Errorf("read files: %w", err)
	}
	files := make(map[string]bool)
	if err := scanStrings(rows, files); err != nil {
		return nil, fmt.Errorf("read files: %w", err)
	}
	return files, nil
}

// checkReportFiles checks that ids are distinct files of the report.
func checkReportFiles(tx *tx, reportID int64, ids []string) error {
	files, err := reportFileIDs(tx, reportID)
	if err != nil {
		return err
	}
	named := make(map[string]bool, len(ids))
	for _, id := range ids {
		switch {
		case !files[id]:
			return guardian.Errorf(guardian.EINVALID, "File %q is not a file of this referral.", guardian.Clip(id, 40))
		case named[id]:
			return guardian.Errorf(guardian.EINVALID, "File %s is named twice.", id)
		}
		named[id] = true
	}
	return nil
}

// FindLegalAuthorities implements [guardian.AccessStore]. An unknown
// referral has none.
func (s *Store) FindLegalAuthorities(ctx context.Context, referralID int64) ([]*guardian.LegalAuthority, error) {
	rows, err := s.readDB.QueryContext(ctx, s.d.Rebind(`
		SELECT id, referral_id, file_ids, reference, user_id, recorded_at
		FROM legal_authorities WHERE referral_id = ? ORDER BY id`), referralID)
	if err != nil {
		return nil, fmt.Errorf("find legal authorities: %w", s.d.FormatError(err))
	}
	defer rows.Close()
	var las []*guardian.LegalAuthority
	for rows.Next() {
		var la guardian.LegalAuthority
		var files string
		if err := rows.Scan(&la.ID, &la.ReferralID, &files, &la.Reference, &la.UserID, timeScanner{&la.RecordedAt}); err != nil {
			return nil, fmt.Errorf("find legal authorities: %w", s.d.FormatError(err))
		}
		la.FileIDs = strings.Split(files, ",")
		las = append(las, &la)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find legal authorities: %w", s.d.FormatError(err))
	}
	return las, nil
}
