package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/guardian-network/guardian"
)

// Page sizes of FindUsers.
const (
	defaultUserPage = 100
	maxUserPage     = 1000
)

// userColumns are the columns scanUser reads, in its order.
const userColumns = `id, name, display_name, email, organisation, roles, password_hash,
	totp_secret, totp_last_step, recovery_hashes, vetting_expires_at, training_expires_at,
	disabled, failed_signins, locked_until, language, time_zone, created_at, updated_at`

// CreateUser adds a user and sets ID, CreatedAt and UpdatedAt (see
// [guardian.UserStore]). The rest of guardian.UserStore (credentials,
// sessions, API tokens) comes with the HTTP step of issue 10.
func (s *Store) CreateUser(ctx context.Context, u *guardian.User, ev *guardian.AuditEvent) error {
	switch {
	case u.Name == "" || u.Organisation.IsZero() || len(u.Roles) == 0:
		return guardian.Errorf(guardian.EINVALID, "A user needs a name, an organisation and a role.")
	case slicesContainsComma(u.Roles, u.RecoveryCodeHashes):
		return errors.New("create user: a role or recovery code hash contains a comma")
	}
	err := s.update(ctx, func(tx *tx) error {
		err := tx.queryRow(`
			INSERT INTO users (name, display_name, email, organisation, roles, password_hash,
				totp_secret, totp_last_step, recovery_hashes, vetting_expires_at, training_expires_at,
				disabled, failed_signins, locked_until, language, time_zone, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			RETURNING id`,
			[]any{u.Name, u.DisplayName, u.Email, u.Organisation.String(), joinRoles(u.Roles), u.PasswordHash,
				u.TOTPSecret, u.TOTPLastStep, strings.Join(u.RecoveryCodeHashes, ","),
				tx.nullTime(u.VettingExpiresAt), tx.nullTime(u.TrainingExpiresAt),
				u.Disabled, u.FailedSignIns, tx.nullTime(u.LockedUntil), u.Language, u.TimeZone,
				tx.t(tx.now), tx.t(tx.now)}, &u.ID)
		if guardian.ErrorCode(err) == guardian.ECONFLICT {
			return fmt.Errorf("%w: %w", guardian.Errorf(guardian.ECONFLICT, "User %q already exists.", u.Name), err)
		} else if err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		u.CreatedAt, u.UpdatedAt = tx.now, tx.now
		return recordSuccess(tx, ev, "user", strconv.FormatInt(u.ID, 10), 0, "")
	})
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// FindUserByID implements [guardian.UserStore].
func (s *Store) FindUserByID(ctx context.Context, id int64) (*guardian.User, error) {
	return s.findUser(ctx, "id = ?", id)
}

// FindUserByName implements [guardian.UserStore].
func (s *Store) FindUserByName(ctx context.Context, name string) (*guardian.User, error) {
	return s.findUser(ctx, "name = ?", name)
}

func (s *Store) findUser(ctx context.Context, where string, arg any) (*guardian.User, error) {
	var u guardian.User
	var r userRow
	err := s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE `+where, []any{arg}, r.dest(&u)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, guardian.Errorf(guardian.ENOTFOUND, "User not found.")
	} else if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	if err := r.finish(&u); err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	return &u, nil
}

// FindUsers implements [guardian.UserStore].
func (s *Store) FindUsers(ctx context.Context, f guardian.UserFilter) ([]*guardian.User, error) {
	where, args := []string{"id > ?"}, []any{f.AfterID}
	if f.Organisation != nil {
		where, args = append(where, "organisation = ?"), append(args, f.Organisation.String())
	}
	if f.Disabled != nil {
		where, args = append(where, "disabled = ?"), append(args, *f.Disabled)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultUserPage
	}
	limit = min(limit, maxUserPage)
	args = append(args, limit)
	rows, err := s.readDB.QueryContext(ctx, s.d.Rebind(`SELECT `+userColumns+` FROM users WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`), args...)
	if err != nil {
		return nil, fmt.Errorf("find users: %w", s.d.FormatError(err))
	}
	defer rows.Close()
	var users []*guardian.User
	for rows.Next() {
		var u guardian.User
		var r userRow
		if err := rows.Scan(r.dest(&u)...); err != nil {
			return nil, fmt.Errorf("find users: %w", s.d.FormatError(err))
		}
		if err := r.finish(&u); err != nil {
			return nil, fmt.Errorf("find users: %w", err)
		}
		users = append(users, &u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find users: %w", s.d.FormatError(err))
	}
	return users, nil
}

// userRow holds the columns of a user that need converting after the scan.
type userRow struct {
	organisation, roles, recovery string
}

func (r *userRow) dest(u *guardian.User) []any {
	return []any{&u.ID, &u.Name, &u.DisplayName, &u.Email, &r.organisation, &r.roles, &u.PasswordHash,
		&u.TOTPSecret, &u.TOTPLastStep, &r.recovery,
		nullTimeScanner{&u.VettingExpiresAt}, nullTimeScanner{&u.TrainingExpiresAt},
		&u.Disabled, &u.FailedSignIns, nullTimeScanner{&u.LockedUntil}, &u.Language, &u.TimeZone,
		timeScanner{&u.CreatedAt}, timeScanner{&u.UpdatedAt}}
}

func (r *userRow) finish(u *guardian.User) error {
	o, err := guardian.ParseOrganisation(r.organisation)
	if err != nil {
		return fmt.Errorf("user %d: %w", u.ID, err)
	}
	u.Organisation = o
	for _, name := range strings.Split(r.roles, ",") {
		u.Roles = append(u.Roles, guardian.Role(name))
	}
	if r.recovery != "" {
		u.RecoveryCodeHashes = strings.Split(r.recovery, ",")
	}
	return nil
}

func joinRoles(roles []guardian.Role) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return strings.Join(names, ",")
}

// slicesContainsComma reports whether a role or hash would break the
// comma-separated columns.
func slicesContainsComma(roles []guardian.Role, hashes []string) bool {
	for _, r := range roles {
		if r == "" || strings.Contains(string(r), ",") {
			return true
		}
	}
	for _, h := range hashes {
		if h == "" || strings.Contains(h, ",") {
			return true
		}
	}
	return false
}

// nullTime converts an optional time into its column value, NULL for nil.
func (tx *tx) nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return tx.t(t.UTC().Truncate(time.Microsecond))
}

// UpdateUser implements [guardian.UserStore]. The user's row is locked for
// the transaction, so that concurrent updates apply one after the other;
// disabling a user ends their sessions in the same transaction, recorded by
// one session.end event (Reason "disabled") after ev.
func (s *Store) UpdateUser(ctx context.Context, id int64, upd guardian.UserUpdate, ev *guardian.AuditEvent) (*guardian.User, error) {
	if upd.Roles != nil && (len(*upd.Roles) == 0 || slicesContainsComma(*upd.Roles, nil)) {
		return nil, guardian.Errorf(guardian.EINVALID, "A user needs at least one role.")
	}
	var u guardian.User
	err := s.update(ctx, func(tx *tx) error {
		var r userRow
		err := tx.queryRow(`SELECT `+userColumns+` FROM users WHERE id = ?`+tx.d.LockRow(), []any{id}, r.dest(&u)...)
		if errors.Is(err, sql.ErrNoRows) {
			return guardian.Errorf(guardian.ENOTFOUND, "User not found.")
		} else if err != nil {
			return fmt.Errorf("read user: %w", err)
		}
		if err := r.finish(&u); err != nil {
			return err
		}
		wasDisabled := u.Disabled
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		set(&u.DisplayName, upd.DisplayName)
		set(&u.Email, upd.Email)
		set(&u.Language, upd.Language)
		set(&u.TimeZone, upd.TimeZone)
		if upd.Roles != nil {
			u.Roles = append([]guardian.Role(nil), *upd.Roles...)
		}
		if upd.VettingExpiresAt != nil {
			t := upd.VettingExpiresAt.UTC().Truncate(time.Microsecond)
			u.VettingExpiresAt = &t
		}
		if upd.TrainingExpiresAt != nil {
			t := upd.TrainingExpiresAt.UTC().Truncate(time.Microsecond)
			u.TrainingExpiresAt = &t
		}
		if upd.Disabled != nil {
			u.Disabled = *upd.Disabled
		}
		u.UpdatedAt = tx.now
		if _, err := tx.exec(`
			UPDATE users SET display_name = ?, email = ?, roles = ?, vetting_expires_at = ?, training_expires_at = ?,
				disabled = ?, language = ?, time_zone = ?, updated_at = ?
			WHERE id = ?`,
			u.DisplayName, u.Email, joinRoles(u.Roles), tx.nullTime(u.VettingExpiresAt), tx.nullTime(u.TrainingExpiresAt),
			u.Disabled, u.Language, u.TimeZone, tx.t(tx.now), id); err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if ev != nil && ev.Category == "" {
			ev.Category = guardian.CategoryAlteration
			if upd.Roles != nil || upd.Disabled != nil {
				ev.Category = guardian.CategoryPermission
			}
		}
		uid := strconv.FormatInt(id, 10)
		if err := recordSuccess(tx, ev, "user", uid, 0, ""); err != nil {
			return err
		}
		if !u.Disabled || wasDisabled {
			return nil
		}
		res, err := tx.exec(`DELETE FROM sessions WHERE user_id = ?`, id)
		if err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		end := &guardian.AuditEvent{Actor: ev.Actor, Category: guardian.CategoryAuthentication, Action: "session.end",
			Reason: "disabled", RequestID: ev.RequestID, ClientAddr: ev.ClientAddr}
		return recordSuccess(tx, end, "session", uid, 0, "")
	})
	if err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	return &u, nil
}
