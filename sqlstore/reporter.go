package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/guardian-network/guardian"
)

// CreateReporter implements [guardian.Store].
func (s *Store) CreateReporter(ctx context.Context, r *guardian.Reporter, ev *guardian.AuditEvent) error {
	if r.Name == "" || r.PasswordHash == "" {
		return guardian.Errorf(guardian.EINVALID, "A reporter needs a name and a password.")
	}
	err := s.update(ctx, func(tx *tx) error {
		err := tx.queryRow(`
			INSERT INTO reporters (name, password_hash, created_at, disabled)
			VALUES (?, ?, ?, ?)
			RETURNING id`,
			[]any{r.Name, r.PasswordHash, tx.t(tx.now), r.Disabled}, &r.ID)
		if guardian.ErrorCode(err) == guardian.ECONFLICT {
			return fmt.Errorf("%w: %w", guardian.Errorf(guardian.ECONFLICT, "Reporter %q already exists.", r.Name), err)
		} else if err != nil {
			return fmt.Errorf("insert reporter: %w", err)
		}
		r.CreatedAt = tx.now
		return recordSuccess(tx, ev, "reporter", strconv.FormatInt(r.ID, 10), 0, "")
	})
	if err != nil {
		return fmt.Errorf("create reporter: %w", err)
	}
	return nil
}

// FindReporterByName implements [guardian.Store].
func (s *Store) FindReporterByName(ctx context.Context, name string) (*guardian.Reporter, error) {
	var r guardian.Reporter
	err := s.queryRow(ctx, `
		SELECT id, name, password_hash, created_at, disabled
		FROM reporters
		WHERE name = ?`,
		[]any{name}, &r.ID, &r.Name, &r.PasswordHash, timeScanner{&r.CreatedAt}, &r.Disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, guardian.Errorf(guardian.ENOTFOUND, "Reporter not found.")
	} else if err != nil {
		return nil, fmt.Errorf("find reporter: %w", err)
	}
	return &r, nil
}
