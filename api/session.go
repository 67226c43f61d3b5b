package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/access"
	"github.com/guardian-network/guardian/identity"
	"github.com/guardian-network/guardian/internal/throttle"
)

// signInRequest is POST /session's body: both factors in one request.
type signInRequest struct {
	Name         string `json:"name"`
	Password     string `json:"password"`
	TOTP         string `json:"totp,omitempty"`
	RecoveryCode string `json:"recoveryCode,omitempty"`
}

type sessionResponse struct {
	CSRFToken        string    `json:"csrfToken"`
	ExpiresAt        time.Time `json:"expiresAt"`
	IdleLockSeconds  int64     `json:"idleLockSeconds"`
	RecoveryCodeUsed bool      `json:"recoveryCodeUsed"`
	Me               me        `json:"me"`
}

// me is who the caller is, for GET /me and the sign-in answer.
type me struct {
	Kind              string                `json:"kind"` // user or token
	ID                int64                 `json:"id"`
	Name              string                `json:"name"`
	DisplayName       string                `json:"displayName,omitempty"`
	Organisation      guardian.Organisation `json:"organisation"`
	Roles             []guardian.Role       `json:"roles"`
	VettingExpiresAt  *time.Time            `json:"vettingExpiresAt,omitempty"`
	TrainingExpiresAt *time.Time            `json:"trainingExpiresAt,omitempty"`
	ExpiresAt         *time.Time            `json:"expiresAt,omitempty"`
}

func meOf(c *Call) me {
	if c.token != nil {
		exp := c.token.ExpiresAt
		return me{Kind: "token", ID: c.token.ID, Name: c.token.Name, Organisation: c.token.Organisation, Roles: c.caller.Roles, ExpiresAt: &exp}
	}
	u := c.user
	m := me{Kind: "user", ID: u.ID, Name: u.Name, DisplayName: u.DisplayName, Organisation: u.Organisation, Roles: c.caller.Roles,
		VettingExpiresAt: u.VettingExpiresAt, TrainingExpiresAt: u.TrainingExpiresAt}
	return m
}

var errBadSignIn = unauthenticated("", "Wrong name, password or code.")

// handleSignIn signs a person in with a password and a TOTP code or a
// recovery code, in one request.
func (h *Handler) handleSignIn(w http.ResponseWriter, r *http.Request, c *Call) error {
	var req signInRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Name == "" || req.Password == "" || (req.TOTP == "") == (req.RecoveryCode == "") {
		return guardian.Errorf(guardian.EINVALID, "Give your name, your password, and either a code from your authenticator app (totp) or a recovery code.")
	}
	if len(req.TOTP) > 16 || len(req.RecoveryCode) > 64 {
		return errBadSignIn
	}
	u, err := h.CheckPassword(r.Context(), c, req.Name, req.Password)
	if err != nil {
		return err
	}
	recovered, err := h.CompleteSignIn(r.Context(), w, r, c, u, SecondFactor{TOTP: req.TOTP, RecoveryCode: req.RecoveryCode})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, sessionResponse{
		CSRFToken: csrfToken(c.sessionSecret), ExpiresAt: h.Sessions.ExpiresAt(c.session), IdleLockSeconds: int64(h.Sessions.IdleLock / time.Second),
		RecoveryCodeUsed: recovered, Me: meOf(c),
	})
	return nil
}

// CheckPassword is a sign-in's first step: it returns the person whose
// name and password these are, if the account may sign in. The address's
// bucket is taken before anything is looked up; the account's lock is
// checked before the password is hashed, so a locked account's counter
// cannot be pushed further; and every failure of a real account counts
// towards its lock in the store.
func (h *Handler) CheckPassword(ctx context.Context, c *Call, name, password string) (*guardian.User, error) {
	if name == "" || password == "" {
		return nil, guardian.Errorf(guardian.EINVALID, "Give your name and your password.")
	}
	if len(name) > 320 || len(password) > identity.MaxPasswordLen {
		return nil, errBadSignIn
	}
	if wait := h.guard.AllowAddr(c.clientAddr); wait > 0 {
		return nil, throttled(wait)
	}
	// A hash slot is taken before anything is looked up, so that an
	// unknown name waits as long as a known one.
	if err := h.hashes.Acquire(ctx, false); errors.Is(err, throttle.ErrQueueFull) {
		return nil, errBusy
	} else if err != nil {
		return nil, err
	}
	hashing := true
	release := func() {
		if hashing {
			hashing = false
			h.hashes.Release()
		}
	}
	defer release()

	u, err := h.Users.FindUserByName(ctx, name)
	if guardian.ErrorCode(err) == guardian.ENOTFOUND {
		identity.VerifyNoUser(password) // the same time as a real check
		release()
		h.countFailure(c, actionSignIn, "unknown-name", name)
		return nil, errBadSignIn
	} else if err != nil {
		return nil, err
	}
	c.actor = u.Actor()
	if err := h.checkLock(c, u); err != nil {
		return nil, err
	}
	ok, err := identity.VerifyPassword(u.PasswordHash, password)
	release() // the store's writes below need no core of the hash's
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, h.FailSignIn(ctx, c, u, "password")
	}
	if u.Disabled {
		h.countUserRefusal(c, actionSignIn, "disabled", u)
		return nil, unauthenticated("disabled", "This account is disabled.")
	}
	if _, err := access.ForUser(u, c.network, c.now); err != nil {
		h.countUserRefusal(c, actionSignIn, "organisation-removed", u)
		return nil, err
	}
	return u, nil
}

// checkLock refuses a locked account, saying for how long.
func (h *Handler) checkLock(c *Call, u *guardian.User) error {
	if locked, left := h.Lockout.Locked(u.LockedUntil, c.now); locked {
		h.countUserRefusal(c, actionSignIn, "locked", u)
		return unauthenticated("locked", "This account is locked after repeated failed sign-ins; try again in "+
			strconv.Itoa(int(left.Round(time.Minute)/time.Minute)+1)+" minutes, or ask your administrator.")
	}
	return nil
}

// FailSignIn records a failed factor of a known person (reason: password,
// totp, recovery-code, passkey) towards the account's lock, and returns
// the error to show.
func (h *Handler) FailSignIn(ctx context.Context, c *Call, u *guardian.User, reason string) error {
	ev := c.event(guardian.CategoryAuthentication, "user.signin")
	ev.Actor = u.Actor()
	ev.Outcome, ev.Reason = guardian.OutcomeFailure, reason
	ev.ObjectKind, ev.ObjectID = "user", strconv.FormatInt(u.ID, 10)
	nu, err := h.Users.RecordSignInFailure(context.WithoutCancel(ctx), u.ID, h.Lockout.Fail, ev)
	if err != nil {
		return err
	}
	if locked, _ := h.Lockout.Locked(nu.LockedUntil, c.now); locked {
		return unauthenticated("locked", "Wrong name, password or code. The account is now locked for "+h.Lockout.LockFor.String()+" after repeated failures.")
	}
	return errBadSignIn
}

// SecondFactor is what a person gives after the password: one of a TOTP
// code, a recovery code, or a passkey that the caller has verified
// (package passkey) for this user.
type SecondFactor struct {
	TOTP         string
	RecoveryCode string
	Passkey      bool
	// Demo asks for no second factor: refused unless the hub is a demo's
	// (Handler.SkipSecondFactor).
	Demo bool
}

// CompleteSignIn is a sign-in's second step, for a person CheckPassword
// returned (in this request or, for the web pages, an earlier one): it
// checks the second factor, records the sign-in and starts the session,
// setting its cookie. It reports whether a recovery code was used.
func (h *Handler) CompleteSignIn(ctx context.Context, w http.ResponseWriter, r *http.Request, c *Call, u *guardian.User, f SecondFactor) (recovered bool, err error) {
	c.actor = u.Actor()
	// The account is read again: it may have been locked, disabled or
	// reset since the password was checked.
	if u, err = h.Users.FindUserByID(ctx, u.ID); err != nil {
		return false, err
	}
	if err := h.checkLock(c, u); err != nil {
		return false, err
	}
	if u.Disabled {
		h.countUserRefusal(c, actionSignIn, "disabled", u)
		return false, unauthenticated("disabled", "This account is disabled.")
	}
	var step int64
	var recoveryHash string
	switch {
	case f.Passkey:
	case f.Demo && h.SkipSecondFactor:
	case f.TOTP != "":
		if len(u.TOTPSecret) == 0 {
			return false, unauthenticated("mfa-reset", "Your second factor was reset; ask your administrator to enrol you again.")
		}
		secret, err := h.MasterKey.OpenUserSecret(u.Name, u.TOTPSecret)
		if err != nil {
			return false, err
		}
		key, err := identity.NewTOTPKey(secret)
		if err != nil {
			return false, err
		}
		s, ok := key.Verify(f.TOTP, c.now, u.TOTPLastStep)
		if !ok {
			return false, h.FailSignIn(ctx, c, u, "totp")
		}
		step = s
	case f.RecoveryCode != "":
		hash, ok := identity.MatchRecoveryCode(f.RecoveryCode, u.RecoveryCodeHashes)
		if !ok {
			return false, h.FailSignIn(ctx, c, u, "recovery-code")
		}
		recoveryHash = hash
	default:
		return false, guardian.Errorf(guardian.EINVALID, "Give a code from your authenticator app, a recovery code, or use a passkey.")
	}
	caller, err := access.ForUser(u, c.network, c.now)
	if err != nil {
		h.countUserRefusal(c, actionSignIn, "organisation-removed", u)
		return false, err
	}

	// Single use: the recovery code is removed, or the TOTP step stored by
	// compare-and-set; a concurrent sign-in with the same code loses.
	if recoveryHash != "" {
		ev := c.event(guardian.CategoryAuthentication, "user.recovery")
		if err := h.Users.UseRecoveryCode(ctx, u.ID, recoveryHash, ev); err != nil {
			if guardian.ErrorCode(err) == guardian.ENOTFOUND {
				return false, h.FailSignIn(ctx, c, u, "recovery-code")
			}
			return false, err
		}
	}
	ev := c.event(guardian.CategoryAuthentication, "user.signin")
	switch {
	case f.Passkey:
		ev.Reason = "passkey"
	case f.Demo:
		ev.Reason = "demo-no-second-factor"
	}
	if err := h.Users.RecordSignIn(ctx, u.ID, step, ev); err != nil {
		if guardian.ErrorCode(err) == guardian.ECONFLICT {
			return false, unauthenticated("code-used", "This code has been used already; wait for the next one.")
		}
		return false, err
	}

	secret, hash := identity.GenerateSessionSecret()
	s := &guardian.Session{Hash: hash, UserID: u.ID, CreatedAt: c.now, LastSeenAt: c.now, ClientAddr: c.clientAddr}
	if err := h.Users.CreateSession(ctx, s, c.event(guardian.CategoryAuthentication, "session.start")); err != nil {
		return false, err
	}
	c.user, c.caller, c.session, c.sessionSecret = u, caller, s, secret
	h.setCookie(w, r, secret, s, c.now)
	return recoveryHash != "", nil
}

// handleSignOut ends the session.
func (h *Handler) handleSignOut(w http.ResponseWriter, r *http.Request, c *Call) error {
	if err := h.SignOut(r.Context(), w, r, c); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// SignOut ends the caller's session and clears its cookie.
func (h *Handler) SignOut(ctx context.Context, w http.ResponseWriter, r *http.Request, c *Call) error {
	ev := c.event(guardian.CategoryAuthentication, "session.end")
	ev.Reason = "signout"
	if err := h.Users.DeleteSession(ctx, c.session.Hash, ev); err != nil && guardian.ErrorCode(err) != guardian.ENOTFOUND {
		return err
	}
	h.clearCookie(w, r)
	return nil
}

func (h *Handler) handleMe(w http.ResponseWriter, r *http.Request, c *Call) error {
	writeJSON(w, http.StatusOK, meOf(c))
	return nil
}
