package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/access"
	"github.com/guardian-network/guardian/identity"
)

// Authentication: a person's session cookie, set by POST /session, or a
// machine client's API token as "Authorization: Bearer gdn_…". Either is
// checked on every request, and access.ForUser or access.ForToken turns it
// into the request's caller, so that a disabled person, a revoked token or
// an agency removed from the network loses access at once.
//
// CSRF: a session's requests that change anything (every method but GET
// and HEAD) carry the header Guardian-CSRF-Token with the token that
// signing in returned. The token is a hash of the session secret under a
// label of its own: tied to the session, unreadable to another site (the
// cookie is HttpOnly and SameSite=Strict, and the token is only ever in
// the sign-in answer), and checked without any state on the server. Token
// requests need none: a browser never adds an Authorization header by
// itself.

// PollHeader marks a request a page makes by itself on a timer: it does
// not count as the person's activity against the session's idle lock.
const PollHeader = "Guardian-Poll"

// CSRFHeader is the header a session's state-changing requests carry.
const CSRFHeader = "Guardian-CSRF-Token"

// Session cookie names: with the __Host- prefix (Secure, no Domain, Path
// /) over TLS, and a plain name on loopback HTTP, where browsers refuse
// Secure cookies.
const (
	cookieSecure = "__Host-guardian-session"
	cookiePlain  = "guardian-session"
)

func (h *Handler) secure(r *http.Request) bool { return r.TLS != nil || h.SecureCookies }

func (h *Handler) cookieName(r *http.Request) string {
	if h.secure(r) {
		return cookieSecure
	}
	return cookiePlain
}

// csrfToken is the CSRF token of the session with that secret.
func csrfToken(secret string) string {
	sum := sha256.Sum256([]byte("guardian csrf v1\x00" + secret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func unauthenticated(reason, msg string) error {
	return &apiError{status: http.StatusUnauthorized, code: guardian.EUNAUTHORIZED, reason: reason, msg: msg}
}

var errSignInAgain = unauthenticated("session-ended", "Your session has ended; sign in again.")

// authenticate finds the caller of a request for a route that needs one.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request, c *Call, mode authMode) error {
	if mode == authNone || mode == authSignIn {
		return nil
	}
	if mode == authOptional {
		// A page that greets whoever is signed in: no token, and a bad or
		// ended session is simply nobody.
		if ck, err := r.Cookie(h.cookieName(r)); err == nil && ck.Value != "" {
			if err := h.authSession(w, r, c, ck.Value); err != nil {
				var ae *apiError
				if errors.As(err, &ae) && ae.reason == "csrf" {
					return err // a signed-in person's forged post
				}
				*c = Call{requestID: c.requestID, clientAddr: c.clientAddr, now: c.now, network: c.network}
			}
		}
		return nil
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		if mode == authPerson {
			return unauthenticated("session-required", "This endpoint is for a person's session, not an API token.")
		}
		return h.authToken(r, c, auth)
	}
	if ck, err := r.Cookie(h.cookieName(r)); err == nil && ck.Value != "" {
		return h.authSession(w, r, c, ck.Value)
	}
	return unauthenticated("", "Sign in, or send an API token as Authorization: Bearer.")
}

func (h *Handler) authToken(r *http.Request, c *Call, auth string) error {
	scheme, secret, _ := strings.Cut(auth, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return unauthenticated("", "Send an API token as Authorization: Bearer.")
	}
	if wait := h.guard.AddrBlocked(c.clientAddr); wait > 0 {
		return throttled(wait)
	}
	fail := func(reason string, err error) error {
		h.guard.AddrFailed(c.clientAddr)
		h.countFailure(c, actionAuthenticate, reason, "")
		return err
	}
	hash, ok := identity.APITokenHash(strings.TrimSpace(secret))
	if !ok {
		return fail("malformed-token", unauthenticated("", "This is not a Guardian API token."))
	}
	t, err := h.Users.FindAPITokenByHash(r.Context(), hash)
	if guardian.ErrorCode(err) == guardian.ENOTFOUND {
		return fail("unknown-token", unauthenticated("", "Unknown API token."))
	} else if err != nil {
		return err
	}
	caller, err := access.ForToken(t, c.network, c.now)
	if err != nil {
		reason := "token-refused"
		switch {
		case t.RevokedAt != nil:
			reason = "revoked"
		case !c.now.Before(t.ExpiresAt):
			reason = "expired"
		}
		return fail(reason, err)
	}
	c.caller, c.token, c.actor = caller, t, t.Actor()
	if h.touched.due(t.ID, t.LastUsedAt, c.now) {
		ev := c.event(guardian.CategoryAuthentication, "token.use")
		ev.ObjectKind, ev.ObjectID = "token", strconv.FormatInt(t.ID, 10)
		if err := h.Users.TouchAPIToken(r.Context(), t.ID, c.now, ev); err != nil {
			// The request goes on: its own events name the token.
			h.Logger.ErrorContext(r.Context(), "cannot record a token's use", slog.Any("token", t), slog.Any("error", err))
		}
	}
	return nil
}

func (h *Handler) authSession(w http.ResponseWriter, r *http.Request, c *Call, secret string) error {
	ctx := r.Context()
	hash, ok := identity.SessionHash(secret)
	if !ok {
		h.clearCookie(w, r)
		return errSignInAgain
	}
	s, err := h.Users.FindSessionByHash(ctx, hash)
	if guardian.ErrorCode(err) == guardian.ENOTFOUND {
		h.countFailure(c, actionAuthenticate, "unknown-session", "")
		h.clearCookie(w, r)
		return errSignInAgain
	} else if err != nil {
		return err
	}
	actor := guardian.Actor{Kind: guardian.ActorUser, ID: strconv.FormatInt(s.UserID, 10)}
	sessionEvent := func(action, reason string) *guardian.AuditEvent {
		ev := c.event(guardian.CategoryAuthentication, action)
		ev.Actor, ev.Reason = actor, reason
		return ev
	}
	switch h.Sessions.Status(s, c.now) {
	case identity.SessionExpired:
		if err := h.Users.DeleteSession(ctx, hash, sessionEvent("session.end", "expired")); err != nil && guardian.ErrorCode(err) != guardian.ENOTFOUND {
			return err
		}
		h.clearCookie(w, r)
		return unauthenticated("session-expired", "Your session ended "+h.Sessions.MaxAge.String()+" after you signed in; sign in again.")
	case identity.SessionLocked:
		if !s.Locked {
			if err := h.Users.LockSession(ctx, hash, sessionEvent("session.lock", "idle")); err != nil && guardian.ErrorCode(err) != guardian.ENOTFOUND {
				return err
			}
		}
		h.clearCookie(w, r)
		return unauthenticated("session-locked", "Your session locked after "+h.Sessions.IdleLock.String()+" without activity; sign in again.")
	}
	u, err := h.Users.FindUserByID(ctx, s.UserID)
	if err != nil {
		if guardian.ErrorCode(err) == guardian.ENOTFOUND {
			return errSignInAgain
		}
		return err
	}
	caller, err := access.ForUser(u, c.network, c.now)
	if err != nil {
		// The person's organisation left the network, or their roles no
		// longer fit it: counted, so that the refusals are on record.
		h.countUserRefusal(c, actionAuthenticate, "organisation-removed", u)
		return err
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		got := r.Header.Get(CSRFHeader)
		if got == "" && isForm(r) {
			// A form too large to read is that, not a forged request.
			if err := r.ParseForm(); err != nil {
				return formError(err)
			}
			got = r.PostFormValue(CSRFField)
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(csrfToken(secret))) != 1 {
			return &apiError{status: http.StatusForbidden, code: guardian.EFORBIDDEN, reason: "csrf",
				msg: "This request needs the CSRF token that signing in returned, in the " + CSRFHeader + " header."}
		}
	}
	// A page's own refresh (the inbox polls for new referrals) is no
	// activity of the person's: it must not keep an idle session open.
	if h.Sessions.NeedsTouch(s, c.now) && r.Header.Get(PollHeader) == "" {
		if err := h.Users.TouchSession(ctx, hash, c.now); err != nil && !errors.Is(err, ctx.Err()) {
			h.Logger.ErrorContext(ctx, "cannot record a session's activity", slog.Any("session", s), slog.Any("error", err))
		}
	}
	c.caller, c.user, c.session, c.sessionSecret, c.actor = caller, u, s, secret, u.Actor()
	return nil
}

// setCookie sets the session cookie until the session's end, as Max-Age
// (relative, so that a client whose clock is off keeps it as long).
func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, secret string, s *guardian.Session, now time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: h.cookieName(r), Value: secret, Path: "/", MaxAge: max(1, int(h.Sessions.ExpiresAt(s).Sub(now)/time.Second)),
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteStrictMode,
	})
}

func (h *Handler) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: h.cookieName(r), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteStrictMode,
	})
}

// isForm reports whether a request's body is a URL-encoded form, which a
// page's forms post.
func isForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded"
}

// formError is the error of a form that cannot be read: too large (the
// body's bound), or not a URL-encoded form.
func formError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return mbe
	}
	return guardian.Errorf(guardian.EINVALID, "The form cannot be read: %s.", guardian.Clip(err.Error(), 120))
}

// ReadForm parses a page's form post, answering a body too large or
// malformed with a clear error rather than as missing fields.
func ReadForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formError(err)
	}
	return nil
}
