package identity

import (
	"time"

	"github.com/guardian-network/guardian"
)

// Lockout locks an account after failed sign-ins in a row. The counter is
// kept per account in the store, not per client, so that guessing from many
// addresses locks as surely as from one; the price is that a stranger who
// knows a name can lock its owner out for LockFor, which is why the server
// also throttles per address before any password is checked.
type Lockout struct {
	// MaxFailures is how many failures in a row lock the account.
	MaxFailures int
	// LockFor is how long a lock lasts; time alone lifts it, or an
	// administrator (guardian.UserStore.UnlockUser).
	LockFor time.Duration
}

// DefaultLockout is the hub's policy: five failures lock the account for
// fifteen minutes, the same lock the intake API gives reporters' names (the
// issue asks for at least ten).
var DefaultLockout = Lockout{MaxFailures: 5, LockFor: 15 * time.Minute}

// Locked reports whether an account with that lock is locked at now, and
// for how long still. The server checks it before verifying a password, and
// refuses without hashing and without counting a failure: a locked account's
// counter cannot be pushed further.
func (l Lockout) Locked(lockedUntil *time.Time, now time.Time) (bool, time.Duration) {
	if lockedUntil == nil || !now.Before(*lockedUntil) {
		return false, 0
	}
	return true, lockedUntil.Sub(now)
}

// Expired reports whether the account has a lock that time has lifted: the
// next sign-in's store call clears it and records user.unlock.
func (l Lockout) Expired(lockedUntil *time.Time, now time.Time) bool {
	return lockedUntil != nil && !now.Before(*lockedUntil)
}

// Fail is the [guardian.LockoutFunc] of the policy: the state after one more
// failure. A lock that has expired is cleared first, so the count starts
// again; a lock still in force is left as it is (neither extended nor
// counted); the failure that reaches MaxFailures sets the lock. A success
// resets everything (guardian.UserStore.RecordSignIn).
func (l Lockout) Fail(failures int, lockedUntil *time.Time, now time.Time) (int, *time.Time) {
	if locked, _ := l.Locked(lockedUntil, now); locked {
		return failures, lockedUntil
	}
	if lockedUntil != nil {
		failures, lockedUntil = 0, nil
	}
	failures++
	if l.MaxFailures > 0 && failures >= l.MaxFailures {
		until := now.Add(l.LockFor)
		return failures, &until
	}
	return failures, nil
}

var _ guardian.LockoutFunc = DefaultLockout.Fail

// SessionPolicy says when a session locks for want of activity and when it
// ends whatever the activity.
type SessionPolicy struct {
	// IdleLock is how long without a request locks the session: the person
	// must give the password again, and keeps their place.
	IdleLock time.Duration
	// MaxAge is how long after sign-in the session ends.
	MaxAge time.Duration
	// TouchEvery is how stale LastSeenAt may get before a request records
	// itself, so that not every request writes to the store. The idle lock
	// may therefore come up to TouchEvery early, never late.
	TouchEvery time.Duration
}

// DefaultSessionPolicy is the hub's: locked after 30 minutes idle, ended 12
// hours after sign-in, activity recorded at most once a minute.
var DefaultSessionPolicy = SessionPolicy{IdleLock: 30 * time.Minute, MaxAge: 12 * time.Hour, TouchEvery: time.Minute}

// SessionStatus is what a session allows at a given time.
type SessionStatus int

// Session statuses.
const (
	// SessionActive: the request goes on.
	SessionActive SessionStatus = iota
	// SessionLocked: idle too long, or locked before. The caller locks it
	// in the store if it was not (guardian.UserStore.LockSession) and asks
	// for the password.
	SessionLocked
	// SessionExpired: past MaxAge. The caller deletes it and asks the
	// person to sign in again.
	SessionExpired
)

func (s SessionStatus) String() string {
	switch s {
	case SessionActive:
		return "active"
	case SessionLocked:
		return "locked"
	case SessionExpired:
		return "expired"
	}
	return "unknown"
}

// Status returns what s allows at now. Expiry wins over a lock: an expired
// session cannot be unlocked.
func (p SessionPolicy) Status(s *guardian.Session, now time.Time) SessionStatus {
	switch {
	case !now.Before(s.CreatedAt.Add(p.MaxAge)):
		return SessionExpired
	case s.Locked || !now.Before(s.LastSeenAt.Add(p.IdleLock)):
		return SessionLocked
	}
	return SessionActive
}

// NeedsTouch reports whether an active session's request should record
// itself (guardian.UserStore.TouchSession).
func (p SessionPolicy) NeedsTouch(s *guardian.Session, now time.Time) bool {
	return !now.Before(s.LastSeenAt.Add(p.TouchEvery))
}

// ExpiresAt returns when s ends, for the cookie's Expires attribute.
func (p SessionPolicy) ExpiresAt(s *guardian.Session) time.Time { return s.CreatedAt.Add(p.MaxAge) }
