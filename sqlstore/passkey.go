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

var _ guardian.PasskeyStore = (*Store)(nil)

// Bounds of what a passkey's row keeps. A credential id is at most 1023
// bytes (WebAuthn §4, "Credential ID"). A COSE public key is some 77 bytes
// for P-256 and about 550 for RSA-4096; 8 KiB leaves room for the large
// post-quantum keys go-webauthn can verify, and no more.
const (
	maxCredentialID      = 1023
	maxPasskeyKey        = 8 << 10
	maxPasskeyText       = 64 // attestation type, and each transport
	maxPasskeyTransports = 8  // transports of one passkey
)

// passkeyColumns are the columns passkeyDest scans, in its order.
const passkeyColumns = `id, user_id, name, credential_id, public_key, aaguid, sign_count, transports,
	backup_eligible, backup_state, attestation_type, created_at, last_used_at`

// passkeyRow holds the columns of a passkey that need converting after the
// scan.
type passkeyRow struct {
	signCount  int64
	transports string
}

func (r *passkeyRow) dest(p *guardian.Passkey) []any {
	return []any{&p.ID, &p.UserID, &p.Name, &p.CredentialID, &p.PublicKey, &p.AAGUID, &r.signCount, &r.transports,
		&p.BackupEligible, &p.BackupState, &p.AttestationType, timeScanner{&p.CreatedAt}, nullTimeScanner{&p.LastUsedAt}}
}

func (r *passkeyRow) finish(p *guardian.Passkey) error {
	if r.signCount < 0 || r.signCount > int64(^uint32(0)) {
		return fmt.Errorf("passkey %d: sign count %d out of range", p.ID, r.signCount)
	}
	p.SignCount = uint32(r.signCount)
	if r.transports != "" {
		p.Transports = strings.Split(r.transports, ",")
	}
	if len(p.AAGUID) == 0 {
		p.AAGUID = nil // NULL, whichever way the driver scans it
	}
	return nil
}

// checkPasskey refuses a passkey the table would not keep, or keep badly,
// with a message fit for the person who tried to add it.
func checkPasskey(p *guardian.Passkey) error {
	if p == nil || p.UserID == 0 {
		return guardian.Errorf(guardian.EINVALID, "A passkey needs a user.")
	}
	if err := guardian.CheckPasskeyName(p.Name); err != nil {
		return err
	}
	switch {
	case len(p.CredentialID) == 0 || len(p.CredentialID) > maxCredentialID:
		return guardian.Errorf(guardian.EINVALID, "A passkey's credential id is 1 to %d bytes.", maxCredentialID)
	case len(p.PublicKey) == 0 || len(p.PublicKey) > maxPasskeyKey:
		return guardian.Errorf(guardian.EINVALID, "A passkey's public key is 1 to %d bytes.", maxPasskeyKey)
	case len(p.AAGUID) != 0 && len(p.AAGUID) != 16:
		return guardian.Errorf(guardian.EINVALID, "A passkey's AAGUID is 16 bytes.")
	case len(p.AttestationType) > maxPasskeyText:
		return guardian.Errorf(guardian.EINVALID, "A passkey's attestation type is at most %d characters.", maxPasskeyText)
	case p.BackupState && !p.BackupEligible:
		return guardian.Errorf(guardian.EINVALID, "A passkey cannot be backed up without being eligible for backup.")
	case !validTransports(p.Transports):
		return guardian.Errorf(guardian.EINVALID, "A passkey has at most %d transports, each a short lower-case word such as \"usb\".", maxPasskeyTransports)
	}
	return nil
}

// validTransports reports whether the transports fit the comma-separated
// column: few, none empty, each lower-case letters, digits and hyphens
// (the WebAuthn names are "usb", "nfc", "ble", "smart-card", "hybrid",
// "internal").
func validTransports(ts []string) bool {
	if len(ts) > maxPasskeyTransports {
		return false
	}
	for _, t := range ts {
		if t == "" || len(t) > maxPasskeyText {
			return false
		}
		for _, c := range t {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
	}
	return true
}

// passkeyEventReason is the Reason of a passkey's audit event, unless the
// caller gave one: the passkey's id, since the object id names the user.
func passkeyEventReason(ev *guardian.AuditEvent, id int64) {
	if ev != nil && ev.Reason == "" {
		ev.Reason = strconv.FormatInt(id, 10)
	}
}

// AddPasskey implements [guardian.PasskeyStore]. The user's row is locked
// first, so that two passkeys added at once are counted one after the
// other against [guardian.MaxPasskeysPerUser], and a passkey cannot be
// added while the user is being disabled.
func (s *Store) AddPasskey(ctx context.Context, p *guardian.Passkey, ev *guardian.AuditEvent) error {
	if err := checkPasskey(p); err != nil {
		return err
	}
	defaultCategory(ev, guardian.CategoryAuthentication)
	var aaguid any // NULL for none, whatever the driver makes of a nil []byte
	if len(p.AAGUID) > 0 {
		aaguid = p.AAGUID
	}
	err := s.update(ctx, func(tx *tx) error {
		u, err := lockUser(tx, p.UserID)
		if err != nil {
			return err
		}
		if u.Disabled {
			return guardian.Errorf(guardian.EUNAUTHORIZED, "This account is disabled.")
		}
		var n int
		if err := tx.queryRow(`SELECT COUNT(*) FROM passkeys WHERE user_id = ?`, []any{p.UserID}, &n); err != nil {
			return fmt.Errorf("count passkeys: %w", err)
		}
		if n >= guardian.MaxPasskeysPerUser {
			return guardian.Errorf(guardian.ECONFLICT, "You have %d passkeys, the most one person may have: remove one before adding another.", n)
		}
		var id int64
		err = tx.queryRow(`
			INSERT INTO passkeys (user_id, name, credential_id, public_key, aaguid, sign_count, transports,
				backup_eligible, backup_state, attestation_type, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			RETURNING id`,
			[]any{p.UserID, p.Name, p.CredentialID, p.PublicKey, aaguid, int64(p.SignCount), strings.Join(p.Transports, ","),
				p.BackupEligible, p.BackupState, p.AttestationType, tx.t(tx.now)}, &id)
		if guardian.ErrorCode(err) == guardian.ECONFLICT {
			return fmt.Errorf("%w: %w", guardian.Errorf(guardian.ECONFLICT, "This passkey is registered already."), err)
		} else if err != nil {
			return fmt.Errorf("insert passkey: %w", err)
		}
		passkeyEventReason(ev, id)
		if err := recordSuccess(tx, ev, "passkey", strconv.FormatInt(p.UserID, 10), 0, ""); err != nil {
			return err
		}
		p.ID, p.CreatedAt, p.LastUsedAt = id, tx.now, nil
		return nil
	})
	if err != nil {
		return fmt.Errorf("add passkey: %w", err)
	}
	return nil
}

// FindPasskeys implements [guardian.PasskeyStore].
func (s *Store) FindPasskeys(ctx context.Context, userID int64) ([]*guardian.Passkey, error) {
	rows, err := s.readDB.QueryContext(ctx, s.d.Rebind(`SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = ? ORDER BY id`), userID)
	if err != nil {
		return nil, fmt.Errorf("find passkeys: %w", s.d.FormatError(err))
	}
	defer rows.Close()
	var keys []*guardian.Passkey
	for rows.Next() {
		var p guardian.Passkey
		var r passkeyRow
		if err := rows.Scan(r.dest(&p)...); err != nil {
			return nil, fmt.Errorf("find passkeys: %w", s.d.FormatError(err))
		}
		if err := r.finish(&p); err != nil {
			return nil, fmt.Errorf("find passkeys: %w", err)
		}
		keys = append(keys, &p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find passkeys: %w", s.d.FormatError(err))
	}
	return keys, nil
}

var errPasskeyNotFound = guardian.Errorf(guardian.ENOTFOUND, "Passkey not found.")

// RecordPasskeyUse implements [guardian.PasskeyStore]. The compare and the
// set are one UPDATE, so that of two sign-ins with the same count (a
// replayed assertion, or two copies of one authenticator) exactly one wins
// on either database.
func (s *Store) RecordPasskeyUse(ctx context.Context, id int64, signCount uint32, at time.Time) error {
	at = at.UTC().Truncate(time.Microsecond)
	err := s.update(ctx, func(tx *tx) error {
		res, err := tx.exec(`UPDATE passkeys SET sign_count = ?, last_used_at = ? WHERE id = ? AND (sign_count = 0 OR sign_count < ?)`,
			int64(signCount), tx.t(at), id, int64(signCount))
		if err != nil {
			return fmt.Errorf("update passkey: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("update passkey: %w", err)
		}
		if n == 1 {
			return nil
		}
		// Nothing changed: tell a missing passkey from a count that did
		// not go up.
		var stored int64
		err = tx.queryRow(`SELECT sign_count FROM passkeys WHERE id = ?`, []any{id}, &stored)
		if errors.Is(err, sql.ErrNoRows) {
			return errPasskeyNotFound
		} else if err != nil {
			return fmt.Errorf("read passkey: %w", err)
		}
		return guardian.Errorf(guardian.ECONFLICT,
			"This passkey's signature counter went from %d to %d, not up: it may have been copied. Sign in with another passkey and remove this one.",
			stored, signCount)
	})
	if err != nil {
		return fmt.Errorf("record passkey use: %w", err)
	}
	return nil
}

// DeletePasskey implements [guardian.PasskeyStore].
func (s *Store) DeletePasskey(ctx context.Context, userID, id int64, ev *guardian.AuditEvent) error {
	defaultCategory(ev, guardian.CategoryAuthentication)
	err := s.update(ctx, func(tx *tx) error {
		var deleted int64
		err := tx.queryRow(`DELETE FROM passkeys WHERE id = ? AND user_id = ? RETURNING id`, []any{id, userID}, &deleted)
		if errors.Is(err, sql.ErrNoRows) {
			return errPasskeyNotFound
		} else if err != nil {
			return fmt.Errorf("delete passkey: %w", err)
		}
		passkeyEventReason(ev, deleted)
		return recordSuccess(tx, ev, "passkey", strconv.FormatInt(userID, 10), 0, "")
	})
	if err != nil {
		return fmt.Errorf("delete passkey: %w", err)
	}
	return nil
}
