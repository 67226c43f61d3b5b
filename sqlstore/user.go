package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
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

var _ guardian.UserStore = (*Store)(nil)

// CreateUser adds a user and sets ID, CreatedAt and UpdatedAt (see
// [guardian.UserStore]).
func (s *Store) CreateUser(ctx context.Context, u *guardian.User, ev *guardian.AuditEvent) error {
	switch {
	case u == nil || u.Name == "" || u.Organisation.IsZero() || len(u.Roles) == 0:
		return guardian.Errorf(guardian.EINVALID, "A user needs a name, an organisation and a role.")
	case !validRoles(u.Roles):
		return guardian.Errorf(guardian.EINVALID, "Unknown role.")
	case !validHashList(u.RecoveryCodeHashes):
		return guardian.Errorf(guardian.EINVALID, "A recovery code hash is empty or contains a comma.")
	}
	if err := checkUserText(u.Name, u.DisplayName, u.Email, u.Language, u.TimeZone); err != nil {
		return err
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

// validRoles reports whether every role is a known one (and so none breaks
// the comma-separated column).
func validRoles(roles []guardian.Role) bool {
	for _, r := range roles {
		if !r.Valid() {
			return false
		}
	}
	return true
}

// maxUserText bounds each of a user's names, email, language and time
// zone.
const maxUserText = 256

// checkUserText refuses a name, email, language or time zone longer than
// maxUserText.
func checkUserText(values ...string) error {
	for _, v := range values {
		if len(v) > maxUserText {
			return guardian.Errorf(guardian.EINVALID, "A user's names, email, language and time zone are at most %d characters.", maxUserText)
		}
	}
	return nil
}

// validHashList reports whether the hashes fit a comma-separated column:
// none empty, none with a comma.
func validHashList(hashes []string) bool {
	for _, h := range hashes {
		if h == "" || strings.Contains(h, ",") {
			return false
		}
	}
	return true
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
	if upd.Roles != nil && len(*upd.Roles) == 0 {
		return nil, guardian.Errorf(guardian.EINVALID, "A user needs at least one role.")
	}
	if upd.Roles != nil && !validRoles(*upd.Roles) {
		return nil, guardian.Errorf(guardian.EINVALID, "Unknown role.")
	}
	for _, v := range []*string{upd.DisplayName, upd.Email, upd.Language, upd.TimeZone} {
		if v != nil {
			if err := checkUserText(*v); err != nil {
				return nil, err
			}
		}
	}
	var u guardian.User
	err := s.update(ctx, func(tx *tx) error {
		locked, err := lockUser(tx, id)
		if err != nil {
			return err
		}
		u = *locked
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
		if err := recordSuccess(tx, ev, "user", strconv.FormatInt(id, 10), 0, ""); err != nil {
			return err
		}
		if !u.Disabled || wasDisabled {
			return nil
		}
		_, err = endSessions(tx, ev, id, "", "disabled")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	return &u, nil
}

// lockUser reads the user's row and locks it for the rest of the
// transaction (FOR UPDATE on PostgreSQL; SQLite's single writer excludes
// everyone), so that the sign-ins, credential changes and sessions of one
// user apply one after the other.
func lockUser(tx *tx, id int64) (*guardian.User, error) {
	var u guardian.User
	var r userRow
	err := tx.queryRow(`SELECT `+userColumns+` FROM users WHERE id = ?`+tx.d.LockRow(), []any{id}, r.dest(&u)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, guardian.Errorf(guardian.ENOTFOUND, "User not found.")
	} else if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	if err := r.finish(&u); err != nil {
		return nil, err
	}
	return &u, nil
}

// defaultCategory gives ev the category that the audit table of
// guardian.UserStore names for its action, if the caller left it empty.
func defaultCategory(ev *guardian.AuditEvent, c guardian.AuditCategory) {
	if ev != nil && ev.Category == "" {
		ev.Category = c
	}
}

// followingEvent returns the event of a change that ev's change brought
// with it (a lock after a failure, sessions ended by a reset): the same
// actor and request, its own action and reason.
func followingEvent(ev *guardian.AuditEvent, action, reason string) *guardian.AuditEvent {
	return &guardian.AuditEvent{Actor: ev.Actor, Category: guardian.CategoryAuthentication, Action: action,
		Reason: reason, RequestID: ev.RequestID, ClientAddr: ev.ClientAddr}
}

// recordFailure completes ev as the record of a failed attempt on the
// object named, in tx, and appends it.
func recordFailure(tx *tx, ev *guardian.AuditEvent, objectKind, objectID string) error {
	if ev == nil {
		return errors.New("audit event missing: every failure is recorded")
	}
	ev.Time = tx.now
	ev.Outcome = guardian.OutcomeFailure
	if ev.ObjectKind == "" {
		ev.ObjectKind, ev.ObjectID = objectKind, objectID
	}
	return appendAuditEvent(tx, ev)
}

// endSessions deletes the user's sessions other than keep ("" for none)
// and, if there were any, records one session.end event with reason after
// ev. It returns how many it ended.
func endSessions(tx *tx, ev *guardian.AuditEvent, userID int64, keep, reason string) (int, error) {
	res, err := tx.exec(`DELETE FROM sessions WHERE user_id = ? AND hash <> ?`, userID, keep)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return 0, err
	}
	return int(n), recordSuccess(tx, followingEvent(ev, "session.end", reason), "session", strconv.FormatInt(userID, 10), 0, "")
}

// SetUserPassword implements [guardian.UserStore]. The sessions it ends
// are recorded by one session.end event (Reason "password") after ev.
func (s *Store) SetUserPassword(ctx context.Context, id int64, hash, keep string, ev *guardian.AuditEvent) error {
	if hash == "" {
		return guardian.Errorf(guardian.EINVALID, "A password hash is required.")
	}
	defaultCategory(ev, guardian.CategoryAuthentication)
	err := s.update(ctx, func(tx *tx) error {
		if _, err := lockUser(tx, id); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, tx.t(tx.now), id); err != nil {
			return fmt.Errorf("update password: %w", err)
		}
		if err := recordSuccess(tx, ev, "user", strconv.FormatInt(id, 10), 0, ""); err != nil {
			return err
		}
		_, err := endSessions(tx, ev, id, keep, "password")
		return err
	})
	if err != nil {
		return fmt.Errorf("set user password: %w", err)
	}
	return nil
}

// SetUserMFA implements [guardian.UserStore]. The sessions it ends are
// recorded by one session.end event (Reason "mfa") after ev.
func (s *Store) SetUserMFA(ctx context.Context, id int64, secret []byte, recoveryHashes []string, ev *guardian.AuditEvent) error {
	switch {
	case secret == nil && len(recoveryHashes) > 0:
		return guardian.Errorf(guardian.EINVALID, "Recovery codes need a TOTP secret.")
	case !validHashList(recoveryHashes):
		return guardian.Errorf(guardian.EINVALID, "A recovery code hash is empty or contains a comma.")
	}
	var totp any // NULL for a reset, whatever the driver makes of a nil []byte
	if secret != nil {
		totp = secret
	}
	defaultCategory(ev, guardian.CategoryAuthentication)
	err := s.update(ctx, func(tx *tx) error {
		if _, err := lockUser(tx, id); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE users SET totp_secret = ?, totp_last_step = 0, recovery_hashes = ?, updated_at = ? WHERE id = ?`,
			totp, strings.Join(recoveryHashes, ","), tx.t(tx.now), id); err != nil {
			return fmt.Errorf("update second factor: %w", err)
		}
		if err := recordSuccess(tx, ev, "user", strconv.FormatInt(id, 10), 0, ""); err != nil {
			return err
		}
		_, err := endSessions(tx, ev, id, "", "mfa")
		return err
	})
	if err != nil {
		return fmt.Errorf("set user mfa: %w", err)
	}
	return nil
}

// RecordSignInFailure implements [guardian.UserStore]. The events are
// appended in the order things happened: user.unlock (Reason "expired") if
// fn cleared an expired lock, ev, then user.lock (Reason "failures") if fn
// set a new lock. The follow-up events carry ev's actor and request.
func (s *Store) RecordSignInFailure(ctx context.Context, id int64, fn guardian.LockoutFunc, ev *guardian.AuditEvent) (*guardian.User, error) {
	defaultCategory(ev, guardian.CategoryAuthentication)
	var u *guardian.User
	err := s.update(ctx, func(tx *tx) error {
		var err error
		if u, err = lockUser(tx, id); err != nil {
			return err
		}
		if ev == nil {
			return errors.New("audit event missing: every failure is recorded")
		}
		old := u.LockedUntil
		failures, until := fn(u.FailedSignIns, old, tx.now)
		if until != nil {
			t := until.UTC().Truncate(time.Microsecond)
			until = &t
		}
		unchanged := until != nil && old != nil && until.Equal(*old)
		if _, err := tx.exec(`UPDATE users SET failed_signins = ?, locked_until = ? WHERE id = ?`,
			failures, tx.nullTime(until), id); err != nil {
			return fmt.Errorf("update failures: %w", err)
		}
		u.FailedSignIns, u.LockedUntil = failures, until
		uid := strconv.FormatInt(id, 10)
		if old != nil && !tx.now.Before(*old) && !unchanged {
			if err := recordSuccess(tx, followingEvent(ev, "user.unlock", "expired"), "user", uid, 0, ""); err != nil {
				return err
			}
		}
		if err := recordFailure(tx, ev, "user", uid); err != nil {
			return err
		}
		if until != nil && !unchanged {
			return recordSuccess(tx, followingEvent(ev, "user.lock", "failures"), "user", uid, 0, "")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record sign-in failure: %w", err)
	}
	return u, nil
}

// RecordSignIn implements [guardian.UserStore]. Beyond the contract, it
// refuses (EUNAUTHORIZED, nothing changed) a user who is disabled or whose
// lock is still in force: the caller checked both before verifying the
// factors, and a disable or a lock that came in between wins. An expired
// lock is cleared and recorded by a user.unlock event (Reason "expired")
// before ev.
func (s *Store) RecordSignIn(ctx context.Context, id int64, totpStep int64, ev *guardian.AuditEvent) error {
	defaultCategory(ev, guardian.CategoryAuthentication)
	err := s.update(ctx, func(tx *tx) error {
		u, err := lockUser(tx, id)
		if err != nil {
			return err
		}
		switch {
		case u.Disabled:
			return guardian.Errorf(guardian.EUNAUTHORIZED, "This account is disabled.")
		case u.LockedUntil != nil && tx.now.Before(*u.LockedUntil):
			return guardian.Errorf(guardian.EUNAUTHORIZED, "This account is locked.")
		case totpStep != 0 && totpStep <= u.TOTPLastStep:
			return guardian.Errorf(guardian.ECONFLICT, "This code has been used already; wait for the next one.")
		}
		step := max(totpStep, u.TOTPLastStep)
		if _, err := tx.exec(`UPDATE users SET failed_signins = 0, locked_until = NULL, totp_last_step = ? WHERE id = ?`, step, id); err != nil {
			return fmt.Errorf("update sign-in: %w", err)
		}
		uid := strconv.FormatInt(id, 10)
		if u.LockedUntil != nil && ev != nil {
			if err := recordSuccess(tx, followingEvent(ev, "user.unlock", "expired"), "user", uid, 0, ""); err != nil {
				return err
			}
		}
		return recordSuccess(tx, ev, "user", uid, 0, "")
	})
	if err != nil {
		return fmt.Errorf("record sign-in: %w", err)
	}
	return nil
}

// UseRecoveryCode implements [guardian.UserStore].
func (s *Store) UseRecoveryCode(ctx context.Context, id int64, hash string, ev *guardian.AuditEvent) error {
	defaultCategory(ev, guardian.CategoryAuthentication)
	err := s.update(ctx, func(tx *tx) error {
		u, err := lockUser(tx, id)
		if err != nil {
			return err
		}
		i := slices.Index(u.RecoveryCodeHashes, hash)
		if hash == "" || i < 0 {
			return guardian.Errorf(guardian.ENOTFOUND, "This recovery code is not valid or has been used.")
		}
		rest := slices.Delete(u.RecoveryCodeHashes, i, i+1)
		if _, err := tx.exec(`UPDATE users SET recovery_hashes = ? WHERE id = ?`, strings.Join(rest, ","), id); err != nil {
			return fmt.Errorf("update recovery codes: %w", err)
		}
		return recordSuccess(tx, ev, "user", strconv.FormatInt(id, 10), 0, "")
	})
	if err != nil {
		return fmt.Errorf("use recovery code: %w", err)
	}
	return nil
}

// UnlockUser implements [guardian.UserStore]. It records ev whether or not
// the account was locked: the administrator acted.
func (s *Store) UnlockUser(ctx context.Context, id int64, ev *guardian.AuditEvent) error {
	defaultCategory(ev, guardian.CategoryAuthentication)
	err := s.update(ctx, func(tx *tx) error {
		if _, err := lockUser(tx, id); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE users SET failed_signins = 0, locked_until = NULL, updated_at = ? WHERE id = ?`, tx.t(tx.now), id); err != nil {
			return fmt.Errorf("unlock user: %w", err)
		}
		return recordSuccess(tx, ev, "user", strconv.FormatInt(id, 10), 0, "")
	})
	if err != nil {
		return fmt.Errorf("unlock user: %w", err)
	}
	return nil
}

// sessionColumns are the columns scanSession reads, in its order.
const sessionColumns = `hash, user_id, created_at, last_seen_at, locked, client_addr`

func sessionDest(s *guardian.Session) []any {
	return []any{&s.Hash, &s.UserID, timeScanner{&s.CreatedAt}, timeScanner{&s.LastSeenAt}, &s.Locked, &s.ClientAddr}
}

// maxClientAddr bounds the client address kept with a session: an IPv6
// address with a zone and port fits well within it.
const maxClientAddr = 100

// CreateSession implements [guardian.UserStore]. The user's row is locked
// first, so that a session cannot be created for a user while they are
// being disabled (which ends their sessions): a disabled user's session is
// refused with EUNAUTHORIZED.
func (s *Store) CreateSession(ctx context.Context, ses *guardian.Session, ev *guardian.AuditEvent) error {
	switch {
	case ses == nil || !isLowerHex(ses.Hash, 64):
		return guardian.Errorf(guardian.EINVALID, "A session hash is 64 lower-case hex digits.")
	case ses.UserID == 0 || ses.CreatedAt.IsZero() || ses.LastSeenAt.IsZero():
		return guardian.Errorf(guardian.EINVALID, "A session needs a user, a creation time and a last-seen time.")
	case len(ses.ClientAddr) > maxClientAddr:
		return guardian.Errorf(guardian.EINVALID, "A client address is at most %d characters.", maxClientAddr)
	}
	ses.CreatedAt = ses.CreatedAt.UTC().Truncate(time.Microsecond)
	ses.LastSeenAt = ses.LastSeenAt.UTC().Truncate(time.Microsecond)
	defaultCategory(ev, guardian.CategoryAuthentication)
	err := s.update(ctx, func(tx *tx) error {
		u, err := lockUser(tx, ses.UserID)
		if err != nil {
			return err
		}
		if u.Disabled {
			return guardian.Errorf(guardian.EUNAUTHORIZED, "This account is disabled.")
		}
		if _, err := tx.exec(`INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
			ses.Hash, ses.UserID, tx.t(ses.CreatedAt), tx.t(ses.LastSeenAt), ses.Locked, ses.ClientAddr); err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		return recordSuccess(tx, ev, "session", strconv.FormatInt(ses.UserID, 10), 0, "")
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// FindSessionByHash implements [guardian.UserStore].
func (s *Store) FindSessionByHash(ctx context.Context, hash string) (*guardian.Session, error) {
	var ses guardian.Session
	err := s.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE hash = ?`, []any{hash}, sessionDest(&ses)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errSessionNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find session: %w", err)
	}
	return &ses, nil
}

var errSessionNotFound = guardian.Errorf(guardian.ENOTFOUND, "Session not found.")

// TouchSession implements [guardian.UserStore]. LastSeenAt only moves
// forward: of two requests touching at once, the later time stays.
func (s *Store) TouchSession(ctx context.Context, hash string, at time.Time) error {
	at = at.UTC().Truncate(time.Microsecond)
	err := s.update(ctx, func(tx *tx) error {
		var seen time.Time
		err := tx.queryRow(`SELECT last_seen_at FROM sessions WHERE hash = ?`+tx.d.LockRow(), []any{hash}, timeScanner{&seen})
		if errors.Is(err, sql.ErrNoRows) {
			return errSessionNotFound
		} else if err != nil {
			return fmt.Errorf("read session: %w", err)
		}
		if !at.After(seen) {
			return nil
		}
		_, err = tx.exec(`UPDATE sessions SET last_seen_at = ? WHERE hash = ?`, tx.t(at), hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// LockSession implements [guardian.UserStore]. Locking a locked session
// changes nothing and records nothing, so that requests racing to lock it
// leave one session.lock event.
func (s *Store) LockSession(ctx context.Context, hash string, ev *guardian.AuditEvent) error {
	defaultCategory(ev, guardian.CategoryAuthentication)
	err := s.update(ctx, func(tx *tx) error {
		ses, err := lockSession(tx, hash)
		if err != nil || ses.Locked {
			return err
		}
		if _, err := tx.exec(`UPDATE sessions SET locked = ? WHERE hash = ?`, true, hash); err != nil {
			return fmt.Errorf("lock session: %w", err)
		}
		return recordSuccess(tx, ev, "session", strconv.FormatInt(ses.UserID, 10), 0, "")
	})
	if err != nil {
		return fmt.Errorf("lock session: %w", err)
	}
	return nil
}

// UnlockSession implements [guardian.UserStore]. It records ev even for a
// session that was not locked: the person gave the password again.
func (s *Store) UnlockSession(ctx context.Context, hash string, ev *guardian.AuditEvent) error {
	defaultCategory(ev, guardian.CategoryAuthentication)
	err := s.update(ctx, func(tx *tx) error {
		ses, err := lockSession(tx, hash)
		if err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE sessions SET locked = ?, last_seen_at = ? WHERE hash = ?`, false, tx.t(tx.now), hash); err != nil {
			return fmt.Errorf("unlock session: %w", err)
		}
		return recordSuccess(tx, ev, "session", strconv.FormatInt(ses.UserID, 10), 0, "")
	})
	if err != nil {
		return fmt.Errorf("unlock session: %w", err)
	}
	return nil
}

// lockSession reads a session and locks its row for the transaction.
func lockSession(tx *tx, hash string) (*guardian.Session, error) {
	var ses guardian.Session
	err := tx.queryRow(`SELECT `+sessionColumns+` FROM sessions WHERE hash = ?`+tx.d.LockRow(), []any{hash}, sessionDest(&ses)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errSessionNotFound
	} else if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	return &ses, nil
}

// DeleteSession implements [guardian.UserStore]. A session that is gone
// already (ended by a concurrent request) is ENOTFOUND and records nothing.
func (s *Store) DeleteSession(ctx context.Context, hash string, ev *guardian.AuditEvent) error {
	defaultCategory(ev, guardian.CategoryAuthentication)
	err := s.update(ctx, func(tx *tx) error {
		var userID int64
		err := tx.queryRow(`DELETE FROM sessions WHERE hash = ? RETURNING user_id`, []any{hash}, &userID)
		if errors.Is(err, sql.ErrNoRows) {
			return errSessionNotFound
		} else if err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		return recordSuccess(tx, ev, "session", strconv.FormatInt(userID, 10), 0, "")
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions implements [guardian.UserStore]. An unknown user is
// ENOTFOUND; ev is recorded only if there were sessions to end. The user's
// row is locked, so that no session is created meanwhile.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64, ev *guardian.AuditEvent) (int, error) {
	defaultCategory(ev, guardian.CategoryAuthentication)
	var n int
	err := s.update(ctx, func(tx *tx) error {
		if _, err := lockUser(tx, userID); err != nil {
			return err
		}
		res, err := tx.exec(`DELETE FROM sessions WHERE user_id = ?`, userID)
		if err != nil {
			return fmt.Errorf("delete sessions: %w", err)
		}
		ended, err := res.RowsAffected()
		if err != nil || ended == 0 {
			return err
		}
		n = int(ended)
		return recordSuccess(tx, ev, "session", strconv.FormatInt(userID, 10), 0, "")
	})
	if err != nil {
		return 0, fmt.Errorf("delete user sessions: %w", err)
	}
	return n, nil
}

// DeleteExpiredSessions implements [guardian.UserStore]. The event names
// no user (it may end the sessions of many); its Reason is "expired"
// unless the caller gave one.
func (s *Store) DeleteExpiredSessions(ctx context.Context, createdBefore time.Time, ev *guardian.AuditEvent) (int, error) {
	defaultCategory(ev, guardian.CategoryAuthentication)
	if ev != nil && ev.Reason == "" {
		ev.Reason = "expired"
	}
	var n int
	err := s.update(ctx, func(tx *tx) error {
		res, err := tx.exec(`DELETE FROM sessions WHERE created_at < ?`, tx.t(createdBefore.UTC().Truncate(time.Microsecond)))
		if err != nil {
			return fmt.Errorf("delete sessions: %w", err)
		}
		ended, err := res.RowsAffected()
		if err != nil || ended == 0 {
			return err
		}
		n = int(ended)
		return recordSuccess(tx, ev, "session", "", 0, "")
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return n, nil
}

// apiTokenColumns are the columns apiTokenRow reads, in its order.
const apiTokenColumns = `id, name, token_hash, organisation, role, created_at, expires_at, revoked_at, last_used_at`

// apiTokenRow holds the columns of a token that need converting.
type apiTokenRow struct{ organisation, role string }

func (r *apiTokenRow) dest(t *guardian.APIToken) []any {
	return []any{&t.ID, &t.Name, &t.Hash, &r.organisation, &r.role, timeScanner{&t.CreatedAt}, timeScanner{&t.ExpiresAt},
		nullTimeScanner{&t.RevokedAt}, nullTimeScanner{&t.LastUsedAt}}
}

func (r *apiTokenRow) finish(t *guardian.APIToken) error {
	o, err := guardian.ParseOrganisation(r.organisation)
	if err != nil {
		return fmt.Errorf("token %d: %w", t.ID, err)
	}
	t.Organisation, t.Role = o, guardian.Role(r.role)
	return nil
}

// CreateAPIToken implements [guardian.UserStore]. A token that expires at
// or before the store's now is EINVALID: it could never be used.
func (s *Store) CreateAPIToken(ctx context.Context, t *guardian.APIToken, ev *guardian.AuditEvent) error {
	switch {
	case t == nil || t.Name == "" || t.Organisation.IsZero() || !t.Role.Valid():
		return guardian.Errorf(guardian.EINVALID, "A token needs a name, an organisation and a role.")
	case !isLowerHex(t.Hash, 64):
		return guardian.Errorf(guardian.EINVALID, "A token hash is 64 lower-case hex digits.")
	case t.ExpiresAt.IsZero():
		return guardian.Errorf(guardian.EINVALID, "A token needs an expiry.")
	}
	expires := t.ExpiresAt.UTC().Truncate(time.Microsecond)
	defaultCategory(ev, guardian.CategoryPermission)
	err := s.update(ctx, func(tx *tx) error {
		if !expires.After(tx.now) {
			return guardian.Errorf(guardian.EINVALID, "A token must expire in the future.")
		}
		err := tx.queryRow(`
			INSERT INTO client_tokens (name, token_hash, organisation, role, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)
			RETURNING id`,
			[]any{t.Name, t.Hash, t.Organisation.String(), string(t.Role), tx.t(tx.now), tx.t(expires)}, &t.ID)
		if guardian.ErrorCode(err) == guardian.ECONFLICT {
			return fmt.Errorf("%w: %w", guardian.Errorf(guardian.ECONFLICT, "Token %q already exists.", t.Name), err)
		} else if err != nil {
			return fmt.Errorf("insert token: %w", err)
		}
		t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsedAt = tx.now, expires, nil, nil
		return recordSuccess(tx, ev, "token", strconv.FormatInt(t.ID, 10), 0, "")
	})
	if err != nil {
		return fmt.Errorf("create API token: %w", err)
	}
	return nil
}

var errAPITokenNotFound = guardian.Errorf(guardian.ENOTFOUND, "Token not found.")

// FindAPITokenByHash implements [guardian.UserStore].
func (s *Store) FindAPITokenByHash(ctx context.Context, hash string) (*guardian.APIToken, error) {
	var t guardian.APIToken
	var r apiTokenRow
	err := s.queryRow(ctx, `SELECT `+apiTokenColumns+` FROM client_tokens WHERE token_hash = ?`, []any{hash}, r.dest(&t)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errAPITokenNotFound
	} else if err != nil {
		return nil, fmt.Errorf("find API token: %w", err)
	}
	if err := r.finish(&t); err != nil {
		return nil, fmt.Errorf("find API token: %w", err)
	}
	return &t, nil
}

// FindAPITokens implements [guardian.UserStore]. Tokens are created by
// hand, one per partner system, so the list is returned whole.
func (s *Store) FindAPITokens(ctx context.Context, f guardian.APITokenFilter) ([]*guardian.APIToken, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.Organisation != nil {
		where, args = append(where, "organisation = ?"), append(args, f.Organisation.String())
	}
	if !f.IncludeRevoked {
		where = append(where, "revoked_at IS NULL")
	}
	rows, err := s.readDB.QueryContext(ctx, s.d.Rebind(`SELECT `+apiTokenColumns+` FROM client_tokens WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id`), args...)
	if err != nil {
		return nil, fmt.Errorf("find API tokens: %w", s.d.FormatError(err))
	}
	defer rows.Close()
	var tokens []*guardian.APIToken
	for rows.Next() {
		var t guardian.APIToken
		var r apiTokenRow
		if err := rows.Scan(r.dest(&t)...); err != nil {
			return nil, fmt.Errorf("find API tokens: %w", s.d.FormatError(err))
		}
		if err := r.finish(&t); err != nil {
			return nil, fmt.Errorf("find API tokens: %w", err)
		}
		tokens = append(tokens, &t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find API tokens: %w", s.d.FormatError(err))
	}
	return tokens, nil
}

// RevokeAPIToken implements [guardian.UserStore]. Revoking a revoked token
// records nothing.
func (s *Store) RevokeAPIToken(ctx context.Context, id int64, ev *guardian.AuditEvent) error {
	defaultCategory(ev, guardian.CategoryPermission)
	err := s.update(ctx, func(tx *tx) error {
		var revoked *time.Time
		err := tx.queryRow(`SELECT revoked_at FROM client_tokens WHERE id = ?`+tx.d.LockRow(), []any{id}, nullTimeScanner{&revoked})
		if errors.Is(err, sql.ErrNoRows) {
			return errAPITokenNotFound
		} else if err != nil {
			return fmt.Errorf("read token: %w", err)
		} else if revoked != nil {
			return nil
		}
		if _, err := tx.exec(`UPDATE client_tokens SET revoked_at = ? WHERE id = ?`, tx.t(tx.now), id); err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		return recordSuccess(tx, ev, "token", strconv.FormatInt(id, 10), 0, "")
	})
	if err != nil {
		return fmt.Errorf("revoke API token: %w", err)
	}
	return nil
}

// TouchAPIToken implements [guardian.UserStore].
func (s *Store) TouchAPIToken(ctx context.Context, id int64, at time.Time, ev *guardian.AuditEvent) error {
	defaultCategory(ev, guardian.CategoryAuthentication)
	err := s.update(ctx, func(tx *tx) error {
		res, err := tx.exec(`UPDATE client_tokens SET last_used_at = ? WHERE id = ?`, tx.t(at.UTC().Truncate(time.Microsecond)), id)
		if err != nil {
			return fmt.Errorf("touch token: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errAPITokenNotFound
		}
		return recordSuccess(tx, ev, "token", strconv.FormatInt(id, 10), 0, "")
	})
	if err != nil {
		return fmt.Errorf("touch API token: %w", err)
	}
	return nil
}
