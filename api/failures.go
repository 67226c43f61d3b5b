package api

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/access"
	"github.com/guardian-network/guardian/internal/throttle"
)

// Failures by strangers are counted, not logged one by one: an unknown
// name, a wrong password for a name nobody has, an unknown or revoked API
// token, a session cookie that is not one. Each would otherwise be an
// event of the permanent audit log that anyone can add without limit. They
// are gathered into bursts by package throttle, one per action, reason,
// name label and address, and each burst becomes one audit event when the
// window ends (every FailureWindow) or the handler closes, as package
// server does for the intake:
//
//	action      api.signin or api.authenticate
//	outcome     failure; reason: unknown-name, unknown-token, revoked, ...
//	actor.name  "unknown-" and a keyed hash of the name presented, never
//	            the name itself (it may be a password typed in the wrong
//	            field); empty for tokens; the user's id and name for
//	            attempts on a locked or disabled account
//	objectKind  "sign-in failures"
//	objectId    "count=N first=T last=T"
//	clientAddr  the address they came from
//
// A failure against a person's real account is recorded by the store at
// once (UserStore.RecordSignInFailure), since the account's lockout bounds
// those to a handful per account and lock period. At most
// throttle.MaxBursts bursts are kept per window; beyond them, failures are
// counted in one burst per action and reason without address.

type burstKey struct {
	action, reason, name, addr string
	// userID is set for attempts on a real account that the account's
	// own state refused (locked, disabled): the name is then the user's.
	userID string
}

type failureLog = throttle.Failures[burstKey]

func newFailureLog() *failureLog {
	return throttle.NewFailures(func(k burstKey) burstKey {
		return burstKey{action: k.action, reason: k.reason, name: "(more names and addresses)"}
	})
}

// countFailure counts a stranger's failure of the request.
func (h *Handler) countFailure(c *Call, action, reason, name string) {
	h.failures.Add(c.now, burstKey{action: action, reason: reason, name: h.failures.Label(name), addr: c.clientAddr}, c.requestID)
}

// countUserRefusal counts a known person's sign-in or session request
// that the account's state refused before any password counted (locked,
// disabled, organisation removed): recorded by burst like a stranger's,
// since whoever knows the name can repeat it.
func (h *Handler) countUserRefusal(c *Call, action, reason string, u *guardian.User) {
	h.failures.Add(c.now, burstKey{action: action, reason: reason, name: u.Name, addr: c.clientAddr,
		userID: strconv.FormatInt(u.ID, 10)}, c.requestID)
}

// flushFailures records the bursts counted so far, one event each.
func (h *Handler) flushFailures(ctx context.Context) {
	h.failures.Flush(ctx, h.Store, h.Logger, func(k burstKey, b *throttle.Burst) *guardian.AuditEvent {
		actor := guardian.Actor{Kind: guardian.ActorUser, ID: k.userID, Name: k.name}
		if k.action == actionAuthenticate && k.userID == "" {
			// A token, or credentials of no one.
			actor.Kind = guardian.ActorNode
		}
		return b.Event(actor, k.action, k.reason, k.addr)
	})
}

// Actions of the failures counted.
const (
	actionSignIn       = "api.signin"
	actionAuthenticate = "api.authenticate"
)

// recordRefusal records a signed-in caller's refused attempt on a
// referral as one failure event: the action asked, the referral (or the
// report, for the hub's report-wide actions) and the refusal's reason.
// Only refusals are recorded; a store fault is not an attempt refused.
func (h *Handler) recordRefusal(ctx context.Context, c *Call, action access.Action, kind string, id int64, err error) {
	var ref *access.Refusal
	if !errors.As(err, &ref) || c.caller == nil {
		return
	}
	ev := c.event(guardian.CategoryConsultation, string(action))
	switch action {
	case access.ConfirmReferral, access.DownloadPackage:
		ev.Category = guardian.CategoryDisclosure
	case access.Acknowledge, access.Assign, access.Decline, access.RecordOutcome, access.SendMessage,
		access.ChangePriority, access.OverrideRouting:
		ev.Category = guardian.CategoryAlteration
	case access.RecordLegalAuthority:
		ev.Category = guardian.CategoryPermission
	}
	ev.Outcome = guardian.OutcomeFailure
	ev.Reason = string(ref.Reason)
	ev.ObjectKind = kind
	if id != 0 {
		ev.ObjectID = strconv.FormatInt(id, 10)
	}
	if err := h.Store.AppendAuditEvent(context.WithoutCancel(ctx), ev); err != nil {
		h.Logger.ErrorContext(ctx, "cannot record a refused request", slog.String("action", string(action)), slog.Any("error", err))
	}
}
