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

func meOf(c *call) me {
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
// recovery code. The address's bucket is taken before anything is looked
// up; the account's lock is checked before the password is hashed, so a
// locked account's counter cannot be pushed further; and every failure of
// a real account counts towards its lock in the store.
func (h *Handler) handleSignIn(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	var req signInRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Name == "" || req.Password == "" || (req.TOTP == "") == (req.RecoveryCode == "") {
		return guardian.Errorf(guardian.EINVALID, "Give your name, your password, and either a code from your authenticator app (totp) or a recovery code.")
	}
	if len(req.Name) > 320 || len(req.Password) > identity.MaxPasswordLen || len(req.TOTP) > 16 || len(req.RecoveryCode) > 64 {
		return errBadSignIn
	}
	if wait := h.guard.AllowAddr(c.clientAddr); wait > 0 {
		return throttled(wait)
	}
	// A hash slot is taken before anything is looked up, so that an
	// unknown name waits as long as a known one.
	if err := h.hashes.Acquire(ctx, false); errors.Is(err, throttle.ErrQueueFull) {
		return errBusy
	} else if err != nil {
		return err
	}
	hashing := true
	release := func() {
		if hashing {
			hashing = false
			h.hashes.Release()
		}
	}
	defer release()

	u, err := h.Users.FindUserByName(ctx, req.Name)
	if guardian.ErrorCode(err) == guardian.ENOTFOUND {
		identity.VerifyNoUser(req.Password) // the same time as a real check
		release()
		h.countFailure(c, actionSignIn, "unknown-name", req.Name)
		return errBadSignIn
	} else if err != nil {
		return err
	}
	c.actor = u.Actor()
	if locked, left := h.Lockout.Locked(u.LockedUntil, c.now); locked {
		h.countUserRefusal(c, actionSignIn, "locked", u)
		return unauthenticated("locked", "This account is locked after repeated failed sign-ins; try again in "+
			strconv.Itoa(int(left.Round(time.Minute)/time.Minute)+1)+" minutes, or ask your administrator.")
	}
	failure := func(reason string) error {
		ev := c.event(guardian.CategoryAuthentication, "user.signin")
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
	ok, err := identity.VerifyPassword(u.PasswordHash, req.Password)
	release() // the store's writes below need no core of the hash's
	if err != nil {
		return err
	}
	if !ok {
		return failure("password")
	}
	if u.Disabled {
		h.countUserRefusal(c, actionSignIn, "disabled", u)
		return unauthenticated("disabled", "This account is disabled.")
	}

	// The second factor.
	var step int64
	var recoveryHash string
	if req.TOTP != "" {
		if len(u.TOTPSecret) == 0 {
			return unauthenticated("mfa-reset", "Your second factor was reset; ask your administrator to enrol you again.")
		}
		secret, err := h.MasterKey.OpenUserSecret(u.Name, u.TOTPSecret)
		if err != nil {
			return err
		}
		key, err := identity.NewTOTPKey(secret)
		if err != nil {
			return err
		}
		s, ok := key.Verify(req.TOTP, c.now, u.TOTPLastStep)
		if !ok {
			return failure("totp")
		}
		step = s
	} else {
		hash, ok := identity.MatchRecoveryCode(req.RecoveryCode, u.RecoveryCodeHashes)
		if !ok {
			return failure("recovery-code")
		}
		recoveryHash = hash
	}
	caller, err := access.ForUser(u, c.network, c.now)
	if err != nil {
		h.countUserRefusal(c, actionSignIn, "organisation-removed", u)
		return err
	}

	// Single use: the recovery code is removed, or the TOTP step stored by
	// compare-and-set; a concurrent sign-in with the same code loses.
	if recoveryHash != "" {
		ev := c.event(guardian.CategoryAuthentication, "user.recovery")
		if err := h.Users.UseRecoveryCode(ctx, u.ID, recoveryHash, ev); err != nil {
			if guardian.ErrorCode(err) == guardian.ENOTFOUND {
				return failure("recovery-code")
			}
			return err
		}
	}
	ev := c.event(guardian.CategoryAuthentication, "user.signin")
	if err := h.Users.RecordSignIn(ctx, u.ID, step, ev); err != nil {
		if guardian.ErrorCode(err) == guardian.ECONFLICT {
			return unauthenticated("code-used", "This code has been used already; wait for the next one.")
		}
		return err
	}

	secret, hash := identity.GenerateSessionSecret()
	s := &guardian.Session{Hash: hash, UserID: u.ID, CreatedAt: c.now, LastSeenAt: c.now, ClientAddr: c.clientAddr}
	if err := h.Users.CreateSession(ctx, s, c.event(guardian.CategoryAuthentication, "session.start")); err != nil {
		return err
	}
	c.user, c.caller, c.session = u, caller, s
	h.setCookie(w, r, secret, s, c.now)
	writeJSON(w, http.StatusCreated, sessionResponse{
		CSRFToken: csrfToken(secret), ExpiresAt: h.Sessions.ExpiresAt(s), IdleLockSeconds: int64(h.Sessions.IdleLock / time.Second),
		RecoveryCodeUsed: recoveryHash != "", Me: meOf(c),
	})
	return nil
}

// handleSignOut ends the session.
func (h *Handler) handleSignOut(w http.ResponseWriter, r *http.Request, c *call) error {
	ev := c.event(guardian.CategoryAuthentication, "session.end")
	ev.Reason = "signout"
	if err := h.Users.DeleteSession(r.Context(), c.session.Hash, ev); err != nil && guardian.ErrorCode(err) != guardian.ENOTFOUND {
		return err
	}
	h.clearCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) handleMe(w http.ResponseWriter, r *http.Request, c *call) error {
	writeJSON(w, http.StatusOK, meOf(c))
	return nil
}
