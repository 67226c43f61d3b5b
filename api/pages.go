package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/access"
)

// Other interfaces. The web pages (package web) are served through this
// package's one chain: the same authentication, session limits, CSRF
// check, in-flight bounds and per-caller shares as the JSON routes, and
// the same services (Referral, Acknowledge, Content, ...), which ask
// access and record the audit events. Only the answer's form differs: a
// page renders HTML, and says how to show an error (ErrorWriter).

// Auth says what a page needs of its caller.
type Auth int

const (
	// AuthNone: nobody yet (the sign-in pages, static files).
	AuthNone Auth = iota
	// AuthPerson: a person's session; state-changing requests carry the
	// CSRF token, in the Guardian-CSRF-Token header or a form's
	// CSRFField.
	AuthPerson
	// AuthOptional: a person's session if there is a valid one, nobody
	// otherwise, never an error (pages that greet a signed-in person).
	AuthOptional
)

// CSRFField is the form field that carries the CSRF token of a session's
// form posts (application/x-www-form-urlencoded).
const CSRFField = "csrf"

// HandlerFunc is a page's handler.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, c *Call) error

// ErrorWriter answers a handler's error in the page's form; Problem
// describes it.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, c *Call, p Problem)

// Page returns fn served through the API's chain.
func (h *Handler) Page(auth Auth, fn HandlerFunc, onError ErrorWriter) http.Handler {
	mode := authNone
	switch auth {
	case AuthPerson:
		mode = authPerson
	case AuthOptional:
		mode = authOptional
	}
	return h.chain(route{auth: mode, fn: handlerFunc(fn)}, onError)
}

// Problem is an error as an interface shows it.
type Problem struct {
	Status  int
	Code    string // a guardian error code
	Reason  string // an access.Reason, or csrf, throttled, busy, session-locked, ...
	Message string // a sentence for the person; "Internal error." for faults
	// RetryAfter is set when trying again later helps.
	RetryAfter time.Duration
	RequestID  string
}

// Problem describes err as an interface shows it, logging faults in full
// (they are shown only as "Internal error.").
func (h *Handler) Problem(r *http.Request, c *Call, err error) Problem { return h.problem(r, c, err) }

func (h *Handler) problem(r *http.Request, c *Call, err error) Problem {
	p := Problem{Status: statusOf(err), Code: guardian.ErrorCode(err), Message: guardian.ErrorMessage(err), RequestID: c.requestID}
	var ae *apiError
	var ref *access.Refusal
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		p.Code, p.Reason, p.Message, p.RetryAfter = ae.code, ae.reason, ae.msg, ae.retryAfter
	case errors.As(err, &ref):
		p.Reason = string(ref.Reason)
	case errors.As(err, &mbe):
		p.Code, p.Message = guardian.EINVALID, "The request body is larger than "+strconv.FormatInt(mbe.Limit, 10)+" bytes."
	}
	if p.Status == http.StatusInternalServerError {
		h.Logger.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("request_id", c.requestID), slog.Any("error", err))
	} else {
		h.Logger.DebugContext(r.Context(), "request refused", slog.String("path", r.URL.Path), slog.Int("status", p.Status),
			slog.String("request_id", c.requestID), slog.String("code", p.Code), slog.String("reason", p.Reason))
	}
	return p
}

// Caller is who the request's caller is to access; nil before sign-in.
func (c *Call) Caller() *access.Caller { return c.caller }

// User is the signed-in person; nil for nobody or a token.
func (c *Call) User() *guardian.User { return c.user }

// Session is the person's session; nil for nobody or a token.
func (c *Call) Session() *guardian.Session { return c.session }

// Now is the request's time, the same for every step of it.
func (c *Call) Now() time.Time { return c.now }

// Network is the network in force when the request arrived.
func (c *Call) Network() *guardian.Network { return c.network }

// RequestID is the request's id, as in its audit events and logs.
func (c *Call) RequestID() string { return c.requestID }

// ClientAddr is the client's address, as the audit events record it.
func (c *Call) ClientAddr() string { return c.clientAddr }

// CSRFToken is the token a session's forms carry; "" without a session.
func (c *Call) CSRFToken() string {
	if c.sessionSecret == "" {
		return ""
	}
	return csrfToken(c.sessionSecret)
}

// Event starts an audit event acted by the caller, for an interface's
// own records (a page's sign-in step, a passkey added).
func (c *Call) Event(cat guardian.AuditCategory, action string) *guardian.AuditEvent {
	return c.event(cat, action)
}

// CountFailure counts a stranger's failed attempt (action, reason, the
// name tried) into the bursts recorded once per window, as the API's own
// failed sign-ins are.
func (h *Handler) CountFailure(c *Call, action, reason, name string) {
	h.countFailure(c, action, reason, name)
}

// AllowAddr takes a token of the client address's sign-in bucket: zero
// when the attempt may go on, else how long to wait.
func (h *Handler) AllowAddr(c *Call) time.Duration { return h.guard.AllowAddr(c.clientAddr) }

// Throttled is the error of an attempt AllowAddr refused.
func Throttled(wait time.Duration) error { return throttled(wait) }
