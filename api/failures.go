package api

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/access"
)

// Failures by strangers are counted, not logged one by one: an unknown
// name, a wrong password for a name nobody has, an unknown or revoked API
// token, a session cookie that is not one. Each would otherwise be an
// event of the permanent audit log that anyone can add without limit. They
// are gathered into bursts, one per action, reason, name label and address,
// and each burst becomes one audit event when the window ends (every
// FailureWindow) or the handler closes, as package server does for the
// intake (server/failures.go):
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
// those to a handful per account and lock period. At most maxFailureBursts
// bursts are kept per window; beyond them, failures are counted in one
// burst per action and reason without address.

const (
	maxFailureBursts  = 100
	failureObjectKind = "sign-in failures"
)

type burstKey struct {
	action, reason, name, addr string
	// userID is set for attempts on a real account that the account's
	// own state refused (locked, disabled): the name is then the user's.
	userID string
}

type burst struct {
	first, last time.Time
	count       int
	requestID   string
}

type failureLog struct {
	mu       sync.Mutex
	bursts   map[burstKey]*burst
	labelKey [32]byte
}

func newFailureLog() *failureLog {
	l := &failureLog{bursts: make(map[burstKey]*burst)}
	_, _ = rand.Read(l.labelKey[:])
	return l
}

// label stands for a presented name in the log: the same within a run,
// not reversible by hashing guesses (the key is random per process).
func (l *failureLog) label(name string) string {
	if name == "" {
		return ""
	}
	m := hmac.New(sha256.New, l.labelKey[:])
	m.Write([]byte(name))
	return "unknown-" + hex.EncodeToString(m.Sum(nil)[:8])
}

func (l *failureLog) add(now time.Time, k burstKey, requestID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bursts[k]
	if b == nil && len(l.bursts) >= maxFailureBursts {
		k = burstKey{action: k.action, reason: k.reason, name: "(more names and addresses)"}
		b = l.bursts[k]
	}
	if b == nil {
		b = &burst{first: now}
		l.bursts[k] = b
	}
	b.count++
	b.last = now
	b.requestID = requestID
}

func (l *failureLog) take() map[burstKey]*burst {
	l.mu.Lock()
	defer l.mu.Unlock()
	bs := l.bursts
	l.bursts = make(map[burstKey]*burst)
	return bs
}

// countFailure counts a stranger's failure of the request.
func (h *Handler) countFailure(c *call, action, reason, name string) {
	h.failures.add(c.now, burstKey{action: action, reason: reason, name: h.failures.label(name), addr: c.clientAddr}, c.requestID)
}

// countUserFailure counts an attempt on a real account that its state
// refused before any password counted (locked, disabled): recorded by
// burst like a stranger's, since whoever knows the name can repeat it.
func (h *Handler) countUserFailure(c *call, reason string, u *guardian.User) {
	h.failures.add(c.now, burstKey{action: actionSignIn, reason: reason, name: u.Name, addr: c.clientAddr,
		userID: strconv.FormatInt(u.ID, 10)}, c.requestID)
}

// flushFailures records the bursts counted so far, one event each.
func (h *Handler) flushFailures(ctx context.Context) {
	for k, b := range h.failures.take() {
		ev := &guardian.AuditEvent{
			Actor:      guardian.Actor{Kind: guardian.ActorUser, Name: k.name},
			Category:   guardian.CategoryAuthentication,
			Action:     k.action,
			Outcome:    guardian.OutcomeFailure,
			Reason:     k.reason,
			ObjectKind: failureObjectKind,
			ObjectID:   "count=" + strconv.Itoa(b.count) + " first=" + b.first.UTC().Format(time.RFC3339) + " last=" + b.last.UTC().Format(time.RFC3339),
			RequestID:  b.requestID,
			ClientAddr: k.addr,
		}
		if k.action == actionAuthenticate {
			ev.Actor.Kind = guardian.ActorNode
		}
		ev.Actor.ID = k.userID
		if err := h.Store.AppendAuditEvent(ctx, ev); err != nil {
			h.Logger.ErrorContext(ctx, "cannot record failed sign-ins", slog.String("action", k.action), slog.Int("count", b.count), slog.Any("error", err))
		}
	}
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
func (h *Handler) recordRefusal(ctx context.Context, c *call, action access.Action, kind string, id int64, err error) {
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
