package guardian

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
)

// People and machine clients of the hub: the organisations they belong to,
// their roles, and the credentials they sign in with. Package identity holds
// the policies (password hashing, TOTP, lockout, session lifetimes, token
// formats); package access decides what a signed-in caller may do. This file
// only names things and states what the store keeps.

// OrganisationKind says whether an organisation is the hub itself or one of
// the agencies of the network file.
type OrganisationKind string

// Organisation kinds.
const (
	OrganisationHub    OrganisationKind = "hub"
	OrganisationAgency OrganisationKind = "agency"
)

// Organisation is what a user or an API token belongs to: the hub, or an
// agency of the network file, by its id. The kind is part of the identity
// because the network file does not forbid an agency id equal to the hub's.
//
// An organisation is not stored as a row of its own: the network file is the
// list of organisations, and one removed from it at a reload leaves its
// users and tokens without access (see [Organisation.Resolve]) while their
// rows, and the audit record naming them, stay.
//
// It reads and writes as text, "hub:ID" or "agency:ID", in JSON, the
// database and the CLI alike.
type Organisation struct {
	Kind OrganisationKind
	ID   string
}

// HubOrganisation returns the hub with the given id ([Hub.ID]).
func HubOrganisation(id string) Organisation { return Organisation{Kind: OrganisationHub, ID: id} }

// AgencyOrganisation returns the agency with the given id ([Agency.ID]).
func AgencyOrganisation(id string) Organisation {
	return Organisation{Kind: OrganisationAgency, ID: id}
}

// IsHub reports whether o is the hub.
func (o Organisation) IsHub() bool { return o.Kind == OrganisationHub }

// IsZero reports whether o names no organisation.
func (o Organisation) IsZero() bool { return o == Organisation{} }

// String returns "hub:ID" or "agency:ID", the form [ParseOrganisation] reads
// and the CLI accepts, or "" for the zero Organisation.
func (o Organisation) String() string {
	if o.IsZero() {
		return ""
	}
	return string(o.Kind) + ":" + o.ID
}

// ParseOrganisation parses "hub:ID" or "agency:ID".
func ParseOrganisation(s string) (Organisation, error) {
	kind, id, ok := strings.Cut(s, ":")
	o := Organisation{Kind: OrganisationKind(kind), ID: id}
	if !ok || id == "" || (o.Kind != OrganisationHub && o.Kind != OrganisationAgency) {
		return Organisation{}, Errorf(EINVALID, "Organisation %q is not hub:ID or agency:ID.", Clip(s, 80))
	}
	return o, nil
}

// MarshalText stores an organisation as its String.
func (o Organisation) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText parses what MarshalText wrote; "" is the zero Organisation.
func (o *Organisation) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*o = Organisation{}
		return nil
	}
	v, err := ParseOrganisation(string(b))
	if err != nil {
		return err
	}
	*o = v
	return nil
}

// Resolve finds o in the network in force. It returns the agency for an
// agency, nil for the hub, and ENOTFOUND when the network has no such
// organisation: an agency removed from the network file, or a hub id that
// changed. Callers check it on every request rather than at sign-in, so that
// a reload takes access away at once.
func (o Organisation) Resolve(n *Network) (*Agency, error) {
	switch o.Kind {
	case OrganisationHub:
		if n.Hub.ID == o.ID {
			return nil, nil
		}
	case OrganisationAgency:
		if a, ok := n.Agency(o.ID); ok {
			return a, nil
		}
	}
	return nil, Errorf(ENOTFOUND, "Organisation %s is not in the network.", o)
}

// Role is what a person or token may do. A user holds one or more roles of
// their organisation; a token holds exactly one.
type Role string

// Roles. [RoleAuditor] ("auditor", declared with [Token]) is the seventh.
//
// Hub staff are administrators (people and tokens, no referral content),
// analysts (the routing queue, held referrals, every referral) and
// supervisors (an analyst's rights and the supervisors' board). Agency staff
// are investigators, supervisors (who also assign), and liaison officers at
// liaison offices, who pass referrals on to local authorities.
const (
	RoleHubAdmin           Role = "hub-admin"
	RoleHubAnalyst         Role = "hub-analyst"
	RoleHubSupervisor      Role = "hub-supervisor"
	RoleAgencyInvestigator Role = "agency-investigator"
	RoleAgencySupervisor   Role = "agency-supervisor"
	RoleLiaisonOfficer     Role = "liaison-officer"
)

var roles = []Role{RoleHubAdmin, RoleHubAnalyst, RoleHubSupervisor, RoleAuditor, RoleAgencyInvestigator, RoleAgencySupervisor, RoleLiaisonOfficer}

// Roles returns every role, the hub's first.
func Roles() []Role { return slices.Clone(roles) }

// Valid reports whether r is one of [Roles].
func (r Role) Valid() bool { return slices.Contains(roles, r) }

// String returns the role's name.
func (r Role) String() string { return string(r) }

// ParseRole parses a role's name.
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.Valid() {
		return r, nil
	}
	return "", Errorf(EINVALID, "Unknown role %q; the roles are %s.", Clip(s, 40), rolesList())
}

func rolesList() string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// AllowedIn reports whether a member of o may hold r. agency is o's agency
// (from [Organisation.Resolve]); it is ignored for the hub.
//
// Hub roles and the auditor belong to the hub: the audit log names every
// agency's activity, so no agency may read all of it. A liaison officer
// belongs to an agency of kind liaison, and an investigator to any other
// kind, since a liaison office passes referrals on rather than investigating
// them. Supervisors may belong to any agency.
func (r Role) AllowedIn(o Organisation, agency *Agency) bool {
	switch r {
	case RoleHubAdmin, RoleHubAnalyst, RoleHubSupervisor, RoleAuditor:
		return o.IsHub()
	}
	if o.Kind != OrganisationAgency || agency == nil {
		return false
	}
	switch r {
	case RoleAgencySupervisor:
		return true
	case RoleAgencyInvestigator:
		return agency.Kind != AgencyLiaison
	case RoleLiaisonOfficer:
		return agency.Kind == AgencyLiaison
	}
	return false
}

// CheckMembership checks that o is in the network and may hold every one of
// roles, and that there is at least one. The CLI calls it before creating a
// user or token; package access calls it on every request, because a reload
// may remove the agency or change its kind.
func CheckMembership(n *Network, o Organisation, roles []Role) error {
	agency, err := o.Resolve(n)
	if err != nil {
		return err
	}
	if len(roles) == 0 {
		return Errorf(EINVALID, "At least one role is required.")
	}
	for _, r := range roles {
		if !r.Valid() {
			return Errorf(EINVALID, "Unknown role %q.", Clip(string(r), 40))
		}
		if !r.AllowedIn(o, agency) {
			return Errorf(EINVALID, "A member of %s cannot hold the role %s.", o, r)
		}
	}
	return nil
}

// User is a person who signs in to the hub's pages or API.
type User struct {
	ID int64 `json:"id"`
	// Name is what the person signs in with (often an e-mail address);
	// unique, and compared exactly as stored (the CLI lower-cases it).
	Name         string       `json:"name"`
	DisplayName  string       `json:"displayName"`
	Email        string       `json:"email"`
	Organisation Organisation `json:"organisation"`
	Roles        []Role       `json:"roles"`

	// PasswordHash is an identity.HashPassword string (argon2id, PHC form).
	PasswordHash string `json:"-"`
	// TOTPSecret is the RFC 6238 secret encrypted under the hub's master
	// key; the store keeps the bytes as given. Nil when the second factor
	// has been reset and not enrolled again: such a user cannot sign in.
	TOTPSecret []byte `json:"-"`
	// TOTPLastStep is the last time step whose code was accepted; a code
	// of that step or an earlier one is refused (RFC 6238 §5.2).
	TOTPLastStep int64 `json:"-"`
	// RecoveryCodeHashes are the hashes of the unused recovery codes
	// (identity.RecoveryCodeHash).
	RecoveryCodeHashes []string `json:"-"`

	// VettingExpiresAt and TrainingExpiresAt are when the person's
	// security vetting and training certificate end; nil for none. Without
	// both in the future the person cannot open referral content.
	VettingExpiresAt  *time.Time `json:"vettingExpiresAt,omitempty"`
	TrainingExpiresAt *time.Time `json:"trainingExpiresAt,omitempty"`

	Disabled bool `json:"disabled"`
	// FailedSignIns counts failed sign-ins in a row; LockedUntil is set
	// when they locked the account (see identity.Lockout).
	FailedSignIns int        `json:"failedSignIns"`
	LockedUntil   *time.Time `json:"lockedUntil,omitempty"`

	// Language is a BCP 47 tag ("es", "pt-BR") and TimeZone an IANA zone
	// name ("America/Asuncion"), for the pages and notifications.
	Language string `json:"language"`
	TimeZone string `json:"timeZone"`

	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// HasRole reports whether u holds r.
func (u *User) HasRole(r Role) bool { return slices.Contains(u.Roles, r) }

// Actor returns u as the actor of an audit event.
func (u *User) Actor() Actor {
	return Actor{Kind: ActorUser, ID: strconv.FormatInt(u.ID, 10), Name: u.Name, Organisation: u.Organisation.String()}
}

// LogValue logs a user by id, name and organisation: never hashes, secrets
// or personal details beyond the sign-in name.
func (u *User) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("id", u.ID), slog.String("name", u.Name), slog.String("organisation", u.Organisation.String()))
}

// UserUpdate changes some fields of a user; nil fields stay as they are.
// Credentials are changed by their own store methods.
type UserUpdate struct {
	DisplayName *string
	Email       *string
	Roles       *[]Role
	// A vetting or training that ended early is recorded by setting its
	// end to a past time: the record of when it ended stays.
	VettingExpiresAt  *time.Time
	TrainingExpiresAt *time.Time
	Disabled          *bool
	Language          *string
	TimeZone          *string
}

// UserFilter selects users. Zero fields match everything.
type UserFilter struct {
	Organisation *Organisation
	Disabled     *bool
	AfterID      int64 // only users with a larger ID
	Limit        int   // 0 means a default page
}

// LockoutFunc decides a user's lockout state after a failed sign-in, from
// the state read in the store's transaction and the store's clock. It must
// be quick and pure; identity.Lockout.Fail is the one the hub uses.
type LockoutFunc func(failures int, lockedUntil *time.Time, now time.Time) (newFailures int, newLockedUntil *time.Time)

// Session is a person's signed-in session. Its secret lives only in the
// person's cookie; the store keeps a SHA-256 of it, so a copy of the
// database cannot be used to sign in.
type Session struct {
	Hash   string `json:"-"` // lower-case hex SHA-256 of the session secret
	UserID int64  `json:"userId"`
	// CreatedAt is when both factors were verified; the session ends a
	// fixed time after it however active it is (identity.SessionPolicy).
	CreatedAt time.Time `json:"createdAt"`
	// LastSeenAt is the last request, recorded at most once a minute.
	LastSeenAt time.Time `json:"lastSeenAt"`
	// Locked is set when the session was idle too long; the person must
	// give the password again to go on.
	Locked     bool   `json:"locked"`
	ClientAddr string `json:"clientAddr,omitempty"`
}

// LogValue keeps the hash out of logs: it is not the secret, but it is
// enough to find and end the session.
func (s *Session) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("user", s.UserID), slog.Time("created", s.CreatedAt))
}

// APIToken is a bearer credential of a machine client (a partner's case
// system), scoped to one organisation and one role. Only a SHA-256 of the
// secret is stored: the secret carries 256 bits, so a slow hash would add
// nothing (identity.GenerateAPIToken).
//
// [Token] remains for the auditor and admin tokens of /audit and /admin,
// which may move onto APIToken later.
type APIToken struct {
	ID           int64        `json:"id"`
	Name         string       `json:"name"` // unique, for people: "py-case-system"
	Hash         string       `json:"-"`    // lower-case hex SHA-256 of the secret
	Organisation Organisation `json:"organisation"`
	Role         Role         `json:"role"`

	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  time.Time  `json:"expiresAt"` // always set: no token lives for ever
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
}

// Actor returns t as the actor of an audit event: a partner's system.
func (t *APIToken) Actor() Actor {
	return Actor{Kind: ActorNode, ID: "token:" + strconv.FormatInt(t.ID, 10), Name: t.Name, Organisation: t.Organisation.String()}
}

// LogValue logs a token by id and name, never its hash.
func (t *APIToken) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("id", t.ID), slog.String("name", t.Name), slog.String("organisation", t.Organisation.String()))
}

// APITokenFilter selects tokens. Zero fields match everything.
type APITokenFilter struct {
	Organisation   *Organisation
	IncludeRevoked bool
}

// UserStore keeps people, their sessions and machine clients' tokens.
//
// Every method that changes state takes the [AuditEvent] that records it and
// appends it in the same transaction, as [Store] does; the caller fills in
// actor, category, action and request, the store the time, ObjectKind and
// ObjectID ("user" and its id, "token" and its id, "session" and the user's
// id: never a session or token hash), Outcome (success) and ID. The
// actions, with their categories:
//
//	user.create        permission      CreateUser (the roles are in Reason)
//	user.update        permission      UpdateUser changing roles or Disabled
//	user.update        alteration      UpdateUser changing anything else
//	user.password      authentication  SetUserPassword
//	user.mfa           authentication  SetUserMFA (enrolment or reset)
//	user.signin        authentication  RecordSignIn
//	user.signin        authentication  failure: RecordSignInFailure, AppendAuditEvent
//	user.lock          authentication  appended by RecordSignInFailure when it locks
//	user.unlock        authentication  UnlockUser; appended by RecordSignIn and
//	                                   RecordSignInFailure when they clear an
//	                                   expired lock (Reason "expired")
//	user.recovery      authentication  UseRecoveryCode
//	session.create     authentication  CreateSession
//	session.lock       authentication  LockSession
//	session.unlock     authentication  UnlockSession
//	session.end        authentication  DeleteSession(s) (Reason: signout, expired, disabled, ...)
//	token.create       permission      CreateAPIToken
//	token.revoke       permission      RevokeAPIToken
//	token.use          authentication  TouchAPIToken
//
// A call that changes nothing records nothing (locking a locked session,
// revoking a revoked token, ending no sessions); UnlockUser and
// UnlockSession always record, being a person's act. RecordSignIn and
// CreateSession refuse a disabled or still-locked account with
// EUNAUTHORIZED under the user's row lock, so a sign-in racing a disable or
// a lock cannot win.
//
// A user's rows are never deleted: disabling keeps the audit record's names
// resolvable.
type UserStore interface {
	// CreateUser adds a user and sets ID, CreatedAt and UpdatedAt. A
	// duplicate name is ECONFLICT. The caller has checked the membership
	// ([CheckMembership]).
	CreateUser(ctx context.Context, u *User, ev *AuditEvent) error
	// FindUserByID returns the user, or ENOTFOUND.
	FindUserByID(ctx context.Context, id int64) (*User, error)
	// FindUserByName returns the user with that exact name, or ENOTFOUND.
	FindUserByName(ctx context.Context, name string) (*User, error)
	// FindUsers returns users in ID order.
	FindUsers(ctx context.Context, filter UserFilter) ([]*User, error)
	// UpdateUser applies upd, sets UpdatedAt and returns the user as
	// updated. Disabling a user also ends their sessions, in the same
	// transaction (one session.end event, Reason "disabled").
	UpdateUser(ctx context.Context, id int64, upd UserUpdate, ev *AuditEvent) (*User, error)

	// SetUserPassword replaces the password hash and ends the user's other
	// sessions than keep (a session hash, or "" for all).
	SetUserPassword(ctx context.Context, id int64, hash, keep string, ev *AuditEvent) error
	// SetUserMFA replaces the encrypted TOTP secret and the recovery code
	// hashes, resets TOTPLastStep to 0 and ends all the user's sessions.
	// A nil secret and no hashes is a reset: the user cannot sign in until
	// enrolled again.
	SetUserMFA(ctx context.Context, id int64, secret []byte, recoveryHashes []string, ev *AuditEvent) error

	// RecordSignInFailure reads the user's failure count and lock in a
	// transaction that excludes other sign-ins of the user, applies fn
	// with the store's clock, stores the result and appends ev (a failure).
	// If fn locked the account it also appends a user.lock event; if the
	// lock it read had expired, a user.unlock event first. It returns the
	// user as updated.
	RecordSignInFailure(ctx context.Context, id int64, fn LockoutFunc, ev *AuditEvent) (*User, error)
	// RecordSignIn records a sign-in that passed both factors: it resets
	// the failure count and lock, and, when totpStep is not 0, stores it as
	// TOTPLastStep if it is greater than the stored one; if it is not, the
	// code was replayed (or used by a concurrent sign-in), nothing changes
	// and the error is ECONFLICT. This compare-and-set is what makes a TOTP
	// code single-use across several hub processes.
	RecordSignIn(ctx context.Context, id int64, totpStep int64, ev *AuditEvent) error
	// UseRecoveryCode removes one unused recovery code hash of the user;
	// if it is no longer there (used, perhaps by a concurrent request) the
	// error is ENOTFOUND and nothing changes.
	UseRecoveryCode(ctx context.Context, id int64, hash string, ev *AuditEvent) error
	// UnlockUser clears the failure count and lock (an administrator's act).
	UnlockUser(ctx context.Context, id int64, ev *AuditEvent) error

	// CreateSession stores a new session; s.Hash, UserID, CreatedAt and
	// LastSeenAt must be set.
	CreateSession(ctx context.Context, s *Session, ev *AuditEvent) error
	// FindSessionByHash returns the session, or ENOTFOUND.
	FindSessionByHash(ctx context.Context, hash string) (*Session, error)
	// TouchSession sets LastSeenAt. It records no event: it is no change a
	// person makes, and callers do it at most once a minute per session
	// (identity.SessionPolicy.NeedsTouch).
	TouchSession(ctx context.Context, hash string, at time.Time) error
	// LockSession and UnlockSession set and clear Locked; UnlockSession
	// also sets LastSeenAt to the store's now.
	LockSession(ctx context.Context, hash string, ev *AuditEvent) error
	UnlockSession(ctx context.Context, hash string, ev *AuditEvent) error
	// DeleteSession ends one session (sign-out, or found expired).
	DeleteSession(ctx context.Context, hash string, ev *AuditEvent) error
	// DeleteUserSessions ends every session of the user and returns how
	// many there were.
	DeleteUserSessions(ctx context.Context, userID int64, ev *AuditEvent) (int, error)
	// DeleteExpiredSessions removes sessions created before the time given
	// and returns how many; housekeeping, recorded as one session.end event
	// (Reason "expired") when there were any.
	DeleteExpiredSessions(ctx context.Context, createdBefore time.Time, ev *AuditEvent) (int, error)

	// CreateAPIToken stores t and sets its ID and CreatedAt; a duplicate
	// name is ECONFLICT. t.Hash, Organisation, Role and ExpiresAt must be set.
	CreateAPIToken(ctx context.Context, t *APIToken, ev *AuditEvent) error
	// FindAPITokenByHash returns the token with that hash, revoked or
	// expired too (the caller decides), or ENOTFOUND.
	FindAPITokenByHash(ctx context.Context, hash string) (*APIToken, error)
	// FindAPITokens returns tokens in ID order.
	FindAPITokens(ctx context.Context, filter APITokenFilter) ([]*APIToken, error)
	// RevokeAPIToken sets RevokedAt; revoking a revoked token changes
	// nothing and is not an error.
	RevokeAPIToken(ctx context.Context, id int64, ev *AuditEvent) error
	// TouchAPIToken sets LastUsedAt and records ev (token.use). Callers
	// record a use at most once per token per hour, not per request: the
	// requests themselves are audited with the token as actor.
	TouchAPIToken(ctx context.Context, id int64, at time.Time, ev *AuditEvent) error
}
