package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/guardian-network/guardian"
)

// CreateToken implements [guardian.TokenStore].
func (s *Store) CreateToken(ctx context.Context, t *guardian.Token, ev *guardian.AuditEvent) error {
	switch {
	case t.Name == "" || t.Role == "":
		return guardian.Errorf(guardian.EINVALID, "A token needs a name and a role.")
	case !isLowerHex(t.Hash, 64):
		return errors.New("create token: hash must be 64 lower-case hex digits")
	}
	err := s.update(ctx, func(tx *tx) error {
		err := tx.queryRow(`
			INSERT INTO api_tokens (name, role, token_hash, created_at, disabled)
			VALUES (?, ?, ?, ?, ?)
			RETURNING id`,
			[]any{t.Name, t.Role, t.Hash, tx.t(tx.now), t.Disabled}, &t.ID)
		if guardian.ErrorCode(err) == guardian.ECONFLICT {
			return fmt.Errorf("%w: %w", guardian.Errorf(guardian.ECONFLICT, "Token %q already exists.", t.Name), err)
		} else if err != nil {
			return fmt.Errorf("insert token: %w", err)
		}
		t.CreatedAt = tx.now
		return recordSuccess(tx, ev, "token", strconv.FormatInt(t.ID, 10), 0, "")
	})
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

// FindTokenByHash implements [guardian.TokenStore].
func (s *Store) FindTokenByHash(ctx context.Context, hash string) (*guardian.Token, error) {
	var t guardian.Token
	err := s.queryRow(ctx, `
		SELECT id, name, role, token_hash, created_at, disabled
		FROM api_tokens
		WHERE token_hash = ?`,
		[]any{hash}, &t.ID, &t.Name, &t.Role, &t.Hash, timeScanner{&t.CreatedAt}, &t.Disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, guardian.Errorf(guardian.ENOTFOUND, "Token not found.")
	} else if err != nil {
		return nil, fmt.Errorf("find token: %w", err)
	}
	return &t, nil
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && (s[i] < 'a' || s[i] > 'f') {
			return false
		}
	}
	return true
}
