package guardian

import (
	"context"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Passkeys (WebAuthn credentials) are a second factor that people who sign
// in to the hub's pages may register beside their TOTP secret. Package
// passkey runs the WebAuthn ceremonies (the only package that knows
// go-webauthn); this file names what the store keeps.

// MaxPasskeysPerUser is how many passkeys one person may register. A few
// keys (a security key, a spare, a phone) are what a person needs; the bound
// keeps the list offered at sign-in, and the work of checking it, small.
const MaxPasskeysPerUser = 10

// MaxPasskeyName is the most characters a passkey's name may have.
const MaxPasskeyName = 64

// Passkey is one WebAuthn credential of a person. Only its public key is
// kept: the private key never leaves the authenticator.
type Passkey struct {
	ID     int64 `json:"id"`
	UserID int64 `json:"userId"`
	// Name is the person's label for it, e.g. "YubiKey 5" (see
	// [CheckPasskeyName]).
	Name string `json:"name"`

	// CredentialID is the credential's id as the authenticator made it (1
	// to 1023 bytes); unique across the hub.
	CredentialID []byte `json:"-"`
	// PublicKey is the credential's COSE key, as go-webauthn gives it.
	PublicKey []byte `json:"-"`
	// AAGUID names the authenticator's model (16 bytes), nil if it gave
	// none.
	AAGUID []byte `json:"-"`
	// SignCount is the authenticator's signature counter at the last use;
	// 0 for authenticators that keep none (most synced passkeys).
	SignCount uint32 `json:"-"`
	// Transports are how the browser may reach the authenticator ("usb",
	// "nfc", "ble", "internal", "hybrid", ...), as the browser reported
	// them at registration.
	Transports []string `json:"transports,omitempty"`
	// BackupEligible says the credential may be synced between devices
	// (a "multi-device" passkey); BackupState that it is.
	BackupEligible bool `json:"backupEligible"`
	BackupState    bool `json:"backupState"`
	// AttestationType is the attestation type the registration reported
	// ("none": the hub asks for no attestation).
	AttestationType string `json:"attestationType,omitempty"`

	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
}

// LogValue logs a passkey by id, user and name: never its keys or
// credential id.
func (p *Passkey) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("id", p.ID), slog.Int64("user", p.UserID), slog.String("name", p.Name))
}

// CheckPasskeyName checks a passkey's name as a person typed it: not blank,
// at most [MaxPasskeyName] characters, valid UTF-8 and no control
// characters. The pages show it back, and a name that looked empty or
// carried line breaks would confuse the list it is shown in.
func CheckPasskeyName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return Errorf(EINVALID, "A passkey needs a name, such as \"YubiKey 5\".")
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxPasskeyName:
		return Errorf(EINVALID, "A passkey's name is at most %d characters.", MaxPasskeyName)
	case strings.ContainsFunc(name, unicode.IsControl):
		return Errorf(EINVALID, "A passkey's name cannot contain control characters.")
	}
	return nil
}

// PasskeyStore keeps people's passkeys.
//
// Every method that changes state takes the [AuditEvent] that records it and
// appends it in the same transaction, as [UserStore] does; the caller fills
// in actor, category, action and request, the store the time, ObjectKind
// and ObjectID ("passkey" and the user's id, as for sessions: the passkey's
// row is deleted when it is removed, and the record must still name whose
// it was), Reason (the passkey's id, if the caller left it empty), Outcome
// (success) and ID. The actions, with their categories:
//
//	passkey.add        authentication  AddPasskey
//	passkey.remove     authentication  DeletePasskey
//
// A sign-in with a passkey is recorded by the sign-in's own event
// (user.signin, [UserStore.RecordSignIn]); RecordPasskeyUse records none.
type PasskeyStore interface {
	// AddPasskey stores p for p.UserID and sets its ID and CreatedAt;
	// LastUsedAt is cleared. p.Name ([CheckPasskeyName]), CredentialID
	// and PublicKey must be set. A credential id already stored (for
	// anyone) is ECONFLICT, and so is a user who has
	// [MaxPasskeysPerUser] passkeys already; an unknown user is
	// ENOTFOUND and a disabled one EUNAUTHORIZED.
	AddPasskey(ctx context.Context, p *Passkey, ev *AuditEvent) error
	// FindPasskeys returns the user's passkeys in the order they were
	// added; none (and no error) for a user without any, or unknown.
	FindPasskeys(ctx context.Context, userID int64) ([]*Passkey, error)
	// RecordPasskeyUse records a sign-in with the passkey: it sets
	// SignCount to signCount and LastUsedAt to at, as a compare-and-set.
	// If the stored count is not 0 and signCount is not greater than it,
	// the authenticator may have been cloned (or the same assertion is
	// being used twice): nothing changes and the error is ECONFLICT.
	// ENOTFOUND if there is no such passkey.
	RecordPasskeyUse(ctx context.Context, id int64, signCount uint32, at time.Time) error
	// DeletePasskey removes the user's passkey. One that does not exist,
	// or belongs to someone else, is ENOTFOUND and records nothing.
	DeletePasskey(ctx context.Context, userID, id int64, ev *AuditEvent) error
}
